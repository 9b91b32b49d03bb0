// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier, Semantics} from "../OneStepVerifier.sol";
import {Shapes} from "./Shapes.sol";

/// @title Activation
/// @notice One-step recomputation of the activation family, `Relu`, `Clip`, `LeakyRelu`, `PRelu`
/// and `Lut` (docs/semantics.md section 3): output element `e` is a function of input element `e`
/// alone (and, for `PRelu`, of its slope). `OneStepVerifier.evalElement` dispatches here.
library Activation {
    /// `Relu`: `max(X, 0)`.
    function relu(OneStepVerifier.Tensor memory x, uint256 e) internal pure returns (int256) {
        int256 v = OneStepVerifier.at(x, e);
        return v > 0 ? v : int256(0);
    }

    /// `Clip`: attrs [lo, hi].
    function clip(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256)
    {
        int256[] memory a = node.attrs;
        return Semantics.clamp(OneStepVerifier.at(x, e), a[0], a[1]);
    }

    /// `LeakyRelu`: attrs [M, s, lo, hi] (applied to negative inputs only).
    function leakyRelu(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256)
    {
        int256[] memory a = node.attrs;
        int256 v = OneStepVerifier.at(x, e);
        return v >= 0 ? v : Semantics.requant(v, a[0], uint256(a[1]), a[2], a[3]);
    }

    /// `PRelu`: attrs [M, s, lo, hi]; consts [S] (broadcast to X); `X >= 0 ? X : requant(X * S)`.
    function prelu(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor memory x,
        OneStepVerifier.Tensor memory slope,
        uint256 e
    ) internal pure returns (int256) {
        int256[] memory a = node.attrs;
        int256 v = OneStepVerifier.at(x, e);
        if (v >= 0) return v;
        int256 k = OneStepVerifier.at(slope, Shapes.bcast(x.shape, slope.shape, e));
        return Semantics.requant(v * k, a[0], uint256(a[1]), a[2], a[3]);
    }

    /// `Lut`: consts [T (n = 2^k entries, 256 <= n <= 65536)]; `T[X + n/2]`.
    function lut(OneStepVerifier.Tensor memory x, OneStepVerifier.Tensor memory table, uint256 e)
        internal
        pure
        returns (int256)
    {
        // an n-entry table (n = 2^k, 256 <= n <= 65536) is read at x + n/2
        int256 half = int256(OneStepVerifier.numel(table.shape) / 2);
        int256 i = OneStepVerifier.at(x, e) + half;
        if (i < 0 || i >= 2 * half) revert OneStepVerifier.BadNode();
        return OneStepVerifier.at(table, uint256(i));
    }
}
