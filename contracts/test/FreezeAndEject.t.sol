// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./utils/Fixture.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {ProviderStaking} from "../src/ProviderStaking.sol";
import {IZkVerifier} from "../src/IZkVerifier.sol";
import {Outcome} from "../src/IDisputeGame.sol";

contract AcceptingZkVerifier is IZkVerifier {
    function verifyProof(bytes32, bytes32, bytes32, bytes32 out, bytes calldata proof) external pure returns (bool) {
        return keccak256(proof) == keccak256(abi.encode(out));
    }
}

/// @notice Deliverable "no cheap freeze": one staked liar losing dispute after dispute never
/// freezes a model for everyone; it is ejected and honest use goes on. Strikes from distinct
/// providers still freeze; a guardian unfreezes at once; zk requests stay open on a frozen
/// version.
contract FreezeAndEjectTest is Fixture {
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant OUT = keccak256("output");
    bytes32 internal constant TRACE_L = keccak256("l");
    bytes32 internal constant TRACE_R = keccak256("r");
    bytes32 internal trace;
    bytes32 internal nodesRoot = keccak256("nodes");
    uint256[] internal outputNodes;
    address internal guardian = address(0x6A4D);

    function setUp() public override {
        super.setUp();
        outputNodes.push(1);
        trace = keccak256(abi.encodePacked(TRACE_L, TRACE_R));
        modelId =
            _registerModel(keccak256("weights"), keccak256(abi.encode(uint256(2), nodesRoot, outputNodes)), address(0));
        for (uint256 i; i < providers.length; ++i) {
            _stakeAndOptIn(providers[i], modelId);
        }
        vm.prank(address(d.timelock));
        registry.setGuardian(guardian);
    }

    /// `provider` posts a wrong result, a challenger proves it (the provider stops answering
    /// the bisection): the task fails, the provider's bond is slashed and a strike recorded.
    function _loseDispute(address provider) internal returns (uint256 id) {
        id = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.prank(provider);
        tm.submit(id, keccak256("lie"), trace);
        bytes32 cl = keccak256("cl");
        bytes32 cr = keccak256("cr");
        vm.prank(challenger);
        uint256 gid = tm.challenge(id, _rec(id), _claim(id), Claim(OUT, keccak256(abi.encodePacked(cl, cr))));
        game.postGraph(gid, 2, nodesRoot, outputNodes);
        vm.prank(challenger);
        game.bisect(gid, cl, cr);
        vm.warp(block.timestamp + 2 hours);
        game.timeout(gid);
        assertTrue(game.game(gid).outcome == Outcome.ChallengerWins, "the liar lost");
        assertTrue(_status(id) == TaskManager.Status.Failed, "task failed");
    }

    function _strikes() internal view returns (uint32) {
        return registry.getVersion(modelId, VERSION).strikes;
    }

    function _honestRoundTrip(address provider) internal {
        uint256 id = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.prank(provider);
        tm.submit(id, OUT, trace);
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "honest task finalized");
    }

    function test_one_liar_losing_many_disputes_is_ejected_and_the_model_stays_usable() public {
        address liar = providers[0];
        uint256 stakeBefore = staking.providers(liar).stake;
        for (uint256 i; i < cfg.maxFaults; ++i) {
            _loseDispute(liar);
            assertTrue(registry.status(modelId, VERSION) == ModelRegistry.Status.Active, "never frozen by one liar");
        }
        // more lost results than the freeze threshold, all from one provider: one strike
        assertGt(cfg.maxFaults + 1, cfg.freezeThreshold, "the liar lost at least the freeze threshold");
        assertEq(_strikes(), 1, "one provider counts once");
        assertTrue(registry.hasStrike(modelId, VERSION, liar), "the liar's strike");
        assertEq(staking.providers(liar).faults, cfg.maxFaults, "every lost dispute is a fault");
        assertTrue(staking.providers(liar).ejected, "ejected at maxFaults");
        uint256 stakeAfter = staking.providers(liar).stake;
        assertEq(stakeBefore - stakeAfter, uint256(cfg.maxFaults) * cfg.providerBond, "each lost bond slashed");

        // the liar takes no new task, in any mode, and cannot come back in by itself
        uint256 id = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.prank(liar);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.Ejected.selector, liar));
        tm.submit(id, OUT, trace);
        vm.startPrank(liar);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.Ejected.selector, liar));
        staking.stake(1 ether);
        staking.optOut(modelId);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.Ejected.selector, liar));
        staking.optIn(modelId);
        // its stake can only unbond
        staking.requestUnbond(uint128(staking.freeStake(liar)));
        vm.stopPrank();
        assertEq(staking.freeStake(liar), 0, "unbonded");

        // honest use goes on: the same task by an honest provider, and a committee without the liar
        vm.prank(providers[1]);
        tm.submit(id, OUT, trace);
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "honest task finalized");
        uint256 cid = _request(TaskManager.Mode.Committee, INPUT);
        vm.roll(block.number + 2);
        address[] memory m = _drawOf(cid);
        assertEq(m.length, 3, "a full committee");
        for (uint256 i; i < m.length; ++i) {
            assertTrue(m[i] != liar, "the ejected provider is never drawn");
        }
        _assertConserved();
    }

    function test_an_ejected_provider_already_in_a_snapshot_cannot_commit() public {
        address liar = providers[0];
        // a committee task requested while the liar still had weight
        uint256 cid = _request(TaskManager.Mode.Committee, INPUT);
        for (uint256 i; i < cfg.maxFaults; ++i) {
            _loseDispute(liar);
        }
        vm.roll(block.number + 2);
        (, uint48 snapshot,,,,,,) = tm.committees(cid);
        assertGt(staking.weightAt(liar, snapshot), 0, "the liar had weight in the snapshot");
        assertEq(staking.weightAt(liar, uint48(block.number)), 0, "and has none now");
        // its seat in any draw of that snapshot is absent: it cannot lock a bond
        address[] memory m = _drawOf(cid);
        for (uint256 i; i < m.length; ++i) {
            if (m[i] != liar) continue;
            vm.prank(liar);
            vm.expectRevert(abi.encodeWithSelector(ProviderStaking.Ejected.selector, liar));
            tm.commit(cid, i, keccak256("c"), m);
        }
    }

    function test_strikes_from_distinct_providers_freeze_and_the_guardian_unfreezes_at_once() public {
        for (uint256 i; i < cfg.freezeThreshold; ++i) {
            _loseDispute(providers[i]);
        }
        assertTrue(registry.status(modelId, VERSION) == ModelRegistry.Status.Frozen, "frozen by distinct providers");
        assertEq(_strikes(), cfg.freezeThreshold, "one strike per provider");
        vm.prank(requester);
        vm.expectRevert(TaskManager.ModelNotActive.selector);
        tm.request(_requestInput(TaskManager.Mode.Optimistic, INPUT));
        vm.prank(requester);
        vm.expectRevert(TaskManager.ModelNotActive.selector);
        tm.request(_requestInput(TaskManager.Mode.Committee, INPUT));

        // the guardian may unfreeze, nothing else
        vm.prank(requester);
        vm.expectRevert(ModelRegistry.NotGuardian.selector);
        registry.unfreeze(modelId, VERSION);
        vm.startPrank(guardian);
        vm.expectRevert(ModelRegistry.NotGovernance.selector);
        registry.setStatus(modelId, VERSION, ModelRegistry.Status.Deprecated);
        vm.expectRevert(ModelRegistry.NotGovernance.selector);
        registry.setFreezeThreshold(0);
        registry.unfreeze(modelId, VERSION); // same block: no vote, no timelock
        vm.expectRevert(ModelRegistry.BadStatus.selector);
        registry.unfreeze(modelId, VERSION);
        vm.stopPrank();
        assertTrue(registry.status(modelId, VERSION) == ModelRegistry.Status.Active, "unfrozen");
        assertEq(_strikes(), 0, "strikes reset");
        assertFalse(registry.hasStrike(modelId, VERSION, providers[0]), "a new epoch");
        _honestRoundTrip(providers[3]);

        // a provider struck before the unfreeze counts again in the new epoch
        _loseDispute(providers[0]);
        assertEq(_strikes(), 1, "counted again after the unfreeze");
    }

    function test_zk_requests_stay_open_on_a_frozen_version() public {
        AcceptingZkVerifier v = new AcceptingZkVerifier();
        modelId = _registerModel(keccak256("w"), keccak256("g"), address(v));
        for (uint256 i; i < cfg.freezeThreshold; ++i) {
            vm.prank(address(tm));
            registry.recordStrike(modelId, VERSION, providers[i]);
        }
        assertTrue(registry.status(modelId, VERSION) == ModelRegistry.Status.Frozen, "frozen");
        vm.prank(requester);
        vm.expectRevert(TaskManager.ModelNotActive.selector);
        tm.request(_requestInput(TaskManager.Mode.Optimistic, INPUT));
        uint256 id = _request(TaskManager.Mode.Zk, INPUT);
        vm.prank(providers[1]);
        tm.submitZk(id, _rec(id), OUT, abi.encode(OUT));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "a zk task on a frozen version finalizes");
        // a deprecated version serves nobody
        vm.prank(address(d.timelock));
        registry.setStatus(modelId, VERSION, ModelRegistry.Status.Deprecated);
        vm.prank(requester);
        vm.expectRevert(TaskManager.ModelNotActive.selector);
        tm.request(_requestInput(TaskManager.Mode.Zk, INPUT));
        _assertConserved();
    }

    function test_governance_reinstates_an_ejected_provider() public {
        address liar = providers[0];
        for (uint256 i; i < cfg.maxFaults; ++i) {
            _loseDispute(liar);
        }
        vm.expectRevert(ProviderStaking.NotGovernance.selector);
        staking.reinstate(liar);
        vm.prank(address(d.timelock));
        staking.reinstate(liar);
        assertEq(staking.providers(liar).faults, 0, "faults reset");
        assertFalse(staking.providers(liar).ejected, "reinstated");
        _honestRoundTrip(liar);
    }

    /// Committee members that commit and never reveal are slashed: a fault each, like a lost
    /// dispute.
    function test_committee_no_shows_count_as_faults() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        vm.roll(block.number + 2);
        address[] memory m = _drawOf(id);
        bytes32 c0 = keccak256(abi.encode(id, m[0], OUT, trace, bytes32(0)));
        vm.prank(m[0]);
        tm.commit(id, 0, c0, m);
        bytes32 c1 = keccak256(abi.encode(id, m[1], OUT, trace, bytes32(uint256(1))));
        vm.prank(m[1]);
        tm.commit(id, 1, c1, m);
        bytes32[] memory list = new bytes32[](2);
        (list[0], list[1]) = (c0, c1);
        vm.warp(block.timestamp + 1 hours + 1);
        vm.prank(m[0]);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(OUT, trace), bytes32(0), m, list);
        vm.warp(block.timestamp + cfg.params.revealWindow + 1);
        tm.finalizeCommittee(id, _rec(id), _claim(id), m, new int32[](0));
        assertEq(staking.providers(m[0]).faults, 0, "the revealer");
        assertEq(staking.providers(m[1]).faults, 1, "committed, never revealed: slashed, one fault");
        assertEq(staking.providers(m[2]).faults, 0, "never committed: nothing locked, nothing slashed");
        _assertConserved();
    }
}
