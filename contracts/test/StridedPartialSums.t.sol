// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {StridedKit} from "./utils/StridedKit.sol";
import {Tree} from "./utils/Tree.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {Outcome} from "../src/IDisputeGame.sol";

/// @notice The partial-sum game of `Conv` and `MatMul` elements (docs/semantics.md 8.4, chunks
/// of 8 terms in the weights' order, the strided operand read through one window per term):
/// the honest accumulator requantizes to the element `Conv.conv` / `Dense.matmul` compute, a
/// liar loses wherever its prefix sums deviate (as defender or challenger), a step missing a
/// term's window or forging one is refused, and the step's gas is bounded.
contract StridedPartialSumsTest is StridedKit {
    function test_strided_chunk_constant() public view {
        assertEq(game.STRIDED_CHUNK(), STRIDED, "test chunk matches the game");
    }

    function test_conv_lying_defender_loses_wherever_its_sums_deviate() public {
        uint256[3] memory at = [uint256(0), 4, 8]; // first, middle and last of 9 chunks
        for (uint256 t; t < at.length; ++t) {
            uint256 snap = vm.snapshotState();
            // element 9: row 1, column 1 of channel 0 (some taps in the padding)
            Run memory r = _stridedSetup(_convNet(), 0, 9, true, at[t]);
            uint256 lo = _narrow(r, 0);
            assertEq(lo, at[t], "bisection finds the first deviating chunk");
            (r.step,) = _tx(challenger, address(game), _stridedStepCall(r.p, 0, r.e, lo, type(uint256).max));
            assertTrue(_outcome(r.p.gid) == Outcome.ChallengerWins, "liar defender loses");
            assertTrue(_status(r.p.taskId) == TaskManager.Status.Failed, "task fails");
            assertLt(r.step, 1_000_000, "chunk step under 1M gas");
            emit log_named_uint("Conv chunk step gas", r.step);
            vm.revertToState(snap);
        }
    }

    function test_conv_lying_challenger_loses() public {
        // element 300: channel 4 (the second group), in the middle of the plane
        Run memory r = _stridedSetup(_convNet(), 0, 300, false, 1);
        uint256 lo = _narrow(r, 0);
        assertEq(lo, 1, "chunk 1");
        (r.step,) = _tx(r.def.who, address(game), _stridedStepCall(r.p, 0, r.e, lo, type(uint256).max));
        assertTrue(_outcome(r.p.gid) == Outcome.DefenderWins, "liar challenger loses");
        assertTrue(_status(r.p.taskId) == TaskManager.Status.Submitted, "window restarts");
    }

    function test_conv_step_missing_or_forged_window_refused() public {
        Run memory r = _stridedSetup(_convNet(), 0, 300, true, 3);
        uint256 lo = _narrow(r, 0);
        // a term's element not covered by any window
        vm.prank(challenger);
        (bool ok,) = address(game).call(_stridedStepCall(r.p, 0, r.e, lo, 5));
        assertFalse(ok, "a read outside every window reverts");
        // a later window claiming another tensor than the proven first one
        bytes memory call = _stridedStepCall(r.p, 0, r.e, lo, type(uint256).max);
        (
            uint256 gid,
            OneStepVerifier.Node memory node,
            bytes32[] memory proof,
            DisputeGame.Window[] memory ins,
            DisputeGame.Window[] memory cs
        ) = _decodeStep(call);
        ins[2].root = keccak256("another tensor");
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.BadProof.selector);
        game.oneStep(gid, node, proof, ins, cs);
        vm.prank(challenger);
        (ok,) = address(game).call(call);
        assertTrue(ok, "the chunk's windows settle");
        assertTrue(_outcome(gid) == Outcome.ChallengerWins, "liar loses");
    }

    function test_matmul_lying_defender_loses() public {
        uint256[2] memory at = [uint256(0), 4]; // first and last of 5 chunks
        for (uint256 t; t < at.length; ++t) {
            uint256 snap = vm.snapshotState();
            Run memory r = _stridedSetup(_matmulNet(), 2, 6, true, at[t]);
            uint256 lo = _narrow(r, 2);
            assertEq(lo, at[t], "bisection finds the deviating chunk");
            (r.step,) = _tx(challenger, address(game), _stridedStepCall(r.p, 2, r.e, lo, type(uint256).max));
            assertTrue(_outcome(r.p.gid) == Outcome.ChallengerWins, "liar defender loses");
            assertLt(r.step, 1_000_000, "chunk step under 1M gas");
            emit log_named_uint("MatMul chunk step gas", r.step);
            vm.revertToState(snap);
        }
    }

    function test_matmul_lying_challenger_loses() public {
        Run memory r = _stridedSetup(_matmulNet(), 2, 13, false, 1);
        uint256 lo = _narrow(r, 2);
        (r.step,) = _tx(r.def.who, address(game), _stridedStepCall(r.p, 2, r.e, lo, type(uint256).max));
        assertTrue(_outcome(r.p.gid) == Outcome.DefenderWins, "liar challenger loses");
    }

    function test_other_ops_have_no_partial_game() public {
        Model memory m = _lenet();
        _execute(m);
        (, Play memory p) = _playToOneStep(m, 1, 30, true); // MaxPool
        bytes32[] memory proof = Tree.leafProof(Tree.levels(_nodeLeaves(m)), 1);
        vm.prank(challenger);
        vm.expectRevert(DisputeGame.BadInput.selector);
        game.startPartialSums(p.gid, m.nodes[1], proof, 0, new DisputeGame.Window[](0));
    }

    /// `oneStep`'s arguments from its calldata.
    function _decodeStep(bytes memory call)
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
        bytes memory args = new bytes(call.length - 4);
        for (uint256 i; i < args.length; ++i) {
            args[i] = call[i + 4];
        }
        (gid, node, proof, ins, cs) =
            abi.decode(args, (uint256, OneStepVerifier.Node, bytes32[], DisputeGame.Window[], DisputeGame.Window[]));
    }
}
