// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {VouchResult} from "./IVouchConsumer.sol";
import {IVouchTaskManager, IVouchOutputs} from "./IVouchTaskManager.sol";
import {TaskRecord} from "./TaskRecord.sol";

/// @title VouchResults
/// @notice Reading vouch results: pull a finalized task's result and check its values against
/// the output commitment (`fetch`), compute that commitment (`commitment`, `docs/semantics.md`
/// section 6), find an element (`offsetOf`, `valueAt`), convert an integer output to 1e18 fixed
/// point exactly (`toWad`) and take an argmax.
/// @dev Everything is `internal`: the library is compiled into the contract that uses it. The
/// TaskManager's own delivery (`ResultDelivery`) runs the same `fetch`.
library VouchResults {
    /// @notice `TaskManager.Status.Finalized`.
    uint8 internal constant FINALIZED = 4;
    /// @notice `TaskManager.Mode.Optimistic`.
    uint8 internal constant OPTIMISTIC = 0;
    /// @notice `TaskManager.Mode.Committee`.
    uint8 internal constant COMMITTEE = 1;
    /// @notice `TaskManager.Mode.Zk`.
    uint8 internal constant ZK = 2;
    /// @notice The task's flag: its result reached its callback (or the call failed).
    uint8 internal constant FLAG_DELIVERED = 8;
    /// @notice The task's flag: its callback's call reverted or ran out of gas.
    uint8 internal constant FLAG_CALLBACK_FAILED = 16;
    /// @notice The task's flag: its request named a callback.
    uint8 internal constant FLAG_HAS_CALLBACK = 32;
    /// @notice The task's flag: its commitment folds a standing result.
    uint8 internal constant FLAG_RESULT = 128;

    /// @notice The task is not finalized (its `status` code): no result is final yet.
    error NotFinalized(uint256 taskId, uint8 status);
    /// @notice The record, trace root and values do not open the task's commitment (or the
    /// values do not have the registered outputs' sizes).
    error ValuesMismatch(uint256 taskId);
    /// @notice The task named a callback, and its result goes (or went) there: pull only tasks
    /// without one, or whose callback failed.
    error NotPullable(uint256 taskId);
    /// @notice An output, row or element index outside the result.
    error OutOfRange();
    /// @notice A scale whose bits are not a positive finite binary64 number, or so large the
    /// conversion overflows.
    error BadScale(uint64 bits);

    /// @notice The finalized result of `taskId` with `values` checked against its commitment;
    /// reverts with `NotFinalized` or `ValuesMismatch` otherwise.
    /// @param tm The TaskManager that settled the task.
    /// @param taskId The task.
    /// @param rec The task's record (its `TaskRequested` event).
    /// @param traceRoot The standing result's trace root (its last `ResultSubmitted` event).
    /// @param values The integer outputs (every output in package order, each its rows end to
    /// end), e.g. from `vouch infer` or the node that finalized the task; the output commitment
    /// is computed from them.
    function fetch(
        IVouchTaskManager tm,
        uint256 taskId,
        TaskRecord memory rec,
        bytes32 traceRoot,
        int32[] memory values
    ) internal view returns (VouchResult memory) {
        return _fetch(tm, taskId, rec, traceRoot, values, FETCH);
    }

    /// @notice `fetch` for a consumer pulling a result it was not pushed: also reverts with
    /// `NotPullable` when the task named a callback whose call did not fail. A pushed result
    /// reaches its callback exactly once (the TaskManager's delivered flag), so a consumer that
    /// pulls only what `pull` admits, and records each pull, never sees a result twice without
    /// keeping a record of its pushes.
    function pull(IVouchTaskManager tm, uint256 taskId, TaskRecord memory rec, bytes32 traceRoot, int32[] memory values)
        internal
        view
        returns (VouchResult memory)
    {
        return _fetch(tm, taskId, rec, traceRoot, values, PULL);
    }

    /// @notice `fetch` without reverting: `ok` is false (and `r` all zero) when the task is not
    /// finalized or the record, trace root and `values` do not open its commitment.
    function tryFetch(
        IVouchTaskManager tm,
        uint256 taskId,
        TaskRecord memory rec,
        bytes32 traceRoot,
        int32[] memory values
    ) internal view returns (VouchResult memory r, bool ok) {
        r = _fetch(tm, taskId, rec, traceRoot, values, TRY);
        ok = r.taskId != 0; // no task has id 0
    }

    /// @notice The result of `taskId` from its record and output commitment (both already
    /// checked against the task), with `ok` false (and `r` all zero) when `values` do not open
    /// `output` with the version's registered output sizes.
    function resultOf(IVouchOutputs reg, uint256 taskId, TaskRecord memory rec, bytes32 output, int32[] memory values)
        internal
        view
        returns (VouchResult memory r, bool ok)
    {
        (uint32[] memory sizes, uint64[] memory scales) = reg.outputsOf(rec.modelId, rec.version);
        return resultWith(taskId, rec, output, values, sizes, scales);
    }

    /// @notice `resultOf` with the version's output `sizes` and `scales` already read.
    function resultWith(
        uint256 taskId,
        TaskRecord memory rec,
        bytes32 output,
        int32[] memory values,
        uint32[] memory sizes,
        uint64[] memory scales
    ) internal pure returns (VouchResult memory r, bool ok) {
        if (commitment(values, sizes, rec.rows) != output) return (r, false);
        return (_build(taskId, rec, output, values, sizes, scales), true);
    }

    uint256 private constant FETCH = 0;
    uint256 private constant PULL = 1;
    uint256 private constant TRY = 2;

    /// `how`: FETCH and PULL revert where `fetch` and `pull` say; TRY returns an all-zero result
    /// there instead.
    function _fetch(
        IVouchTaskManager tm,
        uint256 taskId,
        TaskRecord memory rec,
        bytes32 traceRoot,
        int32[] memory values,
        uint256 how
    ) private view returns (VouchResult memory r) {
        IVouchTaskManager.TaskView memory t = tm.getTask(taskId);
        if (t.status != FINALIZED) {
            if (how == TRY) return r;
            revert NotFinalized(taskId, t.status);
        }
        if (how == PULL && t.flags & (FLAG_HAS_CALLBACK | FLAG_CALLBACK_FAILED) == FLAG_HAS_CALLBACK) {
            revert NotPullable(taskId);
        }
        (uint32[] memory sizes, uint64[] memory scales) = tm.registry().outputsOf(rec.modelId, rec.version);
        bytes32 output = commitment(values, sizes, rec.rows);
        // a finalized task's commitment folds its record and standing result
        if (keccak256(abi.encode(keccak256(abi.encode(rec)), output, traceRoot)) != t.commitment) {
            if (how == TRY) return r;
            revert ValuesMismatch(taskId);
        }
        r = _build(taskId, rec, output, values, sizes, scales);
    }

    function _build(
        uint256 taskId,
        TaskRecord memory rec,
        bytes32 output,
        int32[] memory values,
        uint32[] memory sizes,
        uint64[] memory scales
    ) private pure returns (VouchResult memory) {
        return VouchResult({
            taskId: taskId,
            requester: rec.requester,
            modelId: rec.modelId,
            version: rec.version,
            mode: rec.mode,
            rows: rec.rows,
            inputCommitment: rec.inputCommitment,
            outputCommitment: output,
            values: values,
            sizes: sizes,
            scales: scales
        });
    }

    /// @notice The values of a vouch zk proof: the `int32[]` of
    /// `abi.encode(uint256[8], int32[])`, with `ok` false (and `values` not to be read) where
    /// `abi.decode` would revert: the head or the array past the end of `proof`, an element not
    /// a sign-extended `int32`.
    function proofValues(bytes calldata proof) internal pure returns (int32[] memory values, bool ok) {
        uint256 len = proof.length;
        if (len < 0x120) return (values, false);
        uint256 off;
        assembly ("memory-safe") {
            off := calldataload(add(proof.offset, 0x100))
        }
        if (off > len || len - off < 0x20) return (values, false);
        uint256 n;
        assembly ("memory-safe") {
            n := calldataload(add(proof.offset, off))
        }
        if (n > (len - off - 0x20) >> 5) return (values, false);
        values = new int32[](n);
        // each word read once from calldata; a word that is not a sign-extended `int32` makes
        // the whole decoding fail (its values are then not to be read)
        assembly ("memory-safe") {
            let src := add(add(proof.offset, off), 0x20)
            let dst := add(values, 0x20)
            ok := 1
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let w := calldataload(add(src, shl(5, i)))
                if iszero(eq(signextend(3, w), w)) { ok := 0 }
                mstore(add(dst, shl(5, i)), w)
            }
        }
    }

    // ------------------------------------------------------------------ commitments

    /// @notice The output commitment of `values` read as outputs of `sizes[i] * rows` elements
    /// each (`docs/semantics.md` section 6: the list commitment over the outputs' tensor
    /// commitments); `bytes32(0)` when the sizes do not add up to `values.length`, which no
    /// commitment equals.
    function commitment(int32[] memory values, uint32[] memory sizes, uint256 rows) internal pure returns (bytes32) {
        uint256 n = sizes.length;
        bytes32[] memory members = new bytes32[](n);
        uint256 off;
        for (uint256 i; i < n; ++i) {
            uint256 numel = uint256(sizes[i]) * rows;
            if (off + numel > values.length) return bytes32(0);
            members[i] = tensorCommitment(values, off, numel);
            off += numel;
        }
        if (off != values.length) return bytes32(0);
        return _rootInPlace(members);
    }

    /// @notice The tensor commitment `keccak256(uint256(numel) ‖ root)` of `numel` elements of
    /// `values` from `off`: 8 big-endian `int32`s per 32-byte word, leaves `keccak256(word)`.
    function tensorCommitment(int32[] memory values, uint256 off, uint256 numel) internal pure returns (bytes32 c) {
        if (off + numel > values.length) revert OutOfRange();
        uint256 words = (numel + 7) >> 3;
        bytes32[] memory leaves = new bytes32[](words);
        assembly ("memory-safe") {
            let src := add(add(values, 0x20), shl(5, off)) // &values[off]
            let dst := add(leaves, 0x20)
            for { let w := 0 } lt(w, words) { w := add(w, 1) } {
                let base := shl(3, w)
                let end := sub(numel, base)
                if gt(end, 8) { end := 8 }
                let word := 0
                for { let j := 0 } lt(j, end) { j := add(j, 1) } {
                    let v := and(mload(add(src, shl(5, add(base, j)))), 0xffffffff)
                    word := or(word, shl(sub(224, shl(5, j)), v))
                }
                mstore(0, word)
                mstore(add(dst, shl(5, w)), keccak256(0, 0x20))
            }
        }
        bytes32 root = _rootInPlace(leaves);
        assembly ("memory-safe") {
            mstore(0, numel)
            mstore(0x20, root)
            c := keccak256(0, 0x40)
        }
    }

    /// @notice The section 6 Merkle root: leaves padded with `bytes32(0)` to a power of two,
    /// parents `keccak256(left ‖ right)`, one leaf is its own root, none is `bytes32(0)`.
    function merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        bytes32[] memory copy = new bytes32[](leaves.length);
        for (uint256 i; i < leaves.length; ++i) {
            copy[i] = leaves[i];
        }
        return _rootInPlace(copy);
    }

    /// @dev `merkleRoot`, overwriting `a`. A level of `n` nodes makes `ceil(n / 2)` parents; a
    /// missing right sibling is the root of an all-padding subtree of that height
    /// (`z_0 = 0`, `z_{k+1} = keccak256(z_k ‖ z_k)`), which is what padding to a power of two
    /// puts there.
    function _rootInPlace(bytes32[] memory a) private pure returns (bytes32 r) {
        assembly ("memory-safe") {
            let n := mload(a)
            let p := add(a, 0x20)
            let zero := 0
            for {} gt(n, 1) {} {
                let half := shr(1, add(n, 1))
                for { let i := 0 } lt(i, half) { i := add(i, 1) } {
                    let l := add(p, shl(6, i)) // &a[2i]
                    mstore(0, mload(l))
                    let right := zero
                    if lt(add(shl(1, i), 1), n) { right := mload(add(l, 0x20)) }
                    mstore(0x20, right)
                    mstore(add(p, shl(5, i)), keccak256(0, 0x40)) // a[i], read already
                }
                mstore(0, zero)
                mstore(0x20, zero)
                zero := keccak256(0, 0x40)
                n := half
            }
            if n { r := mload(p) }
        }
    }

    // ------------------------------------------------------------------ reading values

    /// @notice Index in `r.values` of element 0 of `row` of output `output`.
    function offsetOf(VouchResult memory r, uint256 output, uint256 row) internal pure returns (uint256 off) {
        if (output >= r.sizes.length || row >= r.rows) revert OutOfRange();
        for (uint256 i; i < output; ++i) {
            off += uint256(r.sizes[i]) * r.rows;
        }
        off += row * r.sizes[output];
    }

    /// @notice Element `index` of `row` of output `output`.
    function valueAt(VouchResult memory r, uint256 output, uint256 row, uint256 index) internal pure returns (int32) {
        if (index >= r.sizes[output]) revert OutOfRange();
        return r.values[offsetOf(r, output, row) + index];
    }

    /// @notice Element `index` of `row` of output `output` as 1e18 fixed point (`toWad`).
    function wadAt(VouchResult memory r, uint256 output, uint256 row, uint256 index) internal pure returns (int256) {
        return toWad(valueAt(r, output, row, index), r.scales[output]);
    }

    /// @notice The first largest element of `row` of output `output` (ties go to the lowest
    /// index, as ONNX `ArgMax`): its index and integer value.
    function argmax(VouchResult memory r, uint256 output, uint256 row)
        internal
        pure
        returns (uint256 index, int32 value)
    {
        uint256 off = offsetOf(r, output, row);
        uint256 n = r.sizes[output];
        value = r.values[off];
        for (uint256 i = 1; i < n; ++i) {
            int32 v = r.values[off + i];
            if (v > value) (index, value) = (i, v);
        }
    }

    /// @notice `q * s * 1e18` rounded toward zero, where `s` is the binary64 number with bits
    /// `scaleBits`: exact, in integer arithmetic (`s = m * 2^(e - 1075)` for the 53-bit
    /// significand `m` and biased exponent `e`). Reverts with `BadScale` unless `s` is positive,
    /// finite and below `2^67` (every scale a package holds is far below), and with `OutOfRange`
    /// for `|q| >= 2^127`.
    function toWad(int256 q, uint64 scaleBits) internal pure returns (int256) {
        uint256 e = uint256(scaleBits >> 52);
        uint256 m = uint256(scaleBits) & ((uint256(1) << 52) - 1);
        // sign bit set (e >= 2048), infinity/NaN (e == 2047) or zero
        if (e >= 0x7FF || (e == 0 && m == 0)) revert BadScale(scaleBits);
        if (e == 0) {
            e = 1; // subnormal: m * 2^(1 - 1075)
        } else {
            m |= uint256(1) << 52;
        }
        if (q > type(int128).max || q < type(int128).min) revert OutOfRange();
        int256 x = q * int256(m) * 1e18; // |x| < 2^127 * 2^53 * 2^60 = 2^240
        if (e >= 1075) {
            uint256 up = e - 1075;
            if (up > 14) revert BadScale(scaleBits);
            return x * int256(uint256(1) << up); // checked: overflow reverts
        }
        uint256 down = 1075 - e;
        if (down > 250) return 0; // |x| < 2^240
        return x / int256(uint256(1) << down); // Solidity rounds toward zero
    }
}
