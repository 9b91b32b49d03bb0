// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {VouchConsumer} from "../consumer/VouchConsumer.sol";
import {VouchResult} from "../consumer/IVouchConsumer.sol";
import {IVouchTaskManager} from "../consumer/IVouchTaskManager.sol";

/// @title LendingRiskGate
/// @notice Example consumer: approves a credit line for a borrower only on a verified risk
/// score from one model version that is under a threshold.
/// @dev A borrower requests a one-row task of the named model version on its own features with
/// this contract as the callback (or anyone pulls the finalized result with `consume`). The
/// score is element `scoreIndex` of output `scoreOutput`, read in 1e18 fixed point; a score
/// under `maxScoreWad` sets the requester's credit line to `creditLine`, any other score sets it
/// to zero. Example only: the features are the borrower's own claim here (a production gate
/// would commit them from data it trusts and check `inputCommitment`), and nothing stops a
/// borrower from asking again.
contract LendingRiskGate is VouchConsumer {
    /// @notice The scoring model.
    uint32 public immutable modelId;
    /// @notice Its one accepted version.
    uint16 public immutable version;
    /// @notice The output holding the score.
    uint256 public immutable scoreOutput;
    /// @notice The score's element within a row of that output.
    uint256 public immutable scoreIndex;
    /// @notice Scores strictly below this (1e18 fixed point) are approved.
    int256 public immutable maxScoreWad;
    /// @notice The credit line an approval grants.
    uint256 public immutable creditLine;

    /// @notice Each borrower's approved credit line (0: none).
    mapping(address => uint256) public creditLineOf;

    /// @notice A verified score under the threshold approved `borrower`'s credit line.
    event CreditApproved(address indexed borrower, uint256 indexed taskId, int256 scoreWad, uint256 amount);
    /// @notice A verified score at or over the threshold: no credit line for `borrower`.
    event CreditDenied(address indexed borrower, uint256 indexed taskId, int256 scoreWad);

    /// @notice The gate scores one borrower per task: a task of several rows is refused.
    error OneRowPerDecision(uint16 rows);

    /// @param taskManager_ The TaskManager whose results to trust.
    /// @param modelId_ The scoring model.
    /// @param version_ Its one accepted version.
    /// @param scoreOutput_ The output holding the score.
    /// @param scoreIndex_ The score's element in a row of that output.
    /// @param maxScoreWad_ Approve scores strictly below this (1e18 fixed point).
    /// @param creditLine_ The credit line an approval grants.
    constructor(
        IVouchTaskManager taskManager_,
        uint32 modelId_,
        uint16 version_,
        uint256 scoreOutput_,
        uint256 scoreIndex_,
        int256 maxScoreWad_,
        uint256 creditLine_
    ) VouchConsumer(taskManager_, new ModelVersion[](0)) {
        modelId = modelId_;
        version = version_;
        scoreOutput = scoreOutput_;
        scoreIndex = scoreIndex_;
        maxScoreWad = maxScoreWad_;
        creditLine = creditLine_;
    }

    /// @dev The requester of a verified one-row result gets a credit line iff its score is
    /// under the threshold.
    function _onVouchResult(VouchResult memory r) internal override {
        if (r.rows != 1) revert OneRowPerDecision(r.rows);
        int256 score = _wad(r, scoreOutput, 0, scoreIndex);
        if (score < maxScoreWad) {
            creditLineOf[r.requester] = creditLine;
            emit CreditApproved(r.requester, r.taskId, score, creditLine);
        } else {
            delete creditLineOf[r.requester];
            emit CreditDenied(r.requester, r.taskId, score);
        }
    }

    /// @dev One model version, kept in the code (no storage read per result).
    function _acceptsModel(uint32 modelId_, uint16 version_) internal view override returns (bool) {
        return modelId_ == modelId && version_ == version;
    }
}
