// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {
    IEAS,
    AttestationRequest,
    AttestationRequestData,
    MultiAttestationRequest
} from "@ethereum-attestation-service/eas-contracts/contracts/IEAS.sol";

import {EasSchemas} from "./EasSchemas.sol";

import {TaskManager} from "./TaskManager.sol";
import {TaskRecord, Claim} from "./consumer/TaskRecord.sol";

/// @title ReceiptAttester
/// @notice Turns finalized tasks into EAS attestations (the attester is this contract).
/// - `flushReceipts`: one attestation for every task finalized since the last flush, binding the
///   TaskManager's receipt hash chain (`head = keccak256(abi.encode(prevHead, leaf))`, leaves in
///   the `Finalized` events). A task's receipt is checked by replaying the chain from `prevHead`.
///   This keeps receipts at a few thousand gas per task (the chain update in `finalize`).
/// - `attestReceipt`: a per-task attestation with every field, for consumers that want one
///   (one EAS attestation costs ~200k gas; see the gas report); the recipient is the requester.
///   The caller passes the task's record (its `TaskRequested` event) and standing result (its
///   last `ResultSubmitted`), checked against the task's commitment (`TaskManager.BadRecord`).
/// - `attestReceipts`: the same per-task attestations for many tasks in one EAS `multiAttest`
///   (what nodes send); tasks already attested or not finalized are skipped, so a batch sent
///   twice (a node retrying after a crash) attests nothing twice.
/// The schemas are registered on the EAS's schema registry only when they are not there yet, so
/// any number of deployments share one EAS (`EasSchemas`).
contract ReceiptAttester {
    string public constant RECEIPT_SCHEMA =
        "uint256 taskId,uint32 modelId,uint32 version,bytes32 inputCommitment,bytes32 outputCommitment,uint8 mode,bytes32 evidence";
    string public constant RECEIPT_BATCH_SCHEMA = "uint64 fromIndex,uint64 toIndex,bytes32 prevHead,bytes32 head";

    IEAS public immutable eas;
    TaskManager public immutable taskManager;
    bytes32 public immutable receiptSchema;
    bytes32 public immutable receiptBatchSchema;

    uint64 public attestedCount;
    bytes32 public attestedHead;
    mapping(uint256 => bytes32) public receiptUid;

    event ReceiptsAttested(bytes32 uid, uint64 fromIndex, uint64 toIndex, bytes32 head);
    event ReceiptAttested(uint256 indexed taskId, bytes32 uid);

    error NothingToAttest();
    error NotFinalized();
    error AlreadyAttested();
    error LengthMismatch();

    constructor(IEAS eas_, TaskManager taskManager_) {
        eas = eas_;
        taskManager = taskManager_;
        receiptSchema = EasSchemas.ensure(eas_, RECEIPT_SCHEMA);
        receiptBatchSchema = EasSchemas.ensure(eas_, RECEIPT_BATCH_SCHEMA);
    }

    function flushReceipts() external returns (bytes32 uid) {
        uint64 from = attestedCount;
        (,,, uint32 count) = taskManager.ledger();
        uint64 to = count;
        if (to == from) revert NothingToAttest();
        bytes32 prev = attestedHead;
        bytes32 head = taskManager.receiptHead();
        attestedCount = to;
        attestedHead = head;
        uid = _attest(receiptBatchSchema, address(0), abi.encode(from, to, prev, head));
        emit ReceiptsAttested(uid, from, to, head);
    }

    /// A task's status and receipt leaf preimage
    /// `abi.encode(taskId, modelId, uint32 version, inputCommitment, outputCommitment, uint8 mode, traceRoot)`
    /// (the TaskManager's receipt leaf is its keccak256); reverts unless `rec` and `result` open
    /// the task's commitment.
    function _receiptOf(uint256 taskId, TaskRecord calldata rec, Claim calldata result)
        internal
        view
        returns (TaskManager.Status, bytes memory)
    {
        taskManager.checkRecord(taskId, rec, result);
        return (
            taskManager.getTask(taskId).status,
            abi.encode(
                taskId, rec.modelId, uint32(rec.version), rec.inputCommitment, result.output, rec.mode, result.traceRoot
            )
        );
    }

    /// @notice Attests a finalized task's receipt (recipient: its requester), once.
    function attestReceipt(uint256 taskId, TaskRecord calldata rec, Claim calldata result)
        external
        returns (bytes32 uid)
    {
        (TaskManager.Status status, bytes memory data) = _receiptOf(taskId, rec, result);
        if (status != TaskManager.Status.Finalized) revert NotFinalized();
        if (receiptUid[taskId] != bytes32(0)) revert AlreadyAttested();
        uid = _attest(receiptSchema, rec.requester, data);
        receiptUid[taskId] = uid;
        emit ReceiptAttested(taskId, uid);
    }

    /// @notice Attests the receipts of the finalized, not yet attested tasks among `taskIds` in
    /// one EAS `multiAttest` (recipient: each task's requester); the others are skipped. `recs`
    /// and `results` are the tasks' records and standing results, one per id; a pair that does
    /// not open its task's commitment reverts the batch (`TaskManager.BadRecord`).
    /// @return uids One per task id: the new attestation, or zero when skipped.
    function attestReceipts(uint256[] calldata taskIds, TaskRecord[] calldata recs, Claim[] calldata results)
        external
        returns (bytes32[] memory uids)
    {
        uint256 n = taskIds.length;
        if (recs.length != n || results.length != n) revert LengthMismatch();
        AttestationRequestData[] memory data = new AttestationRequestData[](n);
        uint256 count;
        for (uint256 i; i < n; ++i) {
            uint256 id = taskIds[i];
            if (receiptUid[id] != bytes32(0)) continue;
            (TaskManager.Status status, bytes memory d) = _receiptOf(id, recs[i], results[i]);
            if (status != TaskManager.Status.Finalized) continue;
            // a duplicate id in the batch: attested once
            receiptUid[id] = bytes32(uint256(1));
            data[count++] = AttestationRequestData({
                recipient: recs[i].requester, expirationTime: 0, revocable: false, refUID: bytes32(0), data: d, value: 0
            });
        }
        if (count == 0) revert NothingToAttest();
        assembly ("memory-safe") {
            mstore(data, count)
        }
        MultiAttestationRequest[] memory req = new MultiAttestationRequest[](1);
        req[0] = MultiAttestationRequest({schema: receiptSchema, data: data});
        bytes32[] memory made = eas.multiAttest(req);
        uids = new bytes32[](n);
        uint256 j;
        for (uint256 i; i < n; ++i) {
            uint256 id = taskIds[i];
            if (receiptUid[id] != bytes32(uint256(1))) continue;
            bytes32 uid = made[j++];
            receiptUid[id] = uid;
            uids[i] = uid;
            emit ReceiptAttested(id, uid);
        }
    }

    function _attest(bytes32 schema, address recipient, bytes memory data) internal returns (bytes32) {
        return eas.attest(
            AttestationRequest({
                schema: schema,
                data: AttestationRequestData({
                    recipient: recipient, expirationTime: 0, revocable: false, refUID: bytes32(0), data: data, value: 0
                })
            })
        );
    }
}
