// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier, Semantics} from "../OneStepVerifier.sol";
import {Shapes} from "./Shapes.sol";

/// @title Reduce
/// @notice One-step recomputation of the reduction family, `Softmax` and `ArgMax` along one axis
/// and `Reduce` (sum, mean, max, min) over any axes (docs/semantics.md section 3): output element
/// `e` reads the whole slice through it. `OneStepVerifier.evalElement` dispatches here.
library Reduce {
    /// `Reduce`: attrs [mode, M, s, lo, hi, axis_0, ..] (mode 0 sum, 1 mean, 2 max, 3 min; axes
    /// increasing). `requant(R, M, s, lo, hi)` where `R` is the sum, `div_round(sum, n)`, the
    /// maximum or the minimum of the `n` input elements whose coordinates off the reduced axes
    /// are those of output element `e` (row-major over the kept axes; `keepdims` only changes
    /// `outShape`).
    function reduce(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256)
    {
        int256[] memory a = node.attrs;
        (uint256 base, uint256 n, uint256[] memory rd, uint256[] memory rs) = _reducePlan(a, x.shape, e);
        int256 mode = a[0];
        if (mode < 0 || mode > 3) revert OneStepVerifier.BadNode();
        int256 acc = OneStepVerifier.at(x, base);
        for (uint256 k = 1; k < n; ++k) {
            int256 v = OneStepVerifier.at(x, base + _offset(k, rd, rs));
            if (mode <= 1) acc += v;
            else if (mode == 2 ? v > acc : v < acc) acc = v;
        }
        if (mode == 1) acc = Semantics.divRound(acc, int256(n));
        return Semantics.requant(acc, a[1], uint256(a[2]), a[3], a[4]);
    }

    /// The first input element of output element `e` of a `Reduce` (attrs `a`, axes from
    /// `a[5]`), the count `n` of reduced elements, and the sizes and strides of the reduced axes.
    function _reducePlan(int256[] memory a, uint256[] memory shape, uint256 e)
        private
        pure
        returns (uint256 base, uint256 n, uint256[] memory rd, uint256[] memory rs)
    {
        uint256 j = a.length - 5;
        rd = new uint256[](j);
        rs = new uint256[](j);
        n = 1;
        uint256 stride = 1;
        for (uint256 d = shape.length; d > 0; --d) {
            uint256 dim = shape[d - 1];
            if (j > 0 && a[4 + j] == int256(d - 1)) {
                --j;
                rd[j] = dim;
                rs[j] = stride;
                n *= dim;
            } else {
                base += (e % dim) * stride;
                e /= dim;
            }
            stride *= dim;
        }
        if (j != 0 || n == 0) revert OneStepVerifier.BadNode();
    }

    /// The offset from a base of the `k`-th reduced element (row-major over the reduced axes).
    function _offset(uint256 k, uint256[] memory rd, uint256[] memory rs) private pure returns (uint256 off) {
        for (uint256 i = rd.length; i > 0; --i) {
            off += (k % rd[i - 1]) * rs[i - 1];
            k /= rd[i - 1];
        }
    }

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
