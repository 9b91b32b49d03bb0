// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./utils/Fixture.sol";
import {RecordingConsumer} from "./ResultDelivery.t.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskManagerModule} from "../src/TaskManagerModule.sol";
import {FeeVault} from "../src/FeeVault.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {VouchResult} from "../src/consumer/IVouchConsumer.sol";
import {VouchZkVerifierMlp10} from "../src/verifiers/VouchZkVerifierMlp10.sol";

/// @notice The one-transaction zk decision (`FeeVault.requestSignedZk`): a client-signed zk
/// request created, proven, settled and delivered in the provider's one call, with the real
/// mlp_10_20_2 verifier and proof (testdata/proofs/v3). The task's id is the signed digest, and
/// its slots are the signature's replay protection.
contract SignedZkTest is Fixture {
    uint256 internal constant CLIENT_KEY = 0xC11E47;
    uint64 internal constant P15 = 0x3f00000000000000;

    FeeVault internal vault;
    RecordingConsumer internal consumer;
    address internal client;
    bytes32 internal input;
    bytes32 internal output;
    bytes internal proof;

    function setUp() public override {
        super.setUp();
        vault = d.feeVault;
        VouchZkVerifierMlp10 v = new VouchZkVerifierMlp10();
        string memory j =
            vm.readFile(string.concat(vm.projectRoot(), "/../testdata/proofs/v3/mlp_10_20_2.calldata.json"));
        (input, output, proof) =
        (
            vm.parseJsonBytes32(j, ".input_commitment"),
            vm.parseJsonBytes32(j, ".output_commitment"),
            vm.parseJsonBytes(j, ".proof")
        );
        outputSpecs.push(ModelRegistry.OutputSpec({size: 2, scaleBits: P15}));
        modelId = _registerModel(v.WEIGHTS_ROOT(), keccak256("graph"), address(v));
        consumer = new RecordingConsumer();
        client = vm.addr(CLIENT_KEY);
        _fund(client, 1_000 ether);
    }

    function _input() internal view returns (TaskManager.RequestInput memory r) {
        r = _requestInput(TaskManager.Mode.Zk, input);
        (r.callback, r.callbackGas) = (address(consumer), 500_000);
    }

    function _signed(uint256 nonce) internal view returns (FeeVault.Signed memory) {
        return FeeVault.Signed({client: client, feeToken: address(token), nonce: nonce, expiry: block.timestamp + 60});
    }

    function _sig(uint256 key, TaskManager.RequestInput memory r, FeeVault.Signed memory s)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 rr, bytes32 ss) = vm.sign(key, vault.hashRequest(r, s));
        return abi.encodePacked(rr, ss, v);
    }

    function _none() internal pure returns (FeeVault.Permit memory p) {}

    /// The provider sends the client's signed request with `out` and the proof.
    function _send(TaskManager.RequestInput memory r, FeeVault.Signed memory s, bytes memory sig, bytes32 out)
        internal
        returns (uint256)
    {
        vm.prank(providers[0]);
        return vault.requestSignedZk(r, s, sig, _none(), out, proof);
    }

    function test_one_transaction_decision_is_requested_proven_settled_and_delivered() public {
        TaskManager.RequestInput memory r = _input();
        FeeVault.Signed memory s = _signed(1);
        uint256 clientBefore = token.balanceOf(client);
        uint256 count = _taskCount();
        uint256 id = _send(r, s, _sig(CLIENT_KEY, r, s), output);

        assertEq(id, uint256(vault.hashRequest(r, s)), "the task id is the signed digest");
        assertEq(_taskCount(), count, "no sequential id used");
        TaskManager.Task memory t = tm.getTask(id);
        assertTrue(t.status == TaskManager.Status.Finalized, "finalized");
        assertEq(t.provider, providers[0], "the caller is the provider");
        assertEq(t.modelId, modelId, "model");
        assertEq(t.flags, 128 | 32 | 8, "result, callback, delivered");
        // the record and the standing result, rebuilt from the events, open the commitment
        TaskRecord memory rec = _rec(id);
        Claim memory c = _claim(id);
        assertEq(rec.requester, client, "the client is the requester");
        assertEq(rec.fee, FEE, "fee");
        assertEq(c.output, output, "output");
        assertEq(c.traceRoot, keccak256(proof), "zk trace root: the proof's hash");
        assertEq(t.commitment, keccak256(abi.encode(keccak256(abi.encode(rec)), c.output, c.traceRoot)), "commitment");
        tm.checkRecord(id, rec, c);
        // paid by the client, credited to the provider less the audit share
        assertEq(token.balanceOf(client), clientBefore - FEE, "the client paid the fee");
        uint256 cut = uint256(FEE) * cfg.params.auditFeeBps / 10_000;
        assertEq(tm.balances(providers[0]), FEE - cut, "provider credited");
        assertEq(_receiptCount(), 1, "receipt appended");
        _assertConserved();
        // delivered once, with the proof's values
        assertEq(consumer.results(), 1, "delivered");
        VouchResult memory res = consumer.last();
        assertEq(res.taskId, id, "task");
        assertEq(res.requester, client, "requester");
        assertEq(res.outputCommitment, output, "output commitment");
        (, int32[] memory values) = abi.decode(proof, (uint256[8], int32[]));
        vm.expectRevert(TaskManager.NothingDelivered.selector);
        tm.deliver(id, rec, c, values);
        assertEq(consumer.results(), 1, "a second delivery does nothing");
    }

    function test_a_rejected_proof_reverts_all_and_the_signature_stays_usable() public {
        TaskManager.RequestInput memory r = _input();
        FeeVault.Signed memory s = _signed(2);
        bytes memory sig = _sig(CLIENT_KEY, r, s);
        vm.expectRevert(TaskManager.ProofRejected.selector);
        _send(r, s, sig, keccak256("another output"));
        assertTrue(tm.getTask(uint256(vault.hashRequest(r, s))).status == TaskManager.Status.None, "no task");
        assertFalse(vault.nonceUsed(client, 2), "nonce unused");
        uint256 id = _send(r, s, sig, output);
        assertTrue(tm.getTask(id).status == TaskManager.Status.Finalized, "then proven");
    }

    function test_a_replayed_signature_is_refused_on_both_signed_paths() public {
        TaskManager.RequestInput memory r = _input();
        FeeVault.Signed memory s = _signed(3);
        bytes memory sig = _sig(CLIENT_KEY, r, s);
        _send(r, s, sig, output);
        uint256 balance = token.balanceOf(client);
        vm.expectRevert(TaskManager.TaskExists.selector);
        _send(r, s, sig, output);
        vm.expectRevert(FeeVault.NonceUsed.selector);
        vault.requestSigned(r, s, sig, _none());
        assertEq(token.balanceOf(client), balance, "charged once");
    }

    function test_a_signature_used_by_requestSigned_or_a_cancelled_nonce_is_refused() public {
        TaskManager.RequestInput memory r = _input();
        FeeVault.Signed memory s = _signed(4);
        bytes memory sig = _sig(CLIENT_KEY, r, s);
        vault.requestSigned(r, s, sig, _none());
        vm.expectRevert(FeeVault.NonceUsed.selector);
        _send(r, s, sig, output);

        s = _signed(5);
        sig = _sig(CLIENT_KEY, r, s);
        vm.prank(client);
        vault.cancelNonce(5);
        vm.expectRevert(FeeVault.NonceUsed.selector);
        _send(r, s, sig, output);
    }

    function test_expired_wrong_token_wrong_signer_and_non_zk_requests_are_refused() public {
        TaskManager.RequestInput memory r = _input();
        FeeVault.Signed memory s = _signed(6);
        bytes memory sig = _sig(CLIENT_KEY, r, s);
        vm.warp(s.expiry + 1);
        vm.expectRevert(FeeVault.Expired.selector);
        _send(r, s, sig, output);

        s = _signed(7);
        s.feeToken = address(0xDEAD);
        sig = _sig(CLIENT_KEY, r, s);
        vm.expectRevert(abi.encodeWithSelector(FeeVault.WrongFeeToken.selector, address(token)));
        _send(r, s, sig, output);

        s = _signed(8);
        sig = _sig(CLIENT_KEY + 1, r, s);
        vm.expectRevert(FeeVault.BadSignature.selector);
        _send(r, s, sig, output);

        r.mode = TaskManager.Mode.Optimistic;
        sig = _sig(CLIENT_KEY, r, s);
        vm.expectRevert(TaskManager.BadMode.selector);
        _send(r, s, sig, output);
    }

    function test_only_the_vault_creates_a_keyed_task_and_the_module_runs_only_delegated() public {
        vm.expectRevert(TaskManager.UseFeeVault.selector);
        tm.requestSubmitZkFor(uint256(keccak256("id")), client, _input(), false, providers[0], output, proof);
        TaskManagerModule module = TaskManagerModule(tm.module());
        vm.expectRevert(TaskManagerModule.OnlyDelegated.selector);
        module.closeAudit(1);
    }
}
