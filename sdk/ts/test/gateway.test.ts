// The SDK against a real network (`vouch up`): SIWE sign-in, gateway tasks followed over SSE,
// settled outputs, receipt verification (and its failure on a tampered output), zk proofs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Hex, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import {
  GatewayClient,
  GatewayError,
  type TaskOutput,
  decodeInt32,
  inputCommitment,
  quantizeOutput,
  verifyReceipt,
  zkProofParts,
  zkVerifierAbi,
  modelRegistryAbi,
} from "../src/index.js";
import { DEV_KEYS, type Network, digits, startNetwork } from "./network.js";

let net: Network;
let gw: GatewayClient;
const me = privateKeyToAccount(DEV_KEYS[9] as Hex);

before(async () => {
  net = await startNetwork();
  gw = await GatewayClient.signIn(net.gateway, me);
});
after(async () => {
  await net?.stop();
});

function argmax(xs: number[]): number {
  return xs.reduce((best, x, i) => (x > (xs[best] as number) ? i : best), 0);
}

describe("sign-in", () => {
  it("opens a session for the signer's did:pkh", async () => {
    assert.equal(gw.did.toLowerCase(), `did:pkh:eip155:${net.chain_id}:${me.address}`.toLowerCase());
    const models = await gw.models();
    assert.ok(models.some((m) => m.cid === net.model.cid), "the published model is listed");
  });

  it("refuses a message signed by another key, and a reused nonce", async () => {
    const n = (await (await fetch(`${net.gateway}/auth/nonce`)).json()) as { nonce: string; domain: string };
    const message = createSiweMessage({
      domain: n.domain,
      address: me.address,
      uri: net.gateway,
      version: "1",
      chainId: net.chain_id,
      nonce: n.nonce,
      issuedAt: new Date(),
    });
    const forged = await privateKeyToAccount(DEV_KEYS[8] as Hex).signMessage({ message });
    await assert.rejects(GatewayClient.login(net.gateway, message, forged), (e: unknown) => {
      assert.ok(e instanceof GatewayError);
      assert.equal(e.status, 401);
      assert.equal(e.code, "bad_signature");
      return true;
    });
    // the bad signature did not burn the nonce: the real signer still signs in with it, once
    const good = await me.signMessage({ message });
    const s = await GatewayClient.login(net.gateway, message, good);
    assert.ok(s.token.length > 0);
    await assert.rejects(GatewayClient.login(net.gateway, message, good), { code: "nonce_used" });
  });

  it("refuses calls without a session", async () => {
    const anon = new GatewayClient(net.gateway, "not-a-token", "");
    await assert.rejects(anon.task("0x1"), { code: "unauthorized", status: 401 });
  });
});

describe("an optimistic task through the gateway", () => {
  let id: string;
  let output: TaskOutput;
  let label: number;

  it("is followed over SSE to finalized, and its output is read", async () => {
    const { rows, labels } = await digits();
    label = labels[3] as number;
    const task = await gw.request({ model: net.model.cid, input: { input: [rows[3]] }, mode: "optimistic", maxFee: 10n ** 18n });
    id = task.id;
    assert.equal(task.terminal, false);
    await assert.rejects(gw.output(id), { code: "no_output" });
    const seen: string[] = [];
    for await (const ev of gw.events(id)) seen.push(ev.status);
    assert.equal(seen.at(-1), "finalized", `events: ${seen.join(" -> ")}`);
    assert.ok(seen.includes("submitted"), `events: ${seen.join(" -> ")}`);
    const view = await gw.task(id);
    assert.equal(view.status, "finalized");
    output = await gw.output(id);
    assert.equal(output.commitment, view.commitment);
    const probs = (output.outputs.probabilities as number[][])[0] as number[];
    assert.equal(probs.length, 10);
    assert.equal(argmax(probs), label, "the MLP reads the held-out digit");
  });

  it("commits to the input the SDK computes from the inline input", async () => {
    const chain = net.chain();
    const req = await chain.requested(BigInt(id));
    const t = await chain.task(BigInt(id));
    assert.equal(inputCommitment([decodeInt32(req.inlineInput)]), t.inputCommitment);
  });

  it("has a receipt that verifies: chain state, record, EAS attestation, output commitment", async () => {
    const r = await verifyReceipt(net.chain(), BigInt(id), { output, waitMs: 30_000 });
    assert.deepEqual(
      r.checks.map((c) => c.check),
      ["task finalized", "task record", "receipt leaf", "attestation on EAS", "attestation commits to the leaf", "output commitment"],
    );
    for (const c of r.checks) assert.ok(c.ok, `${c.check}: ${c.detail}`);
    assert.ok(r.ok);
  });

  it("fails verification on a tampered output", async () => {
    const chain = net.chain();
    const t = await chain.task(BigInt(id));
    const { scales } = await chain.outputsOf(t.modelId, t.version);
    const tampered = structuredClone(output);
    const row = (tampered.outputs.probabilities as number[][])[0] as number[];
    row[label] = (row[label] as number) - (scales[0] as number); // one quantum less
    const r = await verifyReceipt(chain, BigInt(id), { output: tampered, waitMs: 30_000 });
    assert.equal(r.ok, false);
    const oc = r.checks.find((c) => c.check === "output commitment");
    assert.ok(oc && !oc.ok, JSON.stringify(r.checks));
    assert.ok(r.checks.filter((c) => c.check !== "output commitment").every((c) => c.ok));
    // and values that do not fit the registered output sizes
    const short = await verifyReceipt(chain, BigInt(id), { values: [1, 2, 3], waitMs: 30_000 });
    assert.equal(short.ok, false);
  });
});

describe("a zk task through the gateway", () => {
  it("settles with a proof the chain's verifier accepts, and a tampered claim is refused", async () => {
    const { rows } = await digits();
    const task = await gw.request({ model: net.model.cid, input: { input: [rows[5]] }, mode: "zk", maxFee: 10n ** 18n });
    const view = await gw.settle(task.id);
    assert.equal(view.status, "finalized", JSON.stringify(view));
    const chain = net.chain();
    const taskId = BigInt(task.id);
    // no values given: they come from the proof in the submitZk calldata
    const r = await verifyReceipt(chain, taskId, { waitMs: 30_000 });
    for (const c of r.checks) assert.ok(c.ok, `${c.check}: ${c.detail}`);
    assert.deepEqual(r.checks.slice(-2).map((c) => c.check), ["zk proof hash", "zk proof verifies"]);
    // the proof's values are the gateway's output, quantized
    const output = await gw.output(task.id);
    const t = await chain.task(taskId);
    const { scales } = await chain.outputsOf(t.modelId, t.version);
    assert.deepEqual(r.values, quantizeOutput(output, scales));

    // the verifier refuses the same proof for another output commitment
    const proof = (await chain.zkProof(taskId)) as Hex;
    assert.ok(zkProofParts(proof));
    const [weightsRoot, graphRoot, verifier] = await chain.client.readContract({
      address: net.deployment.contracts.registry,
      abi: modelRegistryAbi,
      functionName: "commitments",
      args: [t.modelId, t.version],
    });
    const wrong = keccak256(toHex("another output"));
    const accepted = await chain.client
      .readContract({
        address: verifier,
        abi: zkVerifierAbi,
        functionName: "verifyProof",
        args: [weightsRoot, graphRoot, t.inputCommitment, wrong, proof],
      })
      .catch(() => false);
    assert.equal(accepted, false);
  });
});
