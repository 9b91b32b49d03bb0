// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier} from "../OneStepVerifier.sol";
import {Dense} from "./Dense.sol";

/// @title Partial
/// @notice The one-step check of the partial-sum game (docs/semantics.md section 8.4): one
/// chunk of an element's fan-in, added to the agreed prefix sum. The terms of an element are
/// numbered `k = 0 .. K-1` in its weights' row-major order: `Linear` `X[row, k]·W[n, k]`;
/// `MatMul` `X[.., i, k]·Y[.., k, j]`; `Conv` `X[ci, ih, iw]·W[co, ci, a, b]` with
/// `k = (ci·kH + a)·kW + b` (a tap in the padding is a zero term). A `Linear` chunk holds
/// `LINEAR_CHUNK` terms, a `Conv` or `MatMul` chunk `STRIDED_CHUNK`: their operands are read
/// by many small windows (one per kernel row, or per `Y` element), not one.
library Partial {
    /// Terms per chunk of a `Linear` element (contiguous rows of `X` and `W`).
    uint256 internal constant LINEAR_CHUNK = 64;
    /// Terms per chunk of a `Conv` or `MatMul` element (strided reads).
    uint256 internal constant STRIDED_CHUNK = 8;

    /// Terms per chunk of the partial-sum game of op `op`.
    function chunkOf(uint8 op) internal pure returns (uint256) {
        return op == OneStepVerifier.OP_LINEAR ? LINEAR_CHUNK : STRIDED_CHUNK;
    }

    /// The fan-in `K` of an element of `node` (`Linear`: W's row; `Conv`: C_in/group·kH·kW;
    /// `MatMul`: X's last dimension); 0 for any other op (it has no partial-sum game).
    function fanIn(OneStepVerifier.Node memory node) internal pure returns (uint256) {
        uint8 op = node.op;
        if (op == OneStepVerifier.OP_LINEAR && node.constShapes.length > 0 && node.constShapes[0].length == 2) {
            return node.constShapes[0][1];
        }
        if (op == OneStepVerifier.OP_CONV && node.constShapes.length > 0 && node.constShapes[0].length >= 2) {
            if (node.attrs.length < 16 || node.attrs[6] < 1 || node.attrs[7] < 1) return 0;
            return node.constShapes[0][1] * uint256(node.attrs[6]) * uint256(node.attrs[7]);
        }
        if (op == OneStepVerifier.OP_MATMUL && node.inShapes.length == 2 && node.inShapes[0].length >= 2) {
            return node.inShapes[0][node.inShapes[0].length - 1];
        }
        return 0;
    }

    /// `P_lo + Σ_{k in chunk lo} term_k` of element `e` (row-local) of `node`, where `P_lo` is
    /// `agreed`, or the bias (`Dense.bias`; 0 for `MatMul`) when `lo = 0`. `ins` are windows of
    /// the dynamic inputs in order; windows past the node's inputs are further windows of its
    /// last input (`Conv`'s `X`, `MatMul`'s `Y`), and a read takes the first window holding it.
    function step(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor[] memory ins,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e,
        uint256 lo,
        int256 agreed
    ) internal pure returns (int256 p) {
        uint256 k = fanIn(node);
        uint256 from = lo * chunkOf(node.op);
        uint256 to = from + chunkOf(node.op) < k ? from + chunkOf(node.op) : k;
        if (node.op == OneStepVerifier.OP_CONV) {
            if (lo == 0) {
                uint256 cOut = node.outShape[1];
                uint256 plane = OneStepVerifier.numel(node.outShape) / node.outShape[0] / cOut;
                agreed = Dense.bias(cs, cOut, (e / plane) % cOut);
            }
            return _conv(node, ins, cs[0], e, from, to, agreed);
        }
        if (node.op == OneStepVerifier.OP_MATMUL) return _matmul(node, ins, e, from, to, lo == 0 ? int256(0) : agreed);
        uint256 nOut = cs[0].shape[0];
        p = lo == 0 ? Dense.bias(cs, nOut, e % nOut) : agreed;
        uint256 xBase = (e / nOut) * k;
        uint256 wBase = (e % nOut) * k;
        for (uint256 i = from; i < to; ++i) {
            p += OneStepVerifier.at(ins[0], xBase + i) * OneStepVerifier.at(cs[0], wBase + i);
        }
    }

    /// The `MatMul` chunk `[from, to)` of output element `e` added to `p` (no bias: `P_0 = 0`).
    function _matmul(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor[] memory ins,
        uint256 e,
        uint256 from,
        uint256 to,
        int256 p
    ) private pure returns (int256) {
        uint256 nCols = node.outShape[node.outShape.length - 1];
        uint256 k = ins[0].shape[ins[0].shape.length - 1];
        (uint256 xBase, uint256 yBase) = Dense.matmulBases(node.outShape, ins[0].shape, ins[1].shape, e, k);
        for (uint256 i = from; i < to; ++i) {
            p += OneStepVerifier.at(ins[0], xBase + i) * atAny(ins, 1, yBase + i * nCols);
        }
        return p;
    }

    /// Element `i` from the first of the windows `ts[first ..]` that holds it.
    function atAny(OneStepVerifier.Tensor[] memory ts, uint256 first, uint256 i) internal pure returns (int256) {
        for (uint256 j = first; j < ts.length; ++j) {
            OneStepVerifier.Tensor memory t = ts[j];
            if (i >= t.offset && i - t.offset < t.data.length) return t.data[i - t.offset];
        }
        revert OneStepVerifier.OutsideWindow(i, 0, 0);
    }

    /// Where output element `e` of a `Conv` reads (layout of `Conv.conv`).
    struct Geo {
        uint256 h; // input rows
        uint256 w; // input columns
        uint256 oh; // output row of the element
        uint256 ow; // output column of the element
        uint256 cOut;
        uint256 co; // output channel of the element
        uint256 taps; // kH·kW
        uint256 plane0; // plane index in X of the first input channel of the element's group
    }

    function _geo(OneStepVerifier.Node memory node, uint256[] memory xs, uint256 cg, uint256 e)
        private
        pure
        returns (Geo memory g)
    {
        int256[] memory a = node.attrs;
        bool oneD = xs.length == 3;
        g.h = oneD ? 1 : xs[2];
        g.w = xs[oneD ? 2 : 3];
        uint256 outW = node.outShape[oneD ? 2 : 3];
        uint256 outH = oneD ? 1 : node.outShape[2];
        g.cOut = node.outShape[1];
        g.ow = e % outW;
        g.oh = (e / outW) % outH;
        g.co = (e / (outW * outH)) % g.cOut;
        g.taps = uint256(a[6]) * uint256(a[7]);
        g.plane0 = (e / (outW * outH * g.cOut)) * xs[1] + (g.co / (g.cOut / uint256(a[5]))) * cg;
    }

    /// The `Conv` chunk `[from, to)` of output element `e` added to `p`.
    function _conv(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor[] memory ins,
        OneStepVerifier.Tensor memory wt,
        uint256 e,
        uint256 from,
        uint256 to,
        int256 p
    ) private pure returns (int256) {
        Geo memory g = _geo(node, ins[0].shape, wt.shape[1], e);
        uint256 wBase = g.co * wt.shape[1] * g.taps;
        for (uint256 i = from; i < to; ++i) {
            (bool inside, uint256 xi) = _tap(g, node.attrs, i);
            if (inside) p += atAny(ins, 0, xi) * OneStepVerifier.at(wt, wBase + i);
        }
        return p;
    }

    /// The element of X that term `i` reads, or `inside = false` for a tap in the padding.
    function _tap(Geo memory g, int256[] memory a, uint256 i) private pure returns (bool inside, uint256 xi) {
        uint256 t = i % g.taps;
        int256 ih = int256(g.oh) * a[8] - a[12] + int256(t / uint256(a[7])) * a[10];
        int256 iw = int256(g.ow) * a[9] - a[13] + int256(t % uint256(a[7])) * a[11];
        if (ih < 0 || ih >= int256(g.h) || iw < 0 || iw >= int256(g.w)) return (false, 0);
        return (true, (g.plane0 + i / g.taps) * g.h * g.w + uint256(ih) * g.w + uint256(iw));
    }
}
