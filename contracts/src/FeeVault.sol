// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ModelRegistry} from "./ModelRegistry.sol";
import {TaskManager} from "./TaskManager.sol";
import {TaskRecord, Claim} from "./consumer/TaskRecord.sol";

/// @title FeeVault
/// @notice Fees in a token of the model version's choosing, and requests signed by clients.
///
/// Custom fee tokens: a version whose owner set a fee token (`ModelRegistry.setFeeToken`: an
/// ERC-20, or address(0) for ETH) is requested here (`request`); the vault takes the fee, asks
/// the TaskManager to record the task for the caller (`TaskManager.requestFor`) and escrows the
/// fee under the task id. The TaskManager settles the task as any other (its stakes and bonds
/// stay in the TaskManager's token) and never calls the vault; once the task is settled anyone
/// may `claim` its fee (passing the task's record and standing result, which the TaskManager
/// checks), which the vault credits from the task's state: a finalized task's fee
/// to the provider (optimistic, zk, a committee task settled after a dispute) or in equal shares
/// to the agreeing members (rounding dust to the first), a refunded or failed task's fee to its
/// requester. Credited balances are withdrawn with `withdraw` (pull based: settlement never
/// calls a token or an account). Custom-token fees pay no audit share (the audit pool holds the
/// TaskManager's token only). Tokens that deliver less than the amount sent (fee-on-transfer)
/// are refused: the vault's balance must grow by the fee exactly; rebasing tokens are not
/// supported. Accounting, per token, checked by the invariant tests:
/// `balanceOf(vault) == totalEscrow[token] + sum(balances[token][*])`.
///
/// Client-signed requests: a client signs the EIP-712 `Request` (domain "VouchFeeVault", "1",
/// the chain id and this contract) and anyone (a gateway) submits it with `requestSigned`; the
/// task's requester is the client, and the fee is taken from the client: in a custom token by
/// this vault, in the TaskManager's token by the TaskManager (its credited balance first).
/// An optional EIP-2612 permit (spender: this vault for a custom token, the TaskManager for its
/// own token) is applied first; a permit that fails (e.g. already used by a front-runner) is
/// ignored and the allowance decides. ETH fees cannot be signed for: the client must send them.
/// Replay protection: a nonce per client used once (any order; `cancelNonce` burns one), an
/// expiry, and the chain id and vault address in the domain. The one-transaction zk path
/// (`requestSignedZk`) keys its task by the signed digest instead of writing the nonce: the
/// task's own slots refuse a replay, `requestSigned` refuses a digest that has a task, and
/// `requestSignedZk` a used or cancelled nonce. Signatures of contract accounts
/// are checked with ERC-1271. A signed committee request is refused (`NoCommittee`) when the
/// model's providers could not draw a full committee now (`ProviderStaking.sample` at the
/// snapshot the TaskManager records): the client, not the submitter, pays the fee, and the
/// submitter's own check (the Rust client's, before a direct request) is not the client's.
contract FeeVault is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// An escrowed fee (one slot).
    struct Escrow {
        address token;
        uint96 amount;
    }

    /// The signed fields that are not the request itself.
    struct Signed {
        address client;
        address feeToken; // the token the client agrees to pay in
        uint256 nonce;
        uint256 expiry; // the signature's last valid second
    }

    /// An EIP-2612 permit to apply before taking the fee; `deadline == 0` for none.
    struct Permit {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// The EIP-712 type of a signed request.
    bytes32 public constant REQUEST_TYPEHASH = keccak256(
        "Request(address client,uint32 modelId,uint16 version,uint8 mode,address feeToken,uint88 fee,uint32 deadline,bytes32 inputCommitment,uint16 rows,string inputCid,bytes inlineInput,address callback,uint32 callbackGas,uint256 nonce,uint256 expiry)"
    );
    /// The fee token standing for ETH.
    address public constant ETH = address(0);

    ModelRegistry public immutable registry;
    address internal immutable deployer;
    /// Set once by the deployer (`bind`): the TaskManager and the vault name each other.
    TaskManager public taskManager;

    mapping(uint256 => Escrow) public escrows;
    /// token => fees of unsettled tasks
    mapping(address => uint256) public totalEscrow;
    /// token => account => credited, withdrawable
    mapping(address => mapping(address => uint256)) public balances;
    /// client => nonce => used
    mapping(address => mapping(uint256 => bool)) public nonceUsed;

    event Bound(address taskManager);
    event Escrowed(uint256 indexed taskId, address indexed token, address indexed payer, uint256 amount);
    event Claimed(uint256 indexed taskId, address indexed token, uint256 amount, bool refunded);
    event Credited(address indexed token, address indexed to, uint256 amount);
    event Withdrawn(address indexed token, address indexed to, uint256 amount);
    event SignedRequest(uint256 indexed taskId, address indexed client, uint256 nonce, address submitter);
    event NonceCancelled(address indexed client, uint256 nonce);

    error AlreadyBound();
    error NotTaskManager();
    error NotCustomFee();
    error WrongFeeToken(address expected);
    error BadValue();
    error FeeOnTransfer(uint256 received);
    error Expired();
    error NonceUsed();
    error BadSignature();
    error EthNeedsSender();
    error NothingToWithdraw();
    error EthTransferFailed();
    error NothingToClaim();
    error NotSettled();
    error BadMembers();
    error NoCommittee(uint256 needed, uint256 eligible);

    modifier onlyTaskManager() {
        if (msg.sender != address(taskManager)) revert NotTaskManager();
        _;
    }

    constructor(ModelRegistry registry_) EIP712("VouchFeeVault", "1") {
        registry = registry_;
        deployer = msg.sender;
    }

    /// @notice Names the TaskManager (built with this vault), once, by the deployer.
    function bind(TaskManager tm) external {
        if (msg.sender != deployer || address(taskManager) != address(0)) revert AlreadyBound();
        taskManager = tm;
        emit Bound(address(tm));
    }

    // ================================================================ requests

    /// @notice Requests a task of a version with a custom fee token, paid by the caller: ETH
    /// as `msg.value` (exactly the fee), an ERC-20 by transferFrom (approve this vault).
    /// `feeToken` must be the version's token (so a change by the model owner cannot make the
    /// caller pay in another).
    function request(TaskManager.RequestInput calldata r, address feeToken)
        external
        payable
        nonReentrant
        returns (uint256 taskId)
    {
        address token = _customToken(r.modelId, r.version);
        if (token != feeToken) revert WrongFeeToken(token);
        _pull(token, msg.sender, r.fee);
        taskId = taskManager.requestFor(msg.sender, r, true);
        _hold(taskId, token, msg.sender, r.fee);
    }

    /// @notice Submits a request `s.client` signed (see the contract notes); the caller pays
    /// only gas. Returns the task id.
    function requestSigned(
        TaskManager.RequestInput calldata r,
        Signed calldata s,
        bytes calldata signature,
        Permit calldata permit
    ) external nonReentrant returns (uint256 taskId) {
        bytes32 digest = _checkSigned(r, s, signature);
        // a signature the one-transaction zk path used has a task under its digest
        if (taskManager.getTask(uint256(digest)).status != TaskManager.Status.None) revert NonceUsed();
        nonceUsed[s.client][s.nonce] = true;
        (bool custom, address token) = _feeTokenAndPermit(r, s, permit);
        if (custom) _pull(token, s.client, r.fee);
        taskId = taskManager.requestFor(s.client, r, custom);
        if (custom) _hold(taskId, token, s.client, r.fee);
        emit SignedRequest(taskId, s.client, s.nonce, msg.sender);
    }

    /// @notice The one-transaction zk decision: a zk request `s.client` signed (the same digest
    /// as `requestSigned`) created and filled by the caller, its provider, with `output` and its
    /// `proof` (`TaskManager.requestSubmitZkFor`: verified, settled and delivered in this call).
    /// The task's id is the digest (`uint256(hashRequest(r, s))`, which the client knows before
    /// it is sent): the task's own state is the replay protection (the nonce is not written;
    /// `requestSigned` refuses a digest with a task, and this function a used or cancelled
    /// nonce). A rejected proof reverts the whole call, so the signature stays usable.
    function requestSignedZk(
        TaskManager.RequestInput calldata r,
        Signed calldata s,
        bytes calldata signature,
        Permit calldata permit,
        bytes32 output,
        bytes calldata proof
    ) external nonReentrant returns (uint256 taskId) {
        taskId = uint256(_checkSigned(r, s, signature));
        (bool custom, address token) = _feeTokenAndPermit(r, s, permit);
        if (custom) _pull(token, s.client, r.fee);
        taskManager.requestSubmitZkFor(taskId, s.client, r, custom, msg.sender, output, proof);
        if (custom) _hold(taskId, token, s.client, r.fee);
    }

    /// Checks a signed request's expiry, nonce (unused) and signature; returns its digest.
    function _checkSigned(TaskManager.RequestInput calldata r, Signed calldata s, bytes calldata signature)
        internal
        view
        returns (bytes32 digest)
    {
        if (block.timestamp > s.expiry) revert Expired();
        if (nonceUsed[s.client][s.nonce]) revert NonceUsed();
        digest = hashRequest(r, s);
        if (!SignatureChecker.isValidSignatureNow(s.client, digest, signature)) revert BadSignature();
    }

    /// The version's fee token, which must be the signed one, after applying the permit.
    function _feeTokenAndPermit(TaskManager.RequestInput calldata r, Signed calldata s, Permit calldata permit)
        internal
        returns (bool custom, address token)
    {
        (custom, token) = registry.feeToken(r.modelId, r.version);
        if (!custom) token = address(taskManager.token());
        if (token != s.feeToken) revert WrongFeeToken(token);
        if (custom && token == ETH) revert EthNeedsSender();
        if (r.mode == TaskManager.Mode.Committee) _requireCommittee(r.modelId);
        if (permit.deadline != 0) {
            address spender = custom ? address(this) : address(taskManager);
            // a failed permit (front-run, or a token without permit) leaves the allowance to decide
            try IERC20Permit(token)
                .permit(s.client, spender, permit.value, permit.deadline, permit.v, permit.r, permit.s) {}
                catch {}
        }
    }

    /// @notice Burns one of the caller's nonces, so a request signed with it can never be used.
    function cancelNonce(uint256 nonce) external {
        nonceUsed[msg.sender][nonce] = true;
        emit NonceCancelled(msg.sender, nonce);
    }

    /// @notice The EIP-712 digest a client signs for `r` and `s`.
    function hashRequest(TaskManager.RequestInput calldata r, Signed calldata s) public view returns (bytes32) {
        // two halves keep the stack shallow; static fields encode to one word each either way
        bytes memory a =
            abi.encode(REQUEST_TYPEHASH, s.client, r.modelId, r.version, uint8(r.mode), s.feeToken, r.fee, r.deadline);
        bytes memory b = abi.encode(
            r.inputCommitment,
            r.rows,
            keccak256(bytes(r.inputCid)),
            keccak256(r.inlineInput),
            r.callback,
            r.callbackGas,
            s.nonce,
            s.expiry
        );
        return _hashTypedDataV4(keccak256(bytes.concat(a, b)));
    }

    /// @notice The EIP-712 domain separator (for clients that build the digest themselves).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ================================================================ settlement (TaskManager)

    /// @notice Credits a settled task's escrowed fee (see the contract notes). `rec` and
    /// `result` are the task's record and standing result (its `TaskRequested` and last
    /// `ResultSubmitted` events; `result` is ignored for a task no result stood for), checked
    /// against the task (`TaskManager.BadRecord`). `members` is the drawn committee (the
    /// `CommitteeDrawn` event) when the task is a committee task finalized without a dispute,
    /// else ignored. Anyone may call; the fee goes where the task's state says.
    function claim(uint256 taskId, TaskRecord calldata rec, Claim calldata result, address[] calldata members)
        external
        nonReentrant
    {
        Escrow memory e = escrows[taskId];
        if (e.amount == 0) revert NothingToClaim();
        TaskManager tm = taskManager;
        tm.checkRecord(taskId, rec, result);
        TaskManager.Task memory t = tm.getTask(taskId);
        address[] memory payees = new address[](1);
        bool refunded = t.status == TaskManager.Status.Refunded || t.status == TaskManager.Status.Failed;
        if (refunded) {
            payees[0] = rec.requester;
        } else if (t.status != TaskManager.Status.Finalized) {
            revert NotSettled();
        } else {
            payees[0] = t.provider;
            if (t.mode == TaskManager.Mode.Committee) payees = _committeePayees(taskId, t.provider, members);
        }
        delete escrows[taskId];
        totalEscrow[e.token] -= e.amount;
        emit Claimed(taskId, e.token, e.amount, refunded);
        uint256 share = e.amount / payees.length;
        _credit(e.token, payees[0], e.amount - share * (payees.length - 1));
        for (uint256 i = 1; i < payees.length; ++i) {
            _credit(e.token, payees[i], share);
        }
    }

    /// The payees of a finalized committee task: the provider alone when a member disagreed
    /// (a disagreeing reveal always opens a dispute, after which the standing result's member is
    /// paid), else the members that revealed in agreement (the TaskManager's own split).
    function _committeePayees(uint256 taskId, address provider, address[] calldata members)
        internal
        view
        returns (address[] memory out)
    {
        (,,,, uint8 revealMask, uint8 agreeMask,, bytes16 membersHash) = taskManager.committees(taskId);
        out = new address[](1);
        out[0] = provider;
        if (revealMask != agreeMask) return out;
        if (bytes16(keccak256(abi.encode(members))) != membersHash) revert BadMembers();
        out = new address[](members.length);
        uint256 n;
        for (uint256 i; i < members.length; ++i) {
            if (agreeMask & (uint256(1) << i) != 0) out[n++] = members[i];
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
    }

    // ================================================================ balances

    /// @notice Withdraws the caller's whole credited balance in `token` (address(0): ETH).
    function withdraw(address token) external nonReentrant {
        uint256 amount = balances[token][msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        balances[token][msg.sender] = 0;
        emit Withdrawn(token, msg.sender, amount);
        if (token == ETH) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert EthTransferFailed();
        } else {
            IERC20(token).safeTransfer(msg.sender, amount);
        }
    }

    // ================================================================ internals

    /// Refuses a committee task of `modelId` whose draw could not fill the committee now: the
    /// providers eligible at the snapshot the TaskManager records (the block before this one)
    /// with at least `committeeBond` of stake. The count does not depend on the seed.
    function _requireCommittee(uint32 modelId) internal view {
        TaskManager tm = taskManager;
        uint256 needed = tm.getParams().committeeSize;
        uint256 eligible =
            tm.staking().sample(modelId, bytes32(0), needed, tm.committeeBond(), uint48(block.number - 1)).length;
        if (eligible < needed) revert NoCommittee(needed, eligible);
    }

    function _customToken(uint32 modelId, uint16 version) internal view returns (address token) {
        bool custom;
        (custom, token) = registry.feeToken(modelId, version);
        if (!custom) revert NotCustomFee();
    }

    /// Takes `amount` of `token` from `from` into the vault: ETH must come as the call's value;
    /// an ERC-20 must raise the vault's balance by exactly `amount`.
    function _pull(address token, address from, uint256 amount) internal {
        if (token == ETH) {
            if (msg.value != amount) revert BadValue();
            return;
        }
        if (msg.value != 0) revert BadValue();
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(from, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert FeeOnTransfer(received);
    }

    function _hold(uint256 taskId, address token, address payer, uint256 amount) internal {
        escrows[taskId] = Escrow({token: token, amount: uint96(amount)});
        totalEscrow[token] += amount;
        emit Escrowed(taskId, token, payer, amount);
    }

    function _credit(address token, address to, uint256 amount) internal {
        if (amount == 0) return;
        balances[token][to] += amount;
        emit Credited(token, to, amount);
    }
}
