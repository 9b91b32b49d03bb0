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
/// the TaskManager to make. Stateless; reads nothing of the TaskManager. (A zk proof's values
/// are checked by the TaskManager itself, `_zkCallData`: the call cost more than the code.)
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
}
