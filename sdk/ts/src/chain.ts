/**
 * vouch on a chain, with viem: the deployment's addresses, requesting a task directly from
 * `TaskManager.request` (with an optional consumer callback), following it by its logs, and
 * reading its settled output values from the settling transaction.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import {
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
  decodeAbiParameters,
  decodeEventLog,
  decodeFunctionData,
  numberToHex,
} from "viem";
import { modelRegistryAbi, taskManagerAbi, vouchTokenAbi } from "./abi/index.js";
import { inlineInput, inputCommitment } from "./commit.js";

/** Addresses of one deployment (the `deployments/<chainId>.json` file `vouch deploy` writes). */
export interface Deployment {
  /** The chain id. */
  chainId: number;
  /** The deploying account. */
  deployer: Address;
  /** The block of the last deployment transaction (logs are read from it). */
  block: number;
  /** Who governs the contracts. */
  governance: Address;
  /** The contracts. */
  contracts: {
    schemaRegistry: Address;
    eas: Address;
    token: Address;
    timelock: Address;
    governor: Address;
    registry: Address;
    staking: Address;
    randomness: Address;
    taskManager: Address;
    disputeGame: Address;
    receipts: Address;
  };
}

/** Reads a deployment file (`<data-dir>/deployments/<chainId>.json`, e.g. `.vouch/up/deployments/31337.json`). */
export async function loadDeployment(path: string): Promise<Deployment> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read the deployment file ${path}: ${String(e)}`);
  }
  let d: Deployment;
  try {
    d = JSON.parse(text) as Deployment;
  } catch (e) {
    throw new Error(`the deployment file ${path} is not JSON: ${String(e)}`);
  }
  if (typeof d.chainId !== "number" || typeof d.contracts?.taskManager !== "string") {
    throw new Error(`the deployment file ${path} lacks chainId or contracts.taskManager`);
  }
  return d;
}

/** Task modes as the contracts number them. */
export const MODE = { optimistic: 0, committee: 1, zk: 2 } as const;

/** Task statuses as the contracts number them. */
export const STATUS = ["none", "requested", "submitted", "disputed", "finalized", "refunded", "failed"] as const;

/** A task as `TaskManager.getTask` returns it. */
export type OnChainTask = Awaited<ReturnType<VouchChain["task"]>>;

/** A decoded TaskManager event of one task. */
export interface TaskLog {
  /** The event name (`TaskRequested`, `ResultSubmitted`, `Finalized`, …). */
  eventName: string;
  /** Its arguments. */
  args: Record<string, unknown>;
  /** Its block. */
  blockNumber: bigint;
  /** Its transaction. */
  transactionHash: Hex;
}

/** What {@link VouchChain.request} asks for. */
export interface ChainRequest {
  /** The registry's model id. */
  modelId: number;
  /** Its version. */
  version: number;
  /** `optimistic` or `committee` (a zk request needs the Poseidon input hash: use the gateway). */
  mode: "optimistic" | "committee";
  /** The fee, in token base units (approved for the TaskManager when needed). */
  fee: bigint;
  /** The quantized graph inputs, in package order, each flattened (rows end to end). */
  inputs: readonly (readonly number[])[];
  /** Rows of the input (default 1). */
  rows?: number;
  /** Seconds from now until the submission deadline (default 600). */
  deadlineSecs?: number;
  /** A consumer contract (`IVouchConsumer`) to call with the checked result. */
  callback?: Address;
  /** The gas given to the callback (default 300,000; the TaskManager caps it, 500,000 on `vouch deploy`'s defaults). */
  callbackGas?: number;
}

const TERMINAL = new Set([4, 5, 6]);

/** The chain side of vouch for one deployment. */
export class VouchChain {
  /** Reads the chain. */
  readonly client: PublicClient<Transport, Chain | undefined>;
  /** The deployment's addresses. */
  readonly deployment: Deployment;
  /** Signs transactions (needed by {@link VouchChain.request}). */
  readonly wallet: WalletClient<Transport, Chain | undefined, Account> | undefined;

  /** A chain client over `client` (and `wallet` to send transactions) for `deployment`. */
  constructor(
    client: PublicClient<Transport, Chain | undefined>,
    deployment: Deployment,
    wallet?: WalletClient<Transport, Chain | undefined, Account>,
  ) {
    this.client = client;
    this.deployment = deployment;
    this.wallet = wallet;
  }

  /** The task `taskId` (`TaskManager.getTask`). */
  async task(taskId: bigint) {
    return this.client.readContract({
      address: this.deployment.contracts.taskManager,
      abi: taskManagerAbi,
      functionName: "getTask",
      args: [taskId],
    });
  }

  /** The rows of task `taskId`. */
  async rows(taskId: bigint): Promise<number> {
    return this.client.readContract({
      address: this.deployment.contracts.taskManager,
      abi: taskManagerAbi,
      functionName: "taskRows",
      args: [taskId],
    });
  }

  /** Elements per row and scales (binary64) of each graph output of a model version. */
  async outputsOf(modelId: number, version: number): Promise<{ sizes: number[]; scales: number[] }> {
    const [sizes, bits] = await this.client.readContract({
      address: this.deployment.contracts.registry,
      abi: modelRegistryAbi,
      functionName: "outputsOf",
      args: [modelId, version],
    });
    const view = new DataView(new ArrayBuffer(8));
    const scales = bits.map((b) => {
      view.setBigUint64(0, b);
      return view.getFloat64(0);
    });
    return { sizes: [...sizes], scales };
  }

  /** Every TaskManager event of task `taskId` so far, in chain order. */
  async logs(taskId: bigint): Promise<TaskLog[]> {
    // every event whose first indexed argument is the task id
    const raw = await this.client.request({
      method: "eth_getLogs",
      params: [
        {
          address: this.deployment.contracts.taskManager,
          topics: [null, numberToHex(taskId, { size: 32 })],
          fromBlock: numberToHex(this.deployment.block),
          toBlock: "latest",
        },
      ],
    });
    const out: TaskLog[] = [];
    for (const l of raw) {
      try {
        const d = decodeEventLog({ abi: taskManagerAbi, data: l.data, topics: l.topics as [Hex, ...Hex[]] });
        out.push({
          eventName: d.eventName,
          args: (d.args ?? {}) as Record<string, unknown>,
          blockNumber: BigInt(l.blockNumber ?? 0),
          transactionHash: l.transactionHash as Hex,
        });
      } catch {
        // an event of another contract version with the same topic layout: not ours
      }
    }
    return out;
  }

  /** The `TaskRequested` event of task `taskId`. */
  async requested(taskId: bigint) {
    const l = (await this.logs(taskId)).find((l) => l.eventName === "TaskRequested");
    if (!l) throw new Error(`task ${taskId} has no TaskRequested event`);
    return l.args as {
      modelId: number;
      version: number;
      mode: number;
      inputCommitment: Hex;
      rows: number;
      inlineInput: Hex;
      requester: Address;
    };
  }

  /**
   * Follows task `taskId` by its logs, polling every `pollMs`: calls `onLog` for each new
   * event and resolves with the task once it is finalized, refunded or failed.
   */
  async follow(
    taskId: bigint,
    opts: { onLog?: (l: TaskLog) => void; pollMs?: number; timeoutMs?: number } = {},
  ): Promise<OnChainTask> {
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    let seen = 0;
    for (;;) {
      const logs = await this.logs(taskId);
      for (const l of logs.slice(seen)) opts.onLog?.(l);
      seen = logs.length;
      const t = await this.task(taskId);
      if (TERMINAL.has(t.status)) return t;
      if (Date.now() > deadline) {
        throw new Error(`task ${taskId} is still ${STATUS[t.status] ?? t.status} after ${opts.timeoutMs ?? 120_000} ms`);
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    }
  }

  /**
   * Requests a task from the wallet's account: approves the fee when the allowance is short,
   * sends `TaskManager.request` with the inputs inline and returns the new task id.
   */
  async request(r: ChainRequest): Promise<{ taskId: bigint; hash: Hex }> {
    const w = this.wallet;
    if (!w) throw new Error("VouchChain.request needs a wallet client");
    const c = this.deployment.contracts;
    const me = w.account.address;
    const allowance = await this.client.readContract({
      address: c.token,
      abi: vouchTokenAbi,
      functionName: "allowance",
      args: [me, c.taskManager],
    });
    if (allowance < r.fee) {
      const h = await w.writeContract({
        address: c.token,
        abi: vouchTokenAbi,
        functionName: "approve",
        args: [c.taskManager, r.fee],
        chain: w.chain,
      });
      await this.mined(h, "VouchToken.approve");
    }
    const now = (await this.client.getBlock()).timestamp;
    const input = {
      modelId: r.modelId,
      version: r.version,
      mode: MODE[r.mode],
      fee: r.fee,
      deadline: Number(now) + (r.deadlineSecs ?? 600),
      inputCommitment: inputCommitment(r.inputs),
      rows: r.rows ?? 1,
      inputCid: "",
      inlineInput: inlineInput(r.inputs),
      callback: r.callback ?? "0x0000000000000000000000000000000000000000",
      callbackGas: r.callback ? (r.callbackGas ?? 300_000) : 0,
    } as const;
    const { request } = await this.client.simulateContract({
      address: c.taskManager,
      abi: taskManagerAbi,
      functionName: "request",
      args: [input],
      account: w.account,
    });
    const hash = await w.writeContract(request);
    const receipt = await this.mined(hash, "TaskManager.request");
    for (const l of receipt.logs) {
      try {
        const d = decodeEventLog({ abi: taskManagerAbi, data: l.data, topics: l.topics });
        if (d.eventName === "TaskRequested") return { taskId: d.args.taskId, hash };
      } catch {
        // another contract's log (the token transfer)
      }
    }
    throw new Error(`TaskManager.request ${hash} emitted no TaskRequested`);
  }

  private async mined(hash: Hex, what: string) {
    const receipt = await this.client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${what} ${hash} reverted`);
    return receipt;
  }

  /**
   * The output values of a finalized task as the chain carries them: the `int32[]` argument
   * of the `finalize`, `finalizeCommittee` or `deliver` call, or the outputs inside a
   * `submitZk` proof. `undefined` when no transaction of the task carried them (a task without
   * a callback usually settles without its values: read them from the gateway).
   */
  async values(taskId: bigint): Promise<number[] | undefined> {
    const hashes = [...new Set((await this.logs(taskId)).map((l) => l.transactionHash))];
    for (const hash of hashes.reverse()) {
      const tx = await this.client.getTransaction({ hash });
      if (tx.to?.toLowerCase() !== this.deployment.contracts.taskManager.toLowerCase()) continue;
      let call;
      try {
        call = decodeFunctionData({ abi: taskManagerAbi, data: tx.input });
      } catch {
        continue;
      }
      const args = call.args as readonly unknown[];
      if (args[0] !== taskId) continue;
      if (call.functionName === "finalize" || call.functionName === "deliver") {
        const v = args[1] as readonly number[];
        if (v.length > 0) return [...v];
      } else if (call.functionName === "finalizeCommittee") {
        const v = args[2] as readonly number[];
        if (v.length > 0) return [...v];
      } else if (call.functionName === "submitZk") {
        const zk = zkProofParts(args[2] as Hex);
        if (zk) return zk.outputs;
      }
    }
    return undefined;
  }

  /** The `proof` argument of task `taskId`'s `submitZk` transaction, if it has one. */
  async zkProof(taskId: bigint): Promise<Hex | undefined> {
    const sub = (await this.logs(taskId)).filter((l) => l.eventName === "ResultSubmitted").at(-1);
    if (!sub) return undefined;
    const tx = await this.client.getTransaction({ hash: sub.transactionHash });
    try {
      const call = decodeFunctionData({ abi: taskManagerAbi, data: tx.input });
      if (call.functionName === "submitZk" && call.args[0] === taskId) return call.args[2];
    } catch {
      return undefined;
    }
    return undefined;
  }
}

/** A vouch zk proof blob, `abi.encode(uint256[8] groth16, int32[] outputs)`, split; `undefined` for another layout. */
export function zkProofParts(proof: Hex): { groth16: readonly bigint[]; outputs: number[] } | undefined {
  try {
    const [g, outs] = decodeAbiParameters([{ type: "uint256[8]" }, { type: "int32[]" }], proof);
    return { groth16: g, outputs: [...outs] };
  } catch {
    return undefined;
  }
}
