// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

/// @title Shapes
/// @notice Row-major index arithmetic shared by the one-step op families in this folder: numpy
/// broadcasting, the split of a shape around one axis and ONNX's negative axes. docs/semantics.md
/// section 3 ("Shape rules follow ONNX").
library Shapes {
    /// Index into `s` of the element broadcast to output element `e` (numpy rules).
    function bcast(uint256[] memory os, uint256[] memory s, uint256 e) internal pure returns (uint256 idx) {
        uint256 mul = 1;
        uint256 r = os.length;
        uint256 sr = s.length;
        for (uint256 d = r; d > 0; --d) {
            uint256 od = os[d - 1];
            uint256 coord = e % od;
            e /= od;
            if (d + sr > r) {
                uint256 sd = s[d - 1 + sr - r];
                idx += (sd == 1 ? 0 : coord) * mul;
                mul *= sd;
            }
        }
    }

    /// (outer, axisLen, inner) of `shape` around `axis`.
    function split(uint256[] memory shape, uint256 axis)
        internal
        pure
        returns (uint256 outer, uint256 len, uint256 inner)
    {
        outer = 1;
        inner = 1;
        for (uint256 i; i < shape.length; ++i) {
            if (i < axis) outer *= shape[i];
            else if (i > axis) inner *= shape[i];
        }
        len = shape[axis];
    }

    /// The axis an ONNX `axis` attribute names in a tensor of rank `rank` (negative counts from the end).
    function axisOf(int256 a, uint256 rank) internal pure returns (uint256) {
        return a < 0 ? uint256(int256(rank) + a) : uint256(a);
    }
}
