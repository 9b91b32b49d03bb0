// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ModelRegistry} from "./ModelRegistry.sol";
import {ProviderStaking} from "./ProviderStaking.sol";
import {IRandomnessSource} from "./RandomnessSource.sol";
import {IZkVerifier} from "./IZkVerifier.sol";
import {IDisputeGame, IDisputeResolver, DisputeParams, Outcome} from "./IDisputeGame.sol";
import {IVouchConsumer, VouchResult} from "./consumer/IVouchConsumer.sol";
import {ResultDelivery} from "./ResultDelivery.sol";
import {TaskManagerCore} from "./TaskManagerCore.sol";
import {TaskManagerModule} from "./TaskManagerModule.sol";
import {TaskRecord, Claim} from "./consumer/TaskRecord.sol";
import {VouchResults} from "./consumer/VouchResults.sol";
import {IVouchOutputs} from "./consumer/IVouchTaskManager.sol";
import {BlobInput} from "./BlobInput.sol";

/// @title TaskManager
/// @notice Inference requests with escrowed fees and their settlement in three modes:
/// - `Optimistic`: an opted-in provider posts the output commitment and its trace root with a
///   bond locked from its stake; anyone may challenge (with a bond) during the challenge window;
///   otherwise the task finalizes.
/// - `Committee`: `committeeSize` providers are drawn by their stake and opt-ins as of the block
///   before the request (a snapshot fixed before the seed exists) with a randomness ticket
///   requested with the task; each member locks its bond when it commits (a member without free
///   stake cannot commit and counts as absent), then reveals; agreement finalizes; a
///   disagreement goes to the DisputeGame (settled by the one-step check, not by vote) and the
///   winning member's result stands for a fresh challenge window, after which it finalizes like
///   an optimistic one.
/// - `Zk`: a provider posts the output with a proof that the model version's verifier accepts.
///
/// Money is pull-based: fees, rewards and returned bonds are credited to `balances` and
/// withdrawn with `withdraw`. Accounting (checked by the invariant tests):
/// `token.balanceOf(this) == totalEscrow + sum(balances) + totalBonds + auditPool` (ledger).
/// A model version whose fees are in another token or ETH (`ModelRegistry.setFeeToken`) is
/// requested through the `FeeVault` (`requestFor`; the task carries `FLAG_VAULT`, its record
/// `vault`, and the TaskManager escrows 0), which escrows its fee in that token and pays or
/// refunds it from the settled task's state (`FeeVault.claim`); such a fee is outside the ledger
/// above. The vault also forwards client-signed requests, and fills a signed zk request with its
/// proof in the same transaction (`requestSubmitZkFor`).
///
/// Storage per task is two slots (`Task`): a state word (provider, model, mode, status, flags,
/// deadline) and a commitment: `c0 = keccak256(abi.encode(TaskRecord))` over the fields the
/// request fixed, and once a result stands (`FLAG_RESULT`)
/// `keccak256(abi.encode(c0, output, traceRoot))`. Callers re-supply the record (from
/// `TaskRequested`) and the standing result (the task's last `ResultSubmitted`); every function
/// taking them checks them against the commitment first (`BadRecord`). A dispute keeps the
/// record from its opening until it resolves.
///
/// A task may name a consumer contract (`IVouchConsumer`) as its callback. Its result reaches
/// the consumer only once final, with the output values checked against the output commitment
/// (by `ResultDelivery`, docs/semantics.md section 10): in `submitZk` (the proof carries the
/// values), in `finalize`/`finalizeCommittee` when the caller passes the values, or later in one
/// `deliver` by anyone holding them (`FLAG_DELIVERED` makes it once). Settlement never waits for
/// the values.
///
/// Finalized tasks append a receipt leaf
/// `keccak256(abi.encode(taskId, modelId, version, inputCommitment, outputCommitment, mode, traceRoot))`
/// to a hash chain (`receiptHead = keccak256(abi.encode(receiptHead, leaf))`, leaves in the
/// `Finalized` events); the ReceiptAttester turns it into EAS attestations.
contract TaskManager is ReentrancyGuardTransient, IDisputeResolver, TaskManagerCore {
    using SafeERC20 for IERC20;

    enum Mode {
        Optimistic,
        Committee,
        Zk
    }

    enum Status {
        None,
        Requested, // waiting for a submission (optimistic, zk) or commitments (committee)
        Submitted, // challenge window running (`deadline` is its last second)
        Disputed,
        Finalized, // paid; `deadline` is the end of the audit window when flagged
        Refunded, // nobody delivered in time
        Failed // the provider lost a dispute; fee refunded
    }

    /// A task's storage, also what `getTask` returns: the state word and the commitment.
    struct Task {
        // slot 0 (248 bits)
        address provider; // optimistic/zk: the submitter; committee: the first revealer
        uint32 modelId;
        Mode mode;
        Status status;
        uint8 flags;
        uint32 deadline;
        // slot 1: c0 = keccak256(abi.encode(TaskRecord)), or with FLAG_RESULT
        // keccak256(abi.encode(c0, output, traceRoot)) of the standing result
        bytes32 commitment;
    }

    struct Committee {
        uint40 ticket; // randomness ticket
        uint48 snapshot; // the draw reads stakes and opt-ins as of the end of this block
        uint8 size;
        uint8 commitMask; // members that committed, i.e. whose bonds are locked
        uint8 revealMask;
        uint8 agreeMask;
        bool drawn;
        /// first 16 bytes of keccak256(abi.encode(members)): forging a member list needs a
        /// second preimage (2^128 work); packed here so drawing writes no new slot
        bytes16 membersHash;
    }

    struct Dispute {
        address challenger;
        uint96 challengerBond; // escrowed here (optimistic and audit); 0 for committee members
        uint8 kind; // 0 optimistic, 1 committee, 2 audit
        bytes32 challengerOutput;
        bytes32 challengerTrace; // committee disputes: the dissenting member's trace root
    }

    struct Params {
        uint32 challengeWindow;
        uint32 revealWindow;
        uint32 auditWindow;
        uint32 maxCallbackGas;
        uint16 auditBps; // share of finalized tasks flagged for audit
        uint16 auditFeeBps; // share of each fee paid into the audit pool
        uint8 committeeSize;
        uint96 challengerBond;
        uint96 auditReward;
    }

    struct RequestInput {
        uint32 modelId;
        uint16 version;
        Mode mode;
        uint88 fee;
        uint32 deadline; // submission (optimistic/zk) or commitment (committee) deadline
        bytes32 inputCommitment;
        uint16 rows; // rows of the input, >= 1 (zk: exactly 1); docs/semantics.md section 8.5
        /// empty when the input is inline; `blob:0x<versioned hash>,...` when it travels as the
        /// transaction's blobs (checked, `BlobInput`); else the input's CID
        string inputCid;
        bytes inlineInput; // canonical tensor bytes of the graph inputs, or empty
        address callback; // optional IVouchConsumer
        uint32 callbackGas;
    }

    /// Hot counters packed in one slot (a request and a finalize each write it once).
    struct Ledger {
        uint96 totalEscrow; // fees of unsettled tasks
        uint96 auditPool;
        uint32 taskCount;
        uint32 receiptCount;
    }

    /// @notice The code of the committee path, challenges, audits and dispute resolution
    /// (`TaskManagerModule`, created here), run by delegatecall on this contract's storage. The
    /// TaskManager declares no storage of its own (all of it is `TaskManagerCore`'s, which the
    /// module inherits too; `ReentrancyGuardTransient` keeps its flag in transient storage), so
    /// both see one layout.
    address public immutable module;

    event TaskRequested(
        uint256 indexed taskId,
        address indexed requester,
        uint32 indexed modelId,
        uint16 version,
        Mode mode,
        uint256 fee,
        uint32 deadline,
        bytes32 inputCommitment,
        uint16 rows,
        string inputCid,
        bytes inlineInput,
        address callback,
        uint32 callbackGas,
        bool vault
    );
    event ResultSubmitted(uint256 indexed taskId, address indexed provider, bytes32 output, bytes32 traceRoot);
    event CommitteeDrawn(uint256 indexed taskId, address[] members);
    event Committed(uint256 indexed taskId, address indexed member, bytes32 commitment);
    event Revealed(uint256 indexed taskId, address indexed member, bytes32 output, bytes32 traceRoot);
    event Challenged(uint256 indexed taskId, address indexed challenger, uint256 disputeId, uint8 kind);
    event DisputeResolved(uint256 indexed taskId, Outcome outcome);
    event Finalized(uint256 indexed taskId, bytes32 output, bytes32 receiptLeaf, uint32 receiptIndex);
    event Refunded(uint256 indexed taskId);
    event AuditFlagged(uint256 indexed taskId, uint32 auditEnd);
    event AuditConfirmed(uint256 indexed taskId, address indexed auditor);
    event AuditClosed(uint256 indexed taskId, address auditor, bool failed);
    event CallbackFailed(uint256 indexed taskId);
    event Credited(address indexed to, uint256 amount);
    event Withdrawn(address indexed to, uint256 amount);
    event ParamsSet(Params params);
    event AuditPoolFunded(address indexed from, uint256 amount);
    event GovernanceTransferred(address indexed to);

    error NotGovernance();
    error NotDisputeGame();
    error DisputeGameAlreadySet();
    error BadMode();
    error BadStatus(Status status);
    error ModelNotActive();
    error BadDeadline();
    error DeadlinePassed();
    error TooEarly();
    error NotOptedIn();
    error ProofRejected();
    error ZeroFee();
    error CallbackGasTooHigh();
    error NotMember();
    error AlreadyCommitted();
    error BadMembers();
    error NotEnoughProviders();
    error BadReveal();
    error AlreadyRevealed();
    error NotAudited();
    error NothingToWithdraw();
    error InsufficientGasForCallback();
    error BadParams();
    error BadRows(uint16 rows);
    error NothingDelivered();
    error UseFeeVault();
    error BadRecord();
    error TaskExists();

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance();
        _;
    }

    constructor(
        IERC20 token_,
        ModelRegistry registry_,
        ProviderStaking staking_,
        IRandomnessSource randomness_,
        address feeVault_,
        address governance_,
        uint96 providerBond_,
        uint96 committeeBond_,
        Params memory params_
    )
        TaskManagerCore(
            token_,
            registry_,
            staking_,
            randomness_,
            feeVault_,
            new ResultDelivery(IVouchOutputs(address(registry_))),
            providerBond_,
            committeeBond_
        )
    {
        governance = governance_;
        module = address(
            new TaskManagerModule(
                token_, registry_, staking_, randomness_, feeVault_, delivery, providerBond_, committeeBond_
            )
        );
        _setParams(params_);
    }

    // ================================================================ requests

    /// @notice Requests an inference with the fee escrowed (from the caller's credited balance
    /// when it suffices, else pulled with transferFrom). A version with a custom fee token is
    /// requested through the FeeVault instead.
    function request(RequestInput calldata r) external nonReentrant returns (uint256) {
        (uint256 taskId,) = _request(0, msg.sender, r, false);
        return taskId;
    }

    /// @notice The FeeVault's entry: a request for `requester`, who authorized it (its own call
    /// to the vault, or its signature). `custom`: the version's fee is in its own token, already
    /// with the vault, which records it under the returned id (the registry checks the version
    /// agrees); otherwise the fee in `token` is taken from `requester` here.
    function requestFor(address requester, RequestInput calldata r, bool custom)
        external
        nonReentrant
        returns (uint256 taskId)
    {
        if (msg.sender != feeVault) revert UseFeeVault();
        (taskId,) = _request(0, requester, r, custom);
    }

    /// @notice The FeeVault's one-transaction zk decision: `requestFor`, then the task filled by
    /// `provider` with `output` and its `proof` as `submitZk` would (verified, settled, the
    /// values delivered), in the same call. `provider` is the vault's caller. The task's id is
    /// `taskId`, the client's signed digest (above the sequential ids, which are `uint32`): a
    /// task that exists already is `TaskExists`, so the task's own slots are the signature's
    /// replay protection.
    function requestSubmitZkFor(
        uint256 taskId,
        address requester,
        RequestInput calldata r,
        bool custom,
        address provider,
        bytes32 output,
        bytes calldata proof
    ) external nonReentrant {
        if (msg.sender != feeVault) revert UseFeeVault();
        if (r.mode != Mode.Zk) revert BadMode();
        if (taskId <= type(uint32).max || tasks[taskId].status != Status.None) revert TaskExists();
        (, TaskRecord memory rec) = _request(taskId, requester, r, custom);
        _zkSettle(taskId, rec, keccak256(abi.encode(rec)), provider, output, proof, true);
    }

    /// `custom` is true only from the FeeVault; the registry refuses a version whose fee token
    /// does not match it (a custom-token version requested here directly is `ModelNotActive`).
    /// `keyed` 0: the task gets the next sequential id; else `keyed` is its id.
    function _request(uint256 keyed, address requester, RequestInput calldata r, bool custom)
        internal
        returns (uint256 taskId, TaskRecord memory rec)
    {
        if (r.fee == 0) revert ZeroFee();
        if (r.deadline <= block.timestamp) revert BadDeadline();
        // zk: the registry also requires the version's verifier; a keyed (one-transaction zk)
        // request is checked by `_zkSettle`'s one registry read instead
        if (keyed == 0 && !registry.isUsable(r.modelId, r.version, r.mode == Mode.Zk, custom)) {
            revert ModelNotActive();
        }
        if (r.callbackGas > params.maxCallbackGas) revert CallbackGasTooHigh();
        // a zk proof covers one row; every other mode disputes one element of one row
        if (r.rows == 0 || (r.mode == Mode.Zk && r.rows != 1)) revert BadRows(r.rows);
        // an input named as blobs must be this transaction's blobs
        BlobInput.check(r.inputCid);

        taskId = keyed == 0 ? ++ledger.taskCount : keyed;
        rec = TaskRecord({
            requester: requester,
            fee: r.fee,
            modelId: r.modelId,
            version: r.version,
            mode: uint8(r.mode),
            vault: custom,
            rows: r.rows,
            inputCommitment: r.inputCommitment,
            callback: r.callback,
            callbackGas: r.callbackGas
        });
        uint256 flags = custom ? FLAG_VAULT : 0;
        if (r.callback != address(0)) flags |= FLAG_HAS_CALLBACK;
        bytes32 c0 = keccak256(abi.encode(rec));
        (uint256 modelId, uint256 mode, uint256 deadline) = (r.modelId, uint256(r.mode), r.deadline);
        Task storage t = tasks[taskId];
        // the two slots of a task, each written once (the `Task` layout: provider (none yet) |
        // modelId << 160 | mode << 192 | status << 200 | flags << 208 | deadline << 216)
        assembly ("memory-safe") {
            let s := t.slot
            sstore(
                s,
                or(or(shl(160, modelId), shl(192, mode)), or(or(shl(200, 1), shl(208, flags)), shl(216, deadline)))
            ) // status 1: Requested
            sstore(add(s, 1), c0)
        }
        if (r.mode == Mode.Committee) {
            Committee storage c = committees[taskId];
            c.ticket = uint40(randomness.request());
            c.snapshot = uint48(block.number - 1);
            c.size = params.committeeSize;
        }
        if (!custom) ledger.totalEscrow += r.fee;
        _emitRequested(taskId, requester, r, custom);

        if (custom) return (taskId, rec);
        uint256 bal = balances[requester];
        if (bal >= r.fee) {
            balances[requester] = bal - r.fee;
        } else {
            token.safeTransferFrom(requester, address(this), r.fee);
        }
    }

    /// `TaskRequested`, encoded in pieces (fourteen arguments are too many for the stack):
    /// the head's six static words, the two offsets, the three static words after them, then
    /// the CID and the inline input as `abi.encode(string, bytes)` lays them out.
    function _emitRequested(uint256 taskId, address requester, RequestInput calldata r, bool custom) internal {
        bytes memory head = abi.encode(r.version, r.mode, r.fee, r.deadline, r.inputCommitment, r.rows);
        bytes memory mid = abi.encode(r.callback, r.callbackGas, custom);
        bytes memory tail = abi.encode(r.inputCid, r.inlineInput);
        bytes32 topic = TaskRequested.selector;
        uint256 modelId = r.modelId;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mcopy(ptr, add(head, 0x20), 0xc0)
            // the dynamic parts start after eleven head words instead of two: 0x120 further
            mstore(add(ptr, 0xc0), add(mload(add(tail, 0x20)), 0x120))
            mstore(add(ptr, 0xe0), add(mload(add(tail, 0x40)), 0x120))
            mcopy(add(ptr, 0x100), add(mid, 0x20), 0x60)
            let n := sub(mload(tail), 0x40)
            mcopy(add(ptr, 0x160), add(tail, 0x60), n)
            log4(ptr, add(0x160, n), topic, taskId, requester, modelId)
        }
    }

    /// @notice Reverts `BadRecord` unless `rec` is the task's record and, once a result stands,
    /// `result` the standing result (ignored before). A task that does not exist has no record.
    function checkRecord(uint256 taskId, TaskRecord calldata rec, Claim calldata result) external view {
        _check(taskId, rec, result.output, result.traceRoot);
    }

    /// @notice Refunds a task nobody delivered by its deadline (optimistic, zk), or a committee
    /// task whose committee could not be drawn or never committed.
    function refund(uint256 taskId, TaskRecord calldata rec) external nonReentrant {
        Task storage t = tasks[taskId];
        if (t.status != Status.Requested) revert BadStatus(t.status);
        if (block.timestamp <= t.deadline) revert TooEarly();
        if (t.mode == Mode.Committee && committees[taskId].drawn) revert BadMode(); // use finalizeCommittee
        // requested and undrawn: no result stands, the commitment is the record's hash
        _check(taskId, rec, 0, 0);
        t.status = Status.Refunded;
        _refundFee(rec);
        emit Refunded(taskId);
        _notifyFailed(taskId, rec);
    }

    // ================================================================ optimistic

    function submit(uint256 taskId, bytes32 output, bytes32 traceRoot) external nonReentrant {
        Task storage t = tasks[taskId];
        if (t.mode != Mode.Optimistic) revert BadMode();
        if (t.status != Status.Requested) revert BadStatus(t.status);
        if (block.timestamp > t.deadline) revert DeadlinePassed();
        if (!staking.isOptedIn(t.modelId, msg.sender)) revert NotOptedIn();
        t.status = Status.Submitted;
        t.deadline = uint32(block.timestamp) + params.challengeWindow - 1;
        _stand(taskId, t.commitment, msg.sender, output, traceRoot);
        staking.lock(msg.sender, providerBond);
    }

    /// @notice Finalizes a task after its challenge window (optimistic, or a committee task
    /// whose dispute left a result standing). Non-empty `values` (the integer outputs) are
    /// checked against the output commitment and delivered to the callback; empty ones settle
    /// without delivering (`deliver` may follow).
    function finalize(uint256 taskId, TaskRecord calldata rec, Claim calldata result, int32[] calldata values)
        external
        nonReentrant
    {
        _check(taskId, rec, result.output, result.traceRoot);
        Task storage t = tasks[taskId];
        if (t.status != Status.Submitted) revert BadStatus(t.status);
        if (block.timestamp <= t.deadline) revert TooEarly();
        _settle(taskId, rec, _one(t.provider), true, result.output, result.traceRoot);
        _deliver(taskId, rec, result.output, values);
    }

    /// @notice Delivers a finalized task's result to its callback, once: `values` must open the
    /// output commitment. Anyone holding the values may call. Reverts
    /// `VouchResults.NotFinalized` before the task is final, `NothingDelivered` when there is
    /// nothing to deliver (no callback, no values, or delivered already).
    function deliver(uint256 taskId, TaskRecord calldata rec, Claim calldata result, int32[] calldata values)
        external
        nonReentrant
    {
        _check(taskId, rec, result.output, result.traceRoot);
        Status status = tasks[taskId].status;
        if (status != Status.Finalized) revert VouchResults.NotFinalized(taskId, uint8(status));
        if (!_deliver(taskId, rec, result.output, values)) revert NothingDelivered();
    }

    // ================================================================ zk

    /// @notice Fills a zk task with its output and proof: verified, settled and (the proof
    /// carries the values) delivered in this call.
    function submitZk(uint256 taskId, TaskRecord calldata rec, bytes32 output, bytes calldata proof)
        external
        nonReentrant
    {
        bytes32 c0 = _check(taskId, rec, 0, 0);
        Task storage t = tasks[taskId];
        if (t.mode != Mode.Zk) revert BadMode();
        if (t.status != Status.Requested) revert BadStatus(t.status);
        if (block.timestamp > t.deadline) revert DeadlinePassed();
        _zkSettle(taskId, rec, c0, msg.sender, output, proof, false);
    }

    /// Verifies a zk result and settles and delivers it. `fresh`: the task was requested in
    /// this call (`requestSubmitZkFor`), so the version must be usable for a zk request, which
    /// the registry read here checks instead of `_request`.
    function _zkSettle(
        uint256 taskId,
        TaskRecord memory rec,
        bytes32 c0,
        address provider,
        bytes32 output,
        bytes calldata proof,
        bool fresh
    ) internal {
        ModelRegistry.ZkVersion memory z = registry.zkVersion(rec.modelId, rec.version, fresh, rec.vault);
        if (z.verifier == address(0)) revert ModelNotActive();
        if (!IZkVerifier(z.verifier).verifyProof(z.weightsRoot, z.graphRoot, rec.inputCommitment, output, proof)) {
            revert ProofRejected();
        }
        bytes32 traceRoot = keccak256(proof);
        _stand(taskId, c0, provider, output, traceRoot);
        _settle(taskId, rec, _one(provider), false, output, traceRoot);
        // the proof carries the values; a proof format the delivery cannot read settles anyway
        if (rec.callback == address(0)) return;
        bytes memory data = _zkCallData(taskId, rec, output, proof, z);
        if (data.length != 0) _callbackOnce(taskId, rec, data);
    }

    /// The consumer call with the values a zk proof carries (vouch's exported verifiers take
    /// `proof = abi.encode(uint256[8] groth16, int32[] outputs)`), checked against the output
    /// commitment and the version's output sizes (`VouchResults.resultWith`); empty when the
    /// proof is in another format or its values do not open `output`: a zk task settles
    /// whatever its proof's layout, and its values may still be delivered with `deliver`. Never
    /// reverts on the proof's contents. Here rather than in `ResultDelivery`: the call cost ~4k.
    function _zkCallData(
        uint256 taskId,
        TaskRecord memory rec,
        bytes32 output,
        bytes calldata proof,
        ModelRegistry.ZkVersion memory z
    ) internal pure returns (bytes memory data) {
        (int32[] memory values, bool ok) = VouchResults.proofValues(proof);
        if (!ok || values.length == 0) return data;
        VouchResult memory r;
        (r, ok) = VouchResults.resultWith(taskId, rec, output, values, z.sizes, z.scales);
        if (ok) data = abi.encodeCall(IVouchConsumer.onVouchResult, (r));
    }

    // ================================================================ TaskManagerModule: committee, challenges, audits, disputes

    /// @notice Commits `keccak256(abi.encode(taskId, member, output, traceRoot, salt))`, appended
    /// to the task's commit chain, and locks the member's bond. The first commitment after the
    /// randomness is ready draws the committee (a pure function of the snapshot and the seed, so
    /// who triggers it and when changes nothing); later calls pass the drawn member list (from
    /// `CommitteeDrawn`).
    function commit(uint256, uint256, bytes32, address[] calldata) external nonReentrant {
        _delegate();
    }

    /// @notice Re-targets a committee task left undrawn after its snapshot aged out of the draw
    /// horizon (e.g. its randomness ticket expired): a new ticket and a new snapshot.
    function redraw(uint256) external nonReentrant {
        _delegate();
    }

    /// @notice Reveals a commitment (`mine`, `salt`) once every member committed or the commit
    /// deadline passed. The first reveal sets the task's result (`standing` is then ignored); a
    /// matching reveal agrees; a different one opens a dispute between the first revealer
    /// (defender) and this member (challenger). When all members have revealed in agreement the
    /// task finalizes in the same call. `commits` is the task's commitments in arrival order
    /// (the `Committed` events); it must hash to the commit chain and hold the caller's
    /// commitment. The caller must have committed itself, and commits are closed once reveals
    /// may start, so every opening is bound before any reveal.
    function reveal(
        uint256,
        TaskRecord calldata,
        Claim calldata,
        uint256,
        Claim calldata,
        bytes32,
        address[] calldata,
        bytes32[] calldata
    ) external nonReentrant {
        _delegate();
    }

    /// @notice After the reveal deadline: pays the agreeing revealers and slashes members that
    /// committed but did not reveal (into the audit pool; members that never committed locked
    /// nothing); with no reveal at all, refunds the requester (`result` is then ignored).
    /// Non-empty `values` are delivered as in `finalize`.
    function finalizeCommittee(uint256, TaskRecord calldata, Claim calldata, address[] calldata, int32[] calldata)
        external
        nonReentrant
    {
        _delegate();
    }

    /// @notice After a committee dispute, releases the bonds of the members that committed and
    /// were not parties to it.
    function releaseCommitteeBonds(uint256, address[] calldata) external nonReentrant {
        _delegate();
    }

    /// @notice Called by the DisputeGame when a dispute ends. The loser's bond goes to the
    /// winner; when both were wrong both bonds go to the audit pool. The winning result (the
    /// provider's, or either member's in a committee) stands for a fresh challenge window; a
    /// provider that lost an optimistic dispute, or a committee dispute both members lost, makes
    /// the task fail (fee refunded). A lost result records a strike on the model version; an
    /// audit dispute never reopens the finalized task.
    function resolveDispute(uint256, Outcome) external nonReentrant {
        _delegate();
    }

    /// @notice Challenges an optimistic result inside its window, posting the challenger's own
    /// result (`mine`) and a bond (from its credited balance or transferFrom).
    function challenge(uint256, TaskRecord calldata, Claim calldata, Claim calldata)
        external
        nonReentrant
        returns (uint256)
    {
        return abi.decode(_delegate(), (uint256));
    }

    /// @notice An auditor of a flagged task confirms the result by posting the same result. A
    /// confirmation does not close the audit: the posted values are public, so posting them
    /// proves no work, and a lie confirmed (by anyone, the liar included) can still be
    /// challenged until the audit window ends. The first confirmer is paid `auditReward` when
    /// the window ends unchallenged (`closeAudit`); a confirmer of a result later shown wrong
    /// gets nothing. A result other than the standing one is `BadRecord`.
    function confirmAudit(uint256, TaskRecord calldata, Claim calldata) external nonReentrant {
        _delegate();
    }

    /// @notice An auditor that disagrees with a flagged task opens a dispute (with a bond), also
    /// after a confirmation.
    function challengeAudit(uint256, TaskRecord calldata, Claim calldata, Claim calldata)
        external
        nonReentrant
        returns (uint256)
    {
        return abi.decode(_delegate(), (uint256));
    }

    /// @notice Ends an unchallenged audit after its window: releases the provider's bond and pays
    /// the confirmer, if any, `auditReward` from the pool.
    function closeAudit(uint256) external nonReentrant {
        _delegate();
    }

    /// Runs this call's function in the module on this contract's storage and returns its
    /// return data; its revert data passes through.
    function _delegate() internal returns (bytes memory ret) {
        address m = module;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, 0, calldatasize())
            if iszero(delegatecall(gas(), m, ptr, calldatasize(), 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            ret := ptr
            mstore(ret, returndatasize())
            returndatacopy(add(ret, 0x20), 0, returndatasize())
            mstore(0x40, add(add(ret, 0x20), and(add(returndatasize(), 31), not(31))))
        }
    }

    // ================================================================ balances

    function deposit(uint256 amount) external nonReentrant {
        _credit(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function withdraw() external nonReentrant {
        uint256 amount = balances[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    function fundAuditPool(uint256 amount) external nonReentrant {
        ledger.auditPool += uint96(amount);
        emit AuditPoolFunded(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ================================================================ governance

    function setDisputeGame(IDisputeGame game) external onlyGovernance {
        if (address(disputeGame) != address(0)) revert DisputeGameAlreadySet();
        disputeGame = game;
    }

    function setParams(Params calldata p) external onlyGovernance {
        _setParams(p);
    }

    function _setParams(Params memory p) internal {
        if (
            p.challengeWindow == 0 || p.committeeSize == 0 || p.committeeSize > MAX_COMMITTEE || p.auditBps > 10_000
                || p.auditFeeBps > 10_000
        ) {
            revert BadParams();
        }
        params = p;
        emit ParamsSet(p);
    }

    function transferGovernance(address to) external onlyGovernance {
        governance = to;
        emit GovernanceTransferred(to);
    }

    // ================================================================ views

    /// @notice A task's state word and commitment (its record and standing result come from its
    /// `TaskRequested` and last `ResultSubmitted` events).
    function getTask(uint256 taskId) external view returns (Task memory) {
        return tasks[taskId];
    }

    function getParams() external view returns (Params memory) {
        return params;
    }
}
