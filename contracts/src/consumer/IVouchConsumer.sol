// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @notice A final, verified result as the TaskManager delivers it to a consumer contract
/// (`docs/semantics.md` section 10).
/// @dev `values` holds every graph output of the model version in package order, each output
/// its `rows` rows end to end (row 0 first), each element the exact integer the engine, the
/// circuit and the one-step check compute. Output `i` has `sizes[i]` elements per row and the
/// real value of one integer step is `scales[i]`, an IEEE-754 binary64 number given by its bits
/// (`VouchResults.toWad` converts exactly). The values were checked against the task's output
/// commitment (a keccak list commitment, section 6) before the consumer sees them.
struct VouchResult {
    /// The task.
    uint256 taskId;
    /// Who requested (and paid for) the task.
    address requester;
    /// The model.
    uint32 modelId;
    /// Its version.
    uint16 version;
    /// How the result was verified: 0 optimistic (challenge window passed), 1 committee, 2 zk.
    uint8 mode;
    /// Rows of the task's input (1 unless the request asked for more; zk tasks have 1).
    uint16 rows;
    /// The task's input commitment (keccak list commitment; Poseidon hash in zk mode).
    bytes32 inputCommitment;
    /// The task's output commitment, which `values` open.
    bytes32 outputCommitment;
    /// The integer outputs: output 0's rows, then output 1's, ...
    int32[] values;
    /// Elements per row of each graph output.
    uint32[] sizes;
    /// The scale of each graph output as the bits of an IEEE-754 binary64 number.
    uint64[] scales;
}

/// @title IVouchConsumer
/// @notice What a contract named as a task's callback receives from the TaskManager. Each call
/// runs with the gas cap the request set; a revert or out-of-gas is recorded (the task's
/// callback-failed flag and a `CallbackFailed` event) and never blocks settlement.
interface IVouchConsumer {
    /// @notice The task is final (zk: proven; optimistic and committee: the challenge window
    /// passed, or every member agreed) and `result.values` open its output commitment. Called
    /// at most once per task: in the transaction that settles it when the settler supplied the
    /// values, else in the one `TaskManager.deliver` that does.
    function onVouchResult(VouchResult calldata result) external;

    /// @notice The task ended without a result (nobody delivered by the deadline, the committee
    /// never revealed, or the provider lost a dispute); the fee went back to the requester.
    function onVouchFailed(uint256 taskId) external;
}
