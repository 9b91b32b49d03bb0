// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {ModelKit} from "./utils/ModelKit.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {Outcome} from "../src/IDisputeGame.sol";

/// @notice Full interactive disputes on the reference models, ending in the one-step check.
contract DisputeTest is ModelKit {
    function _stakeOf(address p) internal view returns (uint256 s) {
        uint256 st = staking.providers(p).stake;
        s = st;
    }

    function test_mlp_dense784_lying_provider_is_slashed() public {
        Model memory m = _mlp();
        _execute(m);
        uint256 stakeBefore = 0;
        (DisputeGas memory g, Play memory p) = _playDispute(m, 0, 37, true);
        assertEq(uint8(game.game(p.gid).outcome), uint8(Outcome.ChallengerWins), "challenger wins");
        assertTrue(_status(p.taskId) == TaskManager.Status.Failed, "task failed");
        assertEq(_stakeOf(p.defender) + stakeBefore, STAKE - cfg.providerBond, "liar slashed");
        assertEq(tm.balances(challenger), cfg.params.challengerBond + cfg.providerBond, "winner paid");
        assertEq(tm.balances(requester), FEE, "fee refunded");
        assertLt(g.oneStep, 10_000_000, "one-step under 10M gas");
        _assertConserved();
    }

    function test_mlp_lying_challenger_loses_bond() public {
        Model memory m = _mlp();
        _execute(m);
        (, Play memory p) = _playDispute(m, 1, 3, false);
        assertEq(uint8(game.game(p.gid).outcome), uint8(Outcome.DefenderWins), "defender wins");
        assertTrue(_status(p.taskId) == TaskManager.Status.Submitted, "window reopened");
        assertEq(_stakeOf(p.defender), STAKE, "honest provider not slashed");
        assertEq(tm.balances(p.defender), cfg.params.challengerBond, "provider paid the bond");
        _assertConserved();
    }

    function test_lenet_conv_lying_provider_is_slashed() public {
        Model memory m = _lenet();
        _execute(m);
        (DisputeGas memory g, Play memory p) = _playDispute(m, 2, 700, true);
        assertEq(uint8(game.game(p.gid).outcome), uint8(Outcome.ChallengerWins), "challenger wins");
        assertEq(_stakeOf(p.defender), STAKE - cfg.providerBond, "liar slashed");
        assertLt(g.oneStep, 10_000_000, "one-step under 10M gas");
        _assertConserved();
    }

    function test_one_step_rejects_forged_window() public {
        Model memory m = _lenet();
        _execute(m);
        Play memory p;
        // play up to the one-step by hand through the driver, then tamper with the data
        (, p) = _playUntilOneStep(m, 4, 9);
        bytes memory call = _oneStepCall(p, 4, 9);
        // flip one byte inside the first window's words region (near the end of calldata)
        call[call.length - 40] = bytes1(uint8(call[call.length - 40]) ^ 1);
        vm.prank(challenger);
        (bool ok,) = address(game).call(call);
        assertFalse(ok, "tampered proof rejected");
    }

    function _playUntilOneStep(Model memory m, uint256 j, uint256 e) internal returns (uint256, Play memory p) {
        p.m = m;
        modelId = _registerModel(m.weightsRoot, m.graphRoot, address(0));
        p.defender = providers[0];
        _stakeAndOptIn(p.defender, modelId);
        int256[][] memory lie = _copyOuts(m.outs);
        lie[j][e] += 1;
        p.defOuts = lie;
        p.chaOuts = m.outs;
        p.defTrace = _levels(lie);
        p.chaTrace = _levels(m.outs);
        p.taskId = _request(TaskManager.Mode.Optimistic, m.inputCommitment);
        vm.prank(p.defender);
        tm.submit(p.taskId, m.outputCommitment, p.defTrace[p.defTrace.length - 1][0]);
        vm.prank(challenger);
        p.gid = tm.challenge(
            p.taskId, _rec(p.taskId), _claim(p.taskId), Claim(bytes32(0), p.chaTrace[p.chaTrace.length - 1][0])
        );
        game.postGraph(p.gid, m.nodes.length, m.nodesRoot, m.outputNodes);
        _descend(p.gid, p.defender, p.defTrace, p.chaTrace);
        _headersWords(p, j);
        return (0, p);
    }

    function _levels(int256[][] memory outs) internal pure returns (bytes32[][] memory) {
        return TreeL.levels(_traceLeaves(outs));
    }

    function _headersWords(Play memory p, uint256 j) internal {
        bytes32[][] memory dl = TreeL.tensorLevels(p.defOuts[j]);
        bytes32[][] memory cl = TreeL.tensorLevels(p.chaOuts[j]);
        vm.prank(p.defender);
        game.postHeader(p.gid, p.defOuts[j].length, TreeL.root(dl));
        vm.prank(challenger);
        game.postHeader(p.gid, p.chaOuts[j].length, TreeL.root(cl));
        (uint256 w,) = _descend(p.gid, p.defender, dl, cl);
        vm.prank(p.defender);
        game.postWord(p.gid, TreeL.words(p.defOuts[j])[w]);
        vm.prank(challenger);
        game.postWord(p.gid, TreeL.words(p.chaOuts[j])[w]);
    }
}

import {Tree as TreeL} from "./utils/Tree.sol";
