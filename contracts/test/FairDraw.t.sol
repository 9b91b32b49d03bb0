// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./utils/Fixture.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {ProviderStaking} from "../src/ProviderStaking.sol";

/// @notice Deliverable "fair committee draws": the draw is a pure function of the stakes and
/// opt-ins at the end of the block before the request and of a seed that did not exist then.
/// Whoever moves stake, opts in or triggers the draw after the seed is known changes nothing.
contract FairDrawTest is Fixture {
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant OUT = keccak256("output");
    bytes32 internal constant TRACE = keccak256("trace");
    address internal attacker = address(0xBAD);

    function setUp() public override {
        super.setUp();
        modelId = _registerModel(keccak256("w"), keccak256("g"), address(0));
        for (uint256 i; i < 4; ++i) {
            _stakeAndOptIn(providers[i], modelId);
        }
        _fund(attacker, 10_000_000 ether);
        vm.prank(attacker);
        staking.stake(STAKE);
        vm.roll(block.number + 1);
    }

    function _contains(address[] memory m, address a) internal pure returns (bool) {
        for (uint256 i; i < m.length; ++i) {
            if (m[i] == a) return true;
        }
        return false;
    }

    function _assertSame(address[] memory a, address[] memory b, string memory err) internal pure {
        assertEq(a.length, b.length, err);
        for (uint256 i; i < a.length; ++i) {
            assertEq(a[i], b[i], err);
        }
    }

    /// The draw a live-stake rule would give now (what the old `sample` computed).
    function _liveDraw(uint256 id) internal view returns (address[] memory) {
        (uint40 ticket,, uint8 size,,,,,) = tm.committees(id);
        bytes32 seed = keccak256(abi.encode(tm.randomness().randomness(ticket), id));
        return staking.sample(modelId, seed, size, tm.committeeBond(), uint48(block.number - 1));
    }

    /// An attacker that sees the seed, then opts in with a stake 1000x everyone else's, is not
    /// drawn: the committee the first commit draws is the one fixed before the seed existed.
    /// Under a live rule the same move would have put it on the committee.
    function test_opting_in_and_staking_after_the_seed_changes_nothing() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        vm.roll(block.number + 2); // the seed is readable now
        address[] memory before = _drawOf(id);
        assertEq(before.length, 3, "a committee");
        assertFalse(_contains(before, attacker), "the attacker was not opted in at the snapshot");

        vm.startPrank(attacker);
        staking.stake(4_000_000 ether);
        staking.optIn(modelId);
        vm.stopPrank();
        // honest members' stakes move too (one unbonds half)
        vm.prank(before[0]);
        staking.requestUnbond(uint128(STAKE / 2));
        vm.roll(block.number + 1);
        assertTrue(_contains(_liveDraw(id), attacker), "a live draw would have taken the attacker");

        _assertSame(_drawOf(id), before, "the snapshot draw did not move");
        bytes32 c = keccak256(abi.encode(id, before[1], OUT, TRACE, bytes32(uint256(1))));
        vm.prank(before[1]);
        tm.commit(id, 1, c, before);
        vm.prank(attacker);
        vm.expectRevert(TaskManager.NotMember.selector);
        tm.commit(id, 0, c, before);
    }

    /// Whatever stake moves between request and draw, over random seeds and moves, the draw is
    /// the one the snapshot gives.
    function testFuzz_post_request_stake_moves_do_not_change_the_draw(
        uint96 extra,
        uint96 unbond,
        uint8 who,
        bool optOut,
        bytes32 salt
    ) public {
        uint256 id = _request(TaskManager.Mode.Committee, salt);
        vm.roll(block.number + 2);
        address[] memory before = _drawOf(id);
        address p = providers[who % 4];
        vm.startPrank(attacker);
        staking.stake(uint128(bound(extra, 1, 5_000_000 ether)));
        staking.optIn(modelId);
        vm.stopPrank();
        vm.startPrank(p);
        staking.requestUnbond(uint128(bound(unbond, 1, STAKE)));
        if (optOut) staking.optOut(modelId);
        vm.stopPrank();
        vm.roll(block.number + 1);
        _assertSame(_drawOf(id), before, "draw moved");
        // the first commit draws exactly that committee
        address m0 = before[0];
        if (staking.freeStake(m0) < tm.committeeBond()) return; // unbonded below a bond: absent
        vm.prank(m0);
        tm.commit(id, 0, keccak256("c"), before);
        (,,,,,, bool drawn, bytes16 h) = tm.committees(id);
        assertTrue(drawn, "drawn");
        assertEq(bytes32(h), bytes32(bytes16(keccak256(abi.encode(before)))), "the on-chain draw");
    }

    /// The attacker's odds over many tasks: drawn exactly as often whether it piles on stake
    /// after each seed or not (the same draws, task by task).
    function test_an_attacker_piling_stake_after_each_seed_gains_nothing() public {
        vm.prank(attacker);
        staking.optIn(modelId);
        vm.roll(block.number + 1);
        uint256 drawnAsIs;
        uint256 drawnAfterPiling;
        for (uint256 i; i < 24; ++i) {
            uint256 id = _request(TaskManager.Mode.Committee, keccak256(abi.encode(i)));
            vm.roll(block.number + 2);
            if (_contains(_drawOf(id), attacker)) ++drawnAsIs;
            vm.prank(attacker);
            staking.stake(50_000 ether);
            if (_contains(_drawOf(id), attacker)) ++drawnAfterPiling;
            vm.prank(attacker);
            staking.requestUnbond(50_000 ether);
        }
        assertGt(drawnAsIs, 0, "the attacker is drawn sometimes (the test can see a change)");
        assertEq(drawnAfterPiling, drawnAsIs, "no more often after piling on stake");
    }

    /// The party triggering the draw cannot exclude a member by timing it while the member's
    /// free stake is locked elsewhere: the member stays drawn, and commits once its stake frees.
    function test_a_member_with_locked_stake_stays_drawn_and_commits_later() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        vm.roll(block.number + 2);
        address[] memory m = _drawOf(id);
        address busy = m[2];
        // lock all of the member's free stake in optimistic tasks
        uint256[] memory ids = new uint256[](STAKE / cfg.providerBond);
        for (uint256 i; i < ids.length; ++i) {
            ids[i] = _request(TaskManager.Mode.Optimistic, keccak256(abi.encode("busy", i)));
            vm.prank(busy);
            tm.submit(ids[i], OUT, TRACE);
        }
        assertEq(staking.freeStake(busy), 0, "no free stake");
        // another member triggers the draw now: the busy member is still on the committee
        vm.prank(m[0]);
        tm.commit(id, 0, keccak256(abi.encode(id, m[0], OUT, TRACE, bytes32(0))), m);
        vm.prank(busy);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.InsufficientFreeStake.selector, 0, cfg.committeeBond));
        tm.commit(id, 2, keccak256(abi.encode(id, busy, OUT, TRACE, bytes32(uint256(2)))), m);
        // its optimistic windows end, its bonds come back (unless a task is flagged for audit), and
        // it commits
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        for (uint256 i; staking.freeStake(busy) < cfg.committeeBond; ++i) {
            tm.finalize(ids[i], _rec(ids[i]), _claim(ids[i]), new int32[](0));
        }
        vm.prank(busy);
        tm.commit(id, 2, keccak256(abi.encode(id, busy, OUT, TRACE, bytes32(uint256(2)))), m);
        (,,, uint8 commitMask,,,,) = tm.committees(id);
        assertEq(commitMask, 5, "members 0 and 2 committed");
    }

    /// A drawn member that never commits (here: it unbonded its stake) locked nothing and loses
    /// nothing; the members that committed and agreed are paid.
    function test_a_member_that_never_commits_is_absent_not_slashed() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        vm.roll(block.number + 2);
        address[] memory m = _drawOf(id);
        vm.prank(m[1]);
        staking.requestUnbond(uint128(STAKE));
        bytes32[] memory list = new bytes32[](2);
        list[0] = keccak256(abi.encode(id, m[0], OUT, TRACE, bytes32(0)));
        list[1] = keccak256(abi.encode(id, m[2], OUT, TRACE, bytes32(uint256(2))));
        vm.prank(m[0]);
        tm.commit(id, 0, list[0], m);
        vm.prank(m[1]);
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.InsufficientFreeStake.selector, 0, cfg.committeeBond));
        tm.commit(id, 1, keccak256("c"), m);
        vm.prank(m[2]);
        tm.commit(id, 2, list[1], m);
        vm.prank(m[0]);
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(OUT, TRACE), bytes32(0), m, list);
        vm.warp(block.timestamp + 1 hours + 1);
        vm.prank(m[0]);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(OUT, TRACE), bytes32(0), m, list);
        vm.prank(m[2]);
        tm.reveal(id, _rec(id), _claim(id), 2, Claim(OUT, TRACE), bytes32(uint256(2)), m, list);
        vm.warp(block.timestamp + cfg.params.revealWindow + 1);
        uint256 absentBefore = staking.providers(m[1]).stake;
        tm.finalizeCommittee(id, _rec(id), _claim(id), m, new int32[](0));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        uint256 absentAfter = staking.providers(m[1]).stake;
        assertEq(absentAfter, absentBefore, "the absent member is not slashed");
        uint256 share = (FEE - uint256(FEE) * cfg.params.auditFeeBps / 10_000) / 2;
        assertEq(tm.balances(m[0]), share, "paid");
        assertEq(tm.balances(m[2]), share, "paid");
        assertEq(_locked(m[0]), 0, "bond released");
        _assertConserved();
    }

    /// A draw older than the horizon is refused; from the first block past it (the TaskManager's
    /// horizon is the staking contract's) `redraw` takes a new ticket and snapshot.
    function test_an_aged_snapshot_redraws() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        (, uint48 first,,,,,,) = tm.committees(id);
        vm.roll(first + staking.SNAPSHOT_HORIZON());
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.redraw(id);
        vm.roll(first + staking.SNAPSHOT_HORIZON() + 1);
        address p = providers[0];
        vm.prank(p);
        vm.expectRevert(); // the snapshot is too old (and the block-hash ticket expired)
        tm.commit(id, 0, keccak256("c"), new address[](0));
        tm.redraw(id);
        (, uint48 snapshot,,,,,,) = tm.committees(id);
        assertEq(snapshot, block.number - 1, "a new snapshot");
        vm.roll(block.number + 2);
        address[] memory m = _drawOf(id);
        vm.prank(m[0]);
        tm.commit(id, 0, keccak256("c"), m);
    }

    /// Opt-outs keep a seat readable for older snapshots; opting in again opens a new seat.
    function test_seats_answer_for_their_blocks() public {
        address p = providers[0];
        uint48 s0 = uint48(block.number - 1);
        vm.prank(p);
        staking.optOut(modelId);
        vm.roll(block.number + 1);
        uint48 s1 = uint48(block.number - 1);
        vm.prank(p);
        staking.optIn(modelId);
        vm.roll(block.number + 1);
        uint48 s2 = uint48(block.number - 1);
        assertTrue(_contains(staking.sample(modelId, bytes32(0), 8, 0, s0), p), "opted in at s0");
        assertFalse(_contains(staking.sample(modelId, bytes32(0), 8, 0, s1), p), "out at s1");
        assertTrue(_contains(staking.sample(modelId, bytes32(0), 8, 0, s2), p), "in again at s2");
        assertEq(staking.modelProviders(modelId).length, 4, "four opted in now");
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.SnapshotNotFinal.selector, block.number));
        staking.sample(modelId, bytes32(0), 8, 0, uint48(block.number));
    }

    /// With every seat of a model taken, a newcomer gets a seat closed longer ago than the
    /// horizon, and no seat a pending draw may still read.
    function test_a_full_model_reuses_only_stale_seats() public {
        uint32 m2 = _registerModel(keccak256("w2"), keccak256("g2"), address(0));
        uint256 max = staking.MAX_PROVIDERS_PER_MODEL();
        for (uint256 i; i < max; ++i) {
            address a = address(uint160(0x100000 + i));
            _fund(a, STAKE);
            vm.startPrank(a);
            staking.stake(uint128(cfg.minStake));
            staking.optIn(m2);
            vm.stopPrank();
        }
        address late = address(0x7A7E);
        _fund(late, STAKE);
        vm.startPrank(late);
        staking.stake(uint128(cfg.minStake));
        vm.expectRevert(ProviderStaking.TooManyProviders.selector);
        staking.optIn(m2);
        vm.stopPrank();
        address leaver = address(uint160(0x100000 + 7));
        vm.prank(leaver);
        staking.optOut(m2);
        vm.roll(block.number + 1);
        uint48 old = uint48(block.number - 1);
        vm.prank(late);
        vm.expectRevert(ProviderStaking.TooManyProviders.selector);
        staking.optIn(m2); // the seat may still be read by a draw within the horizon
        vm.roll(block.number + staking.SNAPSHOT_HORIZON());
        vm.prank(late);
        staking.optIn(m2);
        assertTrue(staking.isOptedIn(m2, late), "took the stale seat");
        assertFalse(staking.isOptedIn(m2, leaver), "the leaver is out");
        vm.roll(block.number + 1);
        assertTrue(_contains(staking.sample(m2, bytes32(0), max, 0, uint48(block.number - 1)), late), "drawable");
        vm.expectRevert(abi.encodeWithSelector(ProviderStaking.SnapshotTooOld.selector, old));
        staking.sample(m2, bytes32(0), 1, 0, old);
    }
}
