// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier} from "./OneStepVerifier.sol";
import {Partial} from "./onestep/Partial.sol";
import {Tree} from "./onestep/Tree.sol";

/// @title OneStepEvaluator
/// @notice The one-step recomputation of docs/semantics.md as a contract of its own: the
/// DisputeGame proves the windows and calls `evalElement`. Every op's definition lives here, so
/// the game's bytecode does not grow with the op set (both stay under EIP-170's 24,576 bytes).
/// Stateless and pure: its answer depends only on its arguments.
contract OneStepEvaluator {
    /// @notice Output element `e` of `node` from windows of its dynamic inputs and constants
    /// (a window holds elements `[offset, offset + data.length)`; reading outside it reverts).
    function evalElement(
        OneStepVerifier.Node calldata node,
        OneStepVerifier.Tensor[] calldata ins,
        OneStepVerifier.Tensor[] calldata cs,
        uint256 e
    ) external pure returns (int256) {
        return OneStepVerifier.evalElement(node, ins, cs, e);
    }

    /// @notice The tree partial-sum step of docs/semantics.md section 8.6: `prev` plus tree `t`'s
    /// leaf values for target `e mod N` of row `e div N`, reading only the walked path.
    /// @param xs windows of the feature codes `X` (each the row's part of a proven window)
    /// @param cs `[roots, base, weights, nodes windows ..]`
    function treeStep(
        OneStepVerifier.Node calldata node,
        OneStepVerifier.Tensor[] calldata xs,
        OneStepVerifier.Tensor[] calldata cs,
        uint256 e,
        uint256 t,
        int256 prev
    ) external pure returns (int256) {
        return Tree.step(node, xs, cs, e, t, prev);
    }

    /// @notice The chunk step of the partial-sum game of docs/semantics.md section 8.4: chunk
    /// `lo` of the fan-in of element `e` of a `Linear`, `Conv` or `MatMul` node, added to
    /// `agreed` (`P_lo`; the bias when `lo = 0`). `ins` are the windows of the dynamic inputs in
    /// order, then further windows of the last one (`Conv`'s `X`, `MatMul`'s `Y`).
    function partialStep(
        OneStepVerifier.Node calldata node,
        OneStepVerifier.Tensor[] calldata ins,
        OneStepVerifier.Tensor[] calldata cs,
        uint256 e,
        uint256 lo,
        int256 agreed
    ) external pure returns (int256) {
        return Partial.step(node, ins, cs, e, lo, agreed);
    }
}
