// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {ModelKit} from "./ModelKit.sol";
import {Tree} from "./Tree.sol";
import {OneStepVerifier} from "../../src/OneStepVerifier.sol";
import {DisputeGame} from "../../src/DisputeGame.sol";

/// @notice Synthetic tree ensembles (complete trees of a given depth) and a driver for the tree
/// partial-sum game (docs/semantics.md section 8.6): prefix sums over trees, and the one-step
/// call that proves one window per walked `nodes` row and tested feature code.
abstract contract TreeKit is ModelKit {
    uint256 internal constant NODE_COLS = 6;
    uint256 internal constant FEATURES = 8; // the default feature count
    uint256 internal constant THRESHOLDS = 16; // per feature: codes in [-1, 32]

    /// Prove each tested feature code by a window of its own (the client's choice for codes
    /// spread wider than 64 elements), instead of one window over their span.
    bool internal treePerCode;
    /// Rows of the task the gas report's forests run (0: one).
    uint256 internal treeRows;
    /// Features of the gas report's forests (0: `FEATURES`).
    uint256 internal treeFeatures;

    /// The honest and lying prefix sums of the two parties.
    struct TreeRun {
        Play p;
        uint256 e;
        int256[] def; // P_0 .. P_T
        int256[] cha;
        uint256 step; // gas of the one-step transaction
    }

    /// A one-node graph: a `SUM` `TreeEnsemble` of `trees` complete trees of `depth` levels over
    /// `FEATURES` feature codes (graph input 0, `[1, FEATURES]`) into `targets` wide scores.
    /// Leaf `l` of a tree owns one weight row `[l mod targets, value]`.
    function _forest(uint256 trees, uint256 depth, uint256 targets, uint256 seed)
        internal
        pure
        returns (Model memory m)
    {
        return _forestF(trees, depth, targets, seed, FEATURES);
    }

    /// `_forest` over `nf` features.
    function _forestF(uint256 trees, uint256 depth, uint256 targets, uint256 seed, uint256 nf)
        internal
        pure
        returns (Model memory m)
    {
        uint256 per = (uint256(1) << (depth + 1)) - 1; // rows per tree
        uint256 leaves = uint256(1) << depth;
        int256[] memory nodes = new int256[](trees * per * NODE_COLS);
        int256[] memory weights = new int256[](trees * leaves * 2);
        int256[] memory roots = new int256[](trees);
        int256[] memory r = _rand(seed, trees * per * 3, 0, 1 << 30);
        for (uint256 t; t < trees; ++t) {
            uint256 first = t * per;
            roots[t] = int256(first);
            for (uint256 i; i < per; ++i) {
                uint256 o = (first + i) * NODE_COLS;
                uint256 h = (first + i) * 3;
                if (i < per - leaves) {
                    nodes[o] = r[h] % 6; // LEQ .. NEQ
                    nodes[o + 1] = r[h + 1] % int256(nf);
                    nodes[o + 2] = 2 * (r[h + 2] % int256(THRESHOLDS)) + 1;
                    nodes[o + 3] = r[h] % 2;
                    nodes[o + 4] = int256(first + 2 * i + 1);
                    nodes[o + 5] = int256(first + 2 * i + 2);
                } else {
                    uint256 l = t * leaves + (i - (per - leaves));
                    nodes[o] = 6;
                    nodes[o + 4] = int256(l);
                    nodes[o + 5] = 1;
                    weights[2 * l] = int256(l % targets);
                    weights[2 * l + 1] = (r[h + 1] % 20_001) - 10_000;
                }
            }
        }
        m.consts = new int256[][](6);
        m.consts[0] = nodes;
        m.consts[1] = weights;
        m.consts[2] = roots;
        m.consts[3] = _rand(seed + 1, targets, -5000, 5000);
        m.consts[4] = new int256[](nf + 1);
        for (uint256 f; f <= nf; ++f) {
            m.consts[4][f] = int256(f * THRESHOLDS);
        }
        m.consts[5] = new int256[](nf * THRESHOLDS);
        for (uint256 i; i < m.consts[5].length; ++i) {
            m.consts[5][i] = int256(i % THRESHOLDS); // bit patterns: unread by the one-step
        }
        OneStepVerifier.Node memory node;
        node.op = OneStepVerifier.OP_TREE;
        node.inputs = _u(G);
        node.inShapes = new uint256[][](1);
        node.inShapes[0] = _u(1, nf);
        node.consts = new uint256[](6);
        node.constShapes = new uint256[][](6);
        for (uint256 i; i < 6; ++i) {
            node.consts[i] = i;
        }
        node.constShapes[0] = _u(trees * per, NODE_COLS);
        node.constShapes[1] = _u(trees * leaves, 2);
        node.constShapes[2] = _u(trees);
        node.constShapes[3] = _u(targets);
        node.constShapes[4] = _u(nf + 1);
        node.constShapes[5] = _u(nf * THRESHOLDS);
        node.outShape = _u(1, targets);
        node.attrs = new int256[](1);
        m.nodes = new OneStepVerifier.Node[](1);
        m.nodes[0] = node;
        m.outputNodes = _u(0);
        m.input = _rand(seed + 2, nf, -1, int256(2 * THRESHOLDS));
        m.inputShape = _u(1, nf);
    }

    /// The rows tree `t` walks on the model's input (root first, leaf last).
    function _path(Model memory m, uint256 t) internal pure returns (uint256[] memory rows) {
        int256[] memory nodes = m.consts[0];
        uint256[] memory buf = new uint256[](64);
        uint256 n;
        uint256 i = uint256(m.consts[2][t]);
        while (true) {
            buf[n++] = i;
            uint256 o = i * NODE_COLS;
            if (nodes[o] == 6) break;
            int256 q = m.input[uint256(nodes[o + 1])];
            int256 c = nodes[o + 2];
            int256 mode = nodes[o];
            bool h = q == -1
                ? (nodes[o + 3] != 0 || mode == 5)
                : (mode == 0
                        ? q <= c
                        : mode == 1 ? q < c : mode == 2 ? q >= c : mode == 3 ? q > c : mode == 4 ? q == c : q != c);
            i = uint256(nodes[o + (h ? 4 : 5)]);
        }
        rows = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            rows[k] = buf[k];
        }
    }

    /// Honest prefix sums `P_0 .. P_T` of target `k`: `P_0 = base[k]`, `P_{t+1} = P_t` plus tree
    /// `t`'s leaf values for `k`.
    function _treePrefix(Model memory m, uint256 k) internal pure returns (int256[] memory pre) {
        uint256 trees = m.consts[2].length;
        pre = new int256[](trees + 1);
        pre[0] = m.consts[3][k];
        for (uint256 t; t < trees; ++t) {
            pre[t + 1] = pre[t] + _leafValue(m, t, k);
        }
    }

    /// Tree `t`'s leaf values for target `k` on the model's input.
    function _leafValue(Model memory m, uint256 t, uint256 k) internal pure returns (int256 v) {
        uint256[] memory path = _path(m, t);
        uint256 leaf = path[path.length - 1];
        uint256 a = uint256(m.consts[0][leaf * NODE_COLS + 4]);
        uint256 b = uint256(m.consts[0][leaf * NODE_COLS + 5]);
        for (uint256 r = a; r < a + b; ++r) {
            if (uint256(m.consts[1][2 * r]) == k) v += m.consts[1][2 * r + 1];
        }
    }

    /// Plays element `e` of a forest to the tree partial-sum step; the liar claims the honest
    /// value + 1 and its prefix sums deviate from tree `dev` on.
    function _treeSetup(Model memory m, uint256 e, bool liarIsDefender, uint256 dev)
        internal
        returns (TreeRun memory r)
    {
        (, r.p) = _playToOneStep(m, 0, e, liarIsDefender);
        r.e = e;
        int256[] memory honest = _treePrefix(m, e % m.consts[3].length);
        int256[] memory lie = new int256[](honest.length);
        for (uint256 c; c < lie.length; ++c) {
            lie[c] = honest[c] + (c > dev ? int256(1) : int256(0));
        }
        r.def = liarIsDefender ? lie : honest;
        r.cha = liarIsDefender ? honest : lie;
    }

    /// Both parties post their accumulators and every midpoint; returns the tree it narrowed to.
    function _treeBisect(TreeRun memory r) internal returns (uint256 lo) {
        uint256 gid = r.p.gid;
        bytes32[] memory proof = Tree.leafProof(Tree.levels(_nodeLeaves(r.p.m)), 0);
        vm.prank(challenger);
        game.startPartialSums(gid, r.p.m.nodes[0], proof, r.cha[r.cha.length - 1], new DisputeGame.Window[](0));
        vm.prank(r.p.defender);
        game.postPartial(gid, r.def[r.def.length - 1]);
        while (game.game(gid).phase == DisputeGame.Phase.PartialBisect) {
            DisputeGame.PartialSums memory ps = game.partialSums(gid);
            uint256 mid = (uint256(ps.lo) + ps.hi) / 2;
            vm.prank(r.p.defender);
            game.postPartial(gid, r.def[mid]);
            vm.prank(challenger);
            game.postPartial(gid, r.cha[mid]);
        }
        assertTrue(game.game(gid).phase == DisputeGame.Phase.PartialStep, "narrowed to one tree");
        lo = game.partialSums(gid).lo;
    }

    /// The tree one-step call of tree `t` for element `e` (row 0): input windows of each tested
    /// feature code, const windows `[roots, base, weights, nodes rows ..]`.
    function _treeStepCall(Play memory p, uint256 e, uint256 t) internal view returns (bytes memory) {
        uint256[] memory path = _path(p.m, t);
        DisputeGame.Window[] memory ins = _treeInWins(p.m, path);
        DisputeGame.Window[] memory cs = _treeConstWins(p.m, e, t, path);
        bytes32[] memory nodeProof = Tree.leafProof(Tree.levels(_nodeLeaves(p.m)), 0);
        return abi.encodeCall(DisputeGame.oneStep, (p.gid, p.m.nodes[0], nodeProof, ins, cs));
    }

    /// One window of `X` per tested feature code.
    function _treeInWins(Model memory m, uint256[] memory path)
        internal
        view
        returns (DisputeGame.Window[] memory ins)
    {
        bytes32[] memory inl = new bytes32[](1);
        inl[0] = Tree.commitment(m.input);
        bytes32[] memory inProof = Tree.leafProof(Tree.levels(inl), 0);
        // one window over the tested codes' span when it is at most 16 per code, else one per code (a later
        // window leaves its commitment proof out: it shares the first window's)
        uint256 lo = type(uint256).max;
        uint256 hi;
        for (uint256 i; i + 1 < path.length; ++i) {
            uint256 f = uint256(m.consts[0][path[i] * NODE_COLS + 1]);
            if (f < lo) lo = f;
            if (f + 1 > hi) hi = f + 1;
        }
        if (path.length == 1) return new DisputeGame.Window[](0);
        if (hi - lo <= 16 * (path.length - 1) && !treePerCode) {
            ins = new DisputeGame.Window[](1);
            ins[0] = _win(m.input, inProof, lo, hi);
            return ins;
        }
        ins = new DisputeGame.Window[](path.length - 1);
        for (uint256 i; i + 1 < path.length; ++i) {
            uint256 f = uint256(m.consts[0][path[i] * NODE_COLS + 1]);
            ins[i] = _win(m.input, i == 0 ? inProof : new bytes32[](0), f, f + 1);
        }
    }

    /// `[roots, base, weights, nodes rows ..]`: one window per path row.
    function _treeConstWins(Model memory m, uint256 e, uint256 t, uint256[] memory path)
        internal
        pure
        returns (DisputeGame.Window[] memory cs)
    {
        bytes32[] memory cc = new bytes32[](m.consts.length);
        for (uint256 i; i < cc.length; ++i) {
            cc[i] = Tree.commitment(m.consts[i]);
        }
        bytes32[][] memory wl = Tree.levels(cc);
        cs = new DisputeGame.Window[](3 + path.length);
        uint256 k = e % m.consts[3].length;
        cs[0] = _win(m.consts[2], Tree.leafProof(wl, 2), t, t + 1);
        cs[1] = _win(m.consts[3], Tree.leafProof(wl, 3), k, k + 1);
        uint256 leaf = path[path.length - 1];
        uint256 a = uint256(m.consts[0][leaf * NODE_COLS + 4]);
        uint256 b = uint256(m.consts[0][leaf * NODE_COLS + 5]);
        cs[2] = _win(m.consts[1], Tree.leafProof(wl, 1), 2 * a, b == 0 ? 2 * a + 1 : 2 * (a + b));
        for (uint256 i; i < path.length; ++i) {
            bytes32[] memory proof = i == 0 ? Tree.leafProof(wl, 0) : new bytes32[](0);
            cs[3 + i] = _win(m.consts[0], proof, path[i] * NODE_COLS, (path[i] + 1) * NODE_COLS);
        }
    }
}
