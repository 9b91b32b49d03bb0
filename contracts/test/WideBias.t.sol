// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {ModelKit} from "./utils/ModelKit.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {OneStepVerifier} from "../src/OneStepVerifier.sol";
import {Outcome} from "../src/IDisputeGame.sol";

/// @notice Disputes over nodes with a wide bias (semantics version 5, docs/semantics.md section 3):
/// `B[n] = B[n, 0] * 2^31 + B[n, 1]`, stored as [N, 2] pairs, values beyond int32. A lie in such a
/// `Conv` or `Linear` element loses to the one-step check; a lying challenger loses too.
contract WideBiasTest is ModelKit {
    /// A wide bias of `n` values: [hi, lo] pairs, hi in {-3, -2, 1, 2} (so every value leaves
    /// int32), lo in [0, 2^31).
    function _wideBias(uint256 seed, uint256 n) internal pure returns (int256[] memory b) {
        int256[] memory hi = _rand(seed, n, -2, 1);
        int256[] memory lo = _rand(seed + 1, n, 0, int256(type(int32).max));
        b = new int256[](2 * n);
        for (uint256 i; i < n; ++i) {
            (b[2 * i], b[2 * i + 1]) = (hi[i] >= 0 ? hi[i] + 1 : hi[i] - 1, lo[i]);
        }
    }

    /// Conv 1->3 3x3 (+ReLU) on 1x6x6, Flatten, Linear 48->4, both biases wide.
    function _model() internal pure returns (Model memory m) {
        m.input = _rand(21, 36, -128, 127);
        m.inputShape = _u(1, 1, 6, 6);
        m.consts = new int256[][](4);
        m.constShapes = new uint256[][](4);
        (m.consts[0], m.constShapes[0]) = (_rand(22, 3 * 9, -127, 127), _u(3, 1, 3, 3));
        (m.consts[1], m.constShapes[1]) = (_wideBias(23, 3), _u(3, 2));
        (m.consts[2], m.constShapes[2]) = (_rand(25, 4 * 48, -127, 127), _u(4, 48));
        (m.consts[3], m.constShapes[3]) = (_wideBias(26, 4), _u(4, 2));
        m.nodes = new OneStepVerifier.Node[](3);
        m.nodes[0] = _convNode(G, 1, 6, 6, 0, 3, 3);
        m.nodes[0].constShapes[1] = _u(3, 2);
        m.nodes[0].attrs[1] = 40;
        OneStepVerifier.Node memory flat;
        flat.op = OneStepVerifier.OP_COPY;
        flat.inputs = _u(0);
        flat.inShapes = new uint256[][](1);
        flat.inShapes[0] = _u(1, 3, 4, 4);
        flat.outShape = _u(1, 48);
        m.nodes[1] = flat;
        m.nodes[2] = _linearNode(1, _u(1, 48), 2, 3, 4, 48, -128);
        m.nodes[2].constShapes[1] = _u(4, 2);
        m.nodes[2].attrs[1] = 40;
        m.outputNodes = _u(2);
    }

    function test_wide_bias_values_pass_int32_and_outputs_are_not_all_clamped() public pure {
        Model memory m = _model();
        _execute(m);
        uint256 beyond;
        for (uint256 c = 1; c < 4; c += 2) {
            for (uint256 i; i < m.consts[c].length; i += 2) {
                int256 b = m.consts[c][i] * (int256(1) << 31) + m.consts[c][i + 1];
                if (b < type(int32).min || b > type(int32).max) ++beyond;
            }
        }
        assertEq(beyond, 7, "every bias value leaves int32");
        uint256 inside;
        for (uint256 i; i < m.outs[2].length; ++i) {
            if (m.outs[2][i] > -128 && m.outs[2][i] < 127) ++inside;
        }
        assertGt(inside, 0, "some Linear outputs are not clamped");
    }

    function test_lie_in_wide_bias_conv_loses() public {
        Model memory m = _model();
        _execute(m);
        (DisputeGas memory g, Play memory p) = _playDispute(m, 0, 21, true);
        assertTrue(game.game(p.gid).outcome == Outcome.ChallengerWins, "challenger wins");
        assertTrue(_status(p.taskId) == TaskManager.Status.Failed, "task failed");
        emit log_named_uint("one-step gas, wide-bias Conv element", g.oneStep);
    }

    function test_lie_in_wide_bias_linear_loses() public {
        Model memory m = _model();
        _execute(m);
        (DisputeGas memory g, Play memory p) = _playDispute(m, 2, 3, true);
        assertTrue(game.game(p.gid).outcome == Outcome.ChallengerWins, "challenger wins");
        assertTrue(_status(p.taskId) == TaskManager.Status.Failed, "task failed");
        emit log_named_uint("one-step gas, wide-bias Linear element", g.oneStep);
    }

    function test_lying_challenger_on_wide_bias_linear_loses() public {
        Model memory m = _model();
        _execute(m);
        (, Play memory p) = _playDispute(m, 2, 1, false);
        assertTrue(game.game(p.gid).outcome == Outcome.DefenderWins, "defender wins");
        assertTrue(_status(p.taskId) == TaskManager.Status.Submitted, "window reopened");
    }
}
