// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

/// @title Semantics
/// @notice Integer arithmetic of docs/semantics.md (version 2; version 1 is a subset), sections 2 and 6.
library Semantics {
    error BadShift(uint256 s);
    error BadMultiplier(int256 m);
    error OutOfI64(int256 x);

    int256 internal constant I64_MIN = -(int256(1) << 63);
    int256 internal constant I64_MAX = (int256(1) << 63) - 1;

    /// `floor_div(a, 2^s)` with round half up: `(x + 2^(s-1)) >> s` (s >= 1), `x` (s = 0).
    function roundShift(int256 x, uint256 s) internal pure returns (int256) {
        if (s == 0) return x;
        return (x + (int256(1) << (s - 1))) >> s; // `>>` on int256 is an arithmetic (floor) shift
    }

    function clamp(int256 x, int256 lo, int256 hi) internal pure returns (int256) {
        return x < lo ? lo : (x > hi ? hi : x);
    }

    /// `requant(x, M, s, lo, hi) = clamp(round_shift(x * M, s), lo, hi)`; `x * M` must fit i64.
    function requant(int256 x, int256 m, uint256 s, int256 lo, int256 hi) internal pure returns (int256) {
        if (s > 62) revert BadShift(s);
        int256 p = x * m;
        if (p < I64_MIN || p > I64_MAX) revert OutOfI64(p);
        return clamp(roundShift(p, s), lo, hi);
    }

    function floorDiv(int256 a, int256 b) internal pure returns (int256 q) {
        q = a / b;
        if (a % b != 0 && ((a < 0) != (b < 0))) q -= 1;
    }

    /// `div_round(a, n) = floor_div(2a + n, 2n)`.
    function divRound(int256 a, int256 n) internal pure returns (int256) {
        return floorDiv(2 * a + n, 2 * n);
    }

    /// Element `i` of canonical tensor bytes, given the 32-byte word that holds it.
    function elementOfWord(bytes32 w, uint256 i) internal pure returns (int256) {
        return int256(int32(uint32(uint256(w) >> (224 - 32 * (i % 8)))));
    }

    /// Packs 8 elements (or fewer, zero padded) starting at `from` into a canonical word.
    function packWord(int256[] memory data, uint256 from) internal pure returns (bytes32 w) {
        uint256 acc;
        for (uint256 k; k < 8; ++k) {
            uint256 v;
            if (from + k < data.length) v = uint256(uint32(int32(data[from + k])));
            acc |= v << (224 - 32 * k);
        }
        w = bytes32(acc);
    }

    /// Merkle root of a list of leaves (padded with zero leaves to a power of two).
    function merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 n = leaves.length;
        if (n == 0) return bytes32(0);
        uint256 size = 1;
        while (size < n) size <<= 1;
        bytes32[] memory level = new bytes32[](size);
        for (uint256 i; i < n; ++i) {
            level[i] = leaves[i];
        }
        while (size > 1) {
            size >>= 1;
            for (uint256 i; i < size; ++i) {
                level[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
        }
        return level[0];
    }

    /// Tensor Merkle root of canonical tensor bytes (section 6).
    function tensorRoot(int256[] memory data) internal pure returns (bytes32) {
        uint256 words = (data.length + 7) / 8;
        bytes32[] memory leaves = new bytes32[](words);
        for (uint256 i; i < words; ++i) {
            leaves[i] = keccak256(abi.encodePacked(packWord(data, 8 * i)));
        }
        return merkleRoot(leaves);
    }

    function tensorCommitment(uint256 numel, bytes32 root) internal pure returns (bytes32) {
        return keccak256(abi.encode(numel, root));
    }

    /// Depth of the tree over `n` leaves (0 for one leaf).
    function depthOf(uint256 n) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < n) ++d;
    }

    /// Verifies a single-leaf Merkle proof (siblings bottom-up).
    function verifyLeaf(bytes32 root, uint256 index, bytes32 leaf, bytes32[] memory proof)
        internal
        pure
        returns (bool)
    {
        bytes32 h = leaf;
        for (uint256 i; i < proof.length; ++i) {
            h = (index >> i) & 1 == 0
                ? keccak256(abi.encodePacked(h, proof[i]))
                : keccak256(abi.encodePacked(proof[i], h));
        }
        return h == root && (index >> proof.length) == 0;
    }

    /// Verifies that `leaves` are the consecutive leaves `start ..` of a tree of `depth` levels
    /// with root `root`. `proof` lists, level by level from the bottom, the left sibling of the
    /// range's first node when that node is a right child, then the right sibling of its last
    /// node when that node is a left child.
    function verifyRange(bytes32 root, uint256 depth, uint256 start, bytes32[] memory leaves, bytes32[] memory proof)
        internal
        pure
        returns (bool)
    {
        uint256 lo = start;
        uint256 len = leaves.length;
        if (len == 0 || start + len > (uint256(1) << depth)) return false;
        bytes32[] memory nodes = leaves;
        uint256 p;
        for (uint256 d; d < depth; ++d) {
            uint256 hi = lo + len - 1;
            bool leftExtra = lo & 1 == 1;
            bool rightExtra = hi & 1 == 0;
            uint256 full = len + (leftExtra ? 1 : 0) + (rightExtra ? 1 : 0);
            bytes32[] memory level = new bytes32[](full);
            uint256 k;
            if (leftExtra) {
                if (p >= proof.length) return false;
                level[k++] = proof[p++];
            }
            for (uint256 i; i < len; ++i) {
                level[k++] = nodes[i];
            }
            if (rightExtra) {
                if (p >= proof.length) return false;
                level[k++] = proof[p++];
            }
            len = full / 2;
            bytes32[] memory up = new bytes32[](len);
            for (uint256 i; i < len; ++i) {
                up[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
            nodes = up;
            lo >>= 1;
        }
        return p == proof.length && len == 1 && nodes[0] == root;
    }
}

/// @title OneStepVerifier
/// @notice Recomputes one output element of one node exactly as docs/semantics.md (version 2)
/// defines it, from windows of its input tensors (already proven against their commitments by
/// the caller). A window holds the elements `[offset, offset + data.length)` of a tensor; reading
/// outside it reverts, so a caller must supply every element the computation touches.
///
/// Node descriptors (leaves of a model's graph root) are `keccak256(abi.encode(Node))` with the
/// `attrs` layout per op documented on each `OP_*` constant. Shapes are row-major.
library OneStepVerifier {
    struct Tensor {
        uint256[] shape;
        uint256 offset;
        int256[] data;
    }

    struct Node {
        uint8 op;
        /// dynamic inputs: a node index (its output tensor, leaf of the trace), or
        /// `GRAPH_INPUT | i` for graph input `i` (leaf of the task's input commitment)
        uint256[] inputs;
        uint256[][] inShapes;
        /// constant ids (leaves of the weights root), in the op's order
        uint256[] consts;
        uint256[][] constShapes;
        uint256[] outShape;
        int256[] attrs;
    }

    uint256 internal constant GRAPH_INPUT = 1 << 255;

    /// attrs [M, s, lo, hi, wide]; consts [W [N,K], B [N] (optional)]
    uint8 internal constant OP_LINEAR = 0;
    /// attrs [M, s, lo, hi, wide, group, kH, kW, sH, sW, dH, dW, pT, pL, pB, pR]; consts [W, B?]
    /// 1-D convolutions use shapes [N, C, L] and kH = sH = dH = 1, pT = pB = 0.
    uint8 internal constant OP_CONV = 1;
    /// attrs [M, s, lo, hi, wide]; inputs [X, Y]
    uint8 internal constant OP_MATMUL = 2;
    /// attrs [Ma, Mb, M, s, lo, hi] (M = 1, [lo, hi] the output kind range); inputs [X, Y]
    /// (or [X] and consts [Y])
    uint8 internal constant OP_ADD = 3;
    uint8 internal constant OP_SUB = 4;
    /// attrs [M, s, lo, hi]; inputs [X, Y] (or [X] and consts [Y])
    uint8 internal constant OP_MUL = 5;
    /// attrs [M, s, lo, hi]
    uint8 internal constant OP_RESCALE = 6;
    uint8 internal constant OP_RELU = 7;
    /// attrs [lo, hi]
    uint8 internal constant OP_CLIP = 8;
    /// attrs [M, s, lo, hi] (applied to negative inputs only)
    uint8 internal constant OP_LEAKY_RELU = 9;
    /// consts [T (256 entries)]
    uint8 internal constant OP_LUT = 10;
    /// attrs [axis, M, s, lo, hi] (the index map k = requant(m - x, M, s, lo, hi)); consts [E (256)]
    uint8 internal constant OP_SOFTMAX = 11;
    /// attrs [axis, keepdims, select_last_index]
    uint8 internal constant OP_ARGMAX = 12;
    /// attrs [kH, kW, sH, sW, dH, dW, pT, pL, pB, pR]
    uint8 internal constant OP_MAXPOOL = 13;
    /// attrs [kH, kW, sH, sW, dH, dW, pT, pL, pB, pR, count_include_pad]
    uint8 internal constant OP_AVGPOOL = 14;
    uint8 internal constant OP_GLOBAL_AVGPOOL = 15;
    /// Reshape, Flatten, Squeeze, Unsqueeze, Identity: element i of Z is element i of X
    uint8 internal constant OP_COPY = 16;
    /// attrs perm
    uint8 internal constant OP_TRANSPOSE = 17;
    /// attrs [axis]; inputs in order
    uint8 internal constant OP_CONCAT = 18;

    error UnknownOp(uint8 op);
    error OutsideWindow(uint256 index, uint256 offset, uint256 len);
    error BadNode();

    function at(Tensor memory t, uint256 i) internal pure returns (int256) {
        if (i < t.offset || i - t.offset >= t.data.length) revert OutsideWindow(i, t.offset, t.data.length);
        return t.data[i - t.offset];
    }

    function numel(uint256[] memory shape) internal pure returns (uint256 n) {
        n = 1;
        for (uint256 i; i < shape.length; ++i) {
            n *= shape[i];
        }
    }

    /// Output element `e` of `node` given its dynamic inputs and constants (in node order).
    function evalElement(Node memory node, Tensor[] memory ins, Tensor[] memory cs, uint256 e)
        internal
        pure
        returns (int256)
    {
        uint8 op = node.op;
        int256[] memory a = node.attrs;
        if (op == OP_LINEAR) return _linear(node, ins[0], cs, e);
        if (op == OP_CONV) return _conv(node, ins[0], cs, e);
        if (op == OP_MATMUL) return _matmul(node, ins[0], ins[1], e);
        if (op == OP_ADD || op == OP_SUB || op == OP_MUL) {
            Tensor memory y = ins.length > 1 ? ins[1] : cs[0];
            int256 xv = at(ins[0], _bcast(node.outShape, ins[0].shape, e));
            int256 yv = at(y, _bcast(node.outShape, y.shape, e));
            if (op == OP_MUL) return Semantics.requant(xv * yv, a[0], uint256(a[1]), a[2], a[3]);
            int256 sum = op == OP_ADD ? xv * a[0] + yv * a[1] : xv * a[0] - yv * a[1];
            return Semantics.requant(sum, a[2], uint256(a[3]), a[4], a[5]);
        }
        if (op == OP_RESCALE) return Semantics.requant(at(ins[0], e), a[0], uint256(a[1]), a[2], a[3]);
        if (op == OP_RELU) {
            int256 x = at(ins[0], e);
            return x > 0 ? x : int256(0);
        }
        if (op == OP_CLIP) return Semantics.clamp(at(ins[0], e), a[0], a[1]);
        if (op == OP_LEAKY_RELU) {
            int256 x = at(ins[0], e);
            return x >= 0 ? x : Semantics.requant(x, a[0], uint256(a[1]), a[2], a[3]);
        }
        if (op == OP_LUT) return at(cs[0], uint256(at(ins[0], e) + 128));
        if (op == OP_SOFTMAX) return _softmax(node, ins[0], cs[0], e);
        if (op == OP_ARGMAX) return _argmax(node, ins[0], e);
        if (op == OP_MAXPOOL || op == OP_AVGPOOL || op == OP_GLOBAL_AVGPOOL) return _pool(node, ins[0], e);
        if (op == OP_COPY) return at(ins[0], e);
        if (op == OP_TRANSPOSE) return at(ins[0], _transposeSource(node, ins[0].shape, e));
        if (op == OP_CONCAT) return _concat(node, ins, e);
        revert UnknownOp(op);
    }

    function _finish(int256 acc, int256[] memory a) private pure returns (int256) {
        if (a[4] != 0) {
            // a wide output is stored as an i32 (docs/semantics.md §4)
            if (acc < -(int256(1) << 31) || acc >= (int256(1) << 31)) revert Semantics.OutOfI64(acc);
            return acc;
        }
        // a requantized accumulator is exact in i64; requant checks acc * M
        return Semantics.requant(acc, a[0], uint256(a[1]), a[2], a[3]);
    }

    function _linear(Node memory node, Tensor memory x, Tensor[] memory cs, uint256 e) private pure returns (int256) {
        uint256 nOut = cs[0].shape[0];
        uint256 k = cs[0].shape[1];
        uint256 n = e % nOut;
        uint256 row = e / nOut;
        int256 acc = cs.length > 1 ? at(cs[1], n) : int256(0);
        uint256 xBase = row * k;
        uint256 wBase = n * k;
        for (uint256 i; i < k; ++i) {
            acc += at(x, xBase + i) * at(cs[0], wBase + i);
        }
        return _finish(acc, node.attrs);
    }

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

    function _convPlane(
        Tensor memory x,
        Tensor memory w,
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
                acc += at(x, xPlane + uint256(ih) * g.w + uint256(iw)) * at(w, wPlane + kh * g.kw + kw);
            }
        }
    }

    function _conv(Node memory node, Tensor memory x, Tensor[] memory cs, uint256 e) private pure returns (int256) {
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
        int256 acc = cs.length > 1 ? at(cs[1], co) : int256(0);
        for (uint256 ci; ci < g.cg; ++ci) {
            uint256 xPlane = (nb * g.c + grp * g.cg + ci) * g.h * g.w;
            uint256 wPlane = (co * g.cg + ci) * g.kh * g.kw;
            acc += _convPlane(x, cs[0], g, a, xPlane, wPlane);
        }
        return _finish(acc, a);
    }

    function _matmul(Node memory node, Tensor memory x, Tensor memory y, uint256 e) private pure returns (int256) {
        uint256 nCols = node.outShape[node.outShape.length - 1];
        uint256 k = x.shape[x.shape.length - 1];
        (uint256 xBase, uint256 yBase) = _matmulBases(node.outShape, x.shape, y.shape, e, k);
        int256 acc;
        for (uint256 i; i < k; ++i) {
            acc += at(x, xBase + i) * at(y, yBase + i * nCols);
        }
        return _finish(acc, node.attrs);
    }

    /// Start of output element `e`'s row in `x` and column in `y` (batch dims broadcast).
    function _matmulBases(uint256[] memory os, uint256[] memory xs, uint256[] memory ys, uint256 e, uint256 k)
        private
        pure
        returns (uint256 xBase, uint256 yBase)
    {
        uint256 nCols = os[os.length - 1];
        uint256 mRows = os[os.length - 2];
        uint256 batch = e / (nCols * mRows);
        xBase = _batchIndex(os, xs, batch) * mRows * k + ((e / nCols) % mRows) * k;
        yBase = _batchIndex(os, ys, batch) * k * nCols + e % nCols;
    }

    /// Index into the flattened leading (batch) dims of `s` for the output batch index `b`.
    function _batchIndex(uint256[] memory os, uint256[] memory s, uint256 b) private pure returns (uint256 idx) {
        uint256 ob = os.length - 2;
        uint256 sb = s.length < 2 ? 0 : s.length - 2;
        uint256 mul = 1;
        for (uint256 d = ob; d > 0; --d) {
            uint256 od = os[d - 1];
            uint256 coord = b % od;
            b /= od;
            if (d + sb > ob) {
                uint256 sd = s[d - 1 + sb - ob];
                idx += (sd == 1 ? 0 : coord) * mul;
                mul *= sd;
            }
        }
    }

    /// Index into `s` of the element broadcast to output element `e` (numpy rules).
    function _bcast(uint256[] memory os, uint256[] memory s, uint256 e) private pure returns (uint256 idx) {
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
    function _split(uint256[] memory shape, uint256 axis)
        private
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

    function _axis(int256 a, uint256 rank) private pure returns (uint256) {
        return a < 0 ? uint256(int256(rank) + a) : uint256(a);
    }

    function _softmax(Node memory node, Tensor memory x, Tensor memory table, uint256 e) private pure returns (int256) {
        uint256 axis = _axis(node.attrs[0], x.shape.length);
        (, uint256 len, uint256 inner) = _split(x.shape, axis);
        uint256 j = (e / inner) % len;
        uint256 base = e - j * inner;
        int256 m = _sliceMax(x, base, len, inner);
        int256 sum;
        for (uint256 i; i < len; ++i) {
            sum += _softmaxE(node.attrs, table, m - at(x, base + i * inner));
        }
        int256 ej = _softmaxE(node.attrs, table, m - at(x, e));
        return Semantics.floorDiv(ej * 254 + sum, 2 * sum);
    }

    /// `E[requant(m - x, M, s, lo, hi)]` (the index map, section 3).
    function _softmaxE(int256[] memory a, Tensor memory table, int256 diff) private pure returns (int256) {
        return at(table, uint256(Semantics.requant(diff, a[1], uint256(a[2]), a[3], a[4])));
    }

    function _sliceMax(Tensor memory x, uint256 base, uint256 len, uint256 inner) private pure returns (int256 m) {
        m = type(int256).min;
        for (uint256 i; i < len; ++i) {
            int256 v = at(x, base + i * inner);
            if (v > m) m = v;
        }
    }

    function _argmax(Node memory node, Tensor memory x, uint256 e) private pure returns (int256) {
        uint256 axis = _axis(node.attrs[0], x.shape.length);
        (, uint256 len, uint256 inner) = _split(x.shape, axis);
        uint256 outer = e / inner;
        uint256 base = outer * len * inner + e % inner;
        bool last = node.attrs[2] != 0;
        int256 best = type(int256).min;
        uint256 bestJ;
        for (uint256 i; i < len; ++i) {
            int256 v = at(x, base + i * inner);
            if (v > best || (last && v == best)) {
                best = v;
                bestJ = i;
            }
        }
        return int256(bestJ);
    }

    struct PoolGeo {
        uint256 h;
        uint256 w;
        uint256 oh;
        uint256 ow;
        uint256 base;
    }

    function _pool(Node memory node, Tensor memory x, uint256 e) private pure returns (int256) {
        PoolGeo memory g;
        bool oneD = x.shape.length == 3;
        g.h = oneD ? 1 : x.shape[2];
        g.w = x.shape[oneD ? 2 : 3];
        uint256 ohN = oneD ? 1 : node.outShape[2];
        uint256 owN = node.outShape[oneD ? 2 : 3];
        g.ow = e % owN;
        g.oh = (e / owN) % ohN;
        g.base = (e / (owN * ohN)) * g.h * g.w; // plane n * C + c
        if (node.op == OP_GLOBAL_AVGPOOL) {
            int256 s;
            for (uint256 i; i < g.h * g.w; ++i) {
                s += at(x, g.base + i);
            }
            return Semantics.divRound(s, int256(g.h * g.w));
        }
        return _window2d(node, x, g);
    }

    function _window2d(Node memory node, Tensor memory x, PoolGeo memory g) private pure returns (int256) {
        int256[] memory a = node.attrs;
        int256 best = type(int256).min;
        int256 sum;
        int256 count;
        for (uint256 kh; kh < uint256(a[0]); ++kh) {
            int256 ih = int256(g.oh) * a[2] - a[6] + int256(kh) * a[4];
            for (uint256 kw; kw < uint256(a[1]); ++kw) {
                int256 iw = int256(g.ow) * a[3] - a[7] + int256(kw) * a[5];
                // padded positions are ignored (MaxPool) or count as 0 (AveragePool)
                if (ih < 0 || ih >= int256(g.h) || iw < 0 || iw >= int256(g.w)) continue;
                int256 v = at(x, g.base + uint256(ih) * g.w + uint256(iw));
                if (v > best) best = v;
                sum += v;
                ++count;
            }
        }
        if (node.op == OP_MAXPOOL) return best;
        // count_include_pad = 1 divides by the whole kernel size
        if (a[10] != 0) count = a[0] * a[1];
        return Semantics.divRound(sum, count);
    }

    function _transposeSource(Node memory node, uint256[] memory inShape, uint256 e)
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

    function _concat(Node memory node, Tensor[] memory ins, uint256 e) private pure returns (int256) {
        uint256[] memory os = node.outShape;
        uint256 axis = _axis(node.attrs[0], os.length);
        (, uint256 len, uint256 inner) = _split(os, axis);
        uint256 outer = e / (len * inner);
        uint256 j = (e / inner) % len;
        uint256 rest = e % inner;
        for (uint256 i; i < ins.length; ++i) {
            uint256 li = ins[i].shape[axis];
            if (j < li) return at(ins[i], (outer * li + j) * inner + rest);
            j -= li;
        }
        revert BadNode();
    }
}
