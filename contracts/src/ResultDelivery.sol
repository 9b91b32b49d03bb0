// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {IVouchConsumer, VouchResult} from "./consumer/IVouchConsumer.sol";
import {IVouchOutputs} from "./consumer/IVouchTaskManager.sol";
import {VouchResults} from "./consumer/VouchResults.sol";
import {TaskRecord} from "./consumer/TaskRecord.sol";

/// @title ResultDelivery
/// @notice The TaskManager's result check, in a contract of its own so the TaskManager's
/// bytecode stays under EIP-170: given a task's record (checked by the TaskManager against the
/// task's commitment) and its output commitment, checks the values against that commitment and
/// the version's registered output sizes (`VouchResults.resultOf`, the same code a consumer runs
/// to pull a result) and returns the consumer call `IVouchConsumer.onVouchResult(result)` for
/// the TaskManager to make. Stateless; reads nothing of the TaskManager.
contract ResultDelivery {
    /// @notice The registry whose output sizes and scales the results carry.
    IVouchOutputs public immutable registry;

    /// @param registry_ The TaskManager's ModelRegistry.
    constructor(IVouchOutputs registry_) {
        registry = registry_;
    }

    /// @notice The consumer call delivering `taskId`'s result opened by `values`; reverts with
    /// `VouchResults.ValuesMismatch` unless they open `output`. `rec` and `output` are the
    /// task's checked record and output commitment.
    function callData(uint256 taskId, TaskRecord calldata rec, bytes32 output, int32[] calldata values)
        external
        view
        returns (bytes memory)
    {
        (VouchResult memory r, bool ok) = VouchResults.resultOf(registry, taskId, rec, output, values);
        if (!ok) revert VouchResults.ValuesMismatch(taskId);
        return abi.encodeCall(IVouchConsumer.onVouchResult, (r));
    }

    /// @notice `callData` with the values a zk proof carries (vouch's exported verifiers take
    /// `proof = abi.encode(uint256[8] groth16, int32[] outputs)`); empty bytes when the proof is
    /// in another format or its values do not open the output commitment: a zk task settles
    /// whatever its proof's layout, and its values may still be delivered with
    /// `TaskManager.deliver`. Never reverts on the proof's contents (read in place).
    function zkCallData(uint256 taskId, TaskRecord calldata rec, bytes32 output, bytes calldata proof)
        external
        view
        returns (bytes memory)
    {
        (int32[] memory values, bool ok) = _zkValues(proof);
        if (!ok || values.length == 0) return "";
        VouchResult memory r;
        (r, ok) = VouchResults.resultOf(registry, taskId, rec, output, values);
        return ok ? abi.encodeCall(IVouchConsumer.onVouchResult, (r)) : bytes("");
    }

    /// The `int32[]` of `abi.encode(uint256[8], int32[])`, with `ok` false where `abi.decode`
    /// would revert: the head or the array past the end of `proof`, an element not a
    /// sign-extended `int32`.
    function _zkValues(bytes calldata proof) internal pure returns (int32[] memory values, bool ok) {
        uint256 len = proof.length;
        if (len < 0x120) return (values, false);
        uint256 off = uint256(bytes32(proof[0x100:0x120]));
        if (off > len || len - off < 0x20) return (values, false);
        uint256 n = uint256(bytes32(proof[off:off + 0x20]));
        if (n > (len - off - 0x20) >> 5) return (values, false);
        values = new int32[](n);
        uint256 at = off + 0x20;
        for (uint256 i; i < n; ++i) {
            int256 w = int256(uint256(bytes32(proof[at:at + 0x20])));
            if (w != int32(w)) return (values, false);
            values[i] = int32(w);
            at += 0x20;
        }
        ok = true;
    }
}
