// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ModelRegistry} from "./ModelRegistry.sol";
import {ProviderStaking} from "./ProviderStaking.sol";
import {IRandomnessSource} from "./RandomnessSource.sol";
import {IDisputeGame, DisputeParams} from "./IDisputeGame.sol";
import {IVouchConsumer} from "./consumer/IVouchConsumer.sol";
import {ResultDelivery} from "./ResultDelivery.sol";
import {TaskRecord, Claim} from "./consumer/TaskRecord.sol";
import {TaskManager} from "./TaskManager.sol";

/// @title TaskManagerCore
/// @notice The TaskManager's storage and the settlement steps its paths share. Both the
/// `TaskManager` and its `TaskManagerModule` (the committee and dispute-resolution paths, run by
/// delegatecall so the TaskManager's bytecode stays under EIP-170) inherit it, so they share
/// one storage layout; the types, events and errors are the TaskManager's.
abstract contract TaskManagerCore {
    uint8 internal constant FLAG_AUDIT = 1;
    uint8 internal constant FLAG_AUDIT_CLOSED = 2;
    uint8 internal constant FLAG_AUDIT_FAILED = 4;
    uint8 internal constant FLAG_DELIVERED = 8; // the result went to the callback (or its call failed)
    uint8 internal constant FLAG_CALLBACK_FAILED = 16;
    uint8 internal constant FLAG_HAS_CALLBACK = 32; // the record names a callback
    uint8 internal constant FLAG_VAULT = 64; // the fee is escrowed by the FeeVault in the version's fee token
    uint8 internal constant FLAG_RESULT = 128; // `commitment` folds the standing result
    uint8 internal constant MAX_COMMITTEE = 8;
    /// `ProviderStaking.SNAPSHOT_HORIZON`: draws refuse older snapshots (a test checks they match)
    uint256 internal constant SNAPSHOT_HORIZON = 256;

    /// @notice The token of fees (other than FeeVault tasks'), bonds and the audit pool.
    IERC20 public immutable token;
    /// @notice The registry of model versions.
    ModelRegistry public immutable registry;
    /// @notice Provider stakes, opt-ins and bond locks.
    ProviderStaking public immutable staking;
    /// @notice Committee draws and audit flags.
    IRandomnessSource public immutable randomness;
    /// @notice Checks a result's values and encodes the consumer call (created by the TaskManager,
    /// stateless).
    ResultDelivery public immutable delivery;
    /// @notice Escrows fees in tokens other than `token` and forwards client-signed requests.
    address public immutable feeVault;
    /// @notice Bond locked from a provider's stake per optimistic result. Immutable so that every
    /// unlock/slash matches the lock it undoes; changing it means deploying a new TaskManager.
    uint96 public immutable providerBond;
    /// @notice Bond locked from a committee member's stake when it commits.
    uint96 public immutable committeeBond;

    /// @notice Who may set the parameters and the DisputeGame.
    address public governance;
    /// @notice The DisputeGame that settles disputes (set once).
    IDisputeGame public disputeGame;
    TaskManager.Params internal params;

    /// @notice Hot counters packed in one slot (a request and a finalize each write it once).
    TaskManager.Ledger public ledger;
    /// @notice Challenger bonds escrowed here.
    uint128 public totalBonds;
    /// @notice The head of the receipt hash chain.
    bytes32 public receiptHead;

    mapping(uint256 => TaskManager.Task) internal tasks;
    /// @notice A committee task's draw and its members' commit, reveal and agreement bits.
    mapping(uint256 => TaskManager.Committee) public committees;
    /// Committee commitments of a task as a hash chain in arrival order:
    /// `chain = keccak256(abi.encode(chain, commitment))` from `bytes32(0)`. One slot per task
    /// instead of one per member; a reveal passes the list (from the `Committed` events) and the
    /// chain proves it (collision resistance of keccak256, no truncation).
    mapping(uint256 => bytes32) internal commitChain;
    mapping(uint256 => TaskManager.Dispute) internal disputes;
    /// The record of a disputed task, kept from the dispute's opening until it resolves (what
    /// `resolveDispute` pays, strikes and notifies).
    mapping(uint256 => TaskRecord) internal disputeRecords;
    /// @notice Credited, withdrawable balances in `token`.
    mapping(address => uint256) public balances;
    /// @notice The first confirmer of a flagged task's audit, paid when the audit closes unchallenged.
    mapping(uint256 => address) public auditors;
    /// @notice After a committee dispute: the party whose bond the dispute settled other than the
    /// task's provider (the loser, or the challenger when both lost); zero once released.
    mapping(uint256 => address) public releaseExcept;

    constructor(
        IERC20 token_,
        ModelRegistry registry_,
        ProviderStaking staking_,
        IRandomnessSource randomness_,
        address feeVault_,
        ResultDelivery delivery_,
        uint96 providerBond_,
        uint96 committeeBond_
    ) {
        token = token_;
        registry = registry_;
        staking = staking_;
        randomness = randomness_;
        feeVault = feeVault_;
        delivery = delivery_;
        providerBond = providerBond_;
        committeeBond = committeeBond_;
    }

    function _one(address a) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    /// Reverts `BadRecord` unless `rec` (and, once a result stands, `output` and `traceRoot`)
    /// open the task's commitment; returns `c0 = keccak256(abi.encode(rec))`.
    function _check(uint256 taskId, TaskRecord calldata rec, bytes32 output, bytes32 traceRoot)
        internal
        view
        returns (bytes32 c0)
    {
        c0 = keccak256(abi.encode(rec));
        TaskManager.Task storage t = tasks[taskId];
        bytes32 c = t.flags & FLAG_RESULT != 0 ? keccak256(abi.encode(c0, output, traceRoot)) : c0;
        if (c != t.commitment) revert TaskManager.BadRecord();
    }

    /// Sets the standing result: the commitment folds it, the provider is its submitter.
    function _stand(uint256 taskId, bytes32 c0, address provider, bytes32 output, bytes32 traceRoot) internal {
        TaskManager.Task storage t = tasks[taskId];
        t.provider = provider;
        t.flags |= FLAG_RESULT;
        t.commitment = keccak256(abi.encode(c0, output, traceRoot));
        emit TaskManager.ResultSubmitted(taskId, provider, output, traceRoot);
    }

    /// Gives a task's fee back to its requester (a FeeVault task's fee is 0 here: the vault
    /// refunds it from this task's state).
    function _refundFee(TaskRecord memory rec) internal {
        uint96 fee = rec.vault ? 0 : rec.fee;
        ledger.totalEscrow -= fee;
        _credit(rec.requester, fee);
    }

    /// Finalizes a task whose record and standing result (`output`, `traceRoot`) were checked:
    /// pays the payees, appends the receipt leaf and, for a bonded result, unlocks the payees'
    /// bonds or flags the task for audit.
    function _settle(
        uint256 taskId,
        TaskRecord memory rec,
        address[] memory payees,
        bool bonded,
        bytes32 output,
        bytes32 traceRoot
    ) internal {
        tasks[taskId].status = TaskManager.Status.Finalized;
        _pay(rec, payees);
        bytes32 leaf = keccak256(
            abi.encode(taskId, rec.modelId, uint32(rec.version), rec.inputCommitment, output, rec.mode, traceRoot)
        );
        bytes32 head = keccak256(abi.encode(receiptHead, leaf));
        receiptHead = head;
        uint32 index = ledger.receiptCount++;
        emit TaskManager.Finalized(taskId, output, leaf, index);
        if (bonded) _release(taskId, payees);
    }

    /// Splits the fee among the payees, the audit share and rounding dust to the pool (a
    /// FeeVault task's fee is escrowed by the vault, which pays it from the task's state).
    function _pay(TaskRecord memory rec, address[] memory payees) internal {
        uint256 fee = rec.vault ? 0 : rec.fee;
        uint256 cut = fee * params.auditFeeBps / 10_000;
        uint256 share = (fee - cut) / payees.length;
        cut = fee - share * payees.length; // rounding dust to the pool
        ledger.totalEscrow -= uint96(fee);
        ledger.auditPool += uint96(cut);
        for (uint256 i; i < payees.length; ++i) {
            _credit(payees[i], share);
        }
    }

    /// Unlocks the payees' bonds, or flags the task for audit: the provider (first revealer in
    /// a committee) then keeps its bond locked while audited.
    function _release(uint256 taskId, address[] memory payees) internal {
        TaskManager.Task storage t = tasks[taskId];
        bool audit = params.auditBps != 0
            && uint256(keccak256(abi.encode(randomness.current(), taskId))) % 10_000 < params.auditBps;
        if (audit) {
            address provider = t.provider;
            for (uint256 i; i < payees.length; ++i) {
                if (payees[i] == provider) payees[i] = address(0);
            }
        }
        staking.unlockMany(payees, _bondOf(t.mode));
        if (audit) {
            t.flags |= FLAG_AUDIT;
            t.deadline = uint32(block.timestamp) + params.auditWindow;
            emit TaskManager.AuditFlagged(taskId, t.deadline);
        }
    }

    /// One call site per staking/registry entry point keeps the bytecode under EIP-170.
    function _slash(address who, uint256 amount) internal {
        staking.slash(who, amount, address(this));
    }

    function _unlock(address who, uint256 amount) internal {
        staking.unlock(who, amount);
    }

    /// A strike against the version for `loser`'s lost result (the registry counts distinct
    /// providers; the loser's own slash counts towards its ejection in ProviderStaking).
    function _strike(TaskRecord memory rec, address loser) internal {
        registry.recordStrike(rec.modelId, rec.version, loser);
    }

    function _bondOf(TaskManager.Mode mode) internal view returns (uint256) {
        return mode == TaskManager.Mode.Committee ? committeeBond : providerBond;
    }

    function _credit(address to, uint256 amount) internal {
        if (amount == 0) return;
        balances[to] += amount;
        emit TaskManager.Credited(to, amount);
    }

    /// Delivers a finalized task's result once: nothing for a task without a callback, empty
    /// `values`, or a result delivered already. `ResultDelivery.callData` reverts unless the
    /// values open `output` (checked against the commitment by the caller).
    function _deliver(uint256 taskId, TaskRecord calldata rec, bytes32 output, int32[] calldata values)
        internal
        returns (bool)
    {
        if (rec.callback == address(0) || values.length == 0 || tasks[taskId].flags & FLAG_DELIVERED != 0) {
            return false;
        }
        _callbackOnce(taskId, rec, delivery.callData(taskId, rec, output, values));
        return true;
    }

    /// Marks the task delivered, then calls its consumer with `data`.
    function _callbackOnce(uint256 taskId, TaskRecord memory rec, bytes memory data) internal {
        tasks[taskId].flags |= FLAG_DELIVERED;
        _callback(taskId, rec.callback, rec.callbackGas, data);
    }

    function _notifyFailed(uint256 taskId, TaskRecord memory rec) internal {
        if (rec.callback == address(0)) return;
        _callback(taskId, rec.callback, rec.callbackGas, abi.encodeCall(IVouchConsumer.onVouchFailed, (taskId)));
    }

    /// @notice Calls the consumer with a gas cap. The call's failure (revert, out of gas) is
    /// recorded and ignored; the caller must supply enough gas that the cap is really available,
    /// so a finalizer cannot make the callback fail on purpose. Return data is never copied.
    function _callback(uint256 taskId, address target, uint256 gasCap, bytes memory data) internal {
        if (gasleft() < gasCap + gasCap / 63 + 10_000) revert TaskManager.InsufficientGasForCallback();
        bool success;
        assembly ("memory-safe") {
            success := call(gasCap, target, 0, add(data, 0x20), mload(data), 0, 0)
        }
        if (!success) {
            tasks[taskId].flags |= FLAG_CALLBACK_FAILED;
            emit TaskManager.CallbackFailed(taskId);
        }
    }

    function _disputeParams(uint256 taskId, TaskRecord calldata rec, Claim calldata standing, Claim calldata mine)
        internal
        view
        returns (DisputeParams memory p)
    {
        (bytes32 weightsRoot, bytes32 graphRoot,) = registry.commitments(rec.modelId, rec.version);
        p = DisputeParams({
            taskId: taskId,
            defender: tasks[taskId].provider,
            challenger: msg.sender,
            defenderOutput: standing.output,
            defenderTrace: standing.traceRoot,
            challengerOutput: mine.output,
            challengerTrace: mine.traceRoot,
            inputCommitment: rec.inputCommitment,
            weightsRoot: weightsRoot,
            graphRoot: graphRoot
        });
    }

    function _payAuditReward(address to) internal {
        uint96 reward = params.auditReward;
        if (reward > ledger.auditPool) reward = ledger.auditPool;
        ledger.auditPool -= reward;
        _credit(to, reward);
    }
}
