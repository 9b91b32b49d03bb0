// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier} from "../OneStepVerifier.sol";
import {Dense} from "./Dense.sol";

/// @title Conv
/// @notice One-step recomputation of the convolution family, 1-D and 2-D `Conv` in NCHW
/// (docs/semantics.md section 3): one output element is the dot product of its input window
/// (padding reads as 0) with its output channel's kernel, output as `Linear` (`Dense.finish`).
/// `OneStepVerifier.evalElement` dispatches here.
library Conv {
    struct ConvGeo {
        uint256 c;
        uint256 h;
        uint256 w;
        uint256 cOut;
        uint256 oh;
        uint256 ow;
        uint256 cg;
        uint256 kh;
        uint256 kw;
        uint256 oh2; // output row of the element
        uint256 ow2; // output column of the element
    }

    /// `Conv`: attrs [M, s, lo, hi, wide, group, kH, kW, sH, sW, dH, dW, pT, pL, pB, pR];
    /// consts [W, B [C_out], [C_out, 2] or [C_out, 3] (optional, `Dense.bias`; [C_out, 3] with
    /// M = 0: per-channel multipliers, `Dense.finishAt`)]. 1-D convolutions use shapes [N, C, L] and kH = sH = dH = 1, pT = pB = 0.
    function conv(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor memory x,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e
    ) internal pure returns (int256) {
        int256[] memory a = node.attrs;
        ConvGeo memory g;
        bool oneD = x.shape.length == 3;
        g.c = x.shape[1];
        g.h = oneD ? 1 : x.shape[2];
        g.w = x.shape[oneD ? 2 : 3];
        g.cOut = node.outShape[1];
        g.oh = oneD ? 1 : node.outShape[2];
        g.ow = node.outShape[oneD ? 2 : 3];
        g.cg = cs[0].shape[1];
        g.kh = uint256(a[6]);
        g.kw = uint256(a[7]);
        g.ow2 = e % g.ow;
        g.oh2 = (e / g.ow) % g.oh;
        uint256 co = (e / (g.ow * g.oh)) % g.cOut;
        uint256 nb = e / (g.ow * g.oh * g.cOut);
        uint256 grp = co / (g.cOut / uint256(a[5]));
        int256 acc = Dense.bias(cs, g.cOut, co);
        for (uint256 ci; ci < g.cg; ++ci) {
            uint256 xPlane = (nb * g.c + grp * g.cg + ci) * g.h * g.w;
            uint256 wPlane = (co * g.cg + ci) * g.kh * g.kw;
            acc += _convPlane(x, cs[0], g, a, xPlane, wPlane);
        }
        return Dense.finishAt(acc, a, cs, g.cOut, co);
    }

    function _convPlane(
        OneStepVerifier.Tensor memory x,
        OneStepVerifier.Tensor memory w,
        ConvGeo memory g,
        int256[] memory a,
        uint256 xPlane,
        uint256 wPlane
    ) private pure returns (int256 acc) {
        for (uint256 kh; kh < g.kh; ++kh) {
            int256 ih = int256(g.oh2) * a[8] - a[12] + int256(kh) * a[10];
            if (ih < 0 || ih >= int256(g.h)) continue;
            for (uint256 kw; kw < g.kw; ++kw) {
                int256 iw = int256(g.ow2) * a[9] - a[13] + int256(kw) * a[11];
                if (iw < 0 || iw >= int256(g.w)) continue;
                acc += OneStepVerifier.at(x, xPlane + uint256(ih) * g.w + uint256(iw))
                * OneStepVerifier.at(w, wPlane + kh * g.kw + kw);
            }
        }
    }
}
