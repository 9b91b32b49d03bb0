// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./utils/Fixture.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {ProviderStaking} from "../src/ProviderStaking.sol";
import {Semantics} from "../src/OneStepVerifier.sol";
import {Tree} from "./utils/Tree.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";

contract StakingRegistryTest is Fixture {
    function setUp() public override {
        super.setUp();
        modelId = _registerModel(keccak256("w"), keccak256("g"), address(0));
    }

    // ------------------------------------------------------------ registry

    function test_versions_are_append_only_with_provenance() public {
        ModelRegistry.Version memory v1 = registry.getVersion(modelId, 1);
        assertTrue(d.eas.isAttestationValid(v1.provenanceUid), "provenance attested");
        vm.prank(modelOwner);
        uint32 v2 = registry.addVersion(
            modelId,
            ModelRegistry.VersionInput(
                "cid2",
                keccak256("p2"),
                keccak256("w2"),
                keccak256("g2"),
                1,
                "uri2",
                address(0),
                _noOutputs(),
                false,
                address(0)
            )
        );
        assertEq(v2, 2, "second version");
        assertEq(registry.getVersion(modelId, 1).weightsRoot, keccak256("w"), "v1 unchanged");
        vm.prank(requester);
        vm.expectRevert(ModelRegistry.NotModelOwner.selector);
        registry.addVersion(
            modelId,
            ModelRegistry.VersionInput(
                "x", bytes32(0), bytes32(0), bytes32(0), 1, "", address(0), _noOutputs(), false, address(0)
            )
        );
    }

    function test_unknown_semantics_version_rejected() public {
        vm.prank(modelOwner);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadSemanticsVersion.selector, uint32(7)));
        registry.register(
            ModelRegistry.VersionInput(
                "x", bytes32(0), bytes32(0), bytes32(0), 7, "", address(0), _noOutputs(), false, address(0)
            )
        );
        vm.prank(modelOwner);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadSemanticsVersion.selector, uint32(0)));
        registry.register(
            ModelRegistry.VersionInput(
                "x", bytes32(0), bytes32(0), bytes32(0), 0, "", address(0), _noOutputs(), false, address(0)
            )
        );
    }

    function test_semantics_versions_1_to_6_accepted() public {
        for (uint32 sv = 1; sv <= 6; sv++) {
            vm.prank(modelOwner);
            uint32 v = registry.addVersion(
                modelId,
                ModelRegistry.VersionInput(
                    "c2",
                    keccak256("p2"),
                    keccak256("w2"),
                    keccak256("g2"),
                    sv,
                    "",
                    address(0),
                    _noOutputs(),
                    false,
                    address(0)
                )
            );
            assertEq(registry.getVersion(modelId, v).semanticsVersion, sv, "version recorded");
        }
    }

    /// Versions 1 and 2 committed zk inputs with a Poseidon no current prover computes: a zk
    /// verifier on such a version is refused at registration, before any task can ask for it.
    function test_zk_verifier_needs_semantics_version_3() public {
        address verifier = address(0xBEEF);
        for (uint32 sv = 1; sv <= 2; sv++) {
            vm.prank(modelOwner);
            vm.expectRevert(abi.encodeWithSelector(ModelRegistry.BadSemanticsVersion.selector, sv));
            registry.addVersion(
                modelId,
                ModelRegistry.VersionInput(
                    "c",
                    keccak256("p"),
                    keccak256("w"),
                    keccak256("g"),
                    sv,
                    "",
                    verifier,
                    _noOutputs(),
                    false,
                    address(0)
                )
            );
        }
        vm.prank(modelOwner);
        uint32 v = registry.addVersion(
            modelId,
            ModelRegistry.VersionInput(
                "c", keccak256("p"), keccak256("w"), keccak256("g"), 3, "", verifier, _noOutputs(), false, address(0)
            )
        );
        assertEq(registry.getVersion(modelId, v).zkVerifier, verifier, "version 3 takes a zk verifier");
    }

    function test_ownership_transfer() public {
        vm.prank(modelOwner);
        registry.transferModelOwnership(modelId, requester);
        assertEq(registry.modelOwner(modelId), requester, "new owner");
        vm.prank(modelOwner);
        vm.expectRevert(ModelRegistry.NotModelOwner.selector);
        registry.transferModelOwnership(modelId, modelOwner);
    }

    function test_strikes_only_by_reporters_and_freeze() public {
        vm.expectRevert(ModelRegistry.NotReporter.selector);
        registry.recordStrike(modelId, 1, providers[0]);
        for (uint256 i; i < cfg.freezeThreshold; ++i) {
            vm.prank(address(tm));
            registry.recordStrike(modelId, 1, providers[i]);
        }
        assertTrue(registry.status(modelId, 1) == ModelRegistry.Status.Frozen, "frozen at threshold");
        // nobody but governance may unfreeze
        vm.prank(modelOwner);
        vm.expectRevert(ModelRegistry.NotGovernance.selector);
        registry.setStatus(modelId, 1, ModelRegistry.Status.Active);
    }

    /// A full Governor -> Timelock proposal unfreezes a frozen version.
    function test_governor_unfreezes_through_timelock() public {
        for (uint256 i; i < cfg.freezeThreshold; ++i) {
            vm.prank(address(tm));
            registry.recordStrike(modelId, 1, providers[i]);
        }
        token.delegate(address(this));
        vm.roll(block.number + 1);
        address[] memory targets = new address[](1);
        targets[0] = address(registry);
        uint256[] memory values = new uint256[](1);
        bytes[] memory calls = new bytes[](1);
        calls[0] = abi.encodeCall(registry.setStatus, (modelId, 1, ModelRegistry.Status.Active));
        string memory desc = "unfreeze model 1 v1";
        uint256 pid = d.governor.propose(targets, values, calls, desc);
        vm.roll(block.number + cfg.votingDelay + 1);
        d.governor.castVote(pid, 1);
        vm.roll(block.number + cfg.votingPeriod + 1);
        assertTrue(d.governor.state(pid) == IGovernor.ProposalState.Succeeded, "succeeded");
        d.governor.queue(targets, values, calls, keccak256(bytes(desc)));
        vm.warp(block.timestamp + cfg.timelockDelay + 1);
        d.governor.execute(targets, values, calls, keccak256(bytes(desc)));
        assertTrue(registry.status(modelId, 1) == ModelRegistry.Status.Active, "unfrozen by governance");
        assertEq(registry.getVersion(modelId, 1).strikes, 0, "strikes reset");
    }

    function test_protocol_params_owned_by_timelock() public {
        assertEq(registry.governance(), address(d.timelock), "registry");
        assertEq(staking.governance(), address(d.timelock), "staking");
        assertEq(tm.governance(), address(d.timelock), "task manager");
        vm.expectRevert(ProviderStaking.NotGovernance.selector);
        staking.setSlasher(address(this), true);
    }

    // ------------------------------------------------------------ staking

    function test_unbonding_delay() public {
        address p = providers[0];
        vm.startPrank(p);
        staking.stake(1_000 ether);
        staking.requestUnbond(400 ether);
        vm.expectRevert();
        staking.withdraw();
        vm.warp(block.timestamp + cfg.unbondingDelay);
        uint256 before = token.balanceOf(p);
        staking.withdraw();
        vm.stopPrank();
        assertEq(token.balanceOf(p) - before, 400 ether, "withdrawn after delay");
        _assertConserved();
    }

    function test_only_slashers_lock_and_slash_and_only_locked() public {
        address p = providers[0];
        vm.prank(p);
        staking.stake(1_000 ether);
        vm.expectRevert(ProviderStaking.NotSlasher.selector);
        staking.slash(p, 1, address(this));
        vm.prank(address(tm));
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.InsufficientLocked.selector, 0, 1));
        staking.slash(p, 1, address(tm));
        vm.prank(address(tm));
        staking.lock(p, 300 ether);
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.InsufficientFreeStake.selector, 700 ether, 800 ether));
        staking.requestUnbond(800 ether);
    }

    function testFuzz_stake_unbond_conserves(uint96 a, uint96 b) public {
        uint128 s = uint128(bound(a, 1, 50_000 ether));
        uint128 u = uint128(bound(b, 1, s));
        address p = providers[1];
        vm.startPrank(p);
        staking.stake(s);
        staking.requestUnbond(u);
        vm.stopPrank();
        assertEq(staking.freeStake(p), s - u, "free stake");
        _assertConserved();
    }

    function testFuzz_sample_is_distinct_and_opted_in(bytes32 seed, uint8 k) public {
        for (uint256 i; i < providers.length; ++i) {
            vm.startPrank(providers[i]);
            staking.stake(uint128(1_000 ether * (i + 1)));
            staking.optIn(modelId);
            vm.stopPrank();
        }
        vm.roll(block.number + 1);
        uint256 want = bound(k, 0, 7);
        address[] memory m = staking.sample(modelId, seed, want, 0, uint48(block.number - 1));
        assertEq(m.length, want > 5 ? 5 : want, "count");
        for (uint256 i; i < m.length; ++i) {
            assertTrue(staking.isOptedIn(modelId, m[i]), "opted in");
            for (uint256 j; j < i; ++j) {
                assertTrue(m[i] != m[j], "distinct");
            }
        }
    }

    // ------------------------------------------------------------ semantics helpers

    function testFuzz_requant_matches_floor_definition(int32 x, uint16 mRaw, uint8 sRaw) public pure {
        int256 m = int256(uint256(bound(mRaw, 1, 65_535)));
        uint256 s = bound(sRaw, 0, 40);
        int256 p = int256(x) * m;
        int256 want = s == 0 ? p : _floorDiv(p + int256(1 << (s - 1)), int256(1 << s));
        want = want < -128 ? int256(-128) : (want > 127 ? int256(127) : want);
        assertEq(Semantics.requant(x, m, s, -128, 127), want, "requant");
    }

    function _floorDiv(int256 a, int256 b) internal pure returns (int256 q) {
        q = a / b;
        if (a % b != 0 && a < 0) q -= 1;
    }

    function testFuzz_range_proof_roundtrip(uint256 seed, uint16 n, uint16 start, uint16 len) public pure {
        uint256 count = bound(n, 1, 300);
        int256[] memory data = new int256[](count);
        for (uint256 i; i < count; ++i) {
            data[i] = int256(uint256(keccak256(abi.encode(seed, i))) % 255) - 127;
        }
        bytes32[][] memory lv = Tree.tensorLevels(data);
        uint256 words = (count + 7) / 8;
        uint256 st = bound(start, 0, words - 1);
        uint256 ln = bound(len, 1, words - st);
        bytes32[] memory leaves = new bytes32[](ln);
        for (uint256 i; i < ln; ++i) {
            leaves[i] = lv[0][st + i];
        }
        bytes32[] memory proof = Tree.rangeProof(lv, st, ln);
        assertTrue(Semantics.verifyRange(Tree.root(lv), lv.length - 1, st, leaves, proof), "range verifies");
        leaves[0] = bytes32(uint256(leaves[0]) ^ 1);
        assertFalse(Semantics.verifyRange(Tree.root(lv), lv.length - 1, st, leaves, proof), "tamper rejected");
    }
}
