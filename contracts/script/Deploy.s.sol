// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Script} from "../test/utils/Test.sol";
import {EAS} from "@ethereum-attestation-service/eas-contracts/contracts/EAS.sol";
import {SchemaRegistry} from "@ethereum-attestation-service/eas-contracts/contracts/SchemaRegistry.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

import {VouchToken} from "../src/VouchToken.sol";
import {VouchGovernor} from "../src/VouchGovernor.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {ProviderStaking} from "../src/ProviderStaking.sol";
import {IRandomnessSource, FutureBlockRandomness} from "../src/RandomnessSource.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {FeeVault} from "../src/FeeVault.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {OneStepEvaluator} from "../src/OneStepEvaluator.sol";
import {ReceiptAttester} from "../src/ReceiptAttester.sol";

/// @notice The whole protocol, deployed in one place so tests, the gas report and the deploy
/// script run exactly the same wiring.
library VouchDeploy {
    struct Config {
        address tokenHolder;
        uint256 tokenSupply;
        uint256 timelockDelay;
        uint48 votingDelay; // blocks
        uint32 votingPeriod; // blocks
        uint32 freezeThreshold;
        address guardian; // may unfreeze a frozen model version at once; zero for none
        uint64 unbondingDelay;
        uint128 minStake;
        uint8 maxFaults; // slashes after which a provider is ejected
        IRandomnessSource randomness; // zero: deploy a FutureBlockRandomness
        uint96 providerBond;
        uint96 committeeBond;
        uint64 disputeStepTimeout;
        TaskManager.Params params;
    }

    struct Deployment {
        VouchToken token;
        SchemaRegistry schemaRegistry;
        EAS eas;
        TimelockController timelock;
        VouchGovernor governor;
        ModelRegistry registry;
        ProviderStaking staking;
        IRandomnessSource randomness;
        TaskManager taskManager;
        FeeVault feeVault;
        DisputeGame disputeGame;
        ReceiptAttester receipts;
    }

    function defaultConfig(address holder) internal pure returns (Config memory c) {
        c.tokenHolder = holder;
        c.tokenSupply = 1_000_000_000 ether;
        c.timelockDelay = 1 days;
        c.votingDelay = 1;
        c.votingPeriod = 50;
        c.freezeThreshold = 3;
        c.unbondingDelay = 7 days;
        c.minStake = 1_000 ether;
        c.maxFaults = 3;
        c.providerBond = 100 ether;
        c.committeeBond = 50 ether;
        c.disputeStepTimeout = 1 hours;
        c.params = TaskManager.Params({
            challengeWindow: 1 hours,
            revealWindow: 30 minutes,
            auditWindow: 1 hours,
            maxCallbackGas: 500_000,
            auditBps: 500,
            auditFeeBps: 200,
            committeeSize: 3,
            challengerBond: 100 ether,
            auditReward: 5 ether
        });
    }

    /// Deploys and wires everything with `admin` (the address whose calls follow: the test
    /// contract, or the broadcasting account in a script) as the temporary admin, then hands
    /// every governance role to the timelock (whose proposer is the governor).
    function deploy(Config memory c, address admin) internal returns (Deployment memory d) {
        d.token = new VouchToken(c.tokenHolder, c.tokenSupply);
        d.schemaRegistry = new SchemaRegistry();
        d.eas = new EAS(d.schemaRegistry);
        address[] memory none = new address[](0);
        address[] memory anyone = new address[](1); // address(0): anyone may execute
        d.timelock = new TimelockController(c.timelockDelay, none, anyone, admin);
        d.governor = new VouchGovernor(d.token, d.timelock, c.votingDelay, c.votingPeriod);
        d.timelock.grantRole(d.timelock.PROPOSER_ROLE(), address(d.governor));
        d.timelock.grantRole(d.timelock.CANCELLER_ROLE(), address(d.governor));

        d.registry = new ModelRegistry(d.eas, admin, c.freezeThreshold);
        d.staking = new ProviderStaking(d.token, admin, c.unbondingDelay, c.minStake, c.maxFaults);
        d.randomness = c.randomness;
        if (address(d.randomness) == address(0)) d.randomness = new FutureBlockRandomness();
        d.feeVault = new FeeVault(d.registry);
        d.taskManager = new TaskManager(
            d.token,
            d.registry,
            d.staking,
            d.randomness,
            address(d.feeVault),
            admin,
            c.providerBond,
            c.committeeBond,
            c.params
        );
        d.feeVault.bind(d.taskManager);
        d.disputeGame = new DisputeGame(d.taskManager, c.disputeStepTimeout, new OneStepEvaluator());
        d.taskManager.setDisputeGame(d.disputeGame);
        d.receipts = new ReceiptAttester(d.eas, d.taskManager);
        d.staking.setSlasher(address(d.taskManager), true);
        d.registry.setReporter(address(d.taskManager), true);
        if (c.guardian != address(0)) d.registry.setGuardian(c.guardian);

        address tl = address(d.timelock);
        d.registry.transferGovernance(tl);
        d.staking.transferGovernance(tl);
        d.taskManager.transferGovernance(tl);
        d.timelock.renounceRole(d.timelock.DEFAULT_ADMIN_ROLE(), admin);
    }
}

/// @notice `forge script script/Deploy.s.sol --rpc-url $RPC --broadcast --private-key ...`
/// (or an unlocked anvil account with `--unlocked --sender ADDR`). The broadcaster is the token
/// holder and the temporary admin, which hands governance to the timelock before the end.
contract Deploy is Script {
    event Deployed(string name, address addr);

    function run() external returns (VouchDeploy.Deployment memory d) {
        vm.startBroadcast();
        d = VouchDeploy.deploy(VouchDeploy.defaultConfig(msg.sender), msg.sender);
        vm.stopBroadcast();
        emit Deployed("VouchToken", address(d.token));
        emit Deployed("SchemaRegistry", address(d.schemaRegistry));
        emit Deployed("EAS", address(d.eas));
        emit Deployed("TimelockController", address(d.timelock));
        emit Deployed("VouchGovernor", address(d.governor));
        emit Deployed("ModelRegistry", address(d.registry));
        emit Deployed("ProviderStaking", address(d.staking));
        emit Deployed("RandomnessSource", address(d.randomness));
        emit Deployed("TaskManager", address(d.taskManager));
        emit Deployed("FeeVault", address(d.feeVault));
        emit Deployed("DisputeGame", address(d.disputeGame));
        emit Deployed("ReceiptAttester", address(d.receipts));
    }
}
