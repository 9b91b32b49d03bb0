// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Test} from "./utils/Test.sol";
import {RecordBook} from "./utils/RecordBook.sol";
import {Fixture} from "./utils/Fixture.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {ProviderStaking} from "../src/ProviderStaking.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {VouchToken} from "../src/VouchToken.sol";

/// @notice Drives random sequences of requests, submissions, challenges (resolved both ways by
/// timeouts), finalizations, refunds, audits, withdrawals and unbonding, keeping ghost books.
contract Handler is RecordBook {
    TaskManager internal tm;
    ProviderStaking internal staking;
    DisputeGame internal game;
    VouchToken internal token;
    address internal requester;
    address internal challenger;
    address[] internal providers;
    uint32 internal modelId;
    bytes32 internal nodesRoot;
    uint256[] internal outputNodes;
    uint96 internal providerBond;

    uint256[] public ids;
    uint256[] public finalized;
    mapping(address => uint256) public ghostStake; // stake the provider should have
    uint256 public slashes;
    uint256 public calls;

    bytes32 internal constant L = keccak256("l");
    bytes32 internal constant R = keccak256("r");

    constructor(
        TaskManager tm_,
        ProviderStaking staking_,
        DisputeGame game_,
        VouchToken token_,
        address requester_,
        address challenger_,
        address[] memory providers_,
        uint32 modelId_,
        bytes32 nodesRoot_,
        uint256[] memory outputNodes_,
        uint96 providerBond_
    ) {
        (tm, staking, game, token) = (tm_, staking_, game_, token_);
        (requester, challenger, providers, modelId) = (requester_, challenger_, providers_, modelId_);
        (nodesRoot, outputNodes, providerBond) = (nodesRoot_, outputNodes_, providerBond_);
        for (uint256 i; i < providers_.length; ++i) {
            ghostStake[providers_[i]] = staking_.providers(providers_[i]).stake;
        }
    }

    function idsLength() external view returns (uint256) {
        return ids.length;
    }

    function finalizedLength() external view returns (uint256) {
        return finalized.length;
    }

    function providerList() external view returns (address[] memory) {
        return providers;
    }

    function _pick(uint256 seed) internal view returns (uint256 id, bool ok) {
        if (ids.length == 0) return (0, false);
        return (ids[seed % ids.length], true);
    }

    function request(uint256 fee) external synced {
        calls++;
        TaskManager.RequestInput memory r;
        r.modelId = modelId;
        r.version = 1;
        r.fee = uint88(bound(fee, 1, 1_000 ether));
        r.deadline = uint32(block.timestamp + 1 hours);
        r.inputCommitment = keccak256(abi.encode(fee));
        r.rows = 1;
        vm.prank(requester);
        ids.push(tm.request(r));
    }

    function submit(uint256 seed, uint256 who) external synced {
        calls++;
        (uint256 id, bool ok) = _pick(seed);
        if (!ok) return;
        vm.prank(providers[who % providers.length]);
        try tm.submit(id, keccak256("out"), keccak256(abi.encodePacked(L, R))) {} catch {}
    }

    function finalize(uint256 seed) external synced {
        calls++;
        (uint256 id, bool ok) = _pick(seed);
        if (!ok) return;
        try tm.finalize(id, _rec(id), _claim(id), new int32[](0)) {
            finalized.push(id);
        } catch {}
    }

    function refund(uint256 seed) external synced {
        calls++;
        (uint256 id, bool ok) = _pick(seed);
        if (!ok) return;
        try tm.refund(id, _rec(id)) {} catch {}
    }

    function closeAudit(uint256 seed) external synced {
        calls++;
        (uint256 id, bool ok) = _pick(seed);
        if (!ok) return;
        try tm.closeAudit(id) {} catch {}
    }

    /// Challenge a submitted task; `challengerWins` decides which side stops answering.
    function challengeAndResolve(uint256 seed, bool challengerWins) external synced {
        calls++;
        (uint256 id, bool ok) = _pick(seed);
        if (!ok) return;
        TaskManager.Task memory t = tm.getTask(id);
        if (t.status != TaskManager.Status.Submitted || block.timestamp > t.deadline) return;
        bytes32 cl = keccak256(abi.encode("cl", seed));
        bytes32 cr = keccak256(abi.encode("cr", seed));
        vm.prank(challenger);
        uint256 gid =
            tm.challenge(id, _rec(id), _claim(id), Claim(keccak256("other"), keccak256(abi.encodePacked(cl, cr))));
        if (challengerWins) {
            game.postGraph(gid, 2, nodesRoot, outputNodes);
            vm.prank(challenger);
            game.bisect(gid, cl, cr);
        }
        vm.warp(block.timestamp + 2 hours);
        game.timeout(gid);
        if (challengerWins) {
            ghostStake[t.provider] -= t.mode == TaskManager.Mode.Committee ? tm.committeeBond() : providerBond;
            slashes++;
        }
    }

    /// A committee task whose member `liar` reveals a different result right after the first
    /// revealer; the dispute ends by timeout (`challengerWins`: the second revealer proceeds and
    /// the first stops answering). The winner's result stands and the task joins the pool.
    function committeeDispute(uint256 fee, uint256 liar, bool challengerWins) external synced {
        calls++;
        TaskManager.RequestInput memory r;
        r.modelId = modelId;
        r.version = 1;
        r.mode = TaskManager.Mode.Committee;
        r.fee = uint88(bound(fee, 1, 1_000 ether));
        r.deadline = uint32(block.timestamp + 1 hours);
        r.inputCommitment = keccak256(abi.encode("committee", fee));
        r.rows = 1;
        vm.prank(requester);
        uint256 id = tm.request(r);
        vm.roll(block.number + 2);
        address[] memory m = _drawOf(id);
        uint256 size = m.length;
        if (size != tm.getParams().committeeSize) return;
        liar = bound(liar, 0, 1); // the first or second revealer: either side of the dispute
        bytes32[] memory outs = new bytes32[](size);
        bytes32[] memory traces = new bytes32[](size);
        bytes32[] memory commits = new bytes32[](size);
        for (uint256 i; i < size; ++i) {
            bool lies = i == liar;
            outs[i] = lies ? keccak256(abi.encode("lie", fee)) : keccak256("out");
            traces[i] = lies
                ? keccak256(abi.encodePacked(keccak256("cl"), keccak256("cr")))
                : keccak256(abi.encodePacked(L, R));
            commits[i] = keccak256(abi.encode(id, m[i], outs[i], traces[i], bytes32(i)));
            vm.prank(m[i]);
            try tm.commit(id, i, commits[i], m) {}
            catch {
                return; // a member without free stake for its bond (locked in other tasks)
            }
        }
        for (uint256 i; i < 2; ++i) {
            vm.prank(m[i]);
            tm.reveal(id, _rec(id), _claim(id), i, Claim(outs[i], traces[i]), bytes32(i), m, commits);
        }
        uint256 gid = game.gameCount();
        if (challengerWins) {
            game.postGraph(gid, 2, nodesRoot, outputNodes);
            vm.prank(m[1]);
            // the second revealer opens its own trace root's children
            game.bisect(gid, liar == 1 ? keccak256("cl") : L, liar == 1 ? keccak256("cr") : R);
        }
        vm.warp(block.timestamp + 2 hours);
        game.timeout(gid);
        ghostStake[m[challengerWins ? 0 : 1]] -= tm.committeeBond();
        slashes++;
        tm.releaseCommitteeBonds(id, m);
        ids.push(id);
    }

    /// The committee the task's draw gives: a pure function of its snapshot and seed.
    function _drawOf(uint256 id) internal view returns (address[] memory) {
        (uint40 ticket, uint48 snapshot, uint8 size,,,,,) = tm.committees(id);
        bytes32 seed = keccak256(abi.encode(tm.randomness().randomness(ticket), id));
        return staking.sample(modelId, seed, size, tm.committeeBond(), snapshot);
    }

    /// A committee task one member never commits to (absent: nothing locked, nothing slashed);
    /// the others agree and are paid after the reveal window.
    function committeeWithAbsentee(uint256 fee, uint256 absent) external synced {
        calls++;
        TaskManager.RequestInput memory r;
        r.modelId = modelId;
        r.version = 1;
        r.mode = TaskManager.Mode.Committee;
        r.fee = uint88(bound(fee, 1, 1_000 ether));
        r.deadline = uint32(block.timestamp + 1 hours);
        r.rows = 1;
        r.inputCommitment = keccak256(abi.encode("absent", fee));
        vm.prank(requester);
        uint256 id = tm.request(r);
        vm.roll(block.number + 2);
        address[] memory m = _drawOf(id);
        if (m.length != tm.getParams().committeeSize) return;
        absent = bound(absent, 0, m.length - 1);
        bytes32 out = keccak256("out");
        bytes32 tr = keccak256(abi.encodePacked(L, R));
        bytes32[] memory commits = new bytes32[](m.length - 1);
        uint256 n;
        for (uint256 i; i < m.length; ++i) {
            if (i == absent) continue;
            bytes32 c = keccak256(abi.encode(id, m[i], out, tr, bytes32(i)));
            vm.prank(m[i]);
            try tm.commit(id, i, c, m) {}
            catch {
                return; // no free stake for the bond: absent too (the task stays escrowed)
            }
            commits[n++] = c;
        }
        vm.warp(block.timestamp + 1 hours + 1);
        for (uint256 i; i < m.length; ++i) {
            if (i == absent) continue;
            vm.prank(m[i]);
            tm.reveal(id, _rec(id), _claim(id), i, Claim(out, tr), bytes32(i), m, commits);
        }
        vm.warp(block.timestamp + tm.getParams().revealWindow + 1);
        tm.finalizeCommittee(id, _rec(id), _claim(id), m, new int32[](0));
        ids.push(id);
    }

    /// Stake moves at any time (they never change a draw already requested).
    function stakeMore(uint256 who, uint256 amount) external synced {
        calls++;
        address p = providers[who % providers.length];
        uint128 a = uint128(bound(amount, 1, 2_000 ether));
        vm.prank(p);
        try staking.stake(a) {
            ghostStake[p] += a;
        } catch {}
    }

    function toggleOptIn(uint256 who) external synced {
        calls++;
        address p = providers[who % providers.length];
        vm.startPrank(p);
        if (staking.isOptedIn(modelId, p)) staking.optOut(modelId);
        else try staking.optIn(modelId) {} catch {}
        vm.stopPrank();
    }

    function withdrawCredits(uint256 who) external synced {
        calls++;
        address a = who % 3 == 0 ? requester : (who % 3 == 1 ? challenger : providers[who % providers.length]);
        vm.prank(a);
        try tm.withdraw() {} catch {}
    }

    function unbond(uint256 who, uint256 amount) external synced {
        calls++;
        address p = providers[who % providers.length];
        uint128 a = uint128(bound(amount, 1, 2_000 ether));
        vm.prank(p);
        try staking.requestUnbond(a) {
            ghostStake[p] -= a;
        } catch {}
    }

    function withdrawStake(uint256 who) external synced {
        calls++;
        vm.prank(providers[who % providers.length]);
        try staking.withdraw() {} catch {}
    }

    function warp(uint256 secs) external synced {
        calls++;
        vm.warp(block.timestamp + bound(secs, 1, 3 hours));
        vm.roll(block.number + 1);
    }

    function _bookedTaskManager() internal view override returns (address) {
        return address(tm);
    }
}

contract InvariantsTest is Fixture {
    Handler internal handler;
    uint256 internal supply;
    address[] internal holders;

    function setUp() public override {
        super.setUp();
        bytes32 nodesRoot = keccak256("nodes");
        uint256[] memory outs = new uint256[](1);
        outs[0] = 1;
        modelId = _registerModel(keccak256("w"), keccak256(abi.encode(uint256(2), nodesRoot, outs)), address(0));
        for (uint256 i; i < providers.length; ++i) {
            _stakeAndOptIn(providers[i], modelId);
        }
        handler = new Handler(
            tm, staking, game, token, requester, challenger, providers, modelId, nodesRoot, outs, cfg.providerBond
        );
        supply = token.totalSupply();
        holders.push(address(this));
        holders.push(requester);
        holders.push(challenger);
        for (uint256 i; i < providers.length; ++i) {
            holders.push(providers[i]);
        }
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// The handler's committee dispute path really runs, both ways, and the standing result
    /// finalizes.
    function test_handler_committee_disputes_settle() public {
        handler.committeeDispute(5 ether, 1, false);
        handler.committeeDispute(7 ether, 0, true);
        handler.committeeDispute(9 ether, 1, true);
        assertEq(handler.slashes(), 3, "one member slashed per dispute");
        assertEq(handler.idsLength(), 3, "every task stands");
        handler.warp(2 hours);
        for (uint256 i; i < 3; ++i) {
            handler.finalize(i);
        }
        assertEq(handler.finalizedLength(), 3, "the standing results finalize");
        invariant_money_conserved();
        invariant_only_losers_slashed();
    }

    /// The handler's dispute path really runs (guards the invariant runs against vacuity).
    function test_handler_paths_reach_disputes() public {
        handler.request(5 ether);
        handler.submit(0, 0);
        handler.challengeAndResolve(0, true);
        assertEq(handler.slashes(), 1, "challenger won and slashed the provider");
        handler.request(5 ether);
        handler.submit(1, 1);
        handler.challengeAndResolve(1, false);
        handler.warp(2 hours);
        handler.finalize(1);
        assertEq(handler.finalizedLength(), 1, "finalized after a failed challenge");
        invariant_money_conserved();
        invariant_only_losers_slashed();
    }

    /// Money is conserved: what each contract holds is exactly what it owes.
    function invariant_money_conserved() public view {
        _assertConserved();
    }

    /// No token is created or lost: wallets plus contracts always hold the whole supply.
    function invariant_nothing_paid_twice() public view {
        uint256 sum = token.balanceOf(address(tm)) + token.balanceOf(address(staking));
        for (uint256 i; i < holders.length; ++i) {
            sum += token.balanceOf(holders[i]);
        }
        assertEq(sum, supply, "tokens created or lost");
    }

    /// A finalized task stays finalized.
    function invariant_finalized_never_reopens() public view {
        uint256 n = handler.finalizedLength();
        for (uint256 i; i < n; ++i) {
            assertTrue(_status(handler.finalized(i)) == TaskManager.Status.Finalized, "finalized task reopened");
        }
    }

    /// Bonds are locked from stake, and a provider is ejected exactly at `maxFaults` faults.
    function invariant_locks_within_stake_and_ejection_at_max_faults() public view {
        for (uint256 i; i < providers.length; ++i) {
            ProviderStaking.ProviderInfo memory p = staking.providers(providers[i]);
            assertLe(p.locked, p.stake, "locked beyond stake");
            assertEq(p.ejected, p.faults >= staking.maxFaults(), "ejected iff at max faults");
        }
    }

    /// The handler's committee path with an absent member runs and pays only the committers.
    function test_handler_committee_absentee_settles() public {
        handler.committeeWithAbsentee(5 ether, 2);
        assertEq(handler.idsLength(), 1, "settled");
        invariant_money_conserved();
        invariant_only_losers_slashed();
    }

    /// Only providers that lost a dispute are slashed, by exactly their bond.
    function invariant_only_losers_slashed() public view {
        for (uint256 i; i < providers.length; ++i) {
            assertEq(staking.providers(providers[i]).stake, handler.ghostStake(providers[i]), "unexpected stake change");
        }
    }
}
