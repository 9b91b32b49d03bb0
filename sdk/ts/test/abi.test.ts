// The drift check of the generated ABIs: regenerating src/abi from contracts/out gives the
// committed files (scripts/check-ts-abi.sh also rebuilds the contracts first).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { decodeFunctionResult, encodeFunctionData, encodeFunctionResult } from "viem";
import { taskManagerAbi } from "../src/index.js";
import { ROOT } from "./network.js";

it("src/abi is what scripts/gen-abi.mjs generates from contracts/out", () => {
  const tmp = mkdtempSync(join(tmpdir(), "vouch-abi-"));
  try {
    execFileSync(process.execPath, [join(ROOT, "sdk/ts/scripts/gen-abi.mjs"), "--out", tmp], { stdio: "pipe" });
    const committed = join(ROOT, "sdk/ts/src/abi");
    const names = readdirSync(tmp).sort();
    assert.deepEqual(readdirSync(committed).sort(), names);
    for (const n of names) {
      assert.equal(readFileSync(join(committed, n), "utf8"), readFileSync(join(tmp, n), "utf8"), `src/abi/${n} is stale: run node sdk/ts/scripts/gen-abi.mjs`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

it("the generated ABIs are typed: viem encodes a request and decodes a task", () => {
  const data = encodeFunctionData({ abi: taskManagerAbi, functionName: "getTask", args: [7n] });
  assert.equal(BigInt(`0x${data.slice(10)}`), 7n);
  // a Task (the hashed layout's state word and commitment) round-trips through the typed result coder
  const task = {
    provider: "0x0000000000000000000000000000000000000001",
    modelId: 1,
    mode: 2,
    status: 4,
    flags: 160,
    deadline: 99,
    commitment: `0x${"11".repeat(32)}`,
  } as const;
  const encoded = encodeFunctionResult({ abi: taskManagerAbi, functionName: "getTask", result: task });
  const t = decodeFunctionResult({ abi: taskManagerAbi, functionName: "getTask", data: encoded });
  assert.equal(t.status, 4);
  assert.equal(t.commitment, task.commitment);
  assert.equal(t.flags, 160);
});
