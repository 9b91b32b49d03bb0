// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier, Semantics} from "../OneStepVerifier.sol";

/// @title Pool
/// @notice One-step recomputation of the pooling family, `MaxPool`, `AveragePool` and
/// `GlobalAveragePool` over 1-D or 2-D NCHW inputs (docs/semantics.md section 3): output element
/// `e` reads its window of one input plane. `OneStepVerifier.evalElement` dispatches here.
library Pool {
    struct PoolGeo {
        uint256 h;
        uint256 w;
        uint256 oh;
        uint256 ow;
        uint256 base;
    }

    /// `MaxPool`: attrs [kH, kW, sH, sW, dH, dW, pT, pL, pB, pR].
    function maxPool(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256 best)
    {
        (best,,) = _window2d(node.attrs, x, _geo(node, x, e));
    }

    /// `AveragePool`: attrs [kH, kW, sH, sW, dH, dW, pT, pL, pB, pR, count_include_pad].
    function averagePool(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256)
    {
        int256[] memory a = node.attrs;
        (, int256 sum, int256 count) = _window2d(a, x, _geo(node, x, e));
        // count_include_pad = 1 divides by the whole kernel size
        if (a[10] != 0) count = a[0] * a[1];
        return Semantics.divRound(sum, count);
    }

    /// `GlobalAveragePool`: the mean of the whole plane, `n = H*W`.
    function globalAveragePool(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256)
    {
        PoolGeo memory g = _geo(node, x, e);
        int256 s;
        for (uint256 i; i < g.h * g.w; ++i) {
            s += OneStepVerifier.at(x, g.base + i);
        }
        return Semantics.divRound(s, int256(g.h * g.w));
    }

    /// The input plane and output position of output element `e`.
    function _geo(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        private
        pure
        returns (PoolGeo memory g)
    {
        bool oneD = x.shape.length == 3;
        g.h = oneD ? 1 : x.shape[2];
        g.w = x.shape[oneD ? 2 : 3];
        uint256 ohN = oneD ? 1 : node.outShape[2];
        uint256 owN = node.outShape[oneD ? 2 : 3];
        g.ow = e % owN;
        g.oh = (e / owN) % ohN;
        g.base = (e / (owN * ohN)) * g.h * g.w; // plane n * C + c
    }

    /// The max, sum and count of the real elements in the window of `g`.
    function _window2d(int256[] memory a, OneStepVerifier.Tensor memory x, PoolGeo memory g)
        private
        pure
        returns (int256 best, int256 sum, int256 count)
    {
        best = type(int256).min;
        for (uint256 kh; kh < uint256(a[0]); ++kh) {
            int256 ih = int256(g.oh) * a[2] - a[6] + int256(kh) * a[4];
            for (uint256 kw; kw < uint256(a[1]); ++kw) {
                int256 iw = int256(g.ow) * a[3] - a[7] + int256(kw) * a[5];
                // padded positions are ignored (MaxPool) or count as 0 (AveragePool)
                if (ih < 0 || ih >= int256(g.h) || iw < 0 || iw >= int256(g.w)) continue;
                int256 v = OneStepVerifier.at(x, g.base + uint256(ih) * g.w + uint256(iw));
                if (v > best) best = v;
                sum += v;
                ++count;
            }
        }
    }
}
