// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {VouchConsumer} from "../consumer/VouchConsumer.sol";
import {VouchResult} from "../consumer/IVouchConsumer.sol";
import {IVouchTaskManager} from "../consumer/IVouchTaskManager.sol";

/// @title AgentVault
/// @notice Example consumer: a vault whose target allocation to a risk asset changes only on a
/// verified signal, i.e. a final result of a named model version requested by the vault's
/// agent.
/// @dev The signal is the argmax class of output `signalOutput` (a classifier's scores); the
/// class's allocation (`allocationBps`) becomes the vault's target when the winning score is at
/// least `minConfidenceWad` (1e18 fixed point). Signals apply in task order: a result of a task
/// older than the last applied one is stale and refused. An executor (keeper, DEX router)
/// follows `riskBps`; moving funds is outside the example.
contract AgentVault is VouchConsumer {
    /// @notice Whose requests are signals (an off-chain agent's account).
    address public immutable agent;
    /// @notice The output holding the class scores.
    uint256 public immutable signalOutput;
    /// @notice The smallest winning score (1e18 fixed point) that moves the vault.
    int256 public immutable minConfidenceWad;

    /// @notice Target allocation to the risk asset, in basis points, per signal class.
    uint16[] public allocationBps;
    /// @notice The vault's current target allocation to the risk asset, in basis points.
    uint16 public riskBps;
    /// @notice The task whose signal set the current target (0: none yet).
    uint256 public lastSignalTask;

    /// @notice A verified signal moved the target allocation.
    event Rebalanced(uint256 indexed taskId, uint256 signal, int256 confidenceWad, uint16 riskBps);
    /// @notice A verified signal below the confidence threshold left the target as it was.
    event SignalIgnored(uint256 indexed taskId, uint256 signal, int256 confidenceWad);

    /// @notice The task was not requested by the vault's agent.
    error NotAgent(address requester);
    /// @notice A newer signal was applied already.
    error StaleSignal(uint256 taskId, uint256 lastSignalTask);
    /// @notice The argmax class has no allocation.
    error UnknownSignal(uint256 signal);
    /// @notice An allocation over 100%.
    error BadAllocation(uint16 bps);

    /// @param taskManager_ The TaskManager whose results to trust.
    /// @param accepted The model versions whose signals count.
    /// @param agent_ The account whose requests are signals.
    /// @param signalOutput_ The output holding the class scores.
    /// @param minConfidenceWad_ The smallest winning score that moves the vault.
    /// @param allocationBps_ Target allocation per class, basis points.
    constructor(
        IVouchTaskManager taskManager_,
        ModelVersion[] memory accepted,
        address agent_,
        uint256 signalOutput_,
        int256 minConfidenceWad_,
        uint16[] memory allocationBps_
    ) VouchConsumer(taskManager_, accepted) {
        agent = agent_;
        signalOutput = signalOutput_;
        minConfidenceWad = minConfidenceWad_;
        for (uint256 i; i < allocationBps_.length; ++i) {
            if (allocationBps_[i] > 10_000) revert BadAllocation(allocationBps_[i]);
        }
        allocationBps = allocationBps_;
    }

    /// @dev Applies the signal of the agent's newest verified task.
    function _onVouchResult(VouchResult memory r) internal override {
        if (r.requester != agent) revert NotAgent(r.requester);
        if (r.taskId <= lastSignalTask) revert StaleSignal(r.taskId, lastSignalTask);
        (uint256 signal, int256 confidence) = _argmax(r, signalOutput, r.rows - 1);
        if (signal >= allocationBps.length) revert UnknownSignal(signal);
        lastSignalTask = r.taskId;
        if (confidence < minConfidenceWad) {
            emit SignalIgnored(r.taskId, signal, confidence);
            return;
        }
        uint16 target = allocationBps[signal];
        riskBps = target;
        emit Rebalanced(r.taskId, signal, confidence, target);
    }
}
