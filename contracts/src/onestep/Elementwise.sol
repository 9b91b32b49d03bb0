// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier, Semantics} from "../OneStepVerifier.sol";
import {Shapes} from "./Shapes.sol";

/// @title Elementwise
/// @notice One-step recomputation of the elementwise family, `Add`, `Sub`, `Mul` (numpy
/// broadcasting), `Rescale`, and n-ary `Max` and `Min` (docs/semantics.md section 3): one output
/// element from one element of each operand. `OneStepVerifier.evalElement` dispatches here.
library Elementwise {
    /// `Add`: attrs [Ma, Mb, M, s, lo, hi] (M = 1, [lo, hi] the output kind range); inputs [X, Y]
    /// (or [X] and consts [Y]).
    function add(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor[] memory ins,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e
    ) internal pure returns (int256) {
        int256[] memory a = node.attrs;
        (int256 xv, int256 yv) = _operands(node, ins, cs, e);
        return Semantics.requant(xv * a[0] + yv * a[1], a[2], uint256(a[3]), a[4], a[5]);
    }

    /// `Sub`: as `Add`, `X * Ma - Y * Mb`.
    function sub(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor[] memory ins,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e
    ) internal pure returns (int256) {
        int256[] memory a = node.attrs;
        (int256 xv, int256 yv) = _operands(node, ins, cs, e);
        return Semantics.requant(xv * a[0] - yv * a[1], a[2], uint256(a[3]), a[4], a[5]);
    }

    /// `Mul`: attrs [M, s, lo, hi]; inputs [X, Y] (or [X] and consts [Y]).
    function mul(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor[] memory ins,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e
    ) internal pure returns (int256) {
        int256[] memory a = node.attrs;
        (int256 xv, int256 yv) = _operands(node, ins, cs, e);
        return Semantics.requant(xv * yv, a[0], uint256(a[1]), a[2], a[3]);
    }

    /// `Rescale`: attrs [M, s, lo, hi].
    function rescale(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256)
    {
        int256[] memory a = node.attrs;
        return Semantics.requant(OneStepVerifier.at(x, e), a[0], uint256(a[1]), a[2], a[3]);
    }

    /// `Max` (`isMax`) or `Min` of every dynamic operand broadcast to output element `e`.
    function minMax(OneStepVerifier.Node memory node, OneStepVerifier.Tensor[] memory ins, uint256 e, bool isMax)
        internal
        pure
        returns (int256 best)
    {
        best = OneStepVerifier.at(ins[0], Shapes.bcast(node.outShape, ins[0].shape, e));
        for (uint256 i = 1; i < ins.length; ++i) {
            int256 v = OneStepVerifier.at(ins[i], Shapes.bcast(node.outShape, ins[i].shape, e));
            if (isMax ? v > best : v < best) best = v;
        }
    }

    /// The elements of `X` and `Y` broadcast to output element `e`.
    function _operands(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor[] memory ins,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e
    ) private pure returns (int256 xv, int256 yv) {
        OneStepVerifier.Tensor memory y = ins.length > 1 ? ins[1] : cs[0];
        xv = OneStepVerifier.at(ins[0], Shapes.bcast(node.outShape, ins[0].shape, e));
        yv = OneStepVerifier.at(y, Shapes.bcast(node.outShape, y.shape, e));
    }
}
