// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./utils/Fixture.sol";
import {VouchDeploy} from "../script/Deploy.s.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {Outcome} from "../src/IDisputeGame.sol";

/// @notice Fuzz campaigns over the money paths (request, refund, dispute payout, committee
/// payout) with random parameters: every run deploys the protocol with random fees, bonds,
/// windows, committee size and audit cut, drives one task to a random outcome and checks each
/// party's credit, each stake and the audit pool to the token, then the ledger identities.
/// Dispute outcomes are delivered by the DisputeGame's address (the game's own play is covered
/// by the dispute tests and the invariant handler); the money that moves is the TaskManager's.
///
/// CI runs the default 256 runs; `FOUNDRY_PROFILE=deep` runs 4096 (contracts/README.md).
contract MoneyFuzzTest is Fixture {
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant OUT = keccak256("output");
    bytes32 internal constant TRACE = keccak256("trace");
    bytes32 internal constant LIE = keccak256("lie");

    function setUp() public override {}

    struct Knobs {
        uint88 fee;
        uint96 providerBond;
        uint96 committeeBond;
        uint96 challengerBond;
        uint32 window;
        uint16 auditFeeBps;
        uint8 committeeSize;
    }

    /// Deploys with random economics (audits off, so every bond is released at settlement) and
    /// stakes eight providers with room for several bonds each.
    function _world(Knobs memory k) internal {
        VouchDeploy.Config memory c = VouchDeploy.defaultConfig(address(this));
        k.fee = uint88(bound(k.fee, 1, 100_000 ether));
        k.providerBond = uint96(bound(k.providerBond, 0, 5_000 ether));
        k.committeeBond = uint96(bound(k.committeeBond, 0, 5_000 ether));
        k.challengerBond = uint96(bound(k.challengerBond, 0, 5_000 ether));
        k.window = uint32(bound(k.window, 1, 30 days));
        k.auditFeeBps = uint16(bound(k.auditFeeBps, 0, 10_000));
        k.committeeSize = uint8(bound(k.committeeSize, 1, 8));
        c.providerBond = k.providerBond;
        c.committeeBond = k.committeeBond;
        c.params.challengerBond = k.challengerBond;
        c.params.challengeWindow = k.window;
        c.params.revealWindow = k.window;
        c.params.auditFeeBps = k.auditFeeBps;
        c.params.auditBps = 0;
        c.params.committeeSize = k.committeeSize;
        c.maxFaults = 0; // this campaign checks amounts; ejection has its own tests
        _deploy(c);
        for (uint256 i = 5; i < 8; ++i) {
            providers.push(address(uint160(0xB0B0 + i)));
            _fund(providers[i], 100_000 ether);
        }
        modelId = _registerModel(keccak256("w"), keccak256("g"), address(0));
        for (uint256 i; i < providers.length; ++i) {
            vm.startPrank(providers[i]);
            staking.stake(uint128(cfg.minStake) + 20_000 ether);
            staking.optIn(modelId);
            vm.stopPrank();
        }
        vm.roll(block.number + 1);
    }

    function _requestFee(TaskManager.Mode mode, uint88 fee, bool fromBalance) internal returns (uint256 id) {
        TaskManager.RequestInput memory r = _requestInput(mode, INPUT);
        r.fee = fee;
        if (fromBalance) {
            vm.prank(requester);
            tm.deposit(fee);
        }
        uint256 walletBefore = token.balanceOf(requester);
        vm.prank(requester);
        id = tm.request(r);
        assertEq(walletBefore - token.balanceOf(requester), fromBalance ? 0 : fee, "fee paid once");
        (uint96 escrow,,,) = tm.ledger();
        assertEq(escrow, fee, "escrowed");
        _assertConserved();
    }

    function _stakeOf(address p) internal view returns (uint256 s) {
        s = staking.providers(p).stake;
    }

    // ------------------------------------------------------------ request and refund

    function testFuzz_request_then_refund_returns_the_fee(Knobs memory k, bool committee, bool fromBalance, uint32 late)
        public
    {
        _world(k);
        TaskManager.Mode mode = committee ? TaskManager.Mode.Committee : TaskManager.Mode.Optimistic;
        uint256 id = _requestFee(mode, k.fee, fromBalance);
        uint256 deadline = tm.getTask(id).deadline;
        vm.warp(deadline);
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.refund(id, _rec(id));
        vm.warp(deadline + bound(late, 1, 365 days));
        tm.refund(id, _rec(id));
        assertEq(tm.balances(requester), k.fee, "the whole fee back");
        (uint96 escrow, uint96 pool,,) = tm.ledger();
        assertEq(escrow, 0, "nothing escrowed");
        assertEq(pool, 0, "no cut on a refund");
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadStatus.selector, TaskManager.Status.Refunded));
        tm.refund(id, _rec(id));
        _assertConserved();
        vm.prank(requester);
        tm.withdraw();
        assertEq(tm.balances(requester), 0, "withdrawn");
        _assertConserved();
    }

    // ------------------------------------------------------------ optimistic dispute payout

    function testFuzz_optimistic_dispute_pays_the_winner(Knobs memory k, uint8 outcomeRaw, bool challengerFromBalance)
        public
    {
        _world(k);
        Outcome outcome = Outcome(bound(outcomeRaw, 1, 3));
        address p = providers[0];
        uint256 id = _requestFee(TaskManager.Mode.Optimistic, k.fee, false);
        uint256 stakeBefore = _stakeOf(p);
        vm.prank(p);
        tm.submit(id, OUT, TRACE);
        assertEq(_locked(p), k.providerBond, "bond locked");
        if (challengerFromBalance) {
            vm.prank(challenger);
            tm.deposit(k.challengerBond);
        }
        uint256 walletBefore = token.balanceOf(challenger);
        vm.prank(challenger);
        tm.challenge(id, _rec(id), _claim(id), Claim(LIE, keccak256("other trace")));
        assertEq(
            walletBefore - token.balanceOf(challenger), challengerFromBalance ? 0 : k.challengerBond, "bond posted"
        );
        assertEq(tm.totalBonds(), k.challengerBond, "challenger bond escrowed");
        _assertConserved();

        vm.prank(address(game));
        tm.resolveDispute(id, outcome);
        (uint96 escrow, uint96 pool,,) = tm.ledger();
        assertEq(tm.totalBonds(), 0, "challenger bond settled");
        if (outcome == Outcome.DefenderWins) {
            assertTrue(_status(id) == TaskManager.Status.Submitted, "the result stands");
            assertEq(tm.balances(p), k.challengerBond, "provider takes the challenger's bond");
            assertEq(tm.balances(challenger), 0, "challenger lost its bond");
            assertEq(escrow, k.fee, "fee still escrowed");
            vm.warp(block.timestamp + k.window);
            tm.finalize(id, _rec(id), _claim(id), new int32[](0));
            uint256 cut = uint256(k.fee) * k.auditFeeBps / 10_000;
            assertEq(tm.balances(p), uint256(k.challengerBond) + k.fee - cut, "then the fee less the cut");
            (, pool,,) = tm.ledger();
            assertEq(pool, cut, "the cut to the audit pool");
            assertEq(_stakeOf(p), stakeBefore, "stake intact");
        } else {
            assertTrue(_status(id) == TaskManager.Status.Failed, "failed");
            assertEq(tm.balances(requester), k.fee, "fee refunded");
            assertEq(escrow, 0, "nothing escrowed");
            assertEq(stakeBefore - _stakeOf(p), k.providerBond, "provider slashed by its bond");
            assertEq(tm.balances(p), 0, "provider paid nothing");
            if (outcome == Outcome.ChallengerWins) {
                assertEq(tm.balances(challenger), uint256(k.challengerBond) + k.providerBond, "bond back + the bond");
                assertEq(pool, 0, "pool untouched");
            } else {
                assertEq(tm.balances(challenger), 0, "both wrong: the challenger's bond is lost");
                assertEq(pool, uint256(k.challengerBond) + k.providerBond, "both bonds to the pool");
            }
        }
        assertEq(_locked(p), 0, "no bond left locked");
        _assertConserved();
    }

    // ------------------------------------------------------------ committee payout

    uint8 internal constant AGREE = 0;
    uint8 internal constant ABSENT = 1; // never commits
    uint8 internal constant SILENT = 2; // commits, never reveals

    struct Run {
        uint256 id;
        address[] m;
        uint8[] kind;
        bytes32[] commits;
        uint256[] stakeBefore;
        uint256 committed;
    }

    /// Draws the committee and has each member act as `kinds` says (2 bits a member, mod 3).
    function _commitAndReveal(Knobs memory k, uint256 kinds, uint256 dissenter) internal returns (Run memory r) {
        r.id = _requestFee(TaskManager.Mode.Committee, k.fee, false);
        vm.roll(block.number + 2);
        r.m = _drawOf(r.id);
        uint256 n = r.m.length;
        assertEq(n, k.committeeSize, "a full committee");
        r.kind = new uint8[](n);
        r.stakeBefore = new uint256[](n);
        bytes32[] memory all = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            r.kind[i] = uint8(((kinds >> (2 * i)) & 3) % 3);
            // with a dissenter, member 0 reveals first (defends) and the dissenter reveals another output
            if (dissenter < n && (i == 0 || i == dissenter)) r.kind[i] = AGREE;
            r.stakeBefore[i] = _stakeOf(r.m[i]);
            if (r.kind[i] == ABSENT) continue;
            bytes32 out = i == dissenter ? LIE : OUT;
            bytes32 c = keccak256(abi.encode(r.id, r.m[i], out, TRACE, bytes32(i)));
            vm.prank(r.m[i]);
            tm.commit(r.id, i, c, r.m);
            all[r.committed++] = c;
        }
        r.commits = new bytes32[](r.committed);
        for (uint256 i; i < r.committed; ++i) {
            r.commits[i] = all[i];
        }
        _assertConserved();
        if (r.committed == 0) return r;
        if (r.committed < n) vm.warp(tm.getTask(r.id).deadline + 1);
        // agreeing members reveal, the dissenter right after the first of them
        bool first = true;
        for (uint256 i; i < n; ++i) {
            if (r.kind[i] != AGREE || i == dissenter) continue;
            vm.prank(r.m[i]);
            tm.reveal(r.id, _rec(r.id), _claim(r.id), i, Claim(OUT, TRACE), bytes32(i), r.m, r.commits);
            if (first && dissenter < n) {
                first = false;
                vm.prank(r.m[dissenter]);
                tm.reveal(
                    r.id, _rec(r.id), _claim(r.id), dissenter, Claim(LIE, TRACE), bytes32(dissenter), r.m, r.commits
                );
                return r; // disputed
            }
        }
    }

    function testFuzz_committee_pays_agreeing_members_and_slashes_silent_ones(Knobs memory k, uint256 kinds) public {
        _world(k);
        Run memory r = _commitAndReveal(k, kinds, type(uint256).max);
        uint256 n = r.m.length;
        uint256 agreeing;
        uint256 silent;
        for (uint256 i; i < n; ++i) {
            if (r.kind[i] == AGREE) ++agreeing;
            if (r.kind[i] == SILENT) ++silent;
        }
        if (_status(r.id) == TaskManager.Status.Requested) {
            if (r.committed == 0) {
                // nobody committed: nothing was drawn on-chain, the task refunds
                vm.warp(tm.getTask(r.id).deadline + 1);
                tm.refund(r.id, _rec(r.id));
            } else {
                vm.warp(uint256(tm.getTask(r.id).deadline) + k.window + 1);
                tm.finalizeCommittee(r.id, _rec(r.id), _claim(r.id), r.m, new int32[](0));
            }
        }
        (uint96 escrow, uint96 pool,,) = tm.ledger();
        assertEq(escrow, 0, "settled");
        uint256 share;
        uint256 cut;
        if (agreeing == 0) {
            assertEq(tm.balances(requester), k.fee, "no reveal: fee refunded");
        } else {
            assertTrue(_status(r.id) == TaskManager.Status.Finalized, "finalized");
            cut = uint256(k.fee) * k.auditFeeBps / 10_000;
            share = (k.fee - cut) / agreeing;
            cut = k.fee - share * agreeing;
        }
        assertEq(pool, cut + silent * k.committeeBond, "cut and silent members' bonds to the pool");
        for (uint256 i; i < n; ++i) {
            address a = r.m[i];
            assertEq(_locked(a), 0, "no bond left locked");
            if (r.kind[i] == AGREE) {
                assertEq(tm.balances(a), share, "an agreeing member's share");
                assertEq(_stakeOf(a), r.stakeBefore[i], "its stake intact");
            } else if (r.kind[i] == SILENT) {
                assertEq(tm.balances(a), 0, "a silent member earns nothing");
                assertEq(r.stakeBefore[i] - _stakeOf(a), k.committeeBond, "and loses its bond");
            } else {
                assertEq(tm.balances(a), 0, "an absent member earns nothing");
                assertEq(_stakeOf(a), r.stakeBefore[i], "and loses nothing");
            }
        }
        _assertConserved();
    }

    function testFuzz_committee_dispute_pays_the_winner(Knobs memory k, uint256 kinds, uint8 outcomeRaw) public {
        k.committeeSize = uint8(bound(k.committeeSize, 2, 8));
        _world(k);
        Outcome outcome = Outcome(bound(outcomeRaw, 1, 3));
        uint256 dissenter = 1;
        Run memory r = _commitAndReveal(k, kinds, dissenter);
        assertTrue(_status(r.id) == TaskManager.Status.Disputed, "disputed");
        address defender = r.m[0];
        address dissent = r.m[dissenter];
        vm.prank(address(game));
        tm.resolveDispute(r.id, outcome);
        tm.releaseCommitteeBonds(r.id, r.m);
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadStatus.selector, _status(r.id)));
        tm.releaseCommitteeBonds(r.id, r.m);
        uint256 bond = k.committeeBond;
        uint256 cut;
        if (outcome == Outcome.BothWrong) {
            assertTrue(_status(r.id) == TaskManager.Status.Failed, "failed");
            assertEq(tm.balances(requester), k.fee, "fee refunded");
            assertEq(r.stakeBefore[0] - _stakeOf(defender), bond, "defender slashed");
            assertEq(r.stakeBefore[dissenter] - _stakeOf(dissent), bond, "dissenter slashed");
        } else {
            address winner = outcome == Outcome.DefenderWins ? defender : dissent;
            address loser = outcome == Outcome.DefenderWins ? dissent : defender;
            assertEq(tm.getTask(r.id).provider, winner, "the winner's result stands");
            vm.warp(block.timestamp + k.window);
            tm.finalize(r.id, _rec(r.id), _claim(r.id), new int32[](0));
            cut = uint256(k.fee) * k.auditFeeBps / 10_000;
            assertEq(tm.balances(winner), bond + k.fee - cut, "the loser's bond and the fee");
            assertEq(tm.balances(loser), 0, "the loser earns nothing");
            uint256 li = loser == defender ? 0 : dissenter;
            assertEq(r.stakeBefore[li] - _stakeOf(loser), bond, "the loser slashed");
        }
        (uint96 escrow, uint96 pool,,) = tm.ledger();
        assertEq(escrow, 0, "settled");
        assertEq(pool, cut + (outcome == Outcome.BothWrong ? 2 * bond : 0), "pool");
        for (uint256 i; i < r.m.length; ++i) {
            assertEq(_locked(r.m[i]), 0, "every bond released or slashed");
            if (i != 0 && i != dissenter) {
                assertEq(_stakeOf(r.m[i]), r.stakeBefore[i], "bystanders keep their stake");
                assertEq(tm.balances(r.m[i]), 0, "and are not paid");
            }
        }
        _assertConserved();
    }
}
