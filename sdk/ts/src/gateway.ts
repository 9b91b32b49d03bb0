/**
 * A client of the vouch gateway's HTTP API (`crates/gateway`, `/openapi.json`): Sign-In with
 * Ethereum (EIP-4361) for a bearer session, tasks (`POST /tasks`, `GET /tasks/{id}`), their
 * events as Server-Sent Events (`/tasks/{id}/events`) and their settled output
 * (`/tasks/{id}/output`).
 *
 * @module
 */
import { createParser } from "eventsource-parser";
import type { Address, Hex } from "viem";
import { createSiweMessage } from "viem/siwe";

/** Whatever signs an EIP-191 personal message: a viem `LocalAccount` or a wallet client's account. */
export interface MessageSigner {
  /** The signer's address. */
  readonly address: Address;
  /** Signs `message` with `personal_sign`. */
  signMessage(args: { message: string }): Promise<Hex>;
}

/** Verification mode of a task. */
export type Mode = "optimistic" | "committee" | "zk";

/** A task as the gateway reports it. */
export interface TaskView {
  /** The on-chain task id (`0x` hex). */
  id: string;
  /** The requester's `did:pkh`. */
  requester: string;
  /** The model package CID. */
  model: string;
  /** The input's CID. */
  input_cid: string;
  /** The verification mode. */
  mode: Mode;
  /** The most paid, in base units (decimal string). */
  max_fee: string;
  /** `accepted`, `executed`, `submitted`, `disputed`, `finalized`, `failed`, `cancelled`, … */
  status: string;
  /** Whether the status is final. */
  terminal: boolean;
  /** The output JSON's CID, once settled. */
  output_cid: string | null;
  /** The output commitment, once settled. */
  commitment: string | null;
  /** The last detail (transaction hash, error, …). */
  detail: string | null;
}

/** One step of a task, from its event stream. */
export interface TaskEvent {
  /** Increasing sequence number (the SSE id). */
  seq: number;
  /** The state entered. */
  status: string;
  /** Whether it is final. */
  terminal: boolean;
  /** Detail. */
  detail: string | null;
  /** Unix milliseconds. */
  at_ms: number;
}

/** A model the gateway serves. */
export interface ModelInfo {
  /** Package CID. */
  cid: string;
  /** Name. */
  name: string;
  /** Input tensor names, in order. */
  inputs: string[];
  /** Modes offered. */
  modes: Mode[];
  /** Whether it is frozen or deprecated. */
  frozen: boolean;
}

/** A settled output: each graph output's dequantized values as nested arrays, and the commitment. */
export interface TaskOutput {
  /** Output name to nested array (batch first). */
  outputs: Record<string, unknown>;
  /** The output commitment the values were committed to. */
  commitment: Hex;
}

/** What to ask for. */
export interface TaskRequest {
  /** The model package CID. */
  model: string;
  /** The input: each input name to a nested array whose first axis is the batch. */
  input: Record<string, unknown>;
  /** The verification mode. */
  mode: Mode;
  /** The most to pay, in base units. */
  maxFee: bigint | string | number;
}

/** A refusal by the gateway: its HTTP status and stable error code. */
export class GatewayError extends Error {
  /** The HTTP status (0 when the gateway could not be reached). */
  readonly status: number;
  /** The stable code (`bad_signature`, `nonce_used`, `not_found`, …). */
  readonly code: string;

  /** An error for `what` with the gateway's status, code and message. */
  constructor(what: string, status: number, code: string, message: string) {
    super(`${what}: ${code} (${status}): ${message}`);
    this.name = "GatewayError";
    this.status = status;
    this.code = code;
  }
}

/** Options of {@link GatewayClient.signIn}. */
export interface SignInOptions {
  /** The chain id to sign for (default: the first the gateway accepts). */
  chainId?: number;
  /** The statement shown to the user. */
  statement?: string;
  /** How long the session lasts at most, in seconds (the message's Expiration Time). */
  ttlSecs?: number;
}

async function call<T>(what: string, url: string, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    throw new GatewayError(what, 0, "unreachable", `cannot reach ${url}: ${String(e)}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new GatewayError(what, res.status, err?.code ?? "http_error", err?.message ?? text);
  }
  if (body === undefined) throw new GatewayError(what, res.status, "bad_answer", `not JSON: ${text}`);
  return body as T;
}

/** A signed-in session with a gateway. */
export class GatewayClient {
  /** The gateway's base URL (`http://host:port`). */
  readonly url: string;
  /** The session token. */
  readonly token: string;
  /** The signed-in identity (`did:pkh:eip155:<chain>:<address>`). */
  readonly did: string;

  /** A client of `url` with a session `token` for `did` (see {@link GatewayClient.signIn}). */
  constructor(url: string, token: string, did: string) {
    this.url = url.replace(/\/+$/, "");
    this.token = token;
    this.did = did;
  }

  /**
   * Signs in at `url` as `signer`: fetches a nonce, signs an EIP-4361 message for the
   * gateway's domain and opens a session.
   */
  static async signIn(url: string, signer: MessageSigner, opts: SignInOptions = {}): Promise<GatewayClient> {
    const base = url.replace(/\/+$/, "");
    const n = await call<{ nonce: string; domain: string; chain_ids: number[] }>(
      "nonce",
      `${base}/auth/nonce`,
      {},
    );
    const chainId = opts.chainId ?? n.chain_ids[0];
    if (chainId === undefined) throw new GatewayError("nonce", 200, "bad_answer", "the gateway accepts no chain id");
    const now = new Date();
    const message = createSiweMessage({
      domain: n.domain,
      address: signer.address,
      statement: opts.statement ?? "Sign in to the vouch gateway.",
      uri: base,
      version: "1",
      chainId,
      nonce: n.nonce,
      issuedAt: now,
      ...(opts.ttlSecs === undefined
        ? {}
        : { expirationTime: new Date(now.getTime() + opts.ttlSecs * 1000) }),
    });
    const signature = await signer.signMessage({ message });
    return GatewayClient.login(base, message, signature);
  }

  /** Opens a session with an already signed EIP-4361 `message`. */
  static async login(url: string, message: string, signature: Hex): Promise<GatewayClient> {
    const base = url.replace(/\/+$/, "");
    const s = await call<{ token: string; did: string }>("login", `${base}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, signature }),
    });
    return new GatewayClient(base, s.token, s.did);
  }

  private auth(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /** The models the gateway serves (no session needed). */
  async models(): Promise<ModelInfo[]> {
    return (await call<{ models: ModelInfo[] }>("models", `${this.url}/models`, {})).models;
  }

  /** Creates a task; the gateway pays its fee and charges it against this identity's cap. */
  async request(req: TaskRequest): Promise<TaskView> {
    return call<TaskView>("create task", `${this.url}/tasks`, {
      method: "POST",
      headers: { ...this.auth(), "content-type": "application/json" },
      body: JSON.stringify({
        model: req.model,
        input: req.input,
        mode: req.mode,
        max_fee: BigInt(req.maxFee).toString(),
      }),
    });
  }

  /** The task `id` as the gateway reports it now. */
  async task(id: string): Promise<TaskView> {
    return call<TaskView>("read task", `${this.url}/tasks/${encodeURIComponent(id)}`, {
      headers: this.auth(),
    });
  }

  /** The settled output of task `id` (`no_output` until it is finalized on-chain). */
  async output(id: string): Promise<TaskOutput> {
    return call<TaskOutput>("read output", `${this.url}/tasks/${encodeURIComponent(id)}/output`, {
      headers: this.auth(),
    });
  }

  /**
   * Follows task `id` over Server-Sent Events: yields each status change, the last one
   * terminal. `after` resumes after that sequence number (`Last-Event-ID`).
   */
  async *events(id: string, opts: { after?: number; signal?: AbortSignal } = {}): AsyncGenerator<TaskEvent> {
    const url = `${this.url}/tasks/${encodeURIComponent(id)}/events`;
    const headers: Record<string, string> = { ...this.auth(), accept: "text/event-stream" };
    if (opts.after !== undefined) headers["last-event-id"] = String(opts.after);
    let res: Response;
    try {
      res = await fetch(url, { headers, ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (e) {
      throw new GatewayError("follow task", 0, "unreachable", `cannot reach ${url}: ${String(e)}`);
    }
    if (!res.ok || !res.body) {
      const text = await res.text();
      let err: { code?: string; message?: string } | undefined;
      try {
        err = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      } catch {
        err = undefined;
      }
      throw new GatewayError("follow task", res.status, err?.code ?? "http_error", err?.message ?? text);
    }
    const queue: TaskEvent[] = [];
    let failure: GatewayError | undefined;
    const parser = createParser({
      onEvent(ev) {
        if (ev.event === "error") {
          failure = new GatewayError("follow task", 200, "backend_unavailable", ev.data);
          return;
        }
        if (ev.event !== "status") return;
        try {
          queue.push(JSON.parse(ev.data) as TaskEvent);
        } catch {
          failure = new GatewayError("follow task", 200, "bad_answer", `event is not JSON: ${ev.data}`);
        }
      },
    });
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
        while (queue.length > 0) {
          const ev = queue.shift() as TaskEvent;
          yield ev;
          if (ev.terminal) return;
        }
        if (failure) throw failure;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    throw new GatewayError("follow task", 200, "stream_ended", `the event stream of task ${id} ended before a terminal status`);
  }

  /** Follows task `id` until it is terminal and returns its final view. */
  async settle(id: string, opts: { onEvent?: (e: TaskEvent) => void; signal?: AbortSignal } = {}): Promise<TaskView> {
    for await (const ev of this.events(id, opts.signal ? { signal: opts.signal } : {})) {
      opts.onEvent?.(ev);
    }
    return this.task(id);
  }
}
