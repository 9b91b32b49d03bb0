// The SDK's commitments against the engine's: every case of testdata/vectors (written by the
// Rust engine, drift-checked by scripts/test.sh) carries its output tensor and the engine's
// tensor commitment of it.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { decodeInt32, inlineInput, listCommitment, outputCommitment, tensorCommitment } from "../src/index.js";
import { ROOT } from "./network.js";

interface Case {
  name: string;
  output: { shape: number[]; data: number[] };
  output_commitment: string;
}

const dir = join(ROOT, "testdata/vectors");
const cases: Case[] = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .flatMap((f) => (JSON.parse(readFileSync(join(dir, f), "utf8")) as { cases: Case[] }).cases);

it("tensor commitments equal the engine's on every shared vector", () => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
  for (const c of cases) assert.equal(tensorCommitment(c.output.data), c.output_commitment, c.name);
});

it("a changed element changes the commitment; non-int32 values are refused", () => {
  const c = cases.find((c) => c.output.data.length > 1) as Case;
  const data = [...c.output.data];
  data[data.length - 1] = (data[data.length - 1] as number) + 1;
  assert.notEqual(tensorCommitment(data), c.output_commitment);
  assert.throws(() => tensorCommitment([0.5]), RangeError);
  assert.throws(() => tensorCommitment([2 ** 31]), RangeError);
});

it("an output commitment is the list commitment of its outputs' tensor commitments", () => {
  const [a, b] = cases.filter((c) => c.output.data.length > 0) as [Case, Case];
  const values = [...a.output.data, ...b.output.data];
  const sizes = [a.output.data.length, b.output.data.length];
  assert.equal(outputCommitment(values, sizes), listCommitment([a.output_commitment as `0x${string}`, b.output_commitment as `0x${string}`]));
  assert.throws(() => outputCommitment(values, [sizes[0] as number]), RangeError);
  // inline bytes round-trip
  assert.deepEqual(decodeInt32(inlineInput([a.output.data])), a.output.data);
});
