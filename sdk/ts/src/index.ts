/**
 * The vouch TypeScript SDK: sign in to a vouch gateway with Sign-In with Ethereum, request
 * verifiable inference through the gateway or directly on-chain (with a consumer callback),
 * follow the task (Server-Sent Events or logs), read the settled output and verify its
 * receipt (chain state, the EAS attestation, the output commitment, a zk proof).
 *
 * | module | holds |
 * |---|---|
 * | `gateway` | {@link GatewayClient}: SIWE sign-in, tasks, SSE, outputs |
 * | `chain` | {@link VouchChain}: deployment, `TaskManager.request`, `readTask`, logs, on-chain values |
 * | `record` | the hashed task layout: {@link TaskRecord}, {@link Claim}, {@link taskCommitment} |
 * | `signed` | {@link requestSelfPaid}: client-paid tasks, an EIP-712 request signed with viem |
 * | `receipt` | {@link verifyReceipt}: the receipt checks |
 * | `commit` | tensor, list, input and output commitments (`docs/semantics.md` section 6) |
 * | `abi` | typed ABIs generated from `contracts/out` (`scripts/gen-abi.mjs`) |
 *
 * @module
 */
export * from "./abi/index.js";
export * from "./chain.js";
export * from "./commit.js";
export * from "./gateway.js";
export * from "./receipt.js";
export * from "./record.js";
export * from "./signed.js";
