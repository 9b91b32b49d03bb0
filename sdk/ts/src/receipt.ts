/**
 * Checks a task's receipt from chain state alone, as `vouch receipt verify` does
 * (`crates/chain/src/receipt.rs`), plus the output values:
 *
 * 1. **task finalized** on the TaskManager (`getTask`'s state word);
 * 2. **task record**: the record from the task's `TaskRequested` log and the standing result
 *    from its last `ResultSubmitted` log open the task's commitment
 *    (`keccak256(abi.encode(keccak256(abi.encode(rec)), output, traceRoot))`, see `record.ts`);
 *    every later check uses them;
 * 3. **receipt leaf**: the `Finalized` event's leaf is
 *    `keccak256(abi.encode(taskId, modelId, version, inputCommitment, outputCommitment, mode, traceRoot))`
 *    of the task's fields (`docs/semantics.md` section 8.3);
 * 4. **attestation on EAS** by the ReceiptAttester (per-task or batch schema, not revoked) and
 *    **attestation commits to the leaf** (its data is the leaf preimage, or the batch's hash
 *    chain `head = keccak256(abi.encode(head, leaf))` recomputed over the `Finalized` events);
 * 5. **output commitment**: the output values (given, read from the gateway's output JSON and
 *    quantized with the registry's scales, or carried by the settling transaction) commit to
 *    the task's output commitment (section 6 and 10);
 * 6. zk tasks: **zk proof hash** (the `submitZk` proof hashes to the trace root) and **zk proof
 *    verifies** (the version's verifier contract, called as a view, accepts it for the
 *    registered roots and the task's commitments).
 *
 * @module
 */
import { type Hex, decodeAbiParameters, encodeAbiParameters, keccak256, parseAbiParameters, zeroHash } from "viem";
import { easAbi, receiptAttesterAbi, taskManagerAbi, modelRegistryAbi, zkVerifierAbi } from "./abi/index.js";
import { type OnChainTask, type VouchChain, STATUS, taskView } from "./chain.js";
import { outputCommitment } from "./commit.js";
import type { TaskOutput } from "./gateway.js";
import { type Claim, type TaskRecord, recordMismatch } from "./record.js";

/** One check and its result. */
export interface Check {
  /** What was checked. */
  check: string;
  /** Whether it holds. */
  ok: boolean;
  /** What was found (or why it fails). */
  detail: string;
}

/** The result of {@link verifyReceipt}. */
export interface ReceiptReport {
  /** The task id. */
  taskId: bigint;
  /** Whether every check holds. */
  ok: boolean;
  /** The checks, in order. */
  checks: Check[];
  /** The output values checked (integers), when any were found. */
  values?: number[];
}

/** Where {@link verifyReceipt} takes the output values from. */
export interface VerifyOptions {
  /** The integer output values (every output's rows end to end). */
  values?: readonly number[];
  /** The gateway's output JSON (`GatewayClient.output`): quantized back with the registry's scales. */
  output?: TaskOutput;
  /** How long to wait for the receipt's EAS attestation (attesters batch receipts), in ms. */
  waitMs?: number;
  /** Check this record instead of the one the task's `TaskRequested` log carries (one a contract or a gateway handed you). */
  record?: TaskRecord;
  /** Check this result instead of the task's last `ResultSubmitted` log's. */
  result?: Claim;
}

/** The receipt leaf preimage of a task (also a per-task attestation's data). */
export function receiptData(taskId: bigint, t: OnChainTask): Hex {
  return encodeAbiParameters(
    parseAbiParameters("uint256, uint256, uint256, bytes32, bytes32, uint256, bytes32"),
    [
      taskId,
      BigInt(t.modelId),
      BigInt(t.version),
      t.inputCommitment,
      t.outputCommitment,
      BigInt(t.mode),
      t.traceRoot,
    ],
  );
}

/** One step of the receipt hash chain. */
export function chainStep(head: Hex, leaf: Hex): Hex {
  return keccak256(encodeAbiParameters(parseAbiParameters("bytes32, bytes32"), [head, leaf]));
}

function flatten(v: unknown, out: number[]): void {
  if (Array.isArray(v)) for (const x of v) flatten(x, out);
  else if (typeof v === "number") out.push(v);
  else throw new TypeError(`output element ${JSON.stringify(v)} is not a number`);
}

/**
 * The integer values of a gateway output JSON: each output's dequantized elements divided by
 * the registry's scale of that output and rounded (exact: the gateway wrote `q * scale`).
 * Outputs are taken in the JSON's order, which is the package order for single-output models
 * and name order otherwise.
 */
export function quantizeOutput(output: TaskOutput, scales: readonly number[]): number[] {
  const names = Object.keys(output.outputs ?? {});
  if (names.length !== scales.length) {
    throw new RangeError(`the output has ${names.length} tensors, the model version registers ${scales.length}`);
  }
  const values: number[] = [];
  names.forEach((name, i) => {
    const flat: number[] = [];
    flatten(output.outputs[name], flat);
    const s = scales[i] as number;
    for (const f of flat) values.push(Math.round(f / s));
  });
  return values;
}

type Finalized = { taskId: bigint; output: Hex; receiptLeaf: Hex; receiptIndex: number };

async function finalizedEvents(chain: VouchChain, taskId?: bigint): Promise<Finalized[]> {
  const logs = await chain.client.getContractEvents({
    address: chain.deployment.contracts.taskManager,
    abi: taskManagerAbi,
    eventName: "Finalized",
    ...(taskId === undefined ? {} : { args: { taskId } }),
    fromBlock: BigInt(chain.deployment.block),
    toBlock: "latest",
  });
  return logs.map((l) => l.args as Finalized);
}

/** The attestation checks; `undefined` while no attestation covers the receipt. */
async function attestationChecks(
  chain: VouchChain,
  taskId: bigint,
  t: OnChainTask,
  fin: Finalized,
): Promise<Check[] | undefined> {
  const c = chain.deployment.contracts;
  const attester = { address: c.receipts, abi: receiptAttesterAbi } as const;
  const schemaOf = (functionName: "receiptSchema" | "receiptBatchSchema") =>
    chain.client.readContract({ ...attester, functionName });
  const single = await chain.client.readContract({ ...attester, functionName: "receiptUid", args: [taskId] });
  let uid: Hex;
  let schema: Hex;
  let batch: { fromIndex: bigint; toIndex: bigint; head: Hex } | undefined;
  if (single !== zeroHash) {
    uid = single;
    schema = await schemaOf("receiptSchema");
  } else {
    const logs = await chain.client.getContractEvents({
      address: c.receipts,
      abi: receiptAttesterAbi,
      eventName: "ReceiptsAttested",
      fromBlock: BigInt(chain.deployment.block),
      toBlock: "latest",
    });
    const idx = BigInt(fin.receiptIndex);
    const b = logs
      .map((l) => l.args)
      .find((a) => a.fromIndex !== undefined && a.toIndex !== undefined && a.fromIndex <= idx && idx < a.toIndex);
    if (!b?.uid || b.fromIndex === undefined || !b.head) return undefined;
    uid = b.uid;
    batch = { fromIndex: b.fromIndex, toIndex: b.toIndex as bigint, head: b.head };
    schema = await schemaOf("receiptBatchSchema");
  }
  const a = await chain.client.readContract({ address: c.eas, abi: easAbi, functionName: "getAttestation", args: [uid] });
  const checks: Check[] = [];
  const good = a.uid === uid && a.schema === schema && a.attester.toLowerCase() === c.receipts.toLowerCase() && a.revocationTime === 0n;
  checks.push({
    check: "attestation on EAS",
    ok: good,
    detail: good
      ? `uid ${uid} (${batch ? "batch" : "receipt"} schema, attester ${c.receipts}, not revoked)`
      : `uid ${uid}: schema ${a.schema} (want ${schema}), attester ${a.attester} (want ${c.receipts}), revoked at ${a.revocationTime}`,
  });
  if (!batch) {
    const ok = a.data.toLowerCase() === receiptData(taskId, t).toLowerCase();
    checks.push({
      check: "attestation commits to the leaf",
      ok,
      detail: ok ? "its data is the leaf preimage" : "its data is not this task's receipt",
    });
    return checks;
  }
  let from: bigint, to: bigint, prev: Hex, head: Hex;
  try {
    [from, to, prev, head] = decodeBatch(a.data);
  } catch {
    checks.push({ check: "attestation commits to the leaf", ok: false, detail: "the batch data does not decode" });
    return checks;
  }
  const evs = (await finalizedEvents(chain))
    .filter((e) => BigInt(e.receiptIndex) >= from && BigInt(e.receiptIndex) < to)
    .sort((x, y) => x.receiptIndex - y.receiptIndex);
  const complete = BigInt(evs.length) === to - from && evs.every((e, i) => BigInt(e.receiptIndex) === from + BigInt(i));
  const h = evs.reduce((acc, e) => chainStep(acc, e.receiptLeaf), prev);
  const ours = evs.some((e) => e.taskId === taskId && e.receiptLeaf === fin.receiptLeaf);
  const ok = complete && ours && h === head && batch.head === head && from === batch.fromIndex;
  checks.push({
    check: "attestation commits to the leaf",
    ok,
    detail: ok
      ? `receipts ${from}..${to}: the hash chain over ${evs.length} leaves from ${prev} gives head ${head}`
      : `receipts ${from}..${to}: ${evs.length} leaves found, recomputed head ${h}, attested ${head}${ours ? "" : ", this task's leaf is not in it"}`,
  });
  return checks;
}

function decodeBatch(data: Hex): [bigint, bigint, Hex, Hex] {
  const [f, t, p, h] = decodeAbiParameters(parseAbiParameters("uint64, uint64, bytes32, bytes32"), data);
  return [f, t, p, h];
}

/**
 * Verifies task `taskId`'s receipt (see the module docs). RPC failures throw; failed checks
 * are reported in the result.
 */
export async function verifyReceipt(chain: VouchChain, taskId: bigint, opts: VerifyOptions = {}): Promise<ReceiptReport> {
  const checks: Check[] = [];
  const done = (values?: number[]): ReceiptReport => ({
    taskId,
    ok: checks.every((c) => c.ok),
    checks,
    ...(values ? { values } : {}),
  });
  const { status } = await chain.state(taskId);
  if (status !== 4) {
    checks.push({ check: "task finalized", ok: false, detail: `task ${taskId} is ${STATUS[status] ?? status}` });
    return done();
  }
  checks.push({ check: "task finalized", ok: true, detail: `task ${taskId}` });
  const parts = await chain.taskParts(taskId);
  const record = opts.record ?? parts.record;
  const result = opts.result ?? parts.result;
  const t = taskView({ state: parts.state, record, result });
  const why = recordMismatch(t.commitment, t.flags, record, result);
  checks.push({
    check: "task record",
    ok: why === undefined,
    detail:
      why === undefined
        ? `requested by ${record.requester} (input ${record.inputCommitment}, ${record.rows} rows): record and result open the commitment ${t.commitment}`
        : `the record ${opts.record ? "given" : "of the TaskRequested log"} is not the task's: ${why}`,
  });

  const [fin] = await finalizedEvents(chain, taskId);
  const leaf = keccak256(receiptData(taskId, t));
  if (!fin) {
    checks.push({ check: "receipt leaf", ok: false, detail: "no Finalized event" });
    return done();
  }
  const leafOk = fin.receiptLeaf === leaf && fin.output === t.outputCommitment;
  checks.push({
    check: "receipt leaf",
    ok: leafOk,
    detail: leafOk
      ? `${leaf} (index ${fin.receiptIndex})`
      : `the Finalized event has leaf ${fin.receiptLeaf} (output ${fin.output}), the task's fields give ${leaf}`,
  });
  const until = Date.now() + (opts.waitMs ?? 0);
  let att = await attestationChecks(chain, taskId, t, fin);
  while (!att && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    att = await attestationChecks(chain, taskId, t, fin);
  }
  checks.push(
    ...(att ?? [
      {
        check: "attestation on EAS",
        ok: false,
        detail: `the receipt of task ${taskId} is not attested yet (anyone may call ReceiptAttester.attestReceipt)`,
      },
    ]),
  );

  // the output values against the output commitment
  let values: number[] | undefined;
  let source = "";
  const { sizes, scales } = await chain.outputsOf(t.modelId, t.version);
  try {
    if (opts.values) {
      values = [...opts.values];
      source = "the given values";
    } else if (opts.output) {
      values = quantizeOutput(opts.output, scales);
      source = "the gateway's output";
    } else {
      values = await chain.values(taskId);
      source = "the settling transaction's values";
    }
  } catch (e) {
    checks.push({ check: "output commitment", ok: false, detail: String(e) });
  }
  if (values) {
    const rows = t.rows;
    let got: Hex | undefined;
    let why = "";
    try {
      got = outputCommitment(values, sizes, rows);
    } catch (e) {
      why = String(e);
    }
    const ok = got === t.outputCommitment;
    checks.push({
      check: "output commitment",
      ok,
      detail: ok
        ? `${source} (${values.length}) commit to ${got}`
        : got
          ? `${source} commit to ${got}, the task to ${t.outputCommitment}`
          : why,
    });
  } else if (!checks.some((c) => c.check === "output commitment")) {
    checks.push({
      check: "output commitment",
      ok: false,
      detail: "no output values: pass the gateway's output or the values (the task settled without them)",
    });
  }

  if (t.mode === 2) checks.push(...(await zkChecks(chain, taskId, t)));
  return done(values);
}

async function zkChecks(chain: VouchChain, taskId: bigint, t: OnChainTask): Promise<Check[]> {
  const proof = await chain.zkProof(taskId);
  if (!proof) return [{ check: "zk proof", ok: false, detail: "no submitZk transaction found for the task" }];
  const hashOk = keccak256(proof) === t.traceRoot;
  const checks: Check[] = [
    {
      check: "zk proof hash",
      ok: hashOk,
      detail: `keccak of the submitZk proof is ${keccak256(proof)}, the trace root ${t.traceRoot}`,
    },
  ];
  const [weightsRoot, graphRoot, verifier] = await chain.client.readContract({
    address: chain.deployment.contracts.registry,
    abi: modelRegistryAbi,
    functionName: "commitments",
    args: [t.modelId, t.version],
  });
  let accepted = false;
  let why = "";
  try {
    accepted = await chain.client.readContract({
      address: verifier,
      abi: zkVerifierAbi,
      functionName: "verifyProof",
      args: [weightsRoot, graphRoot, t.inputCommitment, t.outputCommitment, proof],
    });
  } catch (e) {
    why = `: ${String(e).split("\n")[0]}`;
  }
  checks.push({
    check: "zk proof verifies",
    ok: accepted,
    detail: accepted
      ? `the version's verifier ${verifier} accepts the proof for output ${t.outputCommitment}`
      : `the version's verifier ${verifier} rejects the proof${why}`,
  });
  return checks;
}
