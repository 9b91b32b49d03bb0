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
import {IVouchConsumer} from "./consumer/IVouchConsumer.sol";
import {ResultDelivery} from "./ResultDelivery.sol";

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
/// requested through the `FeeVault` (`requestFor`; the task carries `FLAG_VAULT` and fee 0, the
/// `TaskRequested` event the fee), which escrows its fee in that token and pays or refunds it
/// from the settled task's state (`FeeVault.claim`); such a fee is outside the ledger above. The vault also forwards client-signed requests.
///
/// A task may name a consumer contract (`IVouchConsumer`) as its callback. Its result reaches
/// the consumer only once final, with the output values checked against the output commitment
/// (by `ResultDelivery`, docs/semantics.md section 10): in `submitZk` (the proof carries the
/// values), in `finalize`/`finalizeCommittee` when the caller passes the values, or later in one
/// `deliver` by anyone holding them. Settlement never waits for the values.
///
/// Finalized tasks append a receipt leaf
/// `keccak256(abi.encode(taskId, modelId, version, inputCommitment, outputCommitment, mode, traceRoot))`
/// to a hash chain (`receiptHead = keccak256(abi.encode(receiptHead, leaf))`, leaves in the
/// `Finalized` events); the ReceiptAttester turns it into EAS attestations.
contract TaskManager is ReentrancyGuardTransient, IDisputeResolver {
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

    struct Task {
        // slot 0
        address requester;
        uint88 fee;
        uint8 flags;
        // slot 1
        address provider; // optimistic/zk: the submitter; committee: the first revealer
        uint32 modelId;
        uint16 version;
        Mode mode;
        Status status;
        uint32 deadline;
        // slots 2-4
        bytes32 inputCommitment;
        bytes32 outputCommitment;
        bytes32 traceRoot;
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
        string inputCid; // empty when the input is inline
        bytes inlineInput; // canonical tensor bytes of the graph inputs, or empty
        address callback; // optional IVouchConsumer
        uint32 callbackGas;
    }

    uint8 internal constant FLAG_AUDIT = 1;
    uint8 internal constant FLAG_AUDIT_CLOSED = 2;
    uint8 internal constant FLAG_AUDIT_FAILED = 4;
    uint8 internal constant FLAG_ROWS = 8; // more than one row: `_rows` holds the count
    uint8 internal constant FLAG_CALLBACK_FAILED = 16;
    uint8 internal constant FLAG_HAS_CALLBACK = 32; // a callback was named (its slot is cleared on delivery)
    uint8 internal constant FLAG_VAULT = 64; // the fee is escrowed by the FeeVault in the version's fee token
    uint8 internal constant MAX_COMMITTEE = 8;
    /// `ProviderStaking.SNAPSHOT_HORIZON`: draws refuse older snapshots (a test checks they match)
    uint256 internal constant SNAPSHOT_HORIZON = 256;

    IERC20 public immutable token;
    ModelRegistry public immutable registry;
    ProviderStaking public immutable staking;
    IRandomnessSource public immutable randomness;
    /// Checks a result's values and encodes the consumer call (created here, stateless).
    ResultDelivery public immutable delivery;
    /// Escrows fees in tokens other than `token` and forwards client-signed requests.
    address public immutable feeVault;
    /// Bonds locked from provider stakes. Immutable so that every unlock/slash matches the lock
    /// it undoes; changing them means deploying a new TaskManager.
    uint96 public immutable providerBond;
    uint96 public immutable committeeBond;

    address public governance;
    IDisputeGame public disputeGame;
    Params internal params;

    /// Hot counters packed in one slot (a request and a finalize each write it once).
    struct Ledger {
        uint96 totalEscrow; // fees of unsettled tasks
        uint96 auditPool;
        uint32 taskCount;
        uint32 receiptCount;
    }

    struct Callback {
        address target;
        uint32 gas;
    }

    Ledger public ledger;
    uint128 public totalBonds; // challenger bonds escrowed here
    bytes32 public receiptHead;

    mapping(uint256 => Task) internal tasks;
    mapping(uint256 => Committee) public committees;
    /// Committee commitments of a task as a hash chain in arrival order:
    /// `chain = keccak256(abi.encode(chain, commitment))` from `bytes32(0)`. One slot per task
    /// instead of one per member; a reveal passes the list (from the `Committed` events) and the
    /// chain proves it (collision resistance of keccak256, no truncation).
    mapping(uint256 => bytes32) internal commitChain;
    mapping(uint256 => Dispute) internal disputes;
    mapping(uint256 => Callback) public callbacks;
    mapping(address => uint256) public balances;
    /// Rows of a batched task; absent (0) for the common single-row task, so a single-row
    /// request writes no extra slot.
    mapping(uint256 => uint16) internal _rows;
    /// The first confirmer of a flagged task's audit, paid when the audit closes unchallenged.
    mapping(uint256 => address) public auditors;

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
        bytes inlineInput
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
    ) {
        providerBond = providerBond_;
        committeeBond = committeeBond_;
        token = token_;
        registry = registry_;
        staking = staking_;
        randomness = randomness_;
        feeVault = feeVault_;
        governance = governance_;
        delivery = new ResultDelivery();
        _setParams(params_);
    }

    // ================================================================ requests

    /// @notice Requests an inference with the fee escrowed (from the caller's credited balance
    /// when it suffices, else pulled with transferFrom). A version with a custom fee token is
    /// requested through the FeeVault instead.
    function request(RequestInput calldata r) external nonReentrant returns (uint256 taskId) {
        return _request(msg.sender, r, false);
    }

    /// @notice The FeeVault's entry: a request for `requester`, who authorized it (its own call
    /// to the vault, or its signature). `custom`: the version's fee is in its own token, already
    /// with the vault, which records it under the returned id (the registry checks the version
    /// agrees); otherwise the fee in `token` is taken from `requester` here.
    function requestFor(address requester, RequestInput calldata r, bool custom)
        external
        nonReentrant
        returns (uint256)
    {
        if (msg.sender != feeVault) revert UseFeeVault();
        return _request(requester, r, custom);
    }

    /// `custom` is true only from the FeeVault; the registry refuses a version whose fee token
    /// does not match it (a custom-token version requested here directly is `ModelNotActive`).
    function _request(address requester, RequestInput calldata r, bool custom) internal returns (uint256 taskId) {
        if (r.fee == 0) revert ZeroFee();
        if (r.deadline <= block.timestamp) revert BadDeadline();
        // zk: the registry also requires the version's verifier
        if (!registry.isUsable(r.modelId, r.version, r.mode == Mode.Zk, custom)) revert ModelNotActive();
        if (r.callbackGas > params.maxCallbackGas) revert CallbackGasTooHigh();
        // a zk proof covers one row; every other mode disputes one element of one row
        if (r.rows == 0 || (r.mode == Mode.Zk && r.rows != 1)) revert BadRows(r.rows);

        taskId = ++ledger.taskCount;
        uint256 flags = custom ? FLAG_VAULT : 0;
        if (r.rows > 1) {
            flags |= FLAG_ROWS;
            _rows[taskId] = r.rows;
        }
        if (r.callback != address(0)) {
            flags |= FLAG_HAS_CALLBACK;
            callbacks[taskId] = Callback({target: r.callback, gas: r.callbackGas});
        }
        // the FeeVault holds a custom-token fee: 0 here
        uint256 fee = custom ? 0 : r.fee;
        uint256 mode = uint256(r.mode);
        (uint256 modelId, uint256 version, uint256 deadline, bytes32 input) =
            (r.modelId, r.version, r.deadline, r.inputCommitment);
        Task storage t = tasks[taskId];
        // the three slots a request fills, each written once (the `Task` layout: slot 0
        // requester | fee << 160 | flags << 248; slot 1 provider (none yet) | modelId << 160 |
        // version << 192 | mode << 208 | status << 216 | deadline << 224); getTask reads them back
        assembly ("memory-safe") {
            let s := t.slot
            sstore(s, or(requester, or(shl(160, fee), shl(248, flags))))
            sstore(
                add(s, 1),
                or(
                    or(shl(160, modelId), shl(192, version)),
                    or(or(shl(208, mode), shl(216, 1)), shl(224, deadline)) // status 1: Requested
                )
            )
            sstore(add(s, 2), input)
        }
        if (r.mode == Mode.Committee) {
            Committee storage c = committees[taskId];
            c.ticket = uint40(randomness.request());
            c.snapshot = uint48(block.number - 1);
            c.size = params.committeeSize;
        }
        if (!custom) ledger.totalEscrow += r.fee;
        _emitRequested(taskId, requester, r);

        if (custom) return taskId;
        uint256 bal = balances[requester];
        if (bal >= r.fee) {
            balances[requester] = bal - r.fee;
        } else {
            token.safeTransferFrom(requester, address(this), r.fee);
        }
    }

    function _emitRequested(uint256 taskId, address requester, RequestInput calldata r) internal {
        emit TaskRequested(
            taskId,
            requester,
            r.modelId,
            r.version,
            r.mode,
            r.fee,
            r.deadline,
            r.inputCommitment,
            r.rows,
            r.inputCid,
            r.inlineInput
        );
    }

    function _one(address a) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    /// Gives a task's fee back to its requester (a FeeVault task's fee is 0 here: the vault
    /// refunds it from this task's state).
    function _refundFee(Task storage t) internal {
        ledger.totalEscrow -= t.fee;
        _credit(t.requester, t.fee);
    }

    /// @notice Refunds a task nobody delivered by its deadline (optimistic, zk), or a committee
    /// task whose committee could not be drawn or never committed.
    function refund(uint256 taskId) external nonReentrant {
        Task storage t = tasks[taskId];
        if (t.status != Status.Requested) revert BadStatus(t.status);
        if (block.timestamp <= t.deadline) revert TooEarly();
        if (t.mode == Mode.Committee && committees[taskId].drawn) revert BadMode(); // use finalizeCommittee
        t.status = Status.Refunded;
        _refundFee(t);
        emit Refunded(taskId);
        _notifyFailed(taskId);
    }

    // ================================================================ optimistic

    function submit(uint256 taskId, bytes32 output, bytes32 traceRoot) external nonReentrant {
        Task storage t = tasks[taskId];
        if (t.mode != Mode.Optimistic) revert BadMode();
        if (t.status != Status.Requested) revert BadStatus(t.status);
        if (block.timestamp > t.deadline) revert DeadlinePassed();
        if (!staking.isOptedIn(t.modelId, msg.sender)) revert NotOptedIn();
        t.provider = msg.sender;
        t.status = Status.Submitted;
        t.deadline = uint32(block.timestamp) + params.challengeWindow - 1;
        t.outputCommitment = output;
        t.traceRoot = traceRoot;
        emit ResultSubmitted(taskId, msg.sender, output, traceRoot);
        staking.lock(msg.sender, providerBond);
    }

    /// @notice Challenges an optimistic result inside its window, posting the challenger's own
    /// output commitment and trace root and a bond (from its credited balance or transferFrom).
    function challenge(uint256 taskId, bytes32 output, bytes32 traceRoot)
        external
        nonReentrant
        returns (uint256 disputeId)
    {
        Task storage t = tasks[taskId];
        if (t.status != Status.Submitted) revert BadStatus(t.status);
        if (block.timestamp > t.deadline) revert DeadlinePassed();
        t.status = Status.Disputed;
        disputeId = _openEscrowedDispute(taskId, t, output, traceRoot, 0);
    }

    /// @notice Finalizes a task after its challenge window (optimistic, or a committee task
    /// whose dispute left a result standing). Non-empty `values` (the integer outputs) are
    /// checked against the output commitment and delivered to the callback; empty ones settle
    /// without delivering (`deliver` may follow).
    function finalize(uint256 taskId, int32[] calldata) external nonReentrant {
        Task storage t = tasks[taskId];
        if (t.status != Status.Submitted) revert BadStatus(t.status);
        if (block.timestamp <= t.deadline) revert TooEarly();
        _settle(taskId, t, _one(t.provider), true);
        _deliver(taskId, ResultDelivery.callData.selector);
    }

    /// @notice Delivers a finalized task's result to its callback, once: `values` must open the
    /// output commitment. Anyone holding the values may call.
    /// The values reach `ResultDelivery.callData` as they are (`_deliver`).
    function deliver(uint256 taskId, int32[] calldata) external nonReentrant {
        if (!_deliver(taskId, ResultDelivery.callData.selector)) revert NothingDelivered();
    }

    // ================================================================ zk

    function submitZk(uint256 taskId, bytes32 output, bytes calldata proof) external nonReentrant {
        Task storage t = tasks[taskId];
        if (t.mode != Mode.Zk) revert BadMode();
        if (t.status != Status.Requested) revert BadStatus(t.status);
        if (block.timestamp > t.deadline) revert DeadlinePassed();
        (bytes32 weightsRoot, bytes32 graphRoot, address verifier) = registry.commitments(t.modelId, t.version);
        if (!IZkVerifier(verifier).verifyProof(weightsRoot, graphRoot, t.inputCommitment, output, proof)) {
            revert ProofRejected();
        }
        t.provider = msg.sender;
        t.outputCommitment = output;
        t.traceRoot = keccak256(proof);
        emit ResultSubmitted(taskId, msg.sender, output, t.traceRoot);
        _settle(taskId, t, _one(msg.sender), false);
        // the proof carries the values; a proof format the delivery cannot read settles anyway
        _deliver(taskId, ResultDelivery.zkCallData.selector);
    }

    // ================================================================ committee

    /// @notice Commits `keccak256(abi.encode(taskId, member, output, traceRoot, salt))`, appended
    /// to the task's commit chain, and locks the member's bond. The first commitment after the
    /// randomness is ready draws the committee (a pure function of the snapshot and the seed, so
    /// who triggers it and when changes nothing); later calls pass the drawn member list (from
    /// `CommitteeDrawn`).
    function commit(uint256 taskId, uint256 idx, bytes32 commitment, address[] calldata members) external nonReentrant {
        Task storage t = tasks[taskId];
        if (t.mode != Mode.Committee) revert BadMode();
        if (t.status != Status.Requested) revert BadStatus(t.status);
        if (block.timestamp > t.deadline) revert DeadlinePassed();
        Committee storage c = committees[taskId];
        address member;
        if (!c.drawn) {
            address[] memory drawn = _draw(taskId, t, c);
            if (idx >= drawn.length) revert NotMember();
            member = drawn[idx];
        } else {
            if (bytes16(keccak256(abi.encode(members))) != c.membersHash) revert BadMembers();
            if (idx >= members.length) revert NotMember();
            member = members[idx];
        }
        if (member != msg.sender) revert NotMember();
        uint8 bit = uint8(uint256(1) << idx);
        if (c.commitMask & bit != 0) revert AlreadyCommitted();
        c.commitMask |= bit;
        commitChain[taskId] = keccak256(abi.encode(commitChain[taskId], commitment));
        emit Committed(taskId, msg.sender, commitment);
        staking.lock(msg.sender, committeeBond);
    }

    /// @notice Re-targets a committee task left undrawn after its snapshot aged out of the draw
    /// horizon (e.g. its randomness ticket expired): a new ticket and a new snapshot.
    function redraw(uint256 taskId) external {
        Task storage t = tasks[taskId];
        Committee storage c = committees[taskId];
        if (t.mode != Mode.Committee || t.status != Status.Requested || c.drawn) revert BadStatus(t.status);
        if (block.number <= uint256(c.snapshot) + SNAPSHOT_HORIZON) revert TooEarly();
        c.ticket = uint40(randomness.request());
        c.snapshot = uint48(block.number - 1);
    }

    function _draw(uint256 taskId, Task storage t, Committee storage c) internal returns (address[] memory m) {
        bytes32 seed = keccak256(abi.encode(randomness.randomness(c.ticket), taskId));
        m = staking.sample(t.modelId, seed, c.size, committeeBond, c.snapshot);
        if (m.length != c.size) revert NotEnoughProviders();
        c.drawn = true;
        c.membersHash = bytes16(keccak256(abi.encode(m)));
        emit CommitteeDrawn(taskId, m);
    }

    /// @notice Reveals a commitment once every member committed or the commit deadline passed.
    /// The first reveal sets the task's result; a matching reveal agrees; a different one opens
    /// a dispute between the first revealer (defender) and this member (challenger). When all
    /// members have revealed in agreement the task finalizes in the same call. `commits` is the
    /// task's commitments in arrival order (the `Committed` events); it must hash to the commit
    /// chain and hold the caller's commitment. The caller must have committed itself (its bit),
    /// and commits are closed once reveals may start, so every opening is bound before any reveal.
    function reveal(
        uint256 taskId,
        uint256 idx,
        bytes32 output,
        bytes32 traceRoot,
        bytes32 salt,
        address[] calldata members,
        bytes32[] calldata commits
    ) external nonReentrant {
        Task storage t = tasks[taskId];
        Committee storage c = committees[taskId];
        if (t.mode != Mode.Committee || !c.drawn) revert BadMode();
        if (t.status != Status.Requested) revert BadStatus(t.status);
        if (c.commitMask != _full(c) && block.timestamp <= t.deadline) revert TooEarly();
        if (block.timestamp > uint256(t.deadline) + params.revealWindow) revert DeadlinePassed();
        if (bytes16(keccak256(abi.encode(members))) != c.membersHash) revert BadMembers();
        if (idx >= members.length || members[idx] != msg.sender) revert NotMember();
        uint8 bit = uint8(uint256(1) << idx);
        if (c.revealMask & bit != 0) revert AlreadyRevealed();
        if (c.commitMask & bit == 0) revert BadReveal();
        _checkOpening(taskId, output, traceRoot, salt, commits);
        c.revealMask |= bit;
        emit Revealed(taskId, msg.sender, output, traceRoot);
        if (c.agreeMask == 0) {
            c.agreeMask = bit;
            t.provider = msg.sender;
            t.outputCommitment = output;
            t.traceRoot = traceRoot;
        } else if (output == t.outputCommitment && traceRoot == t.traceRoot) {
            c.agreeMask |= bit;
        } else {
            _openCommitteeDispute(taskId, t, output, traceRoot);
            return;
        }
        if (c.agreeMask == _full(c)) {
            _settle(taskId, t, _agreeing(members, c.agreeMask), true);
        }
    }

    /// @notice After the reveal deadline: pays the agreeing revealers and slashes members that
    /// committed but did not reveal (into the audit pool; members that never committed locked
    /// nothing); with no reveal at all, refunds the requester. Non-empty `values` are delivered
    /// as in `finalize`.
    function finalizeCommittee(uint256 taskId, address[] calldata members, int32[] calldata) external nonReentrant {
        Task storage t = tasks[taskId];
        Committee storage c = committees[taskId];
        if (t.mode != Mode.Committee || !c.drawn) revert BadMode();
        if (t.status != Status.Requested) revert BadStatus(t.status);
        if (block.timestamp <= uint256(t.deadline) + params.revealWindow) revert TooEarly();
        if (bytes16(keccak256(abi.encode(members))) != c.membersHash) revert BadMembers();
        uint96 bond = committeeBond;
        // effects first: status, then the slashes (interactions with the trusted staking contract)
        bool anyReveal = c.agreeMask != 0;
        if (!anyReveal) {
            t.status = Status.Refunded;
            _refundFee(t);
            emit Refunded(taskId);
        }
        for (uint256 i; i < members.length; ++i) {
            if ((c.commitMask & ~c.agreeMask) & (uint256(1) << i) != 0) {
                ledger.auditPool += bond;
                _slash(members[i], bond);
            }
        }
        if (anyReveal) {
            // slashed members' bonds were counted into the pool above; agreeing ones are unlocked in _settle
            _settle(taskId, t, _agreeing(members, c.agreeMask), true);
            _deliver(taskId, ResultDelivery.committeeCallData.selector);
        } else {
            _notifyFailed(taskId);
        }
    }

    /// Reverts unless `commits` hashes to the task's commit chain and contains the caller's
    /// commitment to `(output, traceRoot, salt)`.
    function _checkOpening(uint256 taskId, bytes32 output, bytes32 traceRoot, bytes32 salt, bytes32[] calldata commits)
        internal
        view
    {
        bytes32 mine = keccak256(abi.encode(taskId, msg.sender, output, traceRoot, salt));
        bytes32 chain;
        bool found;
        for (uint256 i; i < commits.length; ++i) {
            bytes32 x = commits[i];
            chain = keccak256(abi.encode(chain, x));
            if (x == mine) found = true;
        }
        if (!found || chain != commitChain[taskId]) revert BadReveal();
    }

    function _openCommitteeDispute(uint256 taskId, Task storage t, bytes32 output, bytes32 traceRoot) internal {
        t.status = Status.Disputed;
        disputes[taskId] = Dispute({
            challenger: msg.sender, challengerBond: 0, kind: 1, challengerOutput: output, challengerTrace: traceRoot
        });
        uint256 disputeId = disputeGame.open(_disputeParams(taskId, t, msg.sender, output, traceRoot), taskRows(taskId));
        emit Challenged(taskId, msg.sender, disputeId, 1);
    }

    function _full(Committee storage c) internal view returns (uint8) {
        return uint8((uint256(1) << c.size) - 1);
    }

    function _agreeing(address[] calldata members, uint8 mask) internal pure returns (address[] memory out) {
        out = new address[](members.length);
        uint256 n;
        for (uint256 i; i < members.length; ++i) {
            if (mask & (uint256(1) << i) != 0) out[n++] = members[i];
        }
        assembly ("memory-safe") {
            mstore(out, n) // shrink to the agreeing members (the tail stays allocated, unused)
        }
    }

    // ================================================================ audits

    /// @notice An auditor of a flagged task confirms the result by posting the same output and
    /// trace root. A confirmation does not close the audit: the posted values are public, so
    /// posting them proves no work, and a lie confirmed (by anyone, the liar included) can still
    /// be challenged until the audit window ends. The first confirmer is paid `auditReward` when
    /// the window ends unchallenged (`closeAudit`); a confirmer of a result later shown wrong
    /// gets nothing.
    function confirmAudit(uint256 taskId, bytes32 output, bytes32 traceRoot) external nonReentrant {
        Task storage t = tasks[taskId];
        _requireOpenAudit(t);
        if (output != t.outputCommitment || traceRoot != t.traceRoot) revert BadReveal();
        if (msg.sender == t.provider || auditors[taskId] != address(0)) revert NotAudited();
        auditors[taskId] = msg.sender;
        emit AuditConfirmed(taskId, msg.sender);
    }

    /// @notice An auditor that disagrees with a flagged task opens a dispute (with a bond), also
    /// after a confirmation.
    function challengeAudit(uint256 taskId, bytes32 output, bytes32 traceRoot)
        external
        nonReentrant
        returns (uint256 disputeId)
    {
        Task storage t = tasks[taskId];
        _requireOpenAudit(t);
        t.flags |= FLAG_AUDIT_CLOSED; // one audit dispute per task
        disputeId = _openEscrowedDispute(taskId, t, output, traceRoot, 2);
    }

    /// @notice Ends an unchallenged audit after its window: releases the provider's bond and pays
    /// the confirmer, if any, `auditReward` from the pool.
    function closeAudit(uint256 taskId) external nonReentrant {
        Task storage t = tasks[taskId];
        if (_auditOpen(t)) revert TooEarly();
        t.flags |= FLAG_AUDIT_CLOSED;
        address auditor = auditors[taskId];
        if (auditor != address(0)) _payAuditReward(auditor);
        emit AuditClosed(taskId, auditor, false);
        _unlock(t.provider, _bondOf(t));
    }

    function _payAuditReward(address to) internal {
        uint96 reward = params.auditReward;
        if (reward > ledger.auditPool) reward = ledger.auditPool;
        ledger.auditPool -= reward;
        _credit(to, reward);
    }

    function _requireOpenAudit(Task storage t) internal view {
        if (!_auditOpen(t)) revert DeadlinePassed();
    }

    /// Whether a flagged task's audit window is still running; reverts `NotAudited` for a task
    /// not flagged or whose audit closed.
    function _auditOpen(Task storage t) internal view returns (bool) {
        if (t.status != Status.Finalized || t.flags & (FLAG_AUDIT | FLAG_AUDIT_CLOSED) != FLAG_AUDIT) {
            revert NotAudited();
        }
        return block.timestamp <= t.deadline;
    }

    // ================================================================ disputes

    function _openEscrowedDispute(uint256 taskId, Task storage t, bytes32 output, bytes32 traceRoot, uint8 kind)
        internal
        returns (uint256 disputeId)
    {
        uint96 bond = params.challengerBond;
        disputes[taskId] = Dispute({
            challenger: msg.sender, challengerBond: bond, kind: kind, challengerOutput: output, challengerTrace: 0
        });
        totalBonds += bond;
        uint256 bal = balances[msg.sender];
        if (bal >= bond) {
            balances[msg.sender] = bal - bond;
        } else {
            token.safeTransferFrom(msg.sender, address(this), bond);
        }
        disputeId = disputeGame.open(_disputeParams(taskId, t, msg.sender, output, traceRoot), taskRows(taskId));
        emit Challenged(taskId, msg.sender, disputeId, kind);
    }

    function _disputeParams(uint256 taskId, Task storage t, address challenger, bytes32 output, bytes32 traceRoot)
        internal
        view
        returns (DisputeParams memory p)
    {
        (bytes32 weightsRoot, bytes32 graphRoot,) = registry.commitments(t.modelId, t.version);
        p = DisputeParams({
            taskId: taskId,
            defender: t.provider,
            challenger: challenger,
            defenderOutput: t.outputCommitment,
            defenderTrace: t.traceRoot,
            challengerOutput: output,
            challengerTrace: traceRoot,
            inputCommitment: t.inputCommitment,
            weightsRoot: weightsRoot,
            graphRoot: graphRoot
        });
    }

    /// @notice Called by the DisputeGame when a dispute ends. The loser's bond goes to the
    /// winner; when both were wrong both bonds go to the audit pool. The winning result (the
    /// provider's, or either member's in a committee) stands for a fresh challenge window; a
    /// provider that lost an optimistic dispute, or a committee dispute both members lost, makes
    /// the task fail (fee refunded). A lost result records a strike on the model version; an
    /// audit dispute never reopens the finalized task.
    function resolveDispute(uint256 taskId, Outcome outcome) external nonReentrant {
        if (msg.sender != address(disputeGame)) revert NotDisputeGame();
        Task storage t = tasks[taskId];
        Dispute memory d = disputes[taskId];
        delete disputes[taskId];
        emit DisputeResolved(taskId, outcome);
        address defender = t.provider;
        uint256 defBond = _bondOf(t);

        if (d.kind == 2) {
            // audit of a finalized task: status stays Finalized
            if (outcome == Outcome.DefenderWins) {
                _releaseChallengerBond(d, defender);
                _unlock(defender, defBond);
            } else {
                t.flags |= FLAG_AUDIT_FAILED;
                _loserPays(d, defender, defBond, outcome);
                if (outcome == Outcome.ChallengerWins) _payAuditReward(d.challenger);
                _strike(t, defender);
            }
            emit AuditClosed(taskId, d.challenger, outcome != Outcome.DefenderWins);
            return;
        }

        if (t.status != Status.Disputed) revert BadStatus(t.status);
        if (outcome == Outcome.DefenderWins || (d.kind == 1 && outcome == Outcome.ChallengerWins)) {
            // A result stands: the provider's, or in a committee the winning member's. Its side
            // gets the loser's bond and the task goes back to a fresh challenge window, after
            // which `finalize` pays the standing side.
            if (d.kind == 1) {
                address loser = d.challenger;
                if (outcome == Outcome.ChallengerWins) {
                    loser = defender;
                    t.provider = d.challenger;
                    t.outputCommitment = d.challengerOutput;
                    t.traceRoot = d.challengerTrace;
                    _strike(t, defender);
                }
                // the members that were not parties get their bonds back (releaseCommitteeBonds)
                releaseExcept[taskId] = loser;
                _credit(t.provider, defBond);
                _slash(loser, defBond);
            } else {
                _releaseChallengerBond(d, defender);
            }
            t.status = Status.Submitted;
            t.deadline = uint32(block.timestamp) + params.challengeWindow - 1;
            return;
        }
        // a lost optimistic result, or a committee dispute both parties lost: the task fails and
        // the fee goes back; the committee's other members get their bonds back.
        t.status = Status.Failed;
        _refundFee(t);
        _loserPays(d, defender, defBond, outcome);
        if (d.kind == 1) releaseExcept[taskId] = d.challenger;
        _strike(t, defender);
        _notifyFailed(taskId);
    }

    function _loserPays(Dispute memory d, address defender, uint256 defBond, Outcome outcome) internal {
        if (outcome == Outcome.ChallengerWins) {
            _releaseChallengerBond(d, d.challenger); // challenger gets its own bond back
            _credit(d.challenger, defBond); // and the defender's
            _slash(defender, defBond);
        } else {
            // both wrong: both bonds to the audit pool
            if (d.kind != 1) {
                totalBonds -= d.challengerBond;
                ledger.auditPool += d.challengerBond;
            } else {
                ledger.auditPool += uint96(committeeBond);
                _slash(d.challenger, committeeBond);
            }
            ledger.auditPool += uint96(defBond);
            _slash(defender, defBond);
        }
    }

    function _releaseChallengerBond(Dispute memory d, address to) internal {
        if (d.kind != 1) {
            totalBonds -= d.challengerBond;
            _credit(to, d.challengerBond);
        } else if (to != d.challenger) {
            // committee challenger lost: its locked bond goes to `to`
            _credit(to, committeeBond);
            _slash(d.challenger, committeeBond);
        } else {
            _unlock(d.challenger, committeeBond);
        }
    }

    /// @notice After a committee dispute: the party whose bond the dispute settled other than the
    /// task's provider (the loser, or the challenger when both lost); zero once released.
    mapping(uint256 => address) public releaseExcept;

    /// @notice After a committee dispute, releases the bonds of the members that committed and
    /// were not parties to it.
    function releaseCommitteeBonds(uint256 taskId, address[] calldata members) external nonReentrant {
        address party = releaseExcept[taskId];
        if (party == address(0)) revert BadStatus(tasks[taskId].status);
        Committee storage c = committees[taskId];
        if (bytes16(keccak256(abi.encode(members))) != c.membersHash) revert BadMembers();
        delete releaseExcept[taskId];
        address defender = tasks[taskId].provider;
        for (uint256 i; i < members.length; ++i) {
            address m = members[i];
            if (m == defender || m == party || c.commitMask & (uint256(1) << i) == 0) continue;
            _unlock(m, committeeBond);
        }
    }

    // ================================================================ settlement

    function _settle(uint256 taskId, Task storage t, address[] memory payees, bool bonded) internal {
        t.status = Status.Finalized;
        // a FeeVault task has fee 0 here: the vault pays its fee from this task's state
        uint256 fee = t.fee;
        uint256 cut = fee * params.auditFeeBps / 10_000;
        uint256 share = (fee - cut) / payees.length;
        cut = fee - share * payees.length; // rounding dust to the pool
        ledger.totalEscrow -= uint96(fee);
        ledger.auditPool += uint96(cut);
        for (uint256 i; i < payees.length; ++i) {
            _credit(payees[i], share);
        }

        bytes32 leaf = keccak256(_receiptData(taskId, t));
        bytes32 head = keccak256(abi.encode(receiptHead, leaf));
        receiptHead = head;
        uint32 index = ledger.receiptCount++;
        emit Finalized(taskId, t.outputCommitment, leaf, index);

        if (bonded) {
            uint256 bond = _bondOf(t);
            bool audit = params.auditBps != 0
                && uint256(keccak256(abi.encode(randomness.current(), taskId))) % 10_000 < params.auditBps;
            // the provider (first revealer in a committee) keeps its bond locked while audited
            if (audit) {
                for (uint256 i; i < payees.length; ++i) {
                    if (payees[i] == t.provider) payees[i] = address(0);
                }
            }
            staking.unlockMany(payees, bond);
            if (audit) {
                t.flags |= FLAG_AUDIT;
                t.deadline = uint32(block.timestamp) + params.auditWindow;
                emit AuditFlagged(taskId, t.deadline);
            }
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
    function _strike(Task storage t, address loser) internal {
        registry.recordStrike(t.modelId, t.version, loser);
    }

    function _bondOf(Task storage t) internal view returns (uint256) {
        return t.mode == Mode.Committee ? committeeBond : providerBond;
    }

    function _credit(address to, uint256 amount) internal {
        if (amount == 0) return;
        balances[to] += amount;
        emit Credited(to, amount);
    }

    /// Delivers a finalized task's result once (its callback slot is cleared first); a task
    /// without a callback, or one delivered already, gets nothing. The call's arguments go to
    /// `ResultDelivery` as they are, under `selector` (its functions take the same argument
    /// layout as the TaskManager function that delivers), which reverts unless the values open
    /// the output commitment and returns the consumer call (`zkCallData`: empty when the proof
    /// holds no values it can read, then nothing is delivered).
    function _deliver(uint256 taskId, bytes4 selector) internal returns (bool) {
        if (tasks[taskId].flags & FLAG_HAS_CALLBACK == 0) return false;
        Callback storage cb = callbacks[taskId];
        (address target, uint256 gasCap) = (cb.target, cb.gas);
        if (target == address(0)) return false;
        address d = address(delivery);
        bytes memory data;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, 0, calldatasize())
            mstore(ptr, or(shr(32, shl(32, mload(ptr))), selector))
            if iszero(staticcall(gas(), d, ptr, calldatasize(), 0, 0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            // the return data is `abi.encode(bytes)`: offset 0x20, then length and contents
            returndatacopy(ptr, 0x20, sub(returndatasize(), 0x20))
            data := ptr
            mstore(0x40, add(ptr, and(add(add(mload(ptr), 0x20), 31), not(31))))
        }
        if (data.length == 0) return false;
        delete callbacks[taskId];
        _callback(taskId, target, gasCap, data);
        return true;
    }

    function _notifyFailed(uint256 taskId) internal {
        if (tasks[taskId].flags & FLAG_HAS_CALLBACK == 0) return;
        Callback storage cb = callbacks[taskId];
        _callback(taskId, cb.target, cb.gas, abi.encodeCall(IVouchConsumer.onVouchFailed, (taskId)));
    }

    /// @notice Calls the consumer with a gas cap. The call's failure (revert, out of gas) is
    /// recorded and ignored; the caller must supply enough gas that the cap is really available,
    /// so a finalizer cannot make the callback fail on purpose. Return data is never copied.
    function _callback(uint256 taskId, address target, uint256 gasCap, bytes memory data) internal {
        if (gasleft() < gasCap + gasCap / 63 + 10_000) revert InsufficientGasForCallback();
        bool success;
        assembly ("memory-safe") {
            success := call(gasCap, target, 0, add(data, 0x20), mload(data), 0, 0)
        }
        if (!success) {
            tasks[taskId].flags |= FLAG_CALLBACK_FAILED;
            emit CallbackFailed(taskId);
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

    /// The receipt leaf preimage of a task.
    function _receiptData(uint256 taskId, Task storage t) internal view returns (bytes memory) {
        return abi.encode(
            taskId, t.modelId, uint32(t.version), t.inputCommitment, t.outputCommitment, uint8(t.mode), t.traceRoot
        );
    }

    /// @notice Rows of a task's input (1 unless the request asked for more).
    function taskRows(uint256 taskId) public view returns (uint16) {
        uint16 n = _rows[taskId];
        return n == 0 ? 1 : n;
    }

    function getTask(uint256 taskId) external view returns (Task memory) {
        return tasks[taskId];
    }

    function getParams() external view returns (Params memory) {
        return params;
    }
}
