// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @notice The fields a request fixes. The TaskManager stores only
/// `keccak256(abi.encode(rec))` (folded with the standing result once there is one); callers
/// re-supply the record from the task's `TaskRequested` event and every function taking one
/// checks it against that commitment before using it.
struct TaskRecord {
    /// Who requested (and paid for) the task.
    address requester;
    /// The fee as requested (also for a FeeVault custom-token task, whose fee the vault escrows).
    uint88 fee;
    /// The model.
    uint32 modelId;
    /// Its version.
    uint16 version;
    /// 0 optimistic, 1 committee, 2 zk.
    uint8 mode;
    /// The FeeVault escrows the fee in the version's own token (the TaskManager escrows 0).
    bool vault;
    /// Rows of the input, >= 1.
    uint16 rows;
    /// The input commitment.
    bytes32 inputCommitment;
    /// The consumer contract called with the result (address(0): none).
    address callback;
    /// The gas cap of that call.
    uint32 callbackGas;
}

/// @notice A result: an output commitment and a trace root (zk: `keccak256(proof)`). The
/// standing result of a task is its last `ResultSubmitted` event.
struct Claim {
    /// The output commitment.
    bytes32 output;
    /// The trace root.
    bytes32 traceRoot;
}
