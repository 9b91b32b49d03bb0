// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

// The op families import this file for `OneStepVerifier.Node`, `Tensor` and `at` (a cycle the
// compiler resolves; the types stay here so that every ABI keeps `struct OneStepVerifier.Node`).
import {Activation} from "./onestep/Activation.sol";
import {Conv} from "./onestep/Conv.sol";
import {Dense} from "./onestep/Dense.sol";
import {Elementwise} from "./onestep/Elementwise.sol";
import {Layout} from "./onestep/Layout.sol";
import {Pool} from "./onestep/Pool.sol";
import {Reduce} from "./onestep/Reduce.sol";
import {Tree} from "./onestep/Tree.sol";

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

    /// `keccak256(a ‖ b)`, hashed in scratch space (no memory allocated).
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0, a)
            mstore(0x20, b)
            h := keccak256(0, 0x40)
        }
    }

    /// Verifies a single-leaf Merkle proof (siblings bottom-up).
    function verifyLeaf(bytes32 root, uint256 index, bytes32 leaf, bytes32[] memory proof)
        internal
        pure
        returns (bool)
    {
        bytes32 h = leaf;
        for (uint256 i; i < proof.length; ++i) {
            h = (index >> i) & 1 == 0 ? hashPair(h, proof[i]) : hashPair(proof[i], h);
        }
        return h == root && (index >> proof.length) == 0;
    }

    /// Verifies that `leaves` are the consecutive leaves `start ..` of a tree of `depth` levels
    /// with root `root`. `proof` lists, level by level from the bottom, the left sibling of the
    /// range's first node when that node is a right child, then the right sibling of its last
    /// node when that node is a left child. Each level is hashed in place in one buffer.
    function verifyRange(bytes32 root, uint256 depth, uint256 start, bytes32[] memory leaves, bytes32[] memory proof)
        internal
        pure
        returns (bool ok)
    {
        uint256 len = leaves.length;
        if (len == 0 || depth > 64 || start + len > (uint256(1) << depth)) return false;
        // the level's nodes sit at buf[1 .. len]; buf[0] and buf[len + 1] take the siblings
        bytes32[] memory buf = new bytes32[](len + 2);
        assembly ("memory-safe") {
            let b := add(buf, 0x20)
            let src := add(leaves, 0x20)
            for { let i := 0 } lt(i, len) { i := add(i, 1) } {
                mstore(add(b, shl(5, add(i, 1))), mload(add(src, shl(5, i))))
            }
            let pl := mload(proof)
            let pp := add(proof, 0x20)
            let p := 0
            let lo := start
            ok := 1
            for { let d := 0 } lt(d, depth) { d := add(d, 1) } {
                let first := 1
                let n := len
                if and(lo, 1) {
                    if iszero(lt(p, pl)) {
                        ok := 0
                        break
                    }
                    mstore(b, mload(add(pp, shl(5, p))))
                    p := add(p, 1)
                    first := 0
                    n := add(n, 1)
                }
                if iszero(and(add(lo, sub(len, 1)), 1)) {
                    if iszero(lt(p, pl)) {
                        ok := 0
                        break
                    }
                    mstore(add(b, shl(5, add(len, 1))), mload(add(pp, shl(5, p))))
                    p := add(p, 1)
                    n := add(n, 1)
                }
                // parent i hashes buf[first + 2i], buf[first + 2i + 1] (at or after where it goes)
                len := shr(1, n)
                for { let i := 0 } lt(i, len) { i := add(i, 1) } {
                    mstore(add(b, shl(5, add(i, 1))), keccak256(add(b, shl(5, add(first, shl(1, i)))), 0x40))
                }
                lo := shr(1, lo)
            }
            if ok { ok := and(and(eq(p, pl), eq(len, 1)), eq(mload(add(b, 0x20)), root)) }
        }
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
///
/// This library holds the types, op codes, errors and window reads every op shares, and
/// `evalElement`, which dispatches each op to its family's library in `contracts/src/onestep/`
/// (Dense, Conv, Elementwise, Activation, Reduce, Pool, Layout, Tree; one per family of
/// docs/semantics.md section 3, as `vouch_semantics::Family` lists them). Those are `internal`
/// libraries: their code is inlined into the calling contract, no library is deployed or linked.
library OneStepVerifier {
    struct Tensor {
        uint256[] shape;
        uint256 offset;
        int256[] data;
    }

    struct Node {
        uint8 op;
        /// dynamic inputs: a node index (its output tensor, leaf of the trace), or
        /// `GRAPH_INPUT | kind << 64 | i` for graph input `i` (leaf of the task's input
        /// commitment) of kind `kind` (0 act8, 1 act16, 2 unchecked; InputRange)
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
    /// consts [T (n = 2^k entries, 256 <= n <= 65536; read at x + n/2)]
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
    /// attrs [mode, value, begin_0, .., begin_{r-1}, end_0, .., end_{r-1}] (mode 0 constant,
    /// 1 reflect, 2 edge, 3 wrap; r the input rank)
    uint8 internal constant OP_PAD = 19;
    /// attrs [mode, M, s, lo, hi, axis_0, ..] (mode 0 sum, 1 mean, 2 max, 3 min; axes increasing)
    uint8 internal constant OP_REDUCE = 20;
    /// inputs [X_0, X_1, ..] (numpy broadcasting, one scale)
    uint8 internal constant OP_MAX = 21;
    uint8 internal constant OP_MIN = 22;
    /// attrs [M, s, lo, hi] (applied to X * S for negative X); consts [S] (broadcast to X)
    uint8 internal constant OP_PRELU = 23;
    /// attrs [len_0, .., len_{r-1}, map_0.., map_1.., ..]: output index o along axis d reads input
    /// index map_d[o] (len_d = 0: o itself; r the input rank)
    uint8 internal constant OP_SELECT = 24;
    /// attrs [axis]; inputs [X, I] (X computed), or inputs [I] and consts [X] (a constant table):
    /// X along `axis` at the index I[p] (+ n when negative, clamped to [0, n - 1])
    uint8 internal constant OP_GATHER = 25;
    /// attrs [aggregate] (0 SUM, 1 MIN, 2 MAX); consts [nodes [n, 6], weights [n_w, 2], roots [T],
    /// base [N], bounds [F + 1], thresholds]; input X [.., F] feature codes (docs/semantics.md 3.1)
    uint8 internal constant OP_TREE = 30;

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

    /// Output element `e` of `node` given its dynamic inputs and constants (in node order): one
    /// line per op, each calling the op's family library in `onestep/`.
    function evalElement(Node memory node, Tensor[] memory ins, Tensor[] memory cs, uint256 e)
        internal
        pure
        returns (int256)
    {
        uint8 op = node.op;
        if (op == OP_LINEAR) return Dense.linear(node, ins[0], cs, e);
        if (op == OP_CONV) return Conv.conv(node, ins[0], cs, e);
        if (op == OP_MATMUL) return Dense.matmul(node, ins[0], ins[1], e);
        if (op == OP_ADD) return Elementwise.add(node, ins, cs, e);
        if (op == OP_SUB) return Elementwise.sub(node, ins, cs, e);
        if (op == OP_MUL) return Elementwise.mul(node, ins, cs, e);
        if (op == OP_RESCALE) return Elementwise.rescale(node, ins[0], e);
        if (op == OP_RELU) return Activation.relu(ins[0], e);
        if (op == OP_CLIP) return Activation.clip(node, ins[0], e);
        if (op == OP_LEAKY_RELU) return Activation.leakyRelu(node, ins[0], e);
        if (op == OP_LUT) return Activation.lut(ins[0], cs[0], e);
        if (op == OP_SOFTMAX) return Reduce.softmax(node, ins[0], cs[0], e);
        if (op == OP_ARGMAX) return Reduce.argmax(node, ins[0], e);
        if (op == OP_MAXPOOL) return Pool.maxPool(node, ins[0], e);
        if (op == OP_AVGPOOL) return Pool.averagePool(node, ins[0], e);
        if (op == OP_GLOBAL_AVGPOOL) return Pool.globalAveragePool(node, ins[0], e);
        if (op == OP_COPY) return Layout.copy(ins[0], e);
        if (op == OP_TRANSPOSE) return Layout.transpose(node, ins[0], e);
        if (op == OP_CONCAT) return Layout.concat(node, ins, e);
        if (op == OP_PAD) return Layout.pad(node, ins[0], e);
        if (op == OP_REDUCE) return Reduce.reduce(node, ins[0], e);
        if (op == OP_MAX) return Elementwise.minMax(node, ins, e, true);
        if (op == OP_MIN) return Elementwise.minMax(node, ins, e, false);
        if (op == OP_PRELU) return Activation.prelu(node, ins[0], cs[0], e);
        if (op == OP_SELECT) return Layout.select(node, ins[0], e);
        if (op == OP_GATHER) return Layout.gather(node, ins, cs, e);
        if (op == OP_TREE) return Tree.ensemble(node, ins[0], cs, e);
        revert UnknownOp(op);
    }
}
