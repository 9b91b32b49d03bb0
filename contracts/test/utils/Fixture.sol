// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {RecordBook} from "./RecordBook.sol";
import {VouchDeploy} from "../../script/Deploy.s.sol";
import {VouchToken} from "../../src/VouchToken.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderStaking} from "../../src/ProviderStaking.sol";
import {TaskManager} from "../../src/TaskManager.sol";
import {DisputeGame} from "../../src/DisputeGame.sol";
import {ReceiptAttester} from "../../src/ReceiptAttester.sol";

/// @notice Deploys the protocol exactly as the deploy script does and funds a cast of actors.
abstract contract Fixture is RecordBook {
    VouchDeploy.Deployment internal d;
    VouchDeploy.Config internal cfg;
    VouchToken internal token;
    ModelRegistry internal registry;
    ProviderStaking internal staking;
    TaskManager internal tm;
    DisputeGame internal game;
    ReceiptAttester internal receipts;

    address internal requester = address(0xA11CE);
    address internal challenger = address(0xC4A1);
    address internal modelOwner = address(0x0DE1);
    address[] internal providers;

    uint32 internal modelId;
    /// The graph outputs `_registerModel` registers (none unless a test pushes some).
    ModelRegistry.OutputSpec[] internal outputSpecs;
    uint16 internal constant VERSION = 1;
    uint88 internal constant FEE = 10 ether;
    uint128 internal constant STAKE = 10_000 ether;

    function setUp() public virtual {
        _deploy(VouchDeploy.defaultConfig(address(this)));
    }

    /// Deploys with `c` and funds the actors (the fuzz campaigns call it with random configs).
    function _deploy(VouchDeploy.Config memory c) internal {
        cfg = c;
        d = VouchDeploy.deploy(cfg, address(this));
        token = d.token;
        registry = d.registry;
        staking = d.staking;
        tm = d.taskManager;
        game = d.disputeGame;
        receipts = d.receipts;
        vm.warp(1_700_000_000);
        vm.roll(100);
        vm.recordLogs();

        delete providers;
        for (uint256 i; i < 5; ++i) {
            providers.push(address(uint160(0xB0B0 + i)));
        }
        _fund(requester, 1_000_000 ether);
        _fund(challenger, 1_000_000 ether);
        for (uint256 i; i < providers.length; ++i) {
            _fund(providers[i], 100_000 ether);
        }
    }

    function _bookedTaskManager() internal view override returns (address) {
        return address(tm);
    }

    function _fund(address who, uint256 amount) internal {
        token.transfer(who, amount);
        vm.startPrank(who);
        token.approve(address(tm), type(uint256).max);
        token.approve(address(staking), type(uint256).max);
        vm.stopPrank();
    }

    function _registerModel(bytes32 weightsRoot, bytes32 graphRoot, address zkVerifier) internal returns (uint32 id) {
        vm.prank(modelOwner);
        (id,) = registry.register(
            ModelRegistry.VersionInput({
                packageCid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
                packageHash: keccak256("package"),
                weightsRoot: weightsRoot,
                graphRoot: graphRoot,
                semanticsVersion: 3,
                metadataUri: "ipfs://metadata",
                zkVerifier: zkVerifier,
                outputs: outputSpecs,
                customFee: false,
                feeToken: address(0)
            })
        );
    }

    /// No registered outputs: results settle, but no values can be delivered.
    function _noOutputs() internal pure returns (ModelRegistry.OutputSpec[] memory) {
        return new ModelRegistry.OutputSpec[](0);
    }

    /// Stakes and opts in; committee draws see it from the next block's requests on (a draw
    /// reads the state at the end of the block before its request).
    function _stakeAndOptIn(address p, uint32 id) internal {
        vm.startPrank(p);
        staking.stake(STAKE);
        staking.optIn(id);
        vm.stopPrank();
        vm.roll(block.number + 1);
    }

    /// The committee the task's draw gives (or gave): a pure function of its snapshot and seed.
    function _drawOf(uint256 id) internal view returns (address[] memory) {
        (uint40 ticket, uint48 snapshot, uint8 size,,,,,) = tm.committees(id);
        bytes32 seed = keccak256(abi.encode(tm.randomness().randomness(ticket), id));
        return staking.sample(tm.getTask(id).modelId, seed, size, tm.committeeBond(), snapshot);
    }

    function _requestInput(TaskManager.Mode mode, bytes32 input)
        internal
        view
        returns (TaskManager.RequestInput memory r)
    {
        r.modelId = modelId;
        r.version = VERSION;
        r.mode = mode;
        r.fee = FEE;
        r.deadline = uint32(block.timestamp + 1 hours);
        r.inputCommitment = input;
        r.rows = 1;
        r.inputCid = "bafkreiinput";
    }

    function _request(TaskManager.Mode mode, bytes32 input) internal returns (uint256 id) {
        vm.prank(requester);
        id = tm.request(_requestInput(mode, input));
    }

    function _requestRows(TaskManager.Mode mode, bytes32 input, uint16 rows) internal returns (uint256 id) {
        TaskManager.RequestInput memory r = _requestInput(mode, input);
        r.rows = rows;
        vm.prank(requester);
        id = tm.request(r);
    }

    /// Sum of everything the TaskManager owes: the money-conservation identity.
    function _tmOwed() internal view returns (uint256) {
        (uint96 escrow, uint96 pool,,) = tm.ledger();
        return uint256(escrow) + _sumCredits() + tm.totalBonds() + pool;
    }

    /// Sum of the TaskManager balances of every actor the tests use.
    function _sumCredits() internal view virtual returns (uint256 sum) {
        sum = tm.balances(requester) + tm.balances(challenger) + tm.balances(modelOwner) + tm.balances(address(this));
        for (uint256 i; i < providers.length; ++i) {
            sum += tm.balances(providers[i]);
        }
    }

    function _auditPool() internal view returns (uint256 pool) {
        (, pool,,) = tm.ledger();
    }

    function _receiptCount() internal view returns (uint256 n) {
        (,,, n) = tm.ledger();
    }

    function _taskCount() internal view returns (uint256 n) {
        (,, n,) = tm.ledger();
    }

    function _assertConserved() internal view {
        assertEq(token.balanceOf(address(tm)), _tmOwed(), "TaskManager balance != escrow+credits+bonds+pool");
        assertEq(
            token.balanceOf(address(staking)),
            staking.totalStaked() + staking.totalUnbonding(),
            "staking balance != stakes+unbonding"
        );
    }

    function _status(uint256 id) internal view returns (TaskManager.Status) {
        return tm.getTask(id).status;
    }

    function _locked(address p) internal view returns (uint256 locked) {
        locked = staking.providers(p).locked;
    }
}
