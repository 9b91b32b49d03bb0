/**
 * Clients paying for themselves through a gateway (`POST /tasks/signed`): the gateway drafts
 * the EIP-712 `Request` of `FeeVault` for an input (`POST /tasks/signed/draft`), the client
 * signs it with viem's `signTypedData` (and, optionally, an EIP-2612 permit of the fee), and
 * the gateway checks it and submits `FeeVault.requestSigned`: the client is the task's
 * requester and pays the fee in the version's fee token; the gateway pays only the gas.
 *
 * @module
 */
import {
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  parseAbi,
  parseSignature,
} from "viem";
import { getEip712Domain, readContract } from "viem/actions";
import { GatewayError, type Mode, type TaskView } from "./gateway.js";

/** Whatever signs EIP-712 typed data: a viem `LocalAccount` (or a JSON-RPC account's wrapper). */
export type TypedDataSigner = Pick<LocalAccount, "address" | "signTypedData">;

/** The EIP-712 type a client signs (`FeeVault.REQUEST_TYPEHASH`). */
export const REQUEST_TYPES = {
  Request: [
    { name: "client", type: "address" },
    { name: "modelId", type: "uint32" },
    { name: "version", type: "uint16" },
    { name: "mode", type: "uint8" },
    { name: "feeToken", type: "address" },
    { name: "fee", type: "uint88" },
    { name: "deadline", type: "uint32" },
    { name: "inputCommitment", type: "bytes32" },
    { name: "rows", type: "uint16" },
    { name: "inputCid", type: "string" },
    { name: "inlineInput", type: "bytes" },
    { name: "callback", type: "address" },
    { name: "callbackGas", type: "uint32" },
    { name: "nonce", type: "uint256" },
    { name: "expiry", type: "uint256" },
  ],
} as const;

const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

const noncesAbi = parseAbi(["function nonces(address owner) view returns (uint256)"]);

/** The request fields (`TaskManager.RequestInput`) as the gateway's JSON carries them. */
export interface RequestFields {
  modelId: number;
  version: number;
  mode: number;
  /** Decimal string of base units. */
  fee: string;
  deadline: number;
  inputCommitment: Hex;
  rows: number;
  inputCid: string;
  inlineInput: Hex;
  callback: Address;
  callbackGas: number;
}

/** An EIP-2612 permit signature. */
export interface PermitSig {
  value: string;
  deadline: string;
  v: number;
  r: Hex;
  s: Hex;
}

/** A client-signed request, as `POST /tasks/signed` takes it. */
export interface SignedRequest {
  input: RequestFields;
  client: Address;
  feeToken: Address;
  /** uint256 (decimal or `0x` hex string). */
  nonce: string;
  /** The signature's last valid second (uint256 string). */
  expiry: string;
  signature: Hex;
  permit?: PermitSig;
}

/** What `POST /tasks/signed/draft` answers. */
export interface SignedDraft {
  /** The request to sign (`signature` empty). */
  request: SignedRequest;
  /** The EIP-712 domain of the FeeVault. */
  domain: { name: string; version: string; chainId: number; verifyingContract: Address };
  /** The spender a fee permit must name (the FeeVault for a version's own token, else the TaskManager). */
  permit_spender: Address;
}

/** What to request, paid by the signer. */
export interface SelfPaidRequest {
  /** The model package CID. */
  model: string;
  /** The input: each input name to a nested array whose first axis is the batch. */
  input: Record<string, unknown>;
  /** The verification mode. */
  mode: Mode;
  /** The fee in base units of the version's fee token. */
  fee: bigint | string | number;
  /** The signer's FeeVault nonce (used once, any order); the gateway picks a random one when absent. */
  nonce?: bigint;
  /** Seconds the signature (and the permit) stays valid (default 600). */
  expirySecs?: number;
  /**
   * Reads the fee token's EIP-712 domain and permit nonce to sign an EIP-2612 permit of the
   * fee; without it the signer must have approved the spender (`permit_spender`) beforehand.
   */
  permitWith?: PublicClient;
}

async function post<T>(what: string, url: string, body: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new GatewayError(what, 0, "unreachable", `cannot reach ${url}: ${String(e)}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new GatewayError(what, res.status, err?.code ?? "http_error", err?.message ?? text);
  }
  if (parsed === undefined) throw new GatewayError(what, res.status, "bad_answer", `not JSON: ${text}`);
  return parsed as T;
}

/** Asks the gateway at `url` for the request `signer` signs for `req` (no session needed). */
export async function draftSignedRequest(url: string, client: Address, req: SelfPaidRequest): Promise<SignedDraft> {
  const base = url.replace(/\/+$/, "");
  return post<SignedDraft>("draft signed request", `${base}/tasks/signed/draft`, {
    model: req.model,
    input: req.input,
    mode: req.mode,
    fee: BigInt(req.fee).toString(),
    client,
    ...(req.nonce === undefined ? {} : { nonce: req.nonce.toString() }),
    ...(req.expirySecs === undefined ? {} : { expiry_secs: req.expirySecs }),
  });
}

/** Signs the EIP-712 `Request` of `draft` as `signer` (viem `signTypedData`). */
export async function signRequest(signer: TypedDataSigner, draft: SignedDraft): Promise<Hex> {
  const r = draft.request;
  const f = r.input;
  return signer.signTypedData({
    domain: {
      name: draft.domain.name,
      version: draft.domain.version,
      chainId: draft.domain.chainId,
      verifyingContract: draft.domain.verifyingContract,
    },
    types: REQUEST_TYPES,
    primaryType: "Request",
    message: {
      client: signer.address,
      modelId: f.modelId,
      version: f.version,
      mode: f.mode,
      feeToken: r.feeToken,
      fee: BigInt(f.fee),
      deadline: f.deadline,
      inputCommitment: f.inputCommitment,
      rows: f.rows,
      inputCid: f.inputCid,
      inlineInput: f.inlineInput,
      callback: f.callback,
      callbackGas: f.callbackGas,
      nonce: BigInt(r.nonce),
      expiry: BigInt(r.expiry),
    },
  });
}

/**
 * Signs an EIP-2612 permit of `draft`'s fee for its spender, valid until the request's
 * expiry; the token's domain (ERC-5267 `eip712Domain`) and nonce are read with `client`.
 */
export async function signFeePermit(
  signer: TypedDataSigner,
  draft: SignedDraft,
  client: PublicClient,
): Promise<PermitSig> {
  const token = draft.request.feeToken;
  const { domain } = await getEip712Domain(client, { address: token });
  const nonce = await readContract(client, {
    address: token,
    abi: noncesAbi,
    functionName: "nonces",
    args: [signer.address],
  });
  const value = BigInt(draft.request.input.fee);
  const deadline = BigInt(draft.request.expiry);
  const sig = await signer.signTypedData({
    domain: {
      name: domain.name,
      version: domain.version,
      chainId: domain.chainId,
      verifyingContract: domain.verifyingContract,
    },
    types: PERMIT_TYPES,
    primaryType: "Permit",
    message: { owner: signer.address, spender: draft.permit_spender, value, nonce, deadline },
  });
  const { r, s, v, yParity } = parseSignature(sig);
  return {
    value: value.toString(),
    deadline: deadline.toString(),
    v: v === undefined ? 27 + yParity : Number(v),
    r,
    s,
  };
}

/** Posts a signed request and its input to the gateway at `url` (`POST /tasks/signed`). */
export async function submitSignedRequest(
  url: string,
  request: SignedRequest,
  input: Record<string, unknown>,
): Promise<TaskView> {
  const base = url.replace(/\/+$/, "");
  return post<TaskView>("signed request", `${base}/tasks/signed`, { request, input });
}

/**
 * Requests a task paid by `signer` through the gateway at `url`: draft, sign (with a permit
 * of the fee when `req.permitWith` is given), post. Returns the task view (its `requester` is
 * the signer's `did:pkh`; sign in as the signer to follow it) and the signed request.
 */
export async function requestSelfPaid(
  url: string,
  signer: TypedDataSigner,
  req: SelfPaidRequest,
): Promise<{ task: TaskView; request: SignedRequest }> {
  const draft = await draftSignedRequest(url, signer.address, req);
  const signature = await signRequest(signer, draft);
  const request: SignedRequest = { ...draft.request, client: signer.address, signature };
  if (req.permitWith) request.permit = await signFeePermit(signer, draft, req.permitWith);
  const task = await submitSignedRequest(url, request, req.input);
  return { task, request };
}
