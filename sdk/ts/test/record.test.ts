// The hashed layout's commitment (src/record.ts) against an independent encoder: Foundry's
// `cast abi-encode` and `cast keccak` (node_modules/.bin, installed by scripts/bootstrap-node.sh).
// The network tests (chain.test.ts) check the same function against the TaskManager itself.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { type Hex, keccak256, toHex } from "viem";
import { type Claim, FLAGS, type TaskRecord, encodeRecord, recordHash, recordMismatch, taskCommitment } from "../src/index.js";
import { ROOT } from "./network.js";

const cast = join(ROOT, "node_modules/.bin/cast");

function castOut(args: string[]): Hex {
  if (!existsSync(cast)) throw new Error(`${cast} is missing: run scripts/bootstrap-node.sh`);
  return execFileSync(cast, args, { encoding: "utf8" }).trim() as Hex;
}

/** `abi.encode(rec)` and its keccak as cast computes them. */
function castRecordHash(r: TaskRecord): { encoded: Hex; hash: Hex } {
  const tuple = `(${r.requester},${r.fee},${r.modelId},${r.version},${r.mode},${r.vault},${r.rows},${r.inputCommitment},${r.callback},${r.callbackGas})`;
  const encoded = castOut(["abi-encode", "f((address,uint88,uint32,uint16,uint8,bool,uint16,bytes32,address,uint32))", tuple]);
  return { encoded, hash: castOut(["keccak", encoded]) };
}

const word = (s: string): Hex => keccak256(toHex(s));

const records: TaskRecord[] = [
  {
    requester: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    fee: 10n ** 18n,
    modelId: 1,
    version: 1,
    mode: 0,
    vault: false,
    rows: 1,
    inputCommitment: word("input a"),
    callback: "0x0000000000000000000000000000000000000000",
    callbackGas: 0,
  },
  {
    // every field at its type's largest value
    requester: "0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF",
    fee: 2n ** 88n - 1n,
    modelId: 2 ** 32 - 1,
    version: 2 ** 16 - 1,
    mode: 2,
    vault: true,
    rows: 2 ** 16 - 1,
    inputCommitment: word("input b"),
    callback: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    callbackGas: 2 ** 32 - 1,
  },
];

it("a record's commitment is keccak256(abi.encode(rec)), as cast computes it", () => {
  for (const r of records) {
    const want = castRecordHash(r);
    assert.equal(encodeRecord(r), want.encoded);
    assert.equal(recordHash(r), want.hash);
    assert.equal(taskCommitment(r), want.hash);
  }
});

it("with a result, the commitment folds it: keccak256(abi.encode(c0, output, traceRoot))", () => {
  const r = records[0] as TaskRecord;
  const result: Claim = { output: word("output"), traceRoot: word("trace") };
  const c0 = castRecordHash(r).hash;
  const folded = castOut(["keccak", castOut(["abi-encode", "f(bytes32,bytes32,bytes32)", c0, result.output, result.traceRoot])]);
  assert.equal(taskCommitment(r, result), folded);
  assert.notEqual(taskCommitment(r, { ...result, traceRoot: result.output }), folded);
});

it("recordMismatch accepts the task's record and names what a tampered one commits to", () => {
  const r = records[0] as TaskRecord;
  const result: Claim = { output: word("output"), traceRoot: word("trace") };
  const stored = taskCommitment(r, result);
  assert.equal(recordMismatch(stored, FLAGS.result, r, result), undefined);
  assert.equal(recordMismatch(taskCommitment(r), 0, r, result), undefined, "without RESULT the result is ignored");

  const otherRequester = { ...r, requester: "0x90F79bf6EB2c4f870365E785982E1f101E93b906" } as const;
  const why = recordMismatch(stored, FLAGS.result, otherRequester, result);
  assert.equal(why, `the record and result commit to ${taskCommitment(otherRequester, result)}, the task's commitment is ${stored}`);
  const otherInput = { ...r, inputCommitment: word("input c") };
  assert.match(recordMismatch(stored, FLAGS.result, otherInput, result) ?? "", /^the record and result commit to 0x[0-9a-f]{64}, the task's commitment is /);
  assert.match(recordMismatch(stored, FLAGS.result, r, { ...result, output: word("forged") }) ?? "", /commit to/);
  assert.equal(recordMismatch(stored, FLAGS.result, r, undefined), "the task holds a result but it has no ResultSubmitted log");
  // a field out of its type's range is a mismatch with a reason, not a throw
  assert.match(recordMismatch(stored, FLAGS.result, { ...r, fee: 2n ** 88n }, result) ?? "", /^the record does not encode: /);
});
