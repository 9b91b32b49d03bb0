// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title ProviderStaking
/// @notice Providers stake tokens, opt in per model, and are drawn into committees by stake.
/// Settlement contracts (allowed by governance) lock part of a stake as a task bond, unlock it,
/// or slash it; only locked stake can be slashed, so a provider can lose only bonds of tasks it
/// took. Withdrawing goes through an unbonding delay; locked stake cannot start unbonding.
///
/// Committee draws read a snapshot: each provider's draw weight (its stake, zero once ejected)
/// is checkpointed by block, and each model's opt-ins are seats with the blocks they opened and
/// closed, so `sample(..., snapshot)` is a pure function of the state at the end of block
/// `snapshot` and the seed. A provider that stakes, unbonds or opts in after a seed is known
/// cannot change a draw whose snapshot is older. A seat closed by an opt-out is reused (keeping
/// every other seat's position) only once no draw can read it: draws accept snapshots at most
/// `SNAPSHOT_HORIZON` blocks old.
///
/// Every slash is a fault; at `maxFaults` faults the provider is ejected: it can no longer lock
/// a bond (so it takes no task and cannot commit in a committee), is never drawn, cannot opt in
/// or stake more; its stake can only unbond. Governance may reinstate it.
///
/// Accounting (checked by the invariant tests):
/// `token.balanceOf(this) == totalStaked + totalUnbonding`.
contract ProviderStaking is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    struct Provider {
        // slot 0: everything a draw reads
        uint96 stake; // includes `locked`
        uint96 locked;
        uint48 weightSince; // block of the last change of the draw weight
        uint8 faults; // slashes since joining or since reinstated
        bool ejected;
        // slot 1
        uint128 unbonding;
        uint64 unbondAt;
    }

    /// One opt-in of `provider` to a model: opted in at the end of every block in
    /// `[since, until)` (`until` is `OPEN` while it lasts).
    struct Seat {
        address provider;
        uint48 since;
        uint48 until;
    }

    /// A provider's latest seat in a model: its index + 1, and whether it is open.
    struct SeatRef {
        uint32 index;
        bool open;
    }

    uint256 public constant MAX_PROVIDERS_PER_MODEL = 256;
    /// Draws accept snapshots at most this many blocks old (the EVM keeps 256 block hashes).
    uint256 public constant SNAPSHOT_HORIZON = 256;
    uint48 internal constant OPEN = type(uint48).max;

    IERC20 public immutable token;
    address public governance;
    uint64 public unbondingDelay;
    uint128 public minStake;
    /// Slashes after which a provider is ejected; 0 never ejects.
    uint8 public maxFaults;
    uint256 public totalStaked;
    uint256 public totalUnbonding;

    mapping(address => bool) public slashers;
    mapping(address => Provider) internal _providers;
    /// Draw weight checkpoints by block (`Provider.weightSince` says whether the latest applies).
    mapping(address => Checkpoints.Trace208) internal _weights;
    mapping(uint32 => Seat[]) internal _seats;
    mapping(uint32 => mapping(address => SeatRef)) internal _seatOf;

    event Staked(address indexed provider, uint256 amount);
    event UnbondRequested(address indexed provider, uint256 amount, uint64 unbondAt);
    event Withdrawn(address indexed provider, uint256 amount);
    event OptedIn(address indexed provider, uint32 indexed modelId);
    event OptedOut(address indexed provider, uint32 indexed modelId);
    event Locked(address indexed provider, uint256 amount);
    event Unlocked(address indexed provider, uint256 amount);
    event Slashed(address indexed provider, uint256 amount, address indexed to);
    event ProviderEjected(address indexed provider, uint8 faults);
    event ProviderReinstated(address indexed provider);
    event SlasherSet(address indexed slasher, bool allowed);
    event ParamsSet(uint64 unbondingDelay, uint128 minStake, uint8 maxFaults);
    event GovernanceTransferred(address indexed to);

    error NotGovernance();
    error NotSlasher();
    error ZeroAmount();
    error InsufficientFreeStake(uint256 free, uint256 wanted);
    error InsufficientLocked(uint256 locked, uint256 wanted);
    error BelowMinStake();
    error NothingToWithdraw();
    error StillUnbonding(uint64 unbondAt);
    error AlreadyOptedIn();
    error NotOptedIn();
    error TooManyProviders();
    error ZeroAddress();
    error Ejected(address provider);
    error SnapshotNotFinal(uint256 snapshot);
    error SnapshotTooOld(uint256 snapshot);

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance();
        _;
    }

    modifier onlySlasher() {
        if (!slashers[msg.sender]) revert NotSlasher();
        _;
    }

    constructor(IERC20 token_, address governance_, uint64 unbondingDelay_, uint128 minStake_, uint8 maxFaults_) {
        if (governance_ == address(0)) revert ZeroAddress();
        token = token_;
        governance = governance_;
        unbondingDelay = unbondingDelay_;
        minStake = minStake_;
        maxFaults = maxFaults_;
    }

    // ---------------------------------------------------------------- providers

    /// @notice Adds to the caller's stake (refused once ejected).
    function stake(uint128 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        Provider storage p = _providers[msg.sender];
        if (p.ejected) revert Ejected(msg.sender);
        p.stake = SafeCast.toUint96(uint256(p.stake) + amount);
        _checkpoint(msg.sender, p);
        totalStaked += amount;
        emit Staked(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Moves free stake into unbonding; it can be withdrawn after the delay. A new
    /// request restarts the delay for everything unbonding.
    function requestUnbond(uint128 amount) external {
        if (amount == 0) revert ZeroAmount();
        Provider storage p = _providers[msg.sender];
        uint256 free = p.stake - p.locked;
        if (amount > free) revert InsufficientFreeStake(free, amount);
        p.stake -= uint96(amount);
        _checkpoint(msg.sender, p);
        p.unbonding += amount;
        p.unbondAt = uint64(block.timestamp) + unbondingDelay;
        totalStaked -= amount;
        totalUnbonding += amount;
        emit UnbondRequested(msg.sender, amount, p.unbondAt);
    }

    function withdraw() external nonReentrant {
        Provider storage p = _providers[msg.sender];
        uint128 amount = p.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < p.unbondAt) revert StillUnbonding(p.unbondAt);
        p.unbonding = 0;
        totalUnbonding -= amount;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice Opts the caller in to `modelId` from the end of this block on. Takes the
    /// caller's own earlier seat, a new seat, or (at `MAX_PROVIDERS_PER_MODEL`) a seat closed
    /// more than `SNAPSHOT_HORIZON` blocks ago, so no pending draw sees the change.
    function optIn(uint32 modelId) external {
        Provider storage p = _providers[msg.sender];
        if (p.ejected) revert Ejected(msg.sender);
        if (p.stake < minStake) revert BelowMinStake();
        SeatRef storage ref = _seatOf[modelId][msg.sender];
        if (ref.open) revert AlreadyOptedIn();
        Seat[] storage seats = _seats[modelId];
        uint256 i = ref.index;
        if (i == 0 || !_stale(seats[i - 1])) {
            if (seats.length < MAX_PROVIDERS_PER_MODEL) {
                seats.push();
                i = seats.length;
            } else {
                i = _staleSeat(seats) + 1;
                address prev = seats[i - 1].provider;
                // the previous holder's reference, unless it has moved to a newer seat
                if (prev != msg.sender && _seatOf[modelId][prev].index == i) delete _seatOf[modelId][prev];
            }
        }
        seats[i - 1] = Seat({provider: msg.sender, since: uint48(block.number), until: OPEN});
        _seatOf[modelId][msg.sender] = SeatRef({index: uint32(i), open: true});
        emit OptedIn(msg.sender, modelId);
    }

    /// @notice Opts the caller out of `modelId` from the end of this block on.
    function optOut(uint32 modelId) external {
        SeatRef storage ref = _seatOf[modelId][msg.sender];
        if (!ref.open) revert NotOptedIn();
        ref.open = false;
        _seats[modelId][ref.index - 1].until = uint48(block.number);
        emit OptedOut(msg.sender, modelId);
    }

    function _stale(Seat storage s) internal view returns (bool) {
        return s.until != OPEN && uint256(s.until) + SNAPSHOT_HORIZON <= block.number;
    }

    function _staleSeat(Seat[] storage seats) internal view returns (uint256) {
        for (uint256 i; i < seats.length; ++i) {
            if (_stale(seats[i])) return i;
        }
        revert TooManyProviders();
    }

    /// Records the provider's current draw weight as of this block.
    function _checkpoint(address who, Provider storage p) internal {
        p.weightSince = uint48(block.number);
        _weights[who].push(uint48(block.number), p.ejected ? 0 : p.stake);
    }

    // ---------------------------------------------------------------- reads

    /// What `providers` returns about one provider.
    struct ProviderInfo {
        uint128 stake; // includes `locked`
        uint128 locked;
        uint128 unbonding;
        uint64 unbondAt;
        uint8 faults; // slashes counted towards ejection
        bool ejected;
    }

    /// @notice A provider's stake, locked part, unbonding amount and its release time, faults
    /// and ejection.
    function providers(address provider) external view returns (ProviderInfo memory) {
        Provider storage p = _providers[provider];
        return ProviderInfo(p.stake, p.locked, p.unbonding, p.unbondAt, p.faults, p.ejected);
    }

    function freeStake(address provider) public view returns (uint256) {
        Provider storage p = _providers[provider];
        return p.stake - p.locked;
    }

    function isOptedIn(uint32 modelId, address provider) public view returns (bool) {
        return _seatOf[modelId][provider].open;
    }

    /// @notice The providers opted in to `modelId` now, in seat order.
    function modelProviders(uint32 modelId) external view returns (address[] memory out) {
        Seat[] storage seats = _seats[modelId];
        out = new address[](seats.length);
        uint256 n;
        for (uint256 i; i < seats.length; ++i) {
            if (seats[i].until == OPEN) out[n++] = seats[i].provider;
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
    }

    /// @notice The draw weight of `provider` at the end of block `blockNumber`: its stake then,
    /// or zero if it was ejected then.
    function weightAt(address provider, uint48 blockNumber) public view returns (uint256) {
        Provider storage p = _providers[provider];
        if (p.weightSince <= blockNumber) return p.ejected ? 0 : p.stake;
        return _weights[provider].upperLookupRecent(blockNumber);
    }

    /// @notice Draws `k` distinct providers that were opted in to `modelId` at the end of block
    /// `snapshot` with a weight of at least `minWeight` then, with probability proportional to
    /// that weight (successive draws without replacement). A pure function of the state at the
    /// end of `snapshot` and `seed`; reverts unless `snapshot` is a past block at most
    /// `SNAPSHOT_HORIZON` blocks old. Returns fewer than `k` when fewer are eligible.
    function sample(uint32 modelId, bytes32 seed, uint256 k, uint256 minWeight, uint48 snapshot)
        public
        view
        returns (address[] memory chosen)
    {
        if (snapshot >= block.number) revert SnapshotNotFinal(snapshot);
        if (block.number > uint256(snapshot) + SNAPSHOT_HORIZON) revert SnapshotTooOld(snapshot);
        Seat[] storage seats = _seats[modelId];
        uint256 n = seats.length;
        address[] memory cands = new address[](n);
        uint256[] memory weights = new uint256[](n);
        uint256 total;
        uint256 m;
        for (uint256 i; i < n; ++i) {
            Seat memory s = seats[i];
            if (s.since > snapshot || s.until <= snapshot) continue;
            uint256 w = weightAt(s.provider, snapshot);
            if (w >= minWeight && w != 0) {
                cands[m] = s.provider;
                weights[m] = w;
                total += w;
                ++m;
            }
        }
        if (k > m) k = m;
        chosen = new address[](k);
        for (uint256 j; j < k; ++j) {
            uint256 r = uint256(keccak256(abi.encode(seed, j))) % total;
            uint256 i;
            while (r >= weights[i]) {
                r -= weights[i];
                ++i;
            }
            chosen[j] = cands[i];
            total -= weights[i];
            weights[i] = 0;
        }
    }

    // ---------------------------------------------------------------- settlement

    /// @notice Locks `amount` of free stake as a bond; refused once the provider is ejected.
    function lock(address provider, uint256 amount) external onlySlasher {
        Provider storage p = _providers[provider];
        if (p.ejected) revert Ejected(provider);
        uint256 free = p.stake - p.locked;
        if (amount > free) revert InsufficientFreeStake(free, amount);
        p.locked += uint96(amount);
        emit Locked(provider, amount);
    }

    function unlock(address provider, uint256 amount) external onlySlasher {
        Provider storage p = _providers[provider];
        if (amount > p.locked) revert InsufficientLocked(p.locked, amount);
        p.locked -= uint96(amount);
        emit Unlocked(provider, amount);
    }

    /// @notice `unlock` for several providers in one call; zero addresses are skipped.
    function unlockMany(address[] calldata ps, uint256 amount) external onlySlasher {
        for (uint256 i; i < ps.length; ++i) {
            if (ps[i] == address(0)) continue;
            Provider storage p = _providers[ps[i]];
            if (amount > p.locked) revert InsufficientLocked(p.locked, amount);
            p.locked -= uint96(amount);
            emit Unlocked(ps[i], amount);
        }
    }

    /// @notice Takes `amount` of the provider's locked stake and sends it to `to`. Counts a
    /// fault; at `maxFaults` faults the provider is ejected.
    function slash(address provider, uint256 amount, address to) external onlySlasher nonReentrant {
        Provider storage p = _providers[provider];
        if (amount > p.locked) revert InsufficientLocked(p.locked, amount);
        p.locked -= uint96(amount);
        p.stake -= uint96(amount);
        if (p.faults < type(uint8).max) ++p.faults;
        if (!p.ejected && maxFaults != 0 && p.faults >= maxFaults) {
            p.ejected = true;
            emit ProviderEjected(provider, p.faults);
        }
        _checkpoint(provider, p);
        totalStaked -= amount;
        emit Slashed(provider, amount, to);
        token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- governance

    function setSlasher(address slasher, bool allowed) external onlyGovernance {
        slashers[slasher] = allowed;
        emit SlasherSet(slasher, allowed);
    }

    function setParams(uint64 unbondingDelay_, uint128 minStake_, uint8 maxFaults_) external onlyGovernance {
        unbondingDelay = unbondingDelay_;
        minStake = minStake_;
        maxFaults = maxFaults_;
        emit ParamsSet(unbondingDelay_, minStake_, maxFaults_);
    }

    /// @notice Lifts an ejection (faults reset); the draw weight counts again from this block.
    function reinstate(address provider) external onlyGovernance {
        Provider storage p = _providers[provider];
        p.ejected = false;
        p.faults = 0;
        _checkpoint(provider, p);
        emit ProviderReinstated(provider);
    }

    function transferGovernance(address to) external onlyGovernance {
        if (to == address(0)) revert ZeroAddress();
        governance = to;
        emit GovernanceTransferred(to);
    }
}
