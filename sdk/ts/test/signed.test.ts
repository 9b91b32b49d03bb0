// A client paying for itself through the gateway, against a real network (`vouch up`): the
// gateway drafts the EIP-712 request, viem signs it (`signTypedData`) with an EIP-2612 permit
// of the fee, the gateway forwards it to FeeVault.requestSigned, and the contract accepts
// viem's signature: the task's requester is the signer, who paid the fee. A replay and a
// request signed by another key are refused with a 4xx and move nothing.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { type Hex, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  GatewayError,
  draftSignedRequest,
  requestSelfPaid,
  signRequest,
  submitSignedRequest,
  vouchTokenAbi,
} from "../src/index.js";
import { DEV_KEYS, type Network, digits, startNetwork } from "./network.js";

let net: Network;
before(async () => {
  net = await startNetwork();
});
after(async () => {
  await net?.stop();
});

it("a request signed with viem is paid by its signer and not replayable", async () => {
  const signer = privateKeyToAccount(DEV_KEYS[7] as Hex);
  const reader = net.chain();
  const c = net.deployment.contracts;
  const fee = parseEther("1");
  // tokens for the fee, from the deployer (who holds the supply); no approval: the permit
  const deployer = net.chain(0).wallet!;
  const tx = await deployer.writeContract({
    address: c.token,
    abi: vouchTokenAbi,
    functionName: "transfer",
    args: [signer.address, 3n * fee],
    chain: deployer.chain,
  });
  await reader.client.waitForTransactionReceipt({ hash: tx });
  const balance = () =>
    reader.client.readContract({ address: c.token, abi: vouchTokenAbi, functionName: "balanceOf", args: [signer.address] });
  const before = await balance();

  const { rows } = await digits();
  const input = { input: [rows[3]] };
  const req = { model: net.model.cid, input, mode: "optimistic" as const, fee, permitWith: reader.client };

  // signed by another key for this signer's address: refused, nothing moves
  const draft = await draftSignedRequest(net.gateway, signer.address, { ...req, nonce: 99n });
  assert.equal(draft.permit_spender.toLowerCase(), c.taskManager.toLowerCase(), "VOUCH fees go to the TaskManager");
  const forged = await signRequest(privateKeyToAccount(DEV_KEYS[6] as Hex), draft);
  await assert.rejects(
    submitSignedRequest(net.gateway, { ...draft.request, signature: forged }, input),
    (e: unknown) => e instanceof GatewayError && e.status === 401 && e.code === "bad_signature",
  );
  assert.equal(await balance(), before, "nothing paid for a forged request");

  const { task, request } = await requestSelfPaid(net.gateway, signer, req);
  assert.equal(task.status, "executed");
  assert.equal(task.requester.toLowerCase(), `did:pkh:eip155:${net.chain_id}:${signer.address}`.toLowerCase());
  const onChain = await reader.task(BigInt(task.id));
  assert.equal(onChain.requester.toLowerCase(), signer.address.toLowerCase(), "the signer is the requester");
  assert.equal(await balance(), before - fee, "the signer paid the fee");

  // the same signed request again: its nonce is spent
  await assert.rejects(
    submitSignedRequest(net.gateway, request, input),
    (e: unknown) => e instanceof GatewayError && e.status === 409 && e.code === "nonce_used",
  );
  assert.equal(await balance(), before - fee, "a replay pays nothing");
});
