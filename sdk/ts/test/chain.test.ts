// Requesting a task directly on-chain with a callback to a consumer contract (the
// LendingRiskGate example), following it by its logs, reading it on the hashed layout (the
// record the TaskManager's commitment accepts) and reading and verifying the values the
// settling transaction delivered, against a real network (`vouch up`).
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { type Hex, createPublicClient, custom, encodeEventTopics, http, pad, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  FLAGS,
  GatewayClient,
  RecordMismatchError,
  VouchChain,
  decodeInt32,
  lendingRiskGateAbi,
  lendingRiskGateBytecode,
  outputCommitment,
  taskCommitment,
  taskManagerAbi,
  verifyReceipt,
  vouchTokenAbi,
} from "../src/index.js";
import { DEV_KEYS, type Network, digits, startNetwork } from "./network.js";

let net: Network;
/** The task the first test settles (with its requester, consumer and values), for the second. */
let settled: { taskId: bigint; requester: Hex; gate: Hex; values: number[] } | undefined;
before(async () => {
  net = await startNetwork();
});
after(async () => {
  await net?.stop();
});

it("an on-chain request with a callback settles, delivers to the consumer and verifies", async () => {
  const requester = net.chain(8);
  const wallet = requester.wallet!;
  const me = wallet.account.address;
  const c = net.deployment.contracts;

  // tokens for the fee, from the deployer (who holds the supply)
  const deployer = net.chain(0).wallet!;
  const fee = parseEther("1");
  const tx = await deployer.writeContract({ address: c.token, abi: vouchTokenAbi, functionName: "transfer", args: [me, 5n * fee], chain: deployer.chain });
  await requester.client.waitForTransactionReceipt({ hash: tx });

  // the quantized input: the gateway's own quantization of a held-out row, read back from the
  // inline input of the task it requested
  const { rows, labels } = await digits();
  const gw = await GatewayClient.signIn(net.gateway, privateKeyToAccount(DEV_KEYS[9] as Hex));
  const viaGateway = await gw.request({ model: net.model.cid, input: { input: [rows[7]] }, mode: "optimistic", maxFee: fee });
  const quantized = decodeInt32((await requester.requested(BigInt(viaGateway.id))).inlineInput);
  assert.equal(quantized.length, 64);
  const label = labels[7] as number;

  // the consumer: grants a credit line when probability[label] is under 2.0 (always)
  const deploy = await wallet.deployContract({
    abi: lendingRiskGateAbi,
    bytecode: lendingRiskGateBytecode,
    args: [c.taskManager, net.model.id, net.model.version, 0n, BigInt(label), parseEther("2"), 1234n],
    chain: wallet.chain,
  });
  const gate = (await requester.client.waitForTransactionReceipt({ hash: deploy })).contractAddress!;

  const { taskId } = await requester.request({
    modelId: net.model.id,
    version: net.model.version,
    mode: "optimistic",
    fee,
    inputs: [quantized],
    callback: gate,
  });
  const events: string[] = [];
  const t = await requester.follow(taskId, { onLog: (l) => events.push(l.eventName), timeoutMs: 120_000 });
  assert.equal(t.status, 4, `events: ${events.join(", ")}`);
  assert.deepEqual(events.slice(0, 2), ["TaskRequested", "ResultSubmitted"]);
  assert.ok(events.includes("Finalized"), events.join(", "));
  // the same input gives the same output as through the gateway
  const viaGatewayTask = await requester.task(BigInt(viaGateway.id));
  assert.equal(t.inputCommitment, viaGatewayTask.inputCommitment);

  // the consumer got the checked result
  const line = await requester.client.readContract({ address: gate, abi: lendingRiskGateAbi, functionName: "creditLineOf", args: [me] });
  assert.equal(line, 1234n);
  const approved = await requester.client.getContractEvents({ address: gate, abi: lendingRiskGateAbi, eventName: "CreditApproved", fromBlock: 0n });
  assert.equal(approved.length, 1);
  assert.equal(approved[0]!.args.taskId, taskId);

  // the values the finalize transaction carried open the output commitment, and the score the
  // consumer computed is value * scale
  const values = await requester.values(taskId);
  assert.ok(values, "the finalize call carried the values");
  const { sizes, scales } = await requester.outputsOf(t.modelId, t.version);
  assert.equal(outputCommitment(values, sizes), t.outputCommitment);
  const score = Number(approved[0]!.args.scoreWad) / 1e18;
  assert.ok(Math.abs(score - (values[label] as number) * (scales[0] as number)) < 1e-12, `score ${score}`);

  const r = await verifyReceipt(requester, taskId, { waitMs: 30_000 });
  for (const ch of r.checks) assert.ok(ch.ok, `${ch.check}: ${ch.detail}`);
  // a wrong value is caught
  const wrong = [...values];
  wrong[0] = (wrong[0] as number) + 1;
  const bad = await verifyReceipt(requester, taskId, { values: wrong, waitMs: 30_000 });
  assert.equal(bad.ok, false);
  settled = { taskId, requester: me, gate, values };
});

it("readTask returns the record the TaskManager's commitment accepts; a tampered record fails", async () => {
  assert.ok(settled, "the first test settled a task");
  const { taskId, values } = settled;
  const chain = net.chain();
  const tm = net.deployment.contracts.taskManager;

  const t = await chain.readTask(taskId);
  assert.equal(t.status, 4);
  assert.equal(t.record.requester.toLowerCase(), settled.requester.toLowerCase());
  assert.equal(t.record.callback.toLowerCase(), settled.gate.toLowerCase());
  assert.deepEqual([t.record.mode, t.record.rows, t.record.vault], [0, 1, false]);
  assert.ok(t.result, "a finalized task has a standing result");
  assert.ok((t.flags & FLAGS.result) !== 0 && (t.flags & FLAGS.hasCallback) !== 0, `flags ${t.flags}`);
  assert.equal(t.outputCommitment, t.result.output);
  assert.equal(t.commitment, taskCommitment(t.record, t.result));
  // the contract itself accepts the record and result, and refuses another requester's
  const checkRecord = (rec: typeof t.record) =>
    chain.client.readContract({ address: tm, abi: taskManagerAbi, functionName: "checkRecord", args: [taskId, rec, t.result!] });
  await checkRecord(t.record);
  const forged = { ...t.record, requester: privateKeyToAccount(DEV_KEYS[5] as Hex).address };
  await assert.rejects(checkRecord(forged), /BadRecord/);

  // a receipt checked against a tampered record fails on the record, naming both commitments
  const good = await verifyReceipt(chain, taskId, { values, waitMs: 30_000 });
  assert.ok(good.ok, good.checks.map((c) => `${c.check}: ${c.detail}`).join("\n"));
  assert.deepEqual(good.checks.map((c) => c.check).slice(0, 3), ["task finalized", "task record", "receipt leaf"]);
  const bad = await verifyReceipt(chain, taskId, { values, record: forged });
  const failed = bad.checks.filter((c) => !c.ok);
  assert.deepEqual(failed.map((c) => c.check), ["task record"]);
  assert.match(failed[0]!.detail, /^the record given is not the task's: the record and result commit to 0x[0-9a-f]{64}, the task's commitment is 0x[0-9a-f]{64}$/);
  const otherInput = await verifyReceipt(chain, taskId, { values, record: { ...t.record, inputCommitment: pad("0x01", { size: 32 }) } });
  const names = otherInput.checks.filter((c) => !c.ok).map((c) => c.check);
  assert.ok(names.includes("task record") && names.includes("receipt leaf"), names.join(", "));

  // an endpoint serving a forged TaskRequested log (another requester): readTask refuses it
  const inner = createPublicClient({ transport: http(net.rpc_url) });
  const [requestedTopic] = encodeEventTopics({ abi: taskManagerAbi, eventName: "TaskRequested" });
  const lying = createPublicClient({
    transport: custom({
      async request({ method, params }) {
        const answer = await inner.request({ method, params } as never);
        if (method !== "eth_getLogs" || !Array.isArray(answer)) return answer;
        return (answer as { topics: Hex[] }[]).map((l) =>
          l.topics[0] === requestedTopic ? { ...l, topics: [l.topics[0], l.topics[1], pad(forged.requester.toLowerCase() as Hex), ...l.topics.slice(3)] } : l,
        );
      },
    }),
  });
  await assert.rejects(
    new VouchChain(lying, net.deployment).readTask(taskId),
    (e: unknown) => e instanceof RecordMismatchError && e.taskId === taskId && /the record read from its logs is not the task's/.test(e.message),
  );
});
