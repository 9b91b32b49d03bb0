// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {TaskRecord, Claim} from "./TaskRecord.sol";

/// @title IVouchTaskManager
/// @notice The part of vouch's TaskManager a consumer reads to pull a finalized result (the
/// layout of `TaskManager.Task`, with its enums as their `uint8` codes).
interface IVouchTaskManager {
    /// @notice A task as `TaskManager.getTask` returns it: its state word and commitment.
    struct TaskView {
        /// The submitter of the standing result (committee: its first revealer).
        address provider;
        uint32 modelId;
        /// 0 optimistic, 1 committee, 2 zk
        uint8 mode;
        /// 0 none, 1 requested, 2 submitted, 3 disputed, 4 finalized, 5 refunded, 6 failed
        uint8 status;
        /// `TaskManager`'s FLAG_* bits
        uint8 flags;
        uint32 deadline;
        /// `keccak256(abi.encode(TaskRecord))`, folded with the standing result
        /// (`keccak256(abi.encode(c0, output, traceRoot))`) once one stands (flag 128)
        bytes32 commitment;
    }

    /// @notice A task's state.
    function getTask(uint256 taskId) external view returns (TaskView memory);

    /// @notice Reverts unless `rec` is the task's record and, once a result stands, `result` the
    /// standing result.
    function checkRecord(uint256 taskId, TaskRecord calldata rec, Claim calldata result) external view;

    /// @notice The ModelRegistry the TaskManager checks versions against.
    function registry() external view returns (IVouchOutputs);
}

/// @title IVouchOutputs
/// @notice The part of vouch's ModelRegistry that describes a version's graph outputs.
interface IVouchOutputs {
    /// @notice Elements per row and scale bits (IEEE-754 binary64) of each graph output of a
    /// version, in package order, as registered.
    function outputsOf(uint32 modelId, uint32 version)
        external
        view
        returns (uint32[] memory sizes, uint64[] memory scales);
}
