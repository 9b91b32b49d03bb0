// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./utils/Fixture.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {VouchResult} from "../src/consumer/IVouchConsumer.sol";
import {IVouchTaskManager} from "../src/consumer/IVouchTaskManager.sol";
import {VouchResults} from "../src/consumer/VouchResults.sol";
import {VouchConsumer} from "../src/consumer/VouchConsumer.sol";
import {LendingRiskGate} from "../src/examples/LendingRiskGate.sol";
import {AgentVault} from "../src/examples/AgentVault.sol";
import {Outcome} from "../src/IDisputeGame.sol";

/// @notice The example consumers on the real protocol: each acts on a verified, final result
/// of its model version and refuses everything else: results not from the TaskManager, values
/// that do not open the output commitment, unfinalized tasks, other models and versions, and
/// replays (pushed by the TaskManager or pulled with `consume`).
contract ConsumersTest is Fixture {
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant TRACE = keccak256("trace");
    uint8 internal constant CALLBACK_FAILED = 16;
    /// binary64 bits of 1.0 (a label) and 2^-15 (probabilities at 16 bits)
    uint64 internal constant ONE = 0x3ff0000000000000;
    uint64 internal constant P15 = 0x3f00000000000000;

    LendingRiskGate internal gate;
    AgentVault internal vault;
    uint32 internal otherModel;

    function setUp() public override {
        super.setUp();
        // the digits classifiers' outputs: a label, then 10 probabilities
        outputSpecs.push(ModelRegistry.OutputSpec({size: 1, scaleBits: ONE}));
        outputSpecs.push(ModelRegistry.OutputSpec({size: 10, scaleBits: P15}));
        modelId = _registerModel(keccak256("weights"), keccak256("graph"), address(0));
        otherModel = _registerModel(keccak256("weights 2"), keccak256("graph 2"), address(0));
        vm.prank(modelOwner);
        registry.addVersion(
            modelId,
            ModelRegistry.VersionInput(
                "c", keccak256("p"), keccak256("w"), keccak256("g"), 4, "", address(0), outputSpecs, false, address(0)
            )
        );
        for (uint256 i; i < providers.length; ++i) {
            _stakeAndOptIn(providers[i], modelId);
            vm.prank(providers[i]);
            staking.optIn(otherModel);
        }
        vm.roll(block.number + 1);
        _fund(address(0xB0B), 1_000 ether);
        _fund(address(0xBAD), 1_000 ether);
        IVouchTaskManager itm = IVouchTaskManager(address(tm));
        // risk = probability of class 0, approved under 0.2
        gate = new LendingRiskGate(itm, modelId, VERSION, 1, 0, 0.2e18, 1_000 ether);
        VouchConsumer.ModelVersion[] memory accepted = new VouchConsumer.ModelVersion[](1);
        accepted[0] = VouchConsumer.ModelVersion({modelId: modelId, version: VERSION});
        uint16[] memory alloc = new uint16[](10);
        for (uint256 c; c < 10; ++c) {
            alloc[c] = uint16(c * 1_000);
        }
        vault = new AgentVault(itm, accepted, requester, 1, 0.5e18, alloc);
    }

    /// A label and ten probabilities (2^-15 steps), class `top` at `p` and the rest even.
    function _probs(uint256 top, int32 p) internal pure returns (int32[] memory v) {
        v = new int32[](11);
        v[0] = int32(int256(top));
        for (uint256 c; c < 10; ++c) {
            v[1 + c] = c == top ? p : (32_768 - p) / 9;
        }
    }

    function _commit(int32[] memory v, uint256 rows) internal view returns (bytes32) {
        (uint32[] memory sizes,) = registry.outputsOf(modelId, VERSION);
        return VouchResults.commitment(v, sizes, rows);
    }

    /// A task of `model`/`version` with `callback`, submitted with `v`'s commitment; `wait`:
    /// its challenge window passed.
    function _task(
        address who,
        address callback,
        uint32 model,
        uint16 version,
        int32[] memory v,
        uint16 rows,
        bool wait
    ) internal returns (uint256 id) {
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        (r.modelId, r.version, r.rows) = (model, version, rows);
        (r.callback, r.callbackGas) = (callback, 300_000);
        vm.prank(who);
        id = tm.request(r);
        bytes32 out = _commit(v, rows);
        vm.prank(providers[0]);
        tm.submit(id, out, TRACE);
        if (wait) vm.warp(block.timestamp + cfg.params.challengeWindow);
    }

    function _fake(uint256 id, int32[] memory v) internal view returns (VouchResult memory r) {
        (uint32[] memory sizes, uint64[] memory scales) = registry.outputsOf(modelId, VERSION);
        r = VouchResult({
            taskId: id,
            requester: requester,
            modelId: modelId,
            version: VERSION,
            mode: 0,
            rows: 1,
            inputCommitment: INPUT,
            outputCommitment: _commit(v, 1),
            values: v,
            sizes: sizes,
            scales: scales
        });
    }

    function _failed(uint256 id) internal view returns (bool) {
        return tm.getTask(id).flags & CALLBACK_FAILED != 0;
    }

    // ------------------------------------------------------------ lending risk gate

    function test_gate_approves_on_a_verified_score_under_the_threshold() public {
        int32[] memory v = _probs(3, 26_000); // p(class 0) = 752 / 32768 = 0.023
        uint256 id = _task(requester, address(gate), modelId, VERSION, v, 1, true);
        vm.expectEmit(true, true, true, true);
        emit LendingRiskGate.CreditApproved(requester, id, int256(752) * 1e18 / 32_768, 1_000 ether);
        tm.finalize(id, _rec(id), _claim(id), v);
        assertEq(gate.creditLineOf(requester), 1_000 ether, "approved");
        vm.expectRevert(abi.encodeWithSelector(VouchResults.NotPullable.selector, id));
        gate.consume(id, _rec(id), _claim(id).traceRoot, v); // pushed: not pulled as well
    }

    function test_gate_denies_a_verified_score_over_the_threshold() public {
        int32[] memory v = _probs(0, 20_000); // p(class 0) = 0.61
        uint256 id = _task(requester, address(gate), modelId, VERSION, v, 1, true);
        tm.finalize(id, _rec(id), _claim(id), v);
        assertEq(gate.creditLineOf(requester), 0, "denied");
        assertFalse(_failed(id), "the callback ran");
    }

    function test_gate_refuses_results_not_from_the_task_manager() public {
        int32[] memory v = _probs(3, 26_000);
        uint256 id = _task(requester, address(gate), modelId, VERSION, v, 1, true);
        VouchResult memory r = _fake(id, v);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(VouchConsumer.NotTaskManager.selector, requester));
        gate.onVouchResult(r);
        vm.expectRevert(abi.encodeWithSelector(VouchConsumer.NotTaskManager.selector, address(this)));
        gate.onVouchFailed(id);
        assertEq(gate.creditLineOf(requester), 0, "nothing approved");
    }

    function test_gate_refuses_values_that_do_not_open_the_commitment() public {
        int32[] memory v = _probs(0, 20_000); // the verified answer: deny
        uint256 id = _task(requester, address(gate), modelId, VERSION, v, 1, true);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        int32[] memory forged = _probs(3, 26_000); // an approving answer nobody verified
        vm.expectRevert(abi.encodeWithSelector(VouchResults.ValuesMismatch.selector, id));
        tm.deliver(id, _rec(id), _claim(id), forged);
        uint256 next = _task(requester, address(gate), modelId, VERSION, v, 1, true);
        vm.expectRevert(abi.encodeWithSelector(VouchResults.ValuesMismatch.selector, next));
        tm.finalize(next, _rec(next), _claim(next), forged);
        uint256 plain = _task(requester, address(0), modelId, VERSION, v, 1, true);
        tm.finalize(plain, _rec(plain), _claim(plain), new int32[](0));
        vm.expectRevert(abi.encodeWithSelector(VouchResults.ValuesMismatch.selector, plain));
        gate.consume(plain, _rec(plain), _claim(plain).traceRoot, forged);
        assertEq(gate.creditLineOf(requester), 0, "nothing approved");
    }

    function test_gate_refuses_unfinalized_results() public {
        int32[] memory v = _probs(3, 26_000);
        uint256 id = _task(requester, address(gate), modelId, VERSION, v, 1, false);
        vm.expectRevert(
            abi.encodeWithSelector(VouchResults.NotFinalized.selector, id, uint8(TaskManager.Status.Submitted))
        );
        gate.consume(id, _rec(id), _claim(id).traceRoot, v);
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.finalize(id, _rec(id), _claim(id), v);
        // challenged: disputed, still not final
        vm.prank(challenger);
        tm.challenge(id, _rec(id), _claim(id), Claim(keccak256("other"), TRACE));
        vm.expectRevert(
            abi.encodeWithSelector(VouchResults.NotFinalized.selector, id, uint8(TaskManager.Status.Disputed))
        );
        gate.consume(id, _rec(id), _claim(id).traceRoot, v);
        assertEq(gate.creditLineOf(requester), 0, "nothing approved");
    }

    function test_gate_refuses_other_models_and_versions() public {
        int32[] memory v = _probs(3, 26_000);
        uint256 idModel = _task(requester, address(gate), otherModel, VERSION, v, 1, true);
        uint256 idVersion = _task(requester, address(gate), modelId, 2, v, 1, true);
        tm.finalize(idModel, _rec(idModel), _claim(idModel), v);
        tm.finalize(idVersion, _rec(idVersion), _claim(idVersion), v);
        assertTrue(_failed(idModel) && _failed(idVersion), "pushes refused");
        assertEq(gate.creditLineOf(requester), 0, "nothing approved");
        vm.expectRevert(abi.encodeWithSelector(VouchConsumer.ModelNotAccepted.selector, otherModel, VERSION));
        gate.consume(idModel, _rec(idModel), _claim(idModel).traceRoot, v);
        vm.expectRevert(abi.encodeWithSelector(VouchConsumer.ModelNotAccepted.selector, modelId, uint16(2)));
        gate.consume(idVersion, _rec(idVersion), _claim(idVersion).traceRoot, v);
    }

    function test_gate_refuses_replays() public {
        int32[] memory v = _probs(3, 26_000);
        // pushed once: the TaskManager delivers once, and a pushed result cannot be pulled
        uint256 id = _task(requester, address(gate), modelId, VERSION, v, 1, true);
        tm.finalize(id, _rec(id), _claim(id), v);
        assertEq(gate.creditLineOf(requester), 1_000 ether, "approved once");
        vm.expectRevert(TaskManager.NothingDelivered.selector);
        tm.deliver(id, _rec(id), _claim(id), v);
        vm.expectRevert(abi.encodeWithSelector(VouchResults.NotPullable.selector, id));
        gate.consume(id, _rec(id), _claim(id).traceRoot, v);
        // a task naming the gate but not delivered yet: delivered by push, not pulled
        uint256 id2 = _task(address(0xB0B), address(gate), modelId, VERSION, v, 1, true);
        tm.finalize(id2, _rec(id2), _claim(id2), new int32[](0));
        vm.expectRevert(abi.encodeWithSelector(VouchResults.NotPullable.selector, id2));
        gate.consume(id2, _rec(id2), _claim(id2).traceRoot, v);
        // a task without a callback: pulled once
        uint256 id3 = _task(address(0xB0B), address(0), modelId, VERSION, v, 1, true);
        tm.finalize(id3, _rec(id3), _claim(id3), new int32[](0));
        gate.consume(id3, _rec(id3), _claim(id3).traceRoot, v);
        assertEq(gate.creditLineOf(address(0xB0B)), 1_000 ether, "pulled");
        assertTrue(gate.isPulled(id3), "recorded");
        vm.expectRevert(abi.encodeWithSelector(VouchConsumer.Replayed.selector, id3));
        gate.consume(id3, _rec(id3), _claim(id3).traceRoot, v);
        // a push that ran out of gas: pulled once instead
        address carol = address(0xCA201);
        _fund(carol, 1_000 ether);
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        (r.callback, r.callbackGas) = (address(gate), 1_000);
        vm.prank(carol);
        uint256 id4 = tm.request(r);
        bytes32 out = _commit(v, 1);
        vm.prank(providers[0]);
        tm.submit(id4, out, TRACE);
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        tm.finalize(id4, _rec(id4), _claim(id4), v);
        assertTrue(_failed(id4), "the push ran out of gas");
        assertEq(gate.creditLineOf(carol), 0, "not approved by the push");
        gate.consume(id4, _rec(id4), _claim(id4).traceRoot, v);
        assertEq(gate.creditLineOf(carol), 1_000 ether, "approved by the pull");
        vm.expectRevert(abi.encodeWithSelector(VouchConsumer.Replayed.selector, id4));
        gate.consume(id4, _rec(id4), _claim(id4).traceRoot, v);
    }

    function test_gate_scores_one_borrower_per_task() public {
        int32[] memory one = _probs(3, 26_000);
        int32[] memory v = new int32[](22); // two rows: labels, then probabilities
        (v[0], v[1]) = (one[0], one[0]);
        for (uint256 i; i < 10; ++i) {
            (v[2 + i], v[12 + i]) = (one[1 + i], one[1 + i]);
        }
        uint256 id = _task(requester, address(gate), modelId, VERSION, v, 2, true);
        tm.finalize(id, _rec(id), _claim(id), v);
        assertTrue(_failed(id), "refused");
        vm.expectRevert(abi.encodeWithSelector(LendingRiskGate.OneRowPerDecision.selector, uint16(2)));
        gate.consume(id, _rec(id), _claim(id).traceRoot, v);
    }

    // ------------------------------------------------------------ agent vault

    function test_vault_rebalances_on_the_agents_verified_signal() public {
        int32[] memory v = _probs(7, 30_000); // class 7 at 0.92
        uint256 id = _task(requester, address(vault), modelId, VERSION, v, 1, true);
        vm.expectEmit(true, true, true, true);
        emit AgentVault.Rebalanced(id, 7, int256(30_000) * 1e18 / 32_768, 7_000);
        tm.finalize(id, _rec(id), _claim(id), v);
        assertEq(vault.riskBps(), 7_000, "target moved");
        assertEq(vault.lastSignalTask(), id, "signal recorded");
    }

    function test_vault_ignores_a_signal_under_the_confidence_threshold() public {
        int32[] memory v = _probs(7, 12_000); // 0.37
        uint256 id = _task(requester, address(vault), modelId, VERSION, v, 1, true);
        tm.finalize(id, _rec(id), _claim(id), v);
        assertEq(vault.riskBps(), 0, "unchanged");
        assertEq(vault.lastSignalTask(), id, "seen");
    }

    function test_vault_refuses_what_is_not_its_agents_newest_verified_signal() public {
        int32[] memory v = _probs(7, 30_000);
        // another requester
        uint256 idStranger = _task(address(0xBAD), address(vault), modelId, VERSION, v, 1, true);
        tm.finalize(idStranger, _rec(idStranger), _claim(idStranger), v);
        assertTrue(_failed(idStranger), "a stranger's task refused");
        vm.expectRevert(abi.encodeWithSelector(AgentVault.NotAgent.selector, address(0xBAD)));
        vault.consume(idStranger, _rec(idStranger), _claim(idStranger).traceRoot, v);
        // not from the task manager
        VouchResult memory fake = _fake(idStranger, v);
        vm.expectRevert(abi.encodeWithSelector(VouchConsumer.NotTaskManager.selector, address(this)));
        vault.onVouchResult(fake);
        // unfinalized, and values that do not open the commitment
        uint256 older = _task(requester, address(vault), modelId, VERSION, _probs(2, 30_000), 1, false);
        uint256 newer = _task(requester, address(0), modelId, VERSION, v, 1, false); // pulled
        vm.expectRevert(
            abi.encodeWithSelector(VouchResults.NotFinalized.selector, newer, uint8(TaskManager.Status.Submitted))
        );
        vault.consume(newer, _rec(newer), _claim(newer).traceRoot, v);
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        tm.finalize(newer, _rec(newer), _claim(newer), new int32[](0));
        vm.expectRevert(abi.encodeWithSelector(VouchResults.ValuesMismatch.selector, newer));
        vault.consume(newer, _rec(newer), _claim(newer).traceRoot, _probs(2, 30_000));
        // the newer signal applies; the older one is then stale, the newer one a replay
        vault.consume(newer, _rec(newer), _claim(newer).traceRoot, v);
        assertEq(vault.riskBps(), 7_000, "rebalanced");
        tm.finalize(older, _rec(older), _claim(older), _probs(2, 30_000));
        assertTrue(_failed(older), "a stale signal refused");
        assertEq(vault.riskBps(), 7_000, "unchanged by the stale signal");
        vm.expectRevert(abi.encodeWithSelector(VouchConsumer.Replayed.selector, newer));
        vault.consume(newer, _rec(newer), _claim(newer).traceRoot, v);
        // another model
        uint256 idModel = _task(requester, address(vault), otherModel, VERSION, v, 1, true);
        tm.finalize(idModel, _rec(idModel), _claim(idModel), v);
        assertTrue(_failed(idModel), "another model's push refused");
        vm.expectRevert(abi.encodeWithSelector(VouchConsumer.ModelNotAccepted.selector, otherModel, VERSION));
        vault.consume(idModel, _rec(idModel), _claim(idModel).traceRoot, v);
    }

    function test_vault_hears_of_failed_tasks() public {
        uint256 id = _task(requester, address(vault), modelId, VERSION, _probs(7, 30_000), 1, false);
        // a liar's result lost: the task failed, the fee went back
        vm.prank(challenger);
        tm.challenge(id, _rec(id), _claim(id), Claim(keccak256("other"), TRACE));
        vm.prank(address(game));
        tm.resolveDispute(id, Outcome.ChallengerWins);
        assertTrue(_status(id) == TaskManager.Status.Failed, "failed");
        assertFalse(_failed(id), "told without a revert");
        assertEq(vault.riskBps(), 0, "unchanged");
    }
}
