// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier} from "../OneStepVerifier.sol";
import {Shapes} from "./Shapes.sol";

/// @title Layout
/// @notice One-step recomputation of the data-movement family, `Copy` (Reshape, Flatten, Squeeze,
/// Unsqueeze, Identity), `Transpose` and `Concat` (docs/semantics.md section 3): output element
/// `e` is one input element, found by index arithmetic. `OneStepVerifier.evalElement` dispatches here.
library Layout {
    /// `Copy`: element `e` of Z is element `e` of X.
    function copy(OneStepVerifier.Tensor memory x, uint256 e) internal pure returns (int256) {
        return OneStepVerifier.at(x, e);
    }

    /// `Transpose`: attrs perm.
    function transpose(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256)
    {
        return OneStepVerifier.at(x, _transposeSource(node, x.shape, e));
    }

    /// `Concat`: attrs [axis]; inputs in order.
    function concat(OneStepVerifier.Node memory node, OneStepVerifier.Tensor[] memory ins, uint256 e)
        internal
        pure
        returns (int256)
    {
        uint256[] memory os = node.outShape;
        uint256 axis = Shapes.axisOf(node.attrs[0], os.length);
        (, uint256 len, uint256 inner) = Shapes.split(os, axis);
        uint256 outer = e / (len * inner);
        uint256 j = (e / inner) % len;
        uint256 rest = e % inner;
        for (uint256 i; i < ins.length; ++i) {
            uint256 li = ins[i].shape[axis];
            if (j < li) return OneStepVerifier.at(ins[i], (outer * li + j) * inner + rest);
            j -= li;
        }
        revert OneStepVerifier.BadNode();
    }

    /// Index into the input of output element `e` of a transpose.
    function _transposeSource(OneStepVerifier.Node memory node, uint256[] memory inShape, uint256 e)
        private
        pure
        returns (uint256 src)
    {
        uint256[] memory os = node.outShape;
        uint256 r = os.length;
        uint256[] memory coord = new uint256[](r);
        for (uint256 d = r; d > 0; --d) {
            coord[d - 1] = e % os[d - 1];
            e /= os[d - 1];
        }
        // output axis d is input axis perm[d]
        uint256[] memory inCoord = new uint256[](r);
        for (uint256 d; d < r; ++d) {
            inCoord[uint256(node.attrs[d])] = coord[d];
        }
        for (uint256 d; d < r; ++d) {
            src = src * inShape[d] + inCoord[d];
        }
    }
}
