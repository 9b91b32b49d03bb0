// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {PartialSumKit} from "./PartialSumKit.sol";
import {Tree} from "./Tree.sol";
import {OneStepVerifier} from "../../src/OneStepVerifier.sol";
import {DisputeGame} from "../../src/DisputeGame.sol";

/// @notice Drives the partial-sum game of a `Conv` or `MatMul` element (docs/semantics.md 8.4,
/// chunks of 8 terms): reference prefix sums computed here term by term (independently of the
/// contracts' `Partial` library), and the chunk step's windows (one per term of the strided
/// operand, the later ones sharing the first one's proven commitment).
abstract contract StridedKit is PartialSumKit {
    uint256 internal constant STRIDED = 8;

    /// Grouped dilated padded Conv: X [1, 16, 8, 8], W [8, 8, 3, 3] (group 2, dilation 2,
    /// pad 2: fan-in 72, nine chunks), B [8] -> [1, 8, 8, 8].
    function _convNet() internal pure returns (Model memory m) {
        m.input = _rand(21, 1024, -128, 127);
        m.inputShape = _u(1, 16, 8, 8);
        m.consts = new int256[][](2);
        m.constShapes = new uint256[][](2);
        (m.consts[0], m.constShapes[0]) = (_rand(22, 8 * 72, -127, 127), _u(8, 8, 3, 3));
        (m.consts[1], m.constShapes[1]) = (_rand(23, 8, -3000, 3000), _u(8));
        m.nodes = new OneStepVerifier.Node[](1);
        OneStepVerifier.Node memory c = _convNode(G, 16, 8, 8, 0, 8, 3);
        c.constShapes[0] = _u(8, 8, 3, 3);
        c.outShape = _u(1, 8, 8, 8);
        c.attrs[1] = 21;
        c.attrs[2] = -128;
        c.attrs[5] = 2; // group
        (c.attrs[10], c.attrs[11]) = (2, 2); // dilation
        (c.attrs[12], c.attrs[13], c.attrs[14], c.attrs[15]) = (2, 2, 2, 2); // pads
        m.nodes[0] = c;
        m.outputNodes = _u(0);
    }

    /// MatMul of two computed operands: X [1, 4, 40] and Y [1, 40, 4] (copies of the input),
    /// fan-in 40 (five chunks) -> [1, 4, 4].
    function _matmulNet() internal pure returns (Model memory m) {
        m.input = _rand(31, 160, -128, 127);
        m.inputShape = _u(1, 160);
        m.nodes = new OneStepVerifier.Node[](3);
        m.nodes[0] = _copy(G, _u(1, 160), _u3(1, 4, 40));
        m.nodes[1] = _copy(G, _u(1, 160), _u3(1, 40, 4));
        OneStepVerifier.Node memory mm;
        mm.op = OneStepVerifier.OP_MATMUL;
        mm.inputs = _u(0, 1);
        mm.inShapes = new uint256[][](2);
        (mm.inShapes[0], mm.inShapes[1]) = (_u3(1, 4, 40), _u3(1, 40, 4));
        mm.outShape = _u3(1, 4, 4);
        mm.attrs = new int256[](5);
        (mm.attrs[0], mm.attrs[1], mm.attrs[2], mm.attrs[3]) = (16_384, 21, -128, 127);
        m.nodes[2] = mm;
        m.outputNodes = _u(2);
    }

    function _u3(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory s) {
        s = new uint256[](3);
        (s[0], s[1], s[2]) = (a, b, c);
    }

    function _copy(uint256 input, uint256[] memory inShape, uint256[] memory outShape)
        internal
        pure
        returns (OneStepVerifier.Node memory node)
    {
        node.op = OneStepVerifier.OP_COPY;
        node.inputs = _u(input);
        node.inShapes = new uint256[][](1);
        node.inShapes[0] = inShape;
        node.outShape = outShape;
    }

    /// Fan-in of a `Conv` or `MatMul` node.
    function _fanIn(OneStepVerifier.Node memory node) internal pure returns (uint256) {
        if (node.op == OneStepVerifier.OP_CONV) {
            return node.constShapes[0][1] * uint256(node.attrs[6]) * uint256(node.attrs[7]);
        }
        return node.inShapes[0][2];
    }

    /// Per term `[from, to)` of element `e`: `xi` the element of the strided operand it reads
    /// (Conv's X, -1 for a tap in the padding; MatMul's Y) and `oi` the other factor's (Conv's W,
    /// MatMul's X).
    function _terms(Model memory m, uint256 j, uint256 e, uint256 from, uint256 to)
        internal
        pure
        returns (int256[] memory xi, uint256[] memory oi)
    {
        OneStepVerifier.Node memory node = m.nodes[j];
        xi = new int256[](to - from);
        oi = new uint256[](to - from);
        for (uint256 t = from; t < to; ++t) {
            if (node.op == OneStepVerifier.OP_MATMUL) {
                // X[0, i, t] · Y[0, t, c] for element e = i * 4 + c
                xi[t - from] = int256((t * 4) + e % 4); // the Y element
                oi[t - from] = (e / 4) * 40 + t; // the X element
                continue;
            }
            (xi[t - from], oi[t - from]) = _convTerm(node, e, t);
        }
    }

    /// Term `t` of element `e` of `_convNet`'s Conv: its X element (-1 in the padding) and W's.
    function _convTerm(OneStepVerifier.Node memory node, uint256 e, uint256 t) internal pure returns (int256, uint256) {
        uint256 cg = node.constShapes[0][1];
        uint256 co = e / 64;
        (uint256 ci, uint256 ka, uint256 kb) = (t / 9, (t / 3) % 3, t % 3);
        int256 ih = int256((e / 8) % 8) - 2 + int256(ka) * 2;
        int256 iw = int256(e % 8) - 2 + int256(kb) * 2;
        uint256 w = co * cg * 9 + t;
        if (ih < 0 || ih >= 8 || iw < 0 || iw >= 8) return (-1, w);
        return (int256(((co / 4) * cg + ci) * 64 + uint256(ih) * 8 + uint256(iw)), w);
    }

    /// Honest prefix sums P_0 .. P_m of element `e` of node `j` (P_0 the bias, 0 for MatMul).
    function _stridedPrefix(Model memory m, uint256 j, uint256 e) internal pure returns (int256[] memory pre) {
        OneStepVerifier.Node memory node = m.nodes[j];
        uint256 k = _fanIn(node);
        pre = new int256[]((k + STRIDED - 1) / STRIDED + 1);
        bool conv = node.op == OneStepVerifier.OP_CONV;
        if (conv) pre[0] = m.consts[node.consts[1]][e / 64];
        (int256[] memory xi, uint256[] memory oi) = _terms(m, j, e, 0, k);
        for (uint256 t; t < k; ++t) {
            int256 term;
            if (conv && xi[t] >= 0) term = m.input[uint256(xi[t])] * m.consts[node.consts[0]][oi[t]];
            if (!conv) term = m.outs[node.inputs[0]][oi[t]] * m.outs[node.inputs[1]][uint256(xi[t])];
            pre[t / STRIDED + 1] += term;
        }
        for (uint256 c = 1; c < pre.length; ++c) {
            pre[c] += pre[c - 1];
        }
    }

    /// As `_setup`, for model `m` and the strided prefix sums.
    function _stridedSetup(Model memory m, uint256 nodeJ, uint256 e, bool liarIsDefender, uint256 j)
        internal
        returns (Run memory r)
    {
        _execute(m);
        (r.gas, r.p) = _playToOneStep(m, nodeJ, e, liarIsDefender);
        r.e = e;
        int256[] memory honest = _stridedPrefix(m, nodeJ, e);
        int256 lieValue = liarIsDefender ? r.p.defOuts[nodeJ][e] : r.p.chaOuts[nodeJ][e];
        int256[] memory lie = _lie(honest, j, _accFor(m.nodes[nodeJ].attrs, lieValue));
        r.def = Side(r.p.defender, liarIsDefender ? lie : honest);
        r.cha = Side(challenger, liarIsDefender ? honest : lie);
    }

    /// The chunk step's call for chunk `lo` of element `e` of node `j`; `skip` < max leaves out
    /// the windows holding that term's element (so a read is not covered).
    function _stridedStepCall(Play memory p, uint256 j, uint256 e, uint256 lo, uint256 skip)
        internal
        pure
        returns (bytes memory)
    {
        (int256[] memory xi, uint256[] memory oi) = _chunkTerms(p.m, j, e, lo);
        DisputeGame.Window[] memory ins = _stridedIns(p, p.m.nodes[j], xi, oi, skip);
        DisputeGame.Window[] memory cs = _stridedConsts(p.m, p.m.nodes[j], oi, e);
        return abi.encodeCall(
            DisputeGame.oneStep, (p.gid, p.m.nodes[j], Tree.leafProof(Tree.levels(_nodeLeaves(p.m)), j), ins, cs)
        );
    }

    /// `_terms` of chunk `lo`.
    function _chunkTerms(Model memory m, uint256 j, uint256 e, uint256 lo)
        internal
        pure
        returns (int256[] memory, uint256[] memory)
    {
        uint256 from = lo * STRIDED;
        uint256 k = _fanIn(m.nodes[j]);
        return _terms(m, j, e, from, from + STRIDED < k ? from + STRIDED : k);
    }

    /// Conv: the chunk's weights and the element's bias; MatMul: none.
    function _stridedConsts(Model memory m, OneStepVerifier.Node memory node, uint256[] memory oi, uint256 e)
        internal
        pure
        returns (DisputeGame.Window[] memory cs)
    {
        cs = new DisputeGame.Window[](node.consts.length);
        if (node.op != OneStepVerifier.OP_CONV) return cs;
        bytes32[][] memory wl = _weightLevels(m);
        cs[0] = _win(m.consts[node.consts[0]], Tree.leafProof(wl, node.consts[0]), oi[0], oi[0] + oi.length);
        uint256 co = e / 64;
        cs[1] = _win(m.consts[node.consts[1]], Tree.leafProof(wl, node.consts[1]), co, co + 1);
    }

    /// MatMul: one window of X's chunk; then one window per term of the strided operand, the
    /// first with its leaf proof, the others sharing it.
    function _stridedIns(
        Play memory p,
        OneStepVerifier.Node memory node,
        int256[] memory xi,
        uint256[] memory oi,
        uint256 skip
    ) internal pure returns (DisputeGame.Window[] memory ins) {
        bool conv = node.op == OneStepVerifier.OP_CONV;
        uint256 fixed_ = conv ? 0 : 1;
        ins = new DisputeGame.Window[](fixed_ + xi.length);
        if (!conv) ins[0] = _win(p.m.outs[node.inputs[0]], Tree.leafProof(p.defTrace, 0), oi[0], oi[0] + oi.length);
        uint256 last = node.inputs[node.inputs.length - 1];
        int256[] memory data = last & G != 0 ? p.m.input : p.m.outs[last];
        bytes32[] memory proof = last & G != 0 ? _inputProof(p.m) : Tree.leafProof(p.defTrace, last);
        uint256 n = fixed_;
        for (uint256 t; t < xi.length; ++t) {
            // a window is a whole word: leave out every one holding term `skip`'s element
            if (xi[t] < 0 || (skip < xi.length && xi[t] / 8 == xi[skip] / 8)) continue;
            ins[n] = _win(data, n == fixed_ ? proof : new bytes32[](0), uint256(xi[t]), uint256(xi[t]) + 1);
            ++n;
        }
        if (n == fixed_) {
            ins[n] = _win(data, proof, 0, 1); // every tap in the padding
            ++n;
        }
        assembly ("memory-safe") {
            mstore(ins, n)
        }
    }

    function _inputProof(Model memory m) internal pure returns (bytes32[] memory) {
        bytes32[] memory inl = new bytes32[](1);
        inl[0] = Tree.commitment(m.input);
        return Tree.leafProof(Tree.levels(inl), 0);
    }

    function _weightLevels(Model memory m) internal pure returns (bytes32[][] memory) {
        bytes32[] memory cc = new bytes32[](m.consts.length);
        for (uint256 i; i < cc.length; ++i) {
            cc[i] = Tree.commitment(m.consts[i]);
        }
        return Tree.levels(cc);
    }
}
