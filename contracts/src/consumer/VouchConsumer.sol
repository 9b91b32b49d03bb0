// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IVouchConsumer, VouchResult} from "./IVouchConsumer.sol";
import {IVouchTaskManager} from "./IVouchTaskManager.sol";
import {VouchResults} from "./VouchResults.sol";
import {TaskRecord} from "./TaskRecord.sol";

/// @title VouchConsumer
/// @notice Base of a contract that acts on verified vouch results. A result reaches
/// `_onVouchResult` only when
/// - it is final and its values open the task's output commitment: pushed by the TaskManager
///   (`onVouchResult`, no one else may call it) or pulled by anyone with `consume` (checked
///   against the TaskManager's state by `VouchResults.fetch`);
/// - it comes from a model version the consumer names (`_acceptsModel`);
/// - it is consumed once: a push comes once per task (the TaskManager marks the task delivered before
///   calling), and a pull is admitted only for a task whose result is not pushed (no callback, or
///   its callback failed, `VouchResults.pull`) and recorded (one bit per task id).
/// @dev Implement `_onVouchResult` (and, to hear about tasks that ended without a result,
/// `_onVouchFailed`). The consumer still decides which *questions* it accepts: a task's input
/// and requester are in the result (`inputCommitment`, `requester`), and anyone may request a
/// task of an accepted model with any input. Request with `callback` set to this contract and a
/// `callbackGas` that covers `_onVouchResult`; a push that runs out of gas or reverts is
/// recorded by the TaskManager, and the result can still be pulled with `consume`.
abstract contract VouchConsumer is IVouchConsumer {
    /// @notice A model version the consumer accepts results of.
    struct ModelVersion {
        uint32 modelId;
        uint16 version;
    }

    /// @notice The TaskManager whose results this consumer trusts.
    IVouchTaskManager public immutable taskManager;

    /// @dev `modelId << 16 | version` => accepted
    mapping(uint256 => bool) private _accepted;
    /// @dev one bit per pulled task id: word `taskId >> 8`, bit `taskId & 255`
    mapping(uint256 => uint256) private _pulledBits;

    /// @notice A model version was added to the accepted ones.
    event ModelVersionAccepted(uint32 indexed modelId, uint16 version);

    /// @notice `onVouchResult` or `onVouchFailed` was called by someone other than the
    /// TaskManager.
    error NotTaskManager(address caller);
    /// @notice The result is from a model version this consumer does not name.
    error ModelNotAccepted(uint32 modelId, uint16 version);
    /// @notice The task's result was pulled before.
    error Replayed(uint256 taskId);

    /// @param taskManager_ The TaskManager whose results to trust.
    /// @param accepted The model versions whose results to act on.
    constructor(IVouchTaskManager taskManager_, ModelVersion[] memory accepted) {
        taskManager = taskManager_;
        for (uint256 i; i < accepted.length; ++i) {
            _acceptModel(accepted[i].modelId, accepted[i].version);
        }
    }

    // ------------------------------------------------------------------ entry points

    /// @inheritdoc IVouchConsumer
    function onVouchResult(VouchResult calldata result) external {
        if (msg.sender != address(taskManager)) revert NotTaskManager(msg.sender);
        _consume(result);
    }

    /// @inheritdoc IVouchConsumer
    function onVouchFailed(uint256 taskId) external {
        if (msg.sender != address(taskManager)) revert NotTaskManager(msg.sender);
        _onVouchFailed(taskId);
    }

    /// @notice Consumes a finalized task's result by pulling it, once: anyone holding the values
    /// may call, for a task requested without a callback or whose callback failed (e.g. ran out
    /// of gas); a task whose result is pushed to a callback is refused (`NotPullable`).
    /// @param taskId The task.
    /// @param rec Its record (the task's `TaskRequested` event).
    /// @param traceRoot The standing result's trace root (the task's last `ResultSubmitted`).
    /// @param values Its integer outputs (`VouchResult.values`), checked with the record and
    /// trace root against the task's commitment; reverts `VouchResults.NotFinalized` /
    /// `ValuesMismatch` otherwise.
    function consume(uint256 taskId, TaskRecord calldata rec, bytes32 traceRoot, int32[] calldata values) external {
        VouchResult memory r = VouchResults.pull(taskManager, taskId, rec, traceRoot, values);
        uint256 word = taskId >> 8;
        uint256 bit = uint256(1) << (taskId & 0xff);
        uint256 bits = _pulledBits[word];
        if (bits & bit != 0) revert Replayed(taskId);
        _pulledBits[word] = bits | bit;
        _consume(r);
    }

    /// @notice Whether `taskId`'s result was pulled with `consume`.
    function isPulled(uint256 taskId) public view returns (bool) {
        return _pulledBits[taskId >> 8] & (uint256(1) << (taskId & 0xff)) != 0;
    }

    /// @notice Whether results of `modelId` version `version` are accepted.
    function acceptsModel(uint32 modelId, uint16 version) public view returns (bool) {
        return _acceptsModel(modelId, version);
    }

    // ------------------------------------------------------------------ hooks

    /// @notice Acts on a verified, final result of an accepted model version, consumed once.
    /// Reverting refuses it (a pushed result is then recorded as a failed callback).
    function _onVouchResult(VouchResult memory result) internal virtual;

    /// @notice A task named this consumer as its callback and ended without a result.
    function _onVouchFailed(uint256 taskId) internal virtual {}

    /// @notice Whether to act on results of `modelId` version `version`: the versions named at
    /// construction or with `_acceptModel`. Override for another policy.
    function _acceptsModel(uint32 modelId, uint16 version) internal view virtual returns (bool) {
        return _accepted[(uint256(modelId) << 16) | version];
    }

    /// @notice Adds a model version to the accepted ones.
    function _acceptModel(uint32 modelId, uint16 version) internal {
        _accepted[(uint256(modelId) << 16) | version] = true;
        emit ModelVersionAccepted(modelId, version);
    }

    // ------------------------------------------------------------------ helpers

    /// @notice Element `index` of `row` of output `output` as 1e18 fixed point, exactly
    /// (`VouchResults.toWad`: the integer times the output's scale, rounded toward zero).
    function _wad(VouchResult memory r, uint256 output, uint256 row, uint256 index) internal pure returns (int256) {
        return VouchResults.wadAt(r, output, row, index);
    }

    /// @notice The first largest element of `row` of output `output`: its index and its value
    /// in 1e18 fixed point.
    function _argmax(VouchResult memory r, uint256 output, uint256 row)
        internal
        pure
        returns (uint256 index, int256 wad)
    {
        int32 q;
        (index, q) = VouchResults.argmax(r, output, row);
        wad = VouchResults.toWad(q, r.scales[output]);
    }

    /// @notice Whether element `index` of `row` of output `output` is strictly below
    /// `thresholdWad` (1e18 fixed point).
    function _below(VouchResult memory r, uint256 output, uint256 row, uint256 index, int256 thresholdWad)
        internal
        pure
        returns (bool)
    {
        return _wad(r, output, row, index) < thresholdWad;
    }

    /// @notice Whether element `index` of `row` of output `output` is at least `thresholdWad`
    /// (1e18 fixed point).
    function _atLeast(VouchResult memory r, uint256 output, uint256 row, uint256 index, int256 thresholdWad)
        internal
        pure
        returns (bool)
    {
        return _wad(r, output, row, index) >= thresholdWad;
    }

    // ------------------------------------------------------------------ internals

    function _consume(VouchResult memory r) private {
        if (!_acceptsModel(r.modelId, r.version)) revert ModelNotAccepted(r.modelId, r.version);
        _onVouchResult(r);
    }
}
