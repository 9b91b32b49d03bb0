// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {IVouchConsumer, VouchResult} from "./consumer/IVouchConsumer.sol";
import {IVouchTaskManager} from "./consumer/IVouchTaskManager.sol";
import {VouchResults} from "./consumer/VouchResults.sol";

/// @title ResultDelivery
/// @notice The TaskManager's result check, in a contract of its own so the TaskManager's
/// bytecode stays under EIP-170: reads a finalized task back from the TaskManager that created
/// it, checks the values against its output commitment and the version's registered output
/// sizes (`VouchResults.fetch`, the same code a consumer runs to pull a result) and returns the
/// consumer call `IVouchConsumer.onVouchResult(result)` for the TaskManager to make. Stateless.
contract ResultDelivery {
    /// @notice The TaskManager that created this contract and whose tasks it reads.
    IVouchTaskManager public immutable taskManager;

    constructor() {
        taskManager = IVouchTaskManager(msg.sender);
    }

    /// @notice The consumer call delivering `taskId`'s result opened by `values`; reverts with
    /// `VouchResults.NotFinalized` or `VouchResults.ValuesMismatch`. Same arguments as
    /// `TaskManager.finalize` and `TaskManager.deliver`.
    function callData(uint256 taskId, int32[] calldata values) external view returns (bytes memory) {
        return _callData(taskId, values);
    }

    /// @notice `callData`, with the arguments of `TaskManager.finalizeCommittee`.
    function committeeCallData(uint256 taskId, address[] calldata, int32[] calldata values)
        external
        view
        returns (bytes memory)
    {
        return _callData(taskId, values);
    }

    /// @notice `callData` with the values a zk proof carries (vouch's exported verifiers take
    /// `proof = abi.encode(uint256[8] groth16, int32[] outputs)`), with the arguments of
    /// `TaskManager.submitZk`; empty bytes when the proof is in another format or its values do
    /// not open the output commitment: a zk task settles whatever its proof's layout, and its
    /// values may still be delivered with `TaskManager.deliver`. Never reverts on the proof's
    /// contents (read in place, without a call to `zkCallDataStrict`).
    function zkCallData(uint256 taskId, bytes32, bytes calldata proof) external view returns (bytes memory) {
        (int32[] memory values, bool ok) = _zkValues(proof);
        if (!ok || values.length == 0) return "";
        VouchResult memory r;
        (r, ok) = VouchResults.tryFetch(taskManager, taskId, values);
        return ok ? abi.encodeCall(IVouchConsumer.onVouchResult, (r)) : bytes("");
    }

    /// @notice The consumer call with the values of a vouch zk proof; reverts for a proof of
    /// another layout and where `callData` reverts.
    function zkCallDataStrict(uint256 taskId, bytes calldata proof) external view returns (bytes memory) {
        (, int32[] memory values) = abi.decode(proof, (uint256[8], int32[]));
        return _callData(taskId, values);
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

    function _callData(uint256 taskId, int32[] memory values) internal view returns (bytes memory) {
        if (values.length == 0) return "";
        return abi.encodeCall(IVouchConsumer.onVouchResult, (VouchResults.fetch(taskManager, taskId, values)));
    }
}
