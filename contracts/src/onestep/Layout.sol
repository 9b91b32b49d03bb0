// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier, Semantics} from "../OneStepVerifier.sol";
import {Shapes} from "./Shapes.sol";

/// @title Layout
/// @notice One-step recomputation of the data-movement family, `Copy` (Reshape, Flatten, Squeeze,
/// Unsqueeze, Identity), `Transpose`, `Concat`, `Pad`, `Select` and `Gather` (docs/semantics.md section 3): output
/// element `e` is one input element, found by index arithmetic (or `Pad`'s constant value).
/// `OneStepVerifier.evalElement` dispatches here.
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

    /// `Pad`: attrs [mode, value, begin_0, .., begin_{r-1}, end_0, .., end_{r-1}] (mode 0 constant,
    /// 1 reflect, 2 edge, 3 wrap). Along each axis of size d, output index o reads input index
    /// i = o - begin when 0 <= i < d; otherwise constant mode gives `value`, reflect reads -i or
    /// 2(d - 1) - i, edge the nearest end, wrap i mod d.
    function pad(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256)
    {
        uint256[] memory os = node.outShape;
        uint256[] memory xs = x.shape;
        uint256 r = os.length;
        int256[] memory a = node.attrs;
        if (xs.length != r || a.length != 2 + 2 * r) revert OneStepVerifier.BadNode();
        int256 mode = a[0];
        uint256 src;
        uint256 mul = 1;
        for (uint256 d = r; d > 0; --d) {
            uint256 ax = d - 1;
            int256 size = int256(xs[ax]);
            int256 i = int256(e % os[ax]) - a[2 + ax];
            e /= os[ax];
            if (i < 0 || i >= size) {
                if (mode == 0) return a[1];
                if (mode == 1) i = i < 0 ? -i : 2 * (size - 1) - i;
                else if (mode == 2) i = i < 0 ? int256(0) : size - 1;
                else if (mode == 3 && size > 0) i = ((i % size) + size) % size;
                else revert OneStepVerifier.BadNode();
                if (i < 0 || i >= size) revert OneStepVerifier.BadNode();
            }
            src += uint256(i) * mul;
            mul *= xs[ax];
        }
        return OneStepVerifier.at(x, src);
    }

    /// `Select`: attrs [len_0, .., len_{r-1}, map_0.., map_1.., ..]. Along axis d, output index o
    /// reads input index map_d[o], or o itself when len_d is 0.
    function select(OneStepVerifier.Node memory node, OneStepVerifier.Tensor memory x, uint256 e)
        internal
        pure
        returns (int256)
    {
        uint256[] memory os = node.outShape;
        uint256[] memory xs = x.shape;
        uint256 r = xs.length;
        int256[] memory a = node.attrs;
        if (os.length != r || a.length < r) revert OneStepVerifier.BadNode();
        // the end of axis d's map in attrs; walked from the last axis down
        uint256 end = r;
        for (uint256 d; d < r; ++d) {
            end += uint256(a[d]);
        }
        if (a.length != end) revert OneStepVerifier.BadNode();
        uint256 src;
        uint256 mul = 1;
        for (uint256 d = r; d > 0; --d) {
            uint256 ax = d - 1;
            uint256 o = e % os[ax];
            e /= os[ax];
            uint256 len = uint256(a[ax]);
            end -= len;
            uint256 i = o;
            if (len != 0) {
                if (len != os[ax]) revert OneStepVerifier.BadNode();
                i = uint256(a[end + o]);
            } else if (os[ax] != xs[ax]) {
                revert OneStepVerifier.BadNode();
            }
            if (i >= xs[ax]) revert OneStepVerifier.BadNode();
            src += i * mul;
            mul *= xs[ax];
        }
        return OneStepVerifier.at(x, src);
    }

    /// `Gather` by a computed index: attrs [axis]; `ins` [X, I] and no constants, or `ins` [I]
    /// and `cs` [X] (a constant table). Output element (o, p, i) (o over X's axes before `axis`,
    /// p over I, i over those after) is X[o, j, i], j = I[p] + n when negative, clamped to
    /// [0, n - 1] (n = X's size along `axis`): the index element first, then the one data
    /// element it names.
    function gather(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor[] memory ins,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e
    ) internal pure returns (int256) {
        if (node.attrs.length != 1 || ins.length != (cs.length == 1 ? 1 : 2)) {
            revert OneStepVerifier.BadNode();
        }
        OneStepVerifier.Tensor memory x = cs.length == 1 ? cs[0] : ins[0];
        OneStepVerifier.Tensor memory ix = ins[ins.length - 1];
        uint256 inner = _gatherInner(node.outShape, x.shape, ix.shape, uint256(node.attrs[0]));
        uint256 n = x.shape[uint256(node.attrs[0])];
        uint256 m = OneStepVerifier.numel(ix.shape);
        uint256 j = _gatherIndex(OneStepVerifier.at(ix, (e / inner) % m), n);
        return OneStepVerifier.at(x, ((e / (m * inner)) * n + j) * inner + e % inner);
    }

    /// The element an index value `v` picks along an axis of `n >= 1`: `v + n` when negative,
    /// then clamped to [0, n - 1].
    function _gatherIndex(int256 v, uint256 n) private pure returns (uint256) {
        int256 len = int256(n);
        if (v < 0) v += len;
        return uint256(Semantics.clamp(v, 0, len - 1));
    }

    /// The elements of X after `axis` in a `Gather`, once the output shape is checked to be
    /// X[..axis] ++ I ++ X[axis + 1..] with a non-empty `axis`.
    function _gatherInner(uint256[] memory os, uint256[] memory xs, uint256[] memory is_, uint256 axis)
        private
        pure
        returns (uint256 inner)
    {
        uint256 r = xs.length;
        uint256 k = is_.length;
        if (axis >= r || xs[axis] == 0 || os.length + 1 != r + k) revert OneStepVerifier.BadNode();
        inner = 1;
        for (uint256 d; d < r; ++d) {
            if (d < axis && os[d] != xs[d]) revert OneStepVerifier.BadNode();
            if (d > axis) {
                if (os[d + k - 1] != xs[d]) revert OneStepVerifier.BadNode();
                inner *= xs[d];
            }
        }
        for (uint256 d; d < k; ++d) {
            if (os[axis + d] != is_[d]) revert OneStepVerifier.BadNode();
        }
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
