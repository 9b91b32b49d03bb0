// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {PartialSumKit} from "./utils/PartialSumKit.sol";
import {Tree} from "./utils/Tree.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {Outcome} from "../src/IDisputeGame.sol";

/// @notice The partial-sum game of a large fan-in `Linear` element (docs/semantics.md 8.4):
/// honest and lying prefix sums, timeouts, and its gas against the full-row one-step check.
contract PartialSumsTest is PartialSumKit {
    // ------------------------------------------------------------ honest vs lying sums

    function test_chunk_constant() public view {
        assertEq(game.CHUNK(), CHUNK, "test CHUNK matches the game");
    }

    function test_lying_defender_loses_wherever_its_sums_deviate() public {
        uint256[3] memory at = [uint256(0), 6, 12]; // first, middle and last of 13 chunks
        for (uint256 t; t < at.length; ++t) {
            uint256 snap = vm.snapshotState();
            Run memory r = _setup(0, 100, true, at[t]);
            uint256 lo = _play(r, 0);
            assertEq(lo, at[t], "bisection finds the first deviating chunk");
            assertTrue(_outcome(r.p.gid) == Outcome.ChallengerWins, "liar defender loses");
            assertTrue(_status(r.p.taskId) == TaskManager.Status.Failed, "task fails");
            vm.revertToState(snap);
        }
    }

    function test_lying_challenger_loses() public {
        Run memory r = _setup(0, 37, false, 3);
        uint256 lo = _play(r, 0);
        assertEq(lo, 3, "chunk 3");
        assertTrue(_outcome(r.p.gid) == Outcome.DefenderWins, "liar challenger loses");
        assertTrue(_status(r.p.taskId) == TaskManager.Status.Submitted, "window restarts");
    }

    function test_two_chunk_row() public {
        // node 1: K = 128, two chunks: one midpoint round
        Run memory r = _setup(1, 7, true, 1);
        uint256 lo = _play(r, 1);
        assertEq(lo, 1, "second chunk");
        assertTrue(_outcome(r.p.gid) == Outcome.ChallengerWins, "liar loses");
    }

    function test_accumulator_must_match_the_claimed_value() public {
        Run memory r = _setup(0, 100, true, 0);
        // the lying defender cannot post the honest accumulator: it requantizes to another value
        bytes32[] memory proof = Tree.leafProof(Tree.levels(_nodeLeaves(r.p.m)), 0);
        vm.prank(r.def.who);
        vm.expectRevert(DisputeGame.BadValue.selector);
        game.startPartialSums(r.p.gid, r.p.m.nodes[0], proof, r.cha.prefix[r.cha.prefix.length - 1], new DisputeGame.Window[](0));
        vm.prank(challenger);
        game.startPartialSums(r.p.gid, r.p.m.nodes[0], proof, r.cha.prefix[r.cha.prefix.length - 1], new DisputeGame.Window[](0));
        vm.prank(r.def.who);
        vm.expectRevert(DisputeGame.BadValue.selector);
        game.postPartial(r.p.gid, r.cha.prefix[r.cha.prefix.length - 1]);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.AlreadyPosted.selector);
        game.postPartial(r.p.gid, 1);
        vm.prank(requester);
        vm.expectRevert(DisputeGame.NotParty.selector);
        game.postPartial(r.p.gid, 1);
    }

    function test_forged_chunk_window_rejected() public {
        Run memory r = _setup(0, 100, true, 6);
        uint256 gid = r.p.gid;
        vm.prank(challenger);
        (bool ok,) = address(game).call(_startCall(r, 0, r.cha));
        assertTrue(ok, "start");
        vm.prank(r.def.who);
        game.postPartial(gid, r.def.prefix[r.def.prefix.length - 1]);
        while (_phase(gid) == DisputeGame.Phase.PartialBisect) {
            (uint32 l, uint32 h) = _range(gid);
            uint256 mid = (uint256(l) + h) / 2;
            vm.prank(r.def.who);
            game.postPartial(gid, r.def.prefix[mid]);
            vm.prank(challenger);
            game.postPartial(gid, r.cha.prefix[mid]);
        }
        (uint32 lo,) = _range(gid);
        // a window of another chunk does not cover the terms chunk `lo` reads
        bytes memory wrong = _oneStepCallWith(r.p, 0, r.e, lo + 1);
        vm.prank(challenger);
        (ok,) = address(game).call(wrong);
        assertFalse(ok, "window outside the chunk rejected");
        vm.prank(challenger);
        (ok,) = address(game).call(_oneStepCallWith(r.p, 0, r.e, lo));
        assertTrue(ok, "the chunk's window settles");
        assertTrue(_outcome(gid) == Outcome.ChallengerWins, "liar loses");
    }

    // ------------------------------------------------------------ timeouts

    function test_liar_that_stops_answering_loses() public {
        Run memory r = _setup(0, 100, true, 6);
        uint256 gid = r.p.gid;
        vm.prank(challenger);
        (bool ok,) = address(game).call(_startCall(r, 0, r.cha));
        assertTrue(ok, "start");
        vm.prank(r.def.who);
        game.postPartial(gid, r.def.prefix[r.def.prefix.length - 1]);
        (uint32 l, uint32 h) = _range(gid);
        vm.prank(challenger);
        game.postPartial(gid, r.cha.prefix[(uint256(l) + h) / 2]);
        vm.warp(block.timestamp + cfg.disputeStepTimeout + 1);
        vm.prank(r.def.who);
        vm.expectRevert(DisputeGame.TooLate.selector);
        game.postPartial(gid, r.def.prefix[(uint256(l) + h) / 2]);
        game.timeout(gid);
        assertTrue(_outcome(gid) == Outcome.ChallengerWins, "silent defender loses");
    }

    function test_unanswered_start_loses() public {
        // the honest defender starts; the lying challenger never posts its accumulator
        Run memory r = _setup(0, 37, false, 3);
        vm.prank(r.def.who);
        (bool ok,) = address(game).call(_startCall(r, 0, r.def));
        assertTrue(ok, "start");
        vm.warp(block.timestamp + cfg.disputeStepTimeout + 1);
        game.timeout(r.p.gid);
        assertTrue(_outcome(r.p.gid) == Outcome.DefenderWins, "silent challenger loses");
    }

    function test_unclaimed_chunk_step_defender_wins() public {
        Run memory r = _setup(0, 37, false, 3);
        uint256 gid = r.p.gid;
        vm.prank(challenger);
        (bool ok,) = address(game).call(_startCall(r, 0, r.cha));
        assertTrue(ok, "start");
        vm.prank(r.def.who);
        game.postPartial(gid, r.def.prefix[r.def.prefix.length - 1]);
        while (_phase(gid) == DisputeGame.Phase.PartialBisect) {
            (uint32 l, uint32 h) = _range(gid);
            uint256 mid = (uint256(l) + h) / 2;
            vm.prank(r.def.who);
            game.postPartial(gid, r.def.prefix[mid]);
            vm.prank(challenger);
            game.postPartial(gid, r.cha.prefix[mid]);
        }
        vm.warp(block.timestamp + cfg.disputeStepTimeout + 1);
        game.timeout(gid);
        assertTrue(_outcome(gid) == Outcome.DefenderWins, "burden of proof on the challenger");
    }
}
