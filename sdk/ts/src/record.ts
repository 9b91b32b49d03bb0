/**
 * The hashed task layout (issue 17): a `TaskManager` task stores only a state word and a
 * commitment. The fields a request fixes (its {@link TaskRecord}) are re-read from the task's
 * `TaskRequested` log and its standing result (a {@link Claim}) from its last
 * `ResultSubmitted` log; the chain's commitment decides whether they are the task's:
 *
 * - `c0 = keccak256(abi.encode(rec))` while no result stands;
 * - `keccak256(abi.encode(c0, result.output, result.traceRoot))` once one does (flag `RESULT`).
 *
 * This module holds the types and the commitment; `VouchChain.readTask` reads and checks them.
 *
 * @module
 */
import { type Address, type Hex, encodeAbiParameters, keccak256, parseAbiParameters } from "viem";

/** The fields a request fixes (`TaskRecord` in `contracts/src/consumer/TaskRecord.sol`). */
export interface TaskRecord {
  /** Who requested (and paid for) the task. */
  requester: Address;
  /** The fee as requested, in base units (for a FeeVault task, of the version's own token). */
  fee: bigint;
  /** The registry's model id. */
  modelId: number;
  /** Its version. */
  version: number;
  /** 0 optimistic, 1 committee, 2 zk. */
  mode: number;
  /** Whether the FeeVault escrows the fee in the version's own token. */
  vault: boolean;
  /** Rows of the input (at least 1). */
  rows: number;
  /** The input commitment. */
  inputCommitment: Hex;
  /** The consumer contract called with the result (the zero address: none). */
  callback: Address;
  /** The gas given to the callback. */
  callbackGas: number;
}

/** A result: an output commitment and a trace root (zk: `keccak256(proof)`). */
export interface Claim {
  /** The output commitment. */
  output: Hex;
  /** The trace root (zk: the proof's hash). */
  traceRoot: Hex;
}

/** The task flags of the state word. */
export const FLAGS = {
  audit: 1,
  auditClosed: 2,
  auditFailed: 4,
  delivered: 8,
  callbackFailed: 16,
  hasCallback: 32,
  vault: 64,
  /** The commitment folds a result. */
  result: 128,
} as const;

const RECORD = parseAbiParameters(
  "(address requester, uint88 fee, uint32 modelId, uint16 version, uint8 mode, bool vault, uint16 rows, bytes32 inputCommitment, address callback, uint32 callbackGas)",
);
const THREE_WORDS = parseAbiParameters("bytes32, bytes32, bytes32");

/** `abi.encode(rec)` (a static struct: its fields one word each). Throws when a field is out of its type's range. */
export function encodeRecord(rec: TaskRecord): Hex {
  return encodeAbiParameters(RECORD, [rec]);
}

/** `keccak256(abi.encode(rec))`: the commitment of a task without a result. */
export function recordHash(rec: TaskRecord): Hex {
  return keccak256(encodeRecord(rec));
}

/**
 * The commitment a task with record `rec` stores: {@link recordHash} alone, or folded with
 * the standing `result` (`keccak256(abi.encode(recordHash, output, traceRoot))`).
 */
export function taskCommitment(rec: TaskRecord, result?: Claim): Hex {
  const c0 = recordHash(rec);
  if (!result) return c0;
  return keccak256(encodeAbiParameters(THREE_WORDS, [c0, result.output, result.traceRoot]));
}

/** Why `rec` (with `result` when the task's flags hold `RESULT`) is not the task's, or `undefined` when its commitment accepts them. */
export function recordMismatch(commitment: Hex, flags: number, rec: TaskRecord, result: Claim | undefined): string | undefined {
  const hasResult = (flags & FLAGS.result) !== 0;
  if (hasResult && !result) return "the task holds a result but it has no ResultSubmitted log";
  let mine: Hex;
  try {
    mine = taskCommitment(rec, hasResult ? result : undefined);
  } catch (e) {
    return `the record does not encode: ${String(e).split("\n")[0]}`;
  }
  if (mine.toLowerCase() === commitment.toLowerCase()) return undefined;
  return `the record${hasResult ? " and result" : ""} commit to ${mine}, the task's commitment is ${commitment}`;
}
