// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {ModelKit} from "./utils/ModelKit.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";
import {Outcome} from "../src/IDisputeGame.sol";

/// @notice Disputes over nodes requantized per output channel (semantics version 6,
/// docs/semantics.md section 3): attrs M = 0, the bias [N, 3] holds [hi, lo, M[n]] per channel,
/// one shift for all. A lie in such a `Conv` or `Linear` element loses to the one-step check; a
/// lying challenger loses too.
contract PerChannelTest is ModelKit {
    /// `n` per-channel triples: bias values in [-2^31, 2^16) and multipliers from 1 to 32767
    /// (channel 0 at 32767, channel 1 at 1: ranges 2^15 apart).
    function _channels(uint256 seed, uint256 n) internal pure returns (int256[] memory b) {
        int256[] memory lo = _rand(seed, n, 0, 65_535);
        int256[] memory m = _rand(seed + 1, n, 1, 32_767);
        b = new int256[](3 * n);
        for (uint256 i; i < n; ++i) {
            int256 mi = i == 0 ? int256(32_767) : i == 1 ? int256(1) : m[i];
            (b[3 * i], b[3 * i + 1], b[3 * i + 2]) = (i == 2 ? int256(-1) : int256(0), lo[i], mi);
        }
    }

    /// Conv 1->3 3x3 (+ReLU) on 1x6x6, Flatten, Linear 48->4, both per channel.
    function _model() internal pure returns (Model memory m) {
        m.input = _rand(31, 36, -128, 127);
        m.inputShape = _u(1, 1, 6, 6);
        m.consts = new int256[][](4);
        m.constShapes = new uint256[][](4);
        (m.consts[0], m.constShapes[0]) = (_rand(32, 3 * 9, -127, 127), _u(3, 1, 3, 3));
        (m.consts[1], m.constShapes[1]) = (_channels(33, 3), _u(3, 3));
        (m.consts[2], m.constShapes[2]) = (_rand(35, 4 * 48, -127, 127), _u(4, 48));
        (m.consts[3], m.constShapes[3]) = (_channels(36, 4), _u(4, 3));
        m.nodes = new OneStepVerifier.Node[](3);
        m.nodes[0] = _convNode(G, 1, 6, 6, 0, 3, 3);
        m.nodes[0].constShapes[1] = _u(3, 3);
        (m.nodes[0].attrs[0], m.nodes[0].attrs[1]) = (0, 22);
        OneStepVerifier.Node memory flat;
        flat.op = OneStepVerifier.OP_COPY;
        flat.inputs = _u(0);
        flat.inShapes = new uint256[][](1);
        flat.inShapes[0] = _u(1, 3, 4, 4);
        flat.outShape = _u(1, 48);
        m.nodes[1] = flat;
        m.nodes[2] = _linearNode(1, _u(1, 48), 2, 3, 4, 48, -128);
        m.nodes[2].constShapes[1] = _u(4, 3);
        (m.nodes[2].attrs[0], m.nodes[2].attrs[1]) = (0, 20);
        m.outputNodes = _u(2);
    }

    function test_channels_requantize_with_their_own_multiplier() public pure {
        Model memory m = _model();
        _execute(m);
        // Conv channel 1 has M = 1: with shift 22 its outputs are the bias and sums / 2^22, 0
        // here; channel 0 (M = 32767) is not all 0
        uint256 nonzero0;
        for (uint256 i; i < 16; ++i) {
            assertEq(m.outs[0][16 + i], 0, "channel 1 (M = 1) rounds to 0");
            if (m.outs[0][i] != 0) ++nonzero0;
        }
        assertGt(nonzero0, 0, "channel 0 (M = 32767) is not all 0");
        uint256 inside;
        for (uint256 i; i < m.outs[2].length; ++i) {
            if (m.outs[2][i] > -128 && m.outs[2][i] < 127) ++inside;
        }
        assertGt(inside, 0, "some Linear outputs are not clamped");
    }

    function test_m_zero_without_a_per_channel_bias_is_refused() public {
        Model memory m = _model();
        m.nodes[2].constShapes[1] = _u(12);
        OneStepVerifier.Tensor[] memory cs = new OneStepVerifier.Tensor[](2);
        (cs[0].shape, cs[0].data) = (m.constShapes[2], m.consts[2]);
        (cs[1].shape, cs[1].data) = (_u(12), m.consts[3]);
        OneStepVerifier.Tensor[] memory ins = new OneStepVerifier.Tensor[](1);
        (ins[0].shape, ins[0].data) = (_u(1, 48), _rand(37, 48, -128, 127));
        vm.expectRevert();
        this.evalExternal(m.nodes[2], ins, cs, 0);
    }

    /// `OneStepVerifier.evalElement` as an external call, so a revert can be expected.
    function evalExternal(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor[] memory ins,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e
    ) external pure returns (int256) {
        return OneStepVerifier.evalElement(node, ins, cs, e);
    }

    function test_lie_in_per_channel_conv_loses() public {
        Model memory m = _model();
        _execute(m);
        (DisputeGas memory g, Play memory p) = _playDispute(m, 0, 21, true);
        assertTrue(game.game(p.gid).outcome == Outcome.ChallengerWins, "challenger wins");
        assertTrue(_status(p.taskId) == TaskManager.Status.Failed, "task failed");
        assertLe(g.oneStep, 1_000_000, "one-step gas");
        emit log_named_uint("one-step gas, per-channel Conv element", g.oneStep);
    }

    function test_lie_in_per_channel_linear_loses() public {
        Model memory m = _model();
        _execute(m);
        (DisputeGas memory g, Play memory p) = _playDispute(m, 2, 3, true);
        assertTrue(game.game(p.gid).outcome == Outcome.ChallengerWins, "challenger wins");
        assertTrue(_status(p.taskId) == TaskManager.Status.Failed, "task failed");
        assertLe(g.oneStep, 1_000_000, "one-step gas");
        emit log_named_uint("one-step gas, per-channel Linear element", g.oneStep);
    }

    function test_lying_challenger_on_per_channel_linear_loses() public {
        Model memory m = _model();
        _execute(m);
        (, Play memory p) = _playDispute(m, 2, 1, false);
        assertTrue(game.game(p.gid).outcome == Outcome.DefenderWins, "defender wins");
        assertTrue(_status(p.taskId) == TaskManager.Status.Submitted, "window reopened");
    }
}
