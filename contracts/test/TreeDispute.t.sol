// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {TreeKit} from "./utils/TreeKit.sol";
import {Tree} from "./utils/Tree.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {Outcome} from "../src/IDisputeGame.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";

/// @notice The tree partial-sum game (docs/semantics.md section 8.6): bisection over the trees
/// of a `SUM` ensemble, and the one-step check that walks one tree's path from proven windows.
contract TreeDisputeTest is TreeKit {
    function _model() internal pure returns (Model memory m) {
        m = _forest(40, 4, 3, 7);
        _execute(m);
    }

    function test_lying_defender_loses_wherever_its_sums_deviate() public {
        Model memory m = _model();
        uint256[3] memory at = [uint256(0), 17, 39];
        for (uint256 i; i < at.length; ++i) {
            uint256 snap = vm.snapshotState();
            TreeRun memory r = _treeSetup(m, 1, true, at[i]);
            uint256 lo = _treeBisect(r);
            assertEq(lo, at[i], "bisection finds the first deviating tree");
            vm.prank(challenger);
            (bool ok,) = address(game).call(_treeStepCall(r.p, r.e, lo));
            assertTrue(ok, "the correct step goes through");
            assertTrue(game.game(r.p.gid).outcome == Outcome.ChallengerWins, "liar defender loses");
            assertTrue(_status(r.p.taskId) == TaskManager.Status.Failed, "task fails");
            vm.revertToState(snap);
        }
    }

    function test_lying_challenger_loses() public {
        Model memory m = _model();
        TreeRun memory r = _treeSetup(m, 2, false, 5);
        uint256 lo = _treeBisect(r);
        assertEq(lo, 5, "tree 5");
        vm.prank(r.p.defender);
        (bool ok,) = address(game).call(_treeStepCall(r.p, r.e, lo));
        assertTrue(ok, "the correct step goes through");
        assertTrue(game.game(r.p.gid).outcome == Outcome.DefenderWins, "liar challenger loses");
        assertTrue(_status(r.p.taskId) == TaskManager.Status.Submitted, "window restarts");
    }

    /// A liar whose partial sum at the disputed tree is another leaf's value (the sibling leaf,
    /// or the leaf of the other branch at the root) loses the step.
    function test_wrong_leaf_and_wrong_branch_lose() public {
        Model memory m = _model();
        uint256 t = 11;
        uint256[] memory path = _path(m, t);
        uint256 leaf = path[path.length - 1];
        // the sibling leaf (complete trees: leaves pair up under their parent)
        uint256 first = uint256(m.consts[2][t]);
        uint256 sibling = (leaf - first) % 2 == 1 ? leaf + 1 : leaf - 1;
        // the other branch at the root: its leftmost / rightmost leaf
        uint256 otherRoot = path[1] == first + 1 ? first + 2 : first + 1;
        uint256 far = otherRoot;
        while (m.consts[0][far * NODE_COLS] != 6) {
            far = uint256(m.consts[0][far * NODE_COLS + 4]);
        }
        uint256[2] memory wrong = [sibling, far];
        for (uint256 i; i < 2; ++i) {
            uint256 snap = vm.snapshotState();
            uint256 k = 1;
            TreeRun memory r = _treeSetup(m, k, true, t);
            int256 delta = _leafRowValue(m, wrong[i], k) - _leafValue(m, t, k);
            if (delta == 0) delta = 1; // same value: still a lie, by 1
            for (uint256 c = t + 1; c < r.def.length; ++c) {
                r.def[c] = r.cha[c] + delta;
            }
            // the lie it claimed in the trace is honest + 1; keep the accumulator consistent
            r.def[r.def.length - 1] = r.cha[r.cha.length - 1] + 1;
            for (uint256 c = t + 2; c + 1 < r.def.length; ++c) {
                r.def[c] = r.cha[c] + 1;
            }
            uint256 lo = _treeBisect(r);
            assertEq(lo, t, "narrowed to the disputed tree");
            vm.prank(challenger);
            (bool ok,) = address(game).call(_treeStepCall(r.p, r.e, lo));
            assertTrue(ok, "step");
            assertTrue(game.game(r.p.gid).outcome == Outcome.ChallengerWins, "a wrong leaf loses");
            vm.revertToState(snap);
        }
    }

    function _leafRowValue(Model memory m, uint256 leaf, uint256 k) internal pure returns (int256 v) {
        uint256 a = uint256(m.consts[0][leaf * NODE_COLS + 4]);
        uint256 b = uint256(m.consts[0][leaf * NODE_COLS + 5]);
        for (uint256 r = a; r < a + b; ++r) {
            if (uint256(m.consts[1][2 * r]) == k) v += m.consts[1][2 * r + 1];
        }
    }

    /// Calls the step with `data` patched by `patch` and expects `err`.
    function _expectStepRevert(bytes memory data, bytes4 err) internal {
        vm.prank(challenger);
        (bool ok, bytes memory ret) = address(game).call(data);
        assertTrue(!ok, "forged step rejected");
        assertEq(bytes4(ret), err, "with the expected error");
    }

    function _decode(bytes memory data)
        internal
        pure
        returns (
            uint256 gid,
            OneStepVerifier.Node memory node,
            bytes32[] memory proof,
            DisputeGame.Window[] memory ins,
            DisputeGame.Window[] memory cs
        )
    {
        bytes memory args = new bytes(data.length - 4);
        for (uint256 i; i < args.length; ++i) {
            args[i] = data[i + 4];
        }
        (gid, node, proof, ins, cs) =
            abi.decode(args, (uint256, OneStepVerifier.Node, bytes32[], DisputeGame.Window[], DisputeGame.Window[]));
    }

    function test_forged_windows_are_rejected() public {
        Model memory m = _model();
        TreeRun memory r = _treeSetup(m, 0, true, 9);
        uint256 lo = _treeBisect(r);
        bytes memory good = _treeStepCall(r.p, r.e, lo);
        (
            uint256 gid,
            OneStepVerifier.Node memory node,
            bytes32[] memory proof,
            DisputeGame.Window[] memory ins,
            DisputeGame.Window[] memory cs
        ) = _decode(good);
        bytes32 flip = bytes32(uint256(1) << 200);
        // a forged node row (a branch's threshold code changed)
        cs[3].words[0] ^= flip;
        _expectStepRevert(
            abi.encodeCall(DisputeGame.oneStep, (gid, node, proof, ins, cs)), DisputeGame.BadProof.selector
        );
        cs[3].words[0] ^= flip;
        // a forged weight row
        cs[2].words[0] ^= flip;
        _expectStepRevert(
            abi.encodeCall(DisputeGame.oneStep, (gid, node, proof, ins, cs)), DisputeGame.BadProof.selector
        );
        cs[2].words[0] ^= flip;
        // a forged feature code
        ins[0].words[0] ^= flip;
        _expectStepRevert(
            abi.encodeCall(DisputeGame.oneStep, (gid, node, proof, ins, cs)), DisputeGame.BadProof.selector
        );
        ins[0].words[0] ^= flip;
        // a forged root index
        cs[0].words[0] ^= flip;
        _expectStepRevert(
            abi.encodeCall(DisputeGame.oneStep, (gid, node, proof, ins, cs)), DisputeGame.BadProof.selector
        );
        cs[0].words[0] ^= flip;
        // a window of another constant in a nodes slot (proven against the wrong leaf)
        DisputeGame.Window memory saved = cs[4];
        cs[4] = cs[2];
        _expectStepRevert(
            abi.encodeCall(DisputeGame.oneStep, (gid, node, proof, ins, cs)), DisputeGame.BadProof.selector
        );
        cs[4] = saved;
        // a later nodes window without its own proof must share the first one's commitment
        bytes32 savedRoot = cs[4].root;
        cs[4].root = cs[2].root;
        _expectStepRevert(
            abi.encodeCall(DisputeGame.oneStep, (gid, node, proof, ins, cs)), DisputeGame.BadProof.selector
        );
        cs[4].root = savedRoot;
        // a path row left out: the walk reads outside every window
        DisputeGame.Window[] memory short = new DisputeGame.Window[](cs.length - 1);
        for (uint256 i; i < short.length; ++i) {
            short[i] = cs[i];
        }
        _expectStepRevert(
            abi.encodeCall(DisputeGame.oneStep, (gid, node, proof, ins, short)), OneStepVerifier.OutsideWindow.selector
        );
        // the untouched call settles the game
        vm.prank(challenger);
        (bool ok,) = address(game).call(abi.encodeCall(DisputeGame.oneStep, (gid, node, proof, ins, cs)));
        assertTrue(ok, "the honest step goes through");
        assertTrue(game.game(gid).outcome == Outcome.ChallengerWins, "liar loses");
    }

    /// `MIN`/`MAX` ensembles have no partial-sum game (they are refused for the optimistic
    /// and committee modes before a task is accepted); a small one still has the direct check.
    function test_min_max_have_no_partial_game() public {
        Model memory m = _forest(3, 2, 2, 5);
        m.nodes[0].attrs[0] = 2; // MAX
        _execute(m);
        (, Play memory p) = _playToOneStep(m, 0, 0, true);
        bytes32[] memory proof = Tree.leafProof(Tree.levels(_nodeLeaves(m)), 0);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.BadInput.selector);
        game.startPartialSums(p.gid, m.nodes[0], proof, 0, new DisputeGame.Window[](0));
        vm.prank(challenger);
        (bool ok,) = address(game).call(_oneStepCall(p, 0, 0));
        assertTrue(ok, "direct one-step");
        assertTrue(game.game(p.gid).outcome == Outcome.ChallengerWins, "liar loses");
    }

    function test_small_ensemble_direct_one_step() public {
        Model memory m = _forest(3, 2, 2, 3);
        _execute(m);
        (DisputeGas memory g, Play memory p) = _playDispute(m, 0, 1, true);
        assertGt(g.oneStep, 0, "direct one-step over every tree");
        assertTrue(game.game(p.gid).outcome == Outcome.ChallengerWins, "liar loses");
    }
}
