// The TypeScript SDK quickstart of the README, verbatim (test/quickstart.test.ts runs it).
// Against `vouch up` (gateway :8080, devnet :8545); VOUCH_GATEWAY, VOUCH_RPC,
// VOUCH_DEPLOYMENT and VOUCH_KEY point it elsewhere.
import { createPublicClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { GatewayClient, VouchChain, loadDeployment, verifyReceipt } from "@vouch/sdk";

const gatewayUrl = process.env.VOUCH_GATEWAY ?? "http://127.0.0.1:8080";
const rpcUrl = process.env.VOUCH_RPC ?? "http://127.0.0.1:8545";
const deployment = await loadDeployment(process.env.VOUCH_DEPLOYMENT ?? ".vouch/up/deployments/31337.json");
// anvil's public dev key 9, the local network's client: never use it on a real chain
const key = (process.env.VOUCH_KEY ?? "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6") as `0x${string}`;

// 1. sign in with Ethereum (EIP-4361): a session for did:pkh:eip155:31337:<address>
const gateway = await GatewayClient.signIn(gatewayUrl, privateKeyToAccount(key));
console.log(`signed in as ${gateway.did}`);

// 2. request: the served model (the digits MLP), one 8x8 image of pixel counts 0-16
const [model] = await gateway.models();
if (!model) throw new Error("the gateway serves no model");
const image = [
  0, 0, 7, 16, 14, 3, 0, 0, 0, 0, 9, 14, 11, 15, 0, 0, 0, 0, 1, 5, 0, 15, 5, 0, 0, 0, 0, 0, 0, 16, 5, 0,
  0, 0, 0, 0, 3, 16, 4, 0, 0, 0, 0, 1, 12, 14, 1, 0, 0, 0, 5, 12, 16, 16, 14, 1, 0, 0, 8, 16, 14, 10, 13, 3,
];
const task = await gateway.request({ model: model.cid, input: { input: [image] }, mode: "optimistic", maxFee: 10n ** 18n });
console.log(`task ${task.id} (${task.mode}) accepted`);

// 3. follow it over Server-Sent Events until it settles, then read the output
const settled = await gateway.settle(task.id, { onEvent: (e) => console.log(`  ${e.status}`) });
const output = await gateway.output(task.id);
const probabilities = (output.outputs.probabilities as number[][])[0] ?? [];
const digit = probabilities.indexOf(Math.max(...probabilities));
console.log(`${settled.status}: digit ${digit} (p = ${probabilities[digit]?.toFixed(4)}), commitment ${output.commitment}`);

// 4. verify the receipt from the chain: finalized, task record, receipt leaf, EAS attestation, output commitment
const chain = new VouchChain(createPublicClient({ transport: http(rpcUrl) }), deployment);
const receipt = await verifyReceipt(chain, BigInt(task.id), { output, waitMs: 30_000 });
for (const c of receipt.checks) console.log(`  ${c.ok ? "ok  " : "FAIL"}  ${c.check}: ${c.detail}`);
console.log(receipt.ok ? `receipt of task ${task.id}: all ${receipt.checks.length} checks passed` : "receipt FAILED");
process.exitCode = receipt.ok ? 0 : 1;
