// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier, Semantics} from "../OneStepVerifier.sol";

/// @title Dense
/// @notice One-step recomputation of the dense family, `Linear` and `MatMul` (docs/semantics.md
/// section 3): one output element is a dot product of a row of `X` with a column of `W` or `Y`,
/// then requantized or kept wide. `finish` is that output rule, which `Conv` shares.
/// `OneStepVerifier.evalElement` dispatches here.
library Dense {
    /// `Linear`: attrs [M, s, lo, hi, wide]; consts [W [N, K], B [N], [N, 2] or [N, 3] (optional;
    /// [N, 3] with M = 0: per-channel multipliers)].
    function linear(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor memory x,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e
    ) internal pure returns (int256) {
        uint256 nOut = cs[0].shape[0];
        uint256 k = cs[0].shape[1];
        uint256 n = e % nOut;
        uint256 row = e / nOut;
        int256 acc = bias(cs, nOut, n);
        uint256 xBase = row * k;
        uint256 wBase = n * k;
        for (uint256 i; i < k; ++i) {
            acc += OneStepVerifier.at(x, xBase + i) * OneStepVerifier.at(cs[0], wBase + i);
        }
        return finishAt(acc, node.attrs, cs, nOut, n);
    }

    /// Bias `B[n]` of a `Linear` or `Conv` with `nOut` outputs (consts [W, B]; 0 without B):
    /// `N` stored values hold `B[n]` itself; a wide bias of shape [N, 2] (semantics version 5)
    /// holds `B[n] = B[n, 0] * 2^31 + B[n, 1]`, an i64-ranged value, and a per-channel one of
    /// shape [N, 3] (version 6) the same pair then `M[n]` (docs/semantics.md section 3).
    function bias(OneStepVerifier.Tensor[] memory cs, uint256 nOut, uint256 n) internal pure returns (int256) {
        if (cs.length < 2) return 0;
        uint256 cols = _cols(cs[1].shape, nOut);
        if (cols > 1) {
            return OneStepVerifier.at(cs[1], cols * n) * (int256(1) << 31) + OneStepVerifier.at(cs[1], cols * n + 1);
        }
        return OneStepVerifier.at(cs[1], n);
    }

    /// Columns per output of a bias of shape `s`: 2 (wide) or 3 (per channel) for [N, 2] or
    /// [N, 3], else 1.
    function _cols(uint256[] memory s, uint256 nOut) private pure returns (uint256) {
        if (s.length == 2 && s[0] == nOut && nOut > 0 && (s[1] == 2 || s[1] == 3)) return s[1];
        return 1;
    }

    /// `finish` for output channel `n` of `nOut` of a `Linear` or `Conv`: a per-channel node
    /// (attrs M = 0, semantics version 6) requantizes with `M[n] = B[n, 2]` of its [N, 3] bias.
    function finishAt(int256 acc, int256[] memory a, OneStepVerifier.Tensor[] memory cs, uint256 nOut, uint256 n)
        internal
        pure
        returns (int256)
    {
        if (a[0] != 0 || a[4] != 0) return finish(acc, a);
        if (cs.length < 2 || _cols(cs[1].shape, nOut) != 3) revert Semantics.BadMultiplier(0);
        int256 m = OneStepVerifier.at(cs[1], 3 * n + 2);
        if (m < 1 || m >= (int256(1) << 31)) revert Semantics.BadMultiplier(m);
        return Semantics.requant(acc, m, uint256(a[1]), a[2], a[3]);
    }

    /// `MatMul`: attrs [M, s, lo, hi, wide]; inputs [X, Y], batch dims broadcast.
    function matmul(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor memory x,
        OneStepVerifier.Tensor memory y,
        uint256 e
    ) internal pure returns (int256) {
        uint256 nCols = node.outShape[node.outShape.length - 1];
        uint256 k = x.shape[x.shape.length - 1];
        (uint256 xBase, uint256 yBase) = matmulBases(node.outShape, x.shape, y.shape, e, k);
        int256 acc;
        for (uint256 i; i < k; ++i) {
            acc += OneStepVerifier.at(x, xBase + i) * OneStepVerifier.at(y, yBase + i * nCols);
        }
        return finish(acc, node.attrs);
    }

    /// The output of an accumulator `acc` under attrs [M, s, lo, hi, wide, ...]: kept as an i32
    /// when wide, requantized otherwise (`Linear`'s rule, also `MatMul`'s and `Conv`'s).
    function finish(int256 acc, int256[] memory a) internal pure returns (int256) {
        if (a[4] != 0) {
            // a wide output is stored as an i32 (docs/semantics.md §4)
            if (acc < -(int256(1) << 31) || acc >= (int256(1) << 31)) revert Semantics.OutOfI64(acc);
            return acc;
        }
        // a requantized accumulator is exact in i64; requant checks acc * M
        return Semantics.requant(acc, a[0], uint256(a[1]), a[2], a[3]);
    }

    /// Start of output element `e`'s row in `x` and column in `y` (batch dims broadcast).
    function matmulBases(uint256[] memory os, uint256[] memory xs, uint256[] memory ys, uint256 e, uint256 k)
        internal
        pure
        returns (uint256 xBase, uint256 yBase)
    {
        uint256 nCols = os[os.length - 1];
        uint256 mRows = os[os.length - 2];
        uint256 batch = e / (nCols * mRows);
        xBase = _batchIndex(os, xs, batch) * mRows * k + ((e / nCols) % mRows) * k;
        yBase = _batchIndex(os, ys, batch) * k * nCols + e % nCols;
    }

    /// Index into the flattened leading (batch) dims of `s` for the output batch index `b`.
    function _batchIndex(uint256[] memory os, uint256[] memory s, uint256 b) private pure returns (uint256 idx) {
        uint256 ob = os.length - 2;
        uint256 sb = s.length < 2 ? 0 : s.length - 2;
        uint256 mul = 1;
        for (uint256 d = ob; d > 0; --d) {
            uint256 od = os[d - 1];
            uint256 coord = b % od;
            b /= od;
            if (d + sb > ob) {
                uint256 sd = s[d - 1 + sb - ob];
                idx += (sd == 1 ? 0 : coord) * mul;
                mul *= sd;
            }
        }
    }
}
