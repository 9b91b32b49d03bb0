/**
 * vouch on a chain, with viem: the deployment's addresses, requesting a task directly from
 * `TaskManager.request` (with an optional consumer callback), reading a task on the hashed
 * layout ({@link VouchChain.readTask}: the state word from `getTask`, the record from its
 * `TaskRequested` log, the standing result from its last `ResultSubmitted` log, checked
 * against the task's commitment), following it by its logs, and reading its settled output
 * values from the settling transaction.
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
  zeroHash,
} from "viem";
import { feeVaultAbi, modelRegistryAbi, taskManagerAbi, vouchTokenAbi } from "./abi/index.js";
import { inlineInput, inputCommitment } from "./commit.js";
import { type Claim, FLAGS, type TaskRecord, recordMismatch } from "./record.js";

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
    /** Absent (or zero) in a deployment file written before the vault existed. */
    feeVault?: Address;
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

/** A task's state word and commitment, as `TaskManager.getTask` returns them. */
export type TaskState = Awaited<ReturnType<VouchChain["state"]>>;

/**
 * A task as {@link VouchChain.readTask} reads it: the fields `getTask` returned before the
 * hashed layout (from the state word, the record and the standing result), its commitment,
 * and the record and result themselves.
 */
export interface OnChainTask {
  /** Who requested the task. */
  requester: Address;
  /** The fee as requested. */
  fee: bigint;
  /** The state word's flags ({@link FLAGS}). */
  flags: number;
  /** The submitter (committee: the first revealer); zero before a result. */
  provider: Address;
  /** The registry's model id. */
  modelId: number;
  /** Its version. */
  version: number;
  /** 0 optimistic, 1 committee, 2 zk. */
  mode: number;
  /** The status ({@link STATUS}). */
  status: number;
  /** The submission deadline (unix seconds). */
  deadline: number;
  /** The input commitment. */
  inputCommitment: Hex;
  /** The standing result's output commitment; zero without one. */
  outputCommitment: Hex;
  /** The standing result's trace root; zero without one. */
  traceRoot: Hex;
  /** Rows of the input. */
  rows: number;
  /** The commitment the task stores. */
  commitment: Hex;
  /** The record, from the task's `TaskRequested` log. */
  record: TaskRecord;
  /** The standing result, from its last `ResultSubmitted` log; absent while none stands. */
  result: Claim | undefined;
}

/** A task read from its logs, not yet checked against its commitment (see {@link VouchChain.taskParts}). */
export interface TaskParts {
  /** `getTask`: the state word and the commitment. */
  state: TaskState;
  /** The record its `TaskRequested` log carries. */
  record: TaskRecord;
  /** The claim of its last `ResultSubmitted` log, when the state holds a result. */
  result: Claim | undefined;
}

/** A record (or result) read from the logs that the task's on-chain commitment refuses. */
export class RecordMismatchError extends Error {
  /** The task. */
  readonly taskId: bigint;

  /** The error for task `taskId`, `why` saying what differs. */
  constructor(taskId: bigint, why: string) {
    super(`task ${taskId}: the record read from its logs is not the task's: ${why}`);
    this.name = "RecordMismatchError";
    this.taskId = taskId;
  }
}

/** {@link OnChainTask} of checked parts. */
export function taskView(p: TaskParts): OnChainTask {
  const { state: s, record: r, result } = p;
  return {
    requester: r.requester,
    fee: r.fee,
    flags: s.flags,
    provider: s.provider,
    modelId: s.modelId,
    version: r.version,
    mode: s.mode,
    status: s.status,
    deadline: s.deadline,
    inputCommitment: r.inputCommitment,
    outputCommitment: result?.output ?? zeroHash,
    traceRoot: result?.traceRoot ?? zeroHash,
    rows: r.rows,
    commitment: s.commitment,
    record: r,
    result,
  };
}

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

  /** The state word and commitment of task `taskId` (`TaskManager.getTask`; status 0: no such task). */
  async state(taskId: bigint) {
    return this.client.readContract({
      address: this.deployment.contracts.taskManager,
      abi: taskManagerAbi,
      functionName: "getTask",
      args: [taskId],
    });
  }

  /**
   * Task `taskId`'s state, its record (from its `TaskRequested` log) and, when the state holds
   * a result, the standing result (from its last `ResultSubmitted` log), not checked against
   * the commitment (see {@link recordMismatch}). Throws when the task does not exist or its
   * logs are missing.
   */
  async taskParts(taskId: bigint): Promise<TaskParts> {
    const tm = this.deployment.contracts.taskManager;
    const range = { fromBlock: BigInt(this.deployment.block), toBlock: "latest" } as const;
    const [state, requested, submitted] = await Promise.all([
      this.state(taskId),
      this.client.getContractEvents({ address: tm, abi: taskManagerAbi, eventName: "TaskRequested", args: { taskId }, ...range }),
      this.client.getContractEvents({ address: tm, abi: taskManagerAbi, eventName: "ResultSubmitted", args: { taskId }, ...range }),
    ]);
    if (state.status === 0) throw new Error(`task ${taskId} does not exist on the TaskManager ${tm}`);
    const [req, ...more] = requested;
    if (!req) throw new Error(`task ${taskId} has no TaskRequested log from block ${this.deployment.block}`);
    if (more.length > 0) throw new Error(`task ${taskId} has ${requested.length} TaskRequested logs`);
    const a = req.args;
    if (a.requester === undefined || a.fee === undefined || a.modelId === undefined || a.version === undefined ||
      a.mode === undefined || a.vault === undefined || a.rows === undefined || a.inputCommitment === undefined ||
      a.callback === undefined || a.callbackGas === undefined) {
      throw new Error(`task ${taskId}'s TaskRequested log lacks record fields`);
    }
    const record: TaskRecord = {
      requester: a.requester,
      fee: a.fee,
      modelId: a.modelId,
      version: a.version,
      mode: a.mode,
      vault: a.vault,
      rows: a.rows,
      inputCommitment: a.inputCommitment,
      callback: a.callback,
      callbackGas: a.callbackGas,
    };
    let result: Claim | undefined;
    const last = submitted.at(-1)?.args;
    if ((state.flags & FLAGS.result) !== 0 && last?.output && last.traceRoot) {
      result = { output: last.output, traceRoot: last.traceRoot };
    }
    return { state, record, result };
  }

  /**
   * Task `taskId` on the hashed layout: the state word from `getTask`, the record from its
   * `TaskRequested` log and the standing result from its last `ResultSubmitted` log, checked
   * against the task's commitment (a {@link RecordMismatchError} when the logs do not open it:
   * an RPC endpoint serving forged logs). Throws when the task does not exist.
   */
  async readTask(taskId: bigint): Promise<OnChainTask> {
    const p = await this.taskParts(taskId);
    const why = recordMismatch(p.state.commitment, p.state.flags, p.record, p.result);
    if (why) throw new RecordMismatchError(taskId, why);
    return taskView(p);
  }

  /** The same as {@link VouchChain.readTask} (the name before the hashed layout). */
  async task(taskId: bigint): Promise<OnChainTask> {
    return this.readTask(taskId);
  }

  /** The rows of task `taskId` (its record's). */
  async rows(taskId: bigint): Promise<number> {
    return (await this.readTask(taskId)).rows;
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

  /** The `TaskRequested` event of task `taskId` (every record field, the input's CID and inline bytes). */
  async requested(taskId: bigint) {
    const l = (await this.logs(taskId)).find((l) => l.eventName === "TaskRequested");
    if (!l) throw new Error(`task ${taskId} has no TaskRequested event`);
    return l.args as {
      modelId: number;
      version: number;
      mode: number;
      fee: bigint;
      deadline: number;
      inputCommitment: Hex;
      rows: number;
      inputCid: string;
      inlineInput: Hex;
      requester: Address;
      callback: Address;
      callbackGas: number;
      vault: boolean;
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
      const s = await this.state(taskId);
      if (TERMINAL.has(s.status)) return this.readTask(taskId);
      if (Date.now() > deadline) {
        throw new Error(`task ${taskId} is still ${STATUS[s.status] ?? s.status} after ${opts.timeoutMs ?? 120_000} ms`);
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
   * of the `finalize`, `finalizeCommittee` or `deliver` call, or the outputs inside a zk proof
   * (`submitZk`, or `FeeVault.requestSignedZk`). `undefined` when no transaction of the task
   * carried them (a task without a callback usually settles without its values: read them
   * from the gateway).
   */
  async values(taskId: bigint): Promise<number[] | undefined> {
    const hashes = [...new Set((await this.logs(taskId)).map((l) => l.transactionHash))];
    for (const hash of hashes.reverse()) {
      const call = await this.settlingCall(taskId, hash);
      if (call?.values && call.values.length > 0) return call.values;
      if (call?.proof) {
        const zk = zkProofParts(call.proof);
        if (zk) return zk.outputs;
      }
    }
    return undefined;
  }

  /** The `proof` of the transaction that set task `taskId`'s zk result (`submitZk` or `FeeVault.requestSignedZk`), if it has one. */
  async zkProof(taskId: bigint): Promise<Hex | undefined> {
    const sub = (await this.logs(taskId)).filter((l) => l.eventName === "ResultSubmitted").at(-1);
    if (!sub) return undefined;
    return (await this.settlingCall(taskId, sub.transactionHash))?.proof;
  }

  /** The values or proof a top-level call of transaction `hash` carried for task `taskId`. */
  private async settlingCall(taskId: bigint, hash: Hex): Promise<{ values?: number[]; proof?: Hex } | undefined> {
    const tx = await this.client.getTransaction({ hash });
    const to = tx.to?.toLowerCase();
    const vault = this.deployment.contracts.feeVault;
    try {
      if (to === this.deployment.contracts.taskManager.toLowerCase()) {
        const call = decodeFunctionData({ abi: taskManagerAbi, data: tx.input });
        const args = call.args as readonly unknown[];
        if (args[0] !== taskId) return undefined;
        switch (call.functionName) {
          case "finalize":
          case "deliver":
            return { values: [...(args[3] as readonly number[])] };
          case "finalizeCommittee":
            return { values: [...(args[4] as readonly number[])] };
          case "submitZk":
            return { proof: args[3] as Hex };
          default:
            return undefined;
        }
      }
      if (vault && to === vault.toLowerCase()) {
        // one task per call: the transaction is one of this task's
        const call = decodeFunctionData({ abi: feeVaultAbi, data: tx.input });
        if (call.functionName === "requestSignedZk") return { proof: call.args[5] };
      }
    } catch {
      // a call of another ABI version: carries nothing we can read
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
