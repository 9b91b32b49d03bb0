// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {
    IEAS,
    AttestationRequest,
    AttestationRequestData
} from "@ethereum-attestation-service/eas-contracts/contracts/IEAS.sol";
import {ISchemaResolver} from "@ethereum-attestation-service/eas-contracts/contracts/resolver/ISchemaResolver.sol";

import {TaskManager} from "./TaskManager.sol";

/// @title ReceiptAttester
/// @notice Turns finalized tasks into EAS attestations (the attester is this contract).
/// - `flushReceipts`: one attestation for every task finalized since the last flush, binding the
///   TaskManager's receipt hash chain (`head = keccak256(abi.encode(prevHead, leaf))`, leaves in
///   the `Finalized` events). A task's receipt is checked by replaying the chain from `prevHead`.
///   This keeps receipts at a few thousand gas per task (the chain update in `finalize`).
/// - `attestReceipt`: a per-task attestation with every field, for consumers that want one
///   (one EAS attestation costs ~200k gas; see the gas report).
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

    constructor(IEAS eas_, TaskManager taskManager_) {
        eas = eas_;
        taskManager = taskManager_;
        receiptSchema = eas_.getSchemaRegistry().register(RECEIPT_SCHEMA, ISchemaResolver(address(0)), false);
        receiptBatchSchema = eas_.getSchemaRegistry().register(RECEIPT_BATCH_SCHEMA, ISchemaResolver(address(0)), false);
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

    function attestReceipt(uint256 taskId) external returns (bytes32 uid) {
        (TaskManager.Status status, address requester, bytes memory data) = taskManager.receiptOf(taskId);
        if (status != TaskManager.Status.Finalized) revert NotFinalized();
        if (receiptUid[taskId] != bytes32(0)) revert AlreadyAttested();
        uid = _attest(receiptSchema, requester, data);
        receiptUid[taskId] = uid;
        emit ReceiptAttested(taskId, uid);
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
