// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title IVouchTaskManager
/// @notice The part of vouch's TaskManager a consumer reads to pull a finalized result (the
/// layout of `TaskManager.Task`, with its enums as their `uint8` codes).
interface IVouchTaskManager {
    /// @notice A task as `TaskManager.getTask` returns it.
    struct TaskView {
        address requester;
        uint88 fee;
        uint8 flags;
        address provider;
        uint32 modelId;
        uint16 version;
        /// 0 optimistic, 1 committee, 2 zk
        uint8 mode;
        /// 0 none, 1 requested, 2 submitted, 3 disputed, 4 finalized, 5 refunded, 6 failed
        uint8 status;
        uint32 deadline;
        bytes32 inputCommitment;
        bytes32 outputCommitment;
        bytes32 traceRoot;
    }

    /// @notice A task's state.
    function getTask(uint256 taskId) external view returns (TaskView memory);

    /// @notice Rows of a task's input (1 unless the request asked for more).
    function taskRows(uint256 taskId) external view returns (uint16);

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
