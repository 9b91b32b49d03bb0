// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {OneStepVerifier} from "../OneStepVerifier.sol";

/// @title Tree
/// @notice One-step recomputation of the tree family, `TreeEnsemble` (docs/semantics.md sections
/// 3.1 and 8.6). attrs `[aggregate]` (0 `SUM`, 1 `MIN`, 2 `MAX`); consts
/// `[nodes [n_nodes, 6], weights [n_w, 2], roots [T], base [N], bounds [F + 1], thresholds]`;
/// input `X` `[.., F]` feature codes; output `[.., N]` (wide).
///
/// `ensemble` computes a whole output element (every tree; `OneStepVerifier.evalElement`).
/// `step` adds one tree's leaf values to an agreed partial sum: the one-step check of the
/// tree partial-sum game, which reads only the walked path. Both read the `nodes` rows and
/// feature codes through a list of windows, so that a path's scattered rows can each be proven
/// by a window of their own; a read that no window covers reverts `OutsideWindow`.
library Tree {
    /// Columns of a `nodes` row: `[mode, feature, c, missing, a, b]`.
    uint256 internal constant NODE_COLS = 6;
    /// Columns of a `weights` row: `[target, value]`.
    uint256 internal constant WEIGHT_COLS = 2;
    /// `mode` of a leaf row.
    int256 internal constant LEAF = 6;
    /// The feature code of a missing value.
    int256 internal constant MISSING = -1;

    /// @notice Output element `e` of a `TreeEnsemble` (docs/semantics.md section 3.1): with
    /// `k = e mod N` and row `e div N` of `x`, `base[k]` plus the `SUM`, `MIN` or `MAX` of the
    /// values of target `k` in the leaf each tree reaches (0 when no leaf has one).
    /// @param cs one window per constant, in the descriptor's order
    function ensemble(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor memory x,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e
    ) internal pure returns (int256) {
        if (node.attrs.length < 1 || cs.length < 4 || node.attrs[0] < 0 || node.attrs[0] > 2) {
            revert OneStepVerifier.BadNode();
        }
        Path memory p = Path(new OneStepVerifier.Tensor[](1), new OneStepVerifier.Tensor[](1), 0, _last(x.shape));
        p.nodes[0] = cs[0];
        p.xs[0] = x;
        uint256 nTargets = _targets(cs[3].shape);
        p.xBase = (e / nTargets) * p.nFeatures;
        Fold memory f = Fold(node.attrs[0], e % nTargets, false, 0);
        for (uint256 t; t < _last(cs[2].shape); ++t) {
            (uint256 from, uint256 to) = _leafRows(p.nodes, walk(p, _idx(OneStepVerifier.at(cs[2], t))));
            _fold(f, cs[1], from, to);
        }
        return OneStepVerifier.at(cs[3], f.k) + f.acc;
    }

    /// @notice The tree partial-sum step (docs/semantics.md section 8.6): `prev` plus the
    /// values of target `e mod N` in the leaf tree `t` reaches on the feature codes of row
    /// `e div N` (`SUM` only; the game refuses other aggregates).
    /// @param xWins windows of `X`, together covering every feature code the walk tests
    /// @param cs `[roots, base, weights, nodes windows ..]`: a window of `roots` holding `t`, one
    /// of `base` (the caller reads `P_0 = base[k]`), one of `weights` holding the leaf's rows, then windows of
    /// `nodes` together covering every row of the path
    function step(
        OneStepVerifier.Node memory node,
        OneStepVerifier.Tensor[] memory xWins,
        OneStepVerifier.Tensor[] memory cs,
        uint256 e,
        uint256 t,
        int256 prev
    ) internal pure returns (int256 p) {
        if (node.attrs.length < 1 || node.attrs[0] != 0 || node.constShapes.length < 4 || cs.length < 4) {
            revert OneStepVerifier.BadNode();
        }
        if (xWins.length == 0) revert OneStepVerifier.BadNode();
        uint256 nTargets = _targets(node.constShapes[3]);
        Path memory path = Path(new OneStepVerifier.Tensor[](cs.length - 3), xWins, 0, _last(xWins[0].shape));
        path.xBase = (e / nTargets) * path.nFeatures;
        for (uint256 i = 3; i < cs.length; ++i) {
            path.nodes[i - 3] = cs[i];
        }
        (uint256 from, uint256 to) = _leafRows(path.nodes, walk(path, _idx(OneStepVerifier.at(cs[0], t))));
        uint256 k = e % nTargets;
        p = prev;
        for (uint256 r = from; r < to; ++r) {
            if (_idx(OneStepVerifier.at(cs[2], r * WEIGHT_COLS)) == k) {
                p += OneStepVerifier.at(cs[2], r * WEIGHT_COLS + 1);
            }
        }
    }

    /// @notice The leaf row a tree reaches from row `root` (docs/semantics.md section 3.1, walk):
    /// a branch `[mode, f, c, missing, a, b]` tests the code at `p.xBase + f` and goes to `a`
    /// when its test holds, else to `b`. A child at or before its parent, a feature `f >= F` or
    /// an unknown mode is a malformed package and reverts.
    function walk(Path memory p, uint256 root) internal pure returns (uint256 i) {
        OneStepVerifier.Tensor[] memory nodeWins = p.nodes;
        i = root;
        while (true) {
            uint256 r = i * NODE_COLS;
            int256 mode = _read(nodeWins, r);
            if (mode == LEAF) return i;
            if (mode < 0 || mode > LEAF) revert OneStepVerifier.BadNode();
            uint256 f = _idx(_read(nodeWins, r + 1));
            if (f >= p.nFeatures) revert OneStepVerifier.BadNode();
            int256 q = _read(p.xs, p.xBase + f);
            bool holds = _holds(mode, q, _read(nodeWins, r + 2), _read(nodeWins, r + 3) != 0);
            uint256 next = _idx(_read(nodeWins, r + (holds ? 4 : 5)));
            if (next <= i) revert OneStepVerifier.BadNode();
            i = next;
        }
    }

    /// What a walk reads: windows of `nodes`, windows of `X`, the row's first code in `X` and `F`.
    struct Path {
        OneStepVerifier.Tensor[] nodes;
        OneStepVerifier.Tensor[] xs;
        uint256 xBase;
        uint256 nFeatures;
    }

    /// The running aggregate of one target's leaf values.
    struct Fold {
        int256 agg; // 0 SUM, 1 MIN, 2 MAX
        uint256 k; // the target
        bool any; // some value seen (an empty fold is 0)
        int256 acc;
    }

    /// Folds the values of target `f.k` in weight rows `[from, to)` into `f`.
    function _fold(Fold memory f, OneStepVerifier.Tensor memory weights, uint256 from, uint256 to) private pure {
        for (uint256 r = from; r < to; ++r) {
            if (_idx(OneStepVerifier.at(weights, r * WEIGHT_COLS)) != f.k) continue;
            int256 w = OneStepVerifier.at(weights, r * WEIGHT_COLS + 1);
            if (!f.any) f.acc = w;
            else if (f.agg == 0) f.acc += w;
            else if (f.agg == 1 ? w < f.acc : w > f.acc) f.acc = w;
            f.any = true;
        }
    }

    /// Whether a branch of `mode` (0 LEQ, 1 LT, 2 GTE, 3 GT, 4 EQ, 5 NEQ) holds for code `q`
    /// against threshold code `c`; a missing code (-1) holds when `missing` or for NEQ.
    function _holds(int256 mode, int256 q, int256 c, bool missing) private pure returns (bool) {
        if (q == MISSING) return missing || mode == 5;
        if (mode == 0) return q <= c;
        if (mode == 1) return q < c;
        if (mode == 2) return q >= c;
        if (mode == 3) return q > c;
        if (mode == 4) return q == c;
        return q != c;
    }

    /// Weight rows `[a, a + b)` of leaf row `leaf`.
    function _leafRows(OneStepVerifier.Tensor[] memory nodeWins, uint256 leaf)
        private
        pure
        returns (uint256 from, uint256 to)
    {
        from = _idx(_read(nodeWins, leaf * NODE_COLS + 4));
        to = from + _idx(_read(nodeWins, leaf * NODE_COLS + 5));
    }

    /// Element `i` from the first window of `ws` that holds it.
    function _read(OneStepVerifier.Tensor[] memory ws, uint256 i) private pure returns (int256) {
        for (uint256 w; w < ws.length; ++w) {
            OneStepVerifier.Tensor memory t = ws[w];
            if (i >= t.offset && i - t.offset < t.data.length) return t.data[i - t.offset];
        }
        revert OneStepVerifier.OutsideWindow(i, 0, 0);
    }

    /// A stored index (non-negative; a negative one is a malformed package).
    function _idx(int256 v) private pure returns (uint256) {
        if (v < 0) revert OneStepVerifier.BadNode();
        return uint256(v);
    }

    /// The last dimension of a shape (1 for a scalar).
    function _last(uint256[] memory shape) private pure returns (uint256) {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    /// The target count `N` (the length of `base`), at least 1.
    function _targets(uint256[] memory baseShape) private pure returns (uint256 n) {
        n = _last(baseShape);
        if (n == 0) revert OneStepVerifier.BadNode();
    }
}
