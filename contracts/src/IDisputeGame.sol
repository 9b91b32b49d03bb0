// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

/// @notice How a dispute ended, as reported by the DisputeGame to the TaskManager.
enum Outcome {
    None,
    DefenderWins,
    ChallengerWins,
    BothWrong
}

/// @notice What the DisputeGame needs to run a dispute; the TaskManager opens it.
struct DisputeParams {
    uint256 taskId;
    address defender;
    address challenger;
    bytes32 defenderOutput;
    bytes32 defenderTrace;
    bytes32 challengerOutput;
    bytes32 challengerTrace;
    bytes32 inputCommitment;
    bytes32 weightsRoot;
    bytes32 graphRoot;
}

interface IDisputeGame {
    /// @param rows rows of the task's input (docs/semantics.md section 8.5): every tensor of the
    /// task is the concatenation of `rows` single-row tensors of the batch-1 graph.
    function open(DisputeParams calldata p, uint16 rows) external returns (uint256 disputeId);
}

interface IDisputeResolver {
    function resolveDispute(uint256 taskId, Outcome outcome) external;
}
