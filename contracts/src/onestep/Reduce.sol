// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier, Semantics} from "../OneStepVerifier.sol";
import {Shapes} from "./Shapes.sol";

/// @title Reduce
/// @notice One-step recomputation of the reduction family, `Softmax` and `ArgMax` along one axis
/// (docs/semantics.md section 3): output element `e` reads the whole slice through it.
/// `OneStepVerifier.evalElement` dispatches here.
library Reduce {
    /// `Softmax`: attrs [axis, M, s, lo, hi] (the index map k = requant(m - x, M, s, lo, hi));
    /// consts [E (256)].
    function softmax(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor memory x,
        OneStepVerifier.Tensor memory table,
        uint256 e
    ) internal pure returns (int256) {
        uint256 axis = Shapes.axisOf(node.attrs[0], x.shape.length);
        (, uint256 len, uint256 inner) = Shapes.split(x.shape, axis);
        uint256 j = (e / inner) % len;
        uint256 base = e - j * inner;
        int256 m = _sliceMax(x, base, len, inner);
        int256 sum;
        for (uint256 i; i < len; ++i) {
            sum += _softmaxE(node.attrs, table, m - OneStepVerifier.at(x, base + i * inner));
        }
        int256 ej = _softmaxE(node.attrs, table, m - OneStepVerifier.at(x, e));
        return Semantics.floorDiv(ej * 254 + sum, 2 * sum);
    }

    /// `ArgMax`: attrs [axis, keepdims, select_last_index].
    function argmax(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256)
    {
        uint256 axis = Shapes.axisOf(node.attrs[0], x.shape.length);
        (, uint256 len, uint256 inner) = Shapes.split(x.shape, axis);
        uint256 outer = e / inner;
        uint256 base = outer * len * inner + e % inner;
        bool last = node.attrs[2] != 0;
        int256 best = type(int256).min;
        uint256 bestJ;
        for (uint256 i; i < len; ++i) {
            int256 v = OneStepVerifier.at(x, base + i * inner);
            if (v > best || (last && v == best)) {
                best = v;
                bestJ = i;
            }
        }
        return int256(bestJ);
    }

    /// `E[requant(m - x, M, s, lo, hi)]` (the index map, section 3).
    function _softmaxE(int256[] memory a, OneStepVerifier.Tensor memory table, int256 diff)
        private
        pure
        returns (int256)
    {
        return OneStepVerifier.at(table, uint256(Semantics.requant(diff, a[1], uint256(a[2]), a[3], a[4])));
    }

    function _sliceMax(OneStepVerifier.Tensor memory x, uint256 base, uint256 len, uint256 inner)
        private
        pure
        returns (int256 m)
    {
        m = type(int256).min;
        for (uint256 i; i < len; ++i) {
            int256 v = OneStepVerifier.at(x, base + i * inner);
            if (v > m) m = v;
        }
    }
}
