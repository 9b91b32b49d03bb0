// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title ProviderStaking
/// @notice Providers stake tokens, opt in per model, and are sampled by stake. Settlement
/// contracts (allowed by governance) lock part of a stake as a task bond, unlock it, or slash
/// it; only locked stake can be slashed, so a provider can lose only bonds of tasks it took.
/// Withdrawing goes through an unbonding delay; locked stake cannot start unbonding.
///
/// Accounting (checked by the invariant tests):
/// `token.balanceOf(this) == totalStaked + totalUnbonding`.
contract ProviderStaking is ReentrancyGuard {
    using SafeERC20 for IERC20;

    struct Provider {
        uint128 stake; // includes `locked`
        uint128 locked;
        uint128 unbonding;
        uint64 unbondAt;
    }

    uint256 public constant MAX_PROVIDERS_PER_MODEL = 256;

    IERC20 public immutable token;
    address public governance;
    uint64 public unbondingDelay;
    uint128 public minStake;
    uint256 public totalStaked;
    uint256 public totalUnbonding;

    mapping(address => bool) public slashers;
    mapping(address => Provider) public providers;
    mapping(uint32 => address[]) internal _modelProviders;
    mapping(uint32 => mapping(address => uint256)) internal _modelIndex; // index + 1

    event Staked(address indexed provider, uint256 amount);
    event UnbondRequested(address indexed provider, uint256 amount, uint64 unbondAt);
    event Withdrawn(address indexed provider, uint256 amount);
    event OptedIn(address indexed provider, uint32 indexed modelId);
    event OptedOut(address indexed provider, uint32 indexed modelId);
    event Locked(address indexed provider, uint256 amount);
    event Unlocked(address indexed provider, uint256 amount);
    event Slashed(address indexed provider, uint256 amount, address indexed to);
    event SlasherSet(address indexed slasher, bool allowed);
    event ParamsSet(uint64 unbondingDelay, uint128 minStake);
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

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance();
        _;
    }

    modifier onlySlasher() {
        if (!slashers[msg.sender]) revert NotSlasher();
        _;
    }

    constructor(IERC20 token_, address governance_, uint64 unbondingDelay_, uint128 minStake_) {
        if (governance_ == address(0)) revert ZeroAddress();
        token = token_;
        governance = governance_;
        unbondingDelay = unbondingDelay_;
        minStake = minStake_;
    }

    // ---------------------------------------------------------------- providers

    function stake(uint128 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        providers[msg.sender].stake += amount;
        totalStaked += amount;
        emit Staked(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Moves free stake into unbonding; it can be withdrawn after the delay. A new
    /// request restarts the delay for everything unbonding.
    function requestUnbond(uint128 amount) external {
        if (amount == 0) revert ZeroAmount();
        Provider storage p = providers[msg.sender];
        uint256 free = p.stake - p.locked;
        if (amount > free) revert InsufficientFreeStake(free, amount);
        p.stake -= amount;
        p.unbonding += amount;
        p.unbondAt = uint64(block.timestamp) + unbondingDelay;
        totalStaked -= amount;
        totalUnbonding += amount;
        emit UnbondRequested(msg.sender, amount, p.unbondAt);
    }

    function withdraw() external nonReentrant {
        Provider storage p = providers[msg.sender];
        uint128 amount = p.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < p.unbondAt) revert StillUnbonding(p.unbondAt);
        p.unbonding = 0;
        totalUnbonding -= amount;
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    function optIn(uint32 modelId) external {
        if (providers[msg.sender].stake < minStake) revert BelowMinStake();
        if (_modelIndex[modelId][msg.sender] != 0) revert AlreadyOptedIn();
        address[] storage list = _modelProviders[modelId];
        if (list.length >= MAX_PROVIDERS_PER_MODEL) revert TooManyProviders();
        list.push(msg.sender);
        _modelIndex[modelId][msg.sender] = list.length;
        emit OptedIn(msg.sender, modelId);
    }

    function optOut(uint32 modelId) external {
        uint256 idx = _modelIndex[modelId][msg.sender];
        if (idx == 0) revert NotOptedIn();
        address[] storage list = _modelProviders[modelId];
        address last = list[list.length - 1];
        list[idx - 1] = last;
        _modelIndex[modelId][last] = idx;
        list.pop();
        delete _modelIndex[modelId][msg.sender];
        emit OptedOut(msg.sender, modelId);
    }

    // ---------------------------------------------------------------- reads

    function freeStake(address provider) public view returns (uint256) {
        Provider storage p = providers[provider];
        return p.stake - p.locked;
    }

    function isOptedIn(uint32 modelId, address provider) public view returns (bool) {
        return _modelIndex[modelId][provider] != 0;
    }

    function modelProviders(uint32 modelId) external view returns (address[] memory) {
        return _modelProviders[modelId];
    }

    /// @notice Draws `k` distinct providers opted in to `modelId`, each with at least `minFree`
    /// free stake, with probability proportional to free stake (successive draws without
    /// replacement). Deterministic in `seed` and the current stakes. Returns fewer than `k`
    /// when fewer are eligible.
    function sample(uint32 modelId, bytes32 seed, uint256 k, uint256 minFree)
        public
        view
        returns (address[] memory chosen)
    {
        address[] storage list = _modelProviders[modelId];
        uint256 n = list.length;
        address[] memory cands = new address[](n);
        uint256[] memory weights = new uint256[](n);
        uint256 total;
        uint256 m;
        for (uint256 i; i < n; ++i) {
            address a = list[i];
            uint256 f = freeStake(a);
            if (f >= minFree && f != 0) {
                cands[m] = a;
                weights[m] = f;
                total += f;
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

    function lock(address provider, uint256 amount) external onlySlasher {
        Provider storage p = providers[provider];
        uint256 free = p.stake - p.locked;
        if (amount > free) revert InsufficientFreeStake(free, amount);
        p.locked += uint128(amount);
        emit Locked(provider, amount);
    }

    function unlock(address provider, uint256 amount) external onlySlasher {
        Provider storage p = providers[provider];
        if (amount > p.locked) revert InsufficientLocked(p.locked, amount);
        p.locked -= uint128(amount);
        emit Unlocked(provider, amount);
    }

    /// @notice `lock` for several providers in one call (committees).
    function lockMany(address[] calldata ps, uint256 amount) external onlySlasher {
        for (uint256 i; i < ps.length; ++i) {
            Provider storage p = providers[ps[i]];
            uint256 free = p.stake - p.locked;
            if (amount > free) revert InsufficientFreeStake(free, amount);
            p.locked += uint128(amount);
            emit Locked(ps[i], amount);
        }
    }

    /// @notice `unlock` for several providers in one call; zero addresses are skipped.
    function unlockMany(address[] calldata ps, uint256 amount) external onlySlasher {
        for (uint256 i; i < ps.length; ++i) {
            if (ps[i] == address(0)) continue;
            Provider storage p = providers[ps[i]];
            if (amount > p.locked) revert InsufficientLocked(p.locked, amount);
            p.locked -= uint128(amount);
            emit Unlocked(ps[i], amount);
        }
    }

    /// @notice Takes `amount` of the provider's locked stake and sends it to `to`.
    function slash(address provider, uint256 amount, address to) external onlySlasher nonReentrant {
        Provider storage p = providers[provider];
        if (amount > p.locked) revert InsufficientLocked(p.locked, amount);
        p.locked -= uint128(amount);
        p.stake -= uint128(amount);
        totalStaked -= amount;
        emit Slashed(provider, amount, to);
        token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- governance

    function setSlasher(address slasher, bool allowed) external onlyGovernance {
        slashers[slasher] = allowed;
        emit SlasherSet(slasher, allowed);
    }

    function setParams(uint64 unbondingDelay_, uint128 minStake_) external onlyGovernance {
        unbondingDelay = unbondingDelay_;
        minStake = minStake_;
        emit ParamsSet(unbondingDelay_, minStake_);
    }

    function transferGovernance(address to) external onlyGovernance {
        if (to == address(0)) revert ZeroAddress();
        governance = to;
        emit GovernanceTransferred(to);
    }
}
