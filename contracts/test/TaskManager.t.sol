// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./utils/Fixture.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {ReceiptAttester} from "../src/ReceiptAttester.sol";
import {ProviderStaking} from "../src/ProviderStaking.sol";
import {DisputeGame} from "../src/DisputeGame.sol";
import {IZkVerifier} from "../src/IZkVerifier.sol";

contract MockZkVerifier is IZkVerifier {
    function verifyProof(bytes32, bytes32, bytes32, bytes32 out, bytes calldata proof) external pure returns (bool) {
        return keccak256(proof) == keccak256(abi.encode(out));
    }
}

contract TaskManagerTest is Fixture {
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant OUT = keccak256("output");
    bytes32 internal constant TRACE_L = keccak256("l");
    bytes32 internal constant TRACE_R = keccak256("r");
    bytes32 internal trace;
    bytes32 internal nodesRoot = keccak256("nodes");
    uint256[] internal outputNodes;

    function setUp() public override {
        super.setUp();
        outputNodes.push(1);
        trace = keccak256(abi.encodePacked(TRACE_L, TRACE_R));
        modelId =
            _registerModel(keccak256("weights"), keccak256(abi.encode(uint256(2), nodesRoot, outputNodes)), address(0));
        for (uint256 i; i < providers.length; ++i) {
            _stakeAndOptIn(providers[i], modelId);
        }
    }

    // ------------------------------------------------------------ request storage

    /// A request writes its slots as packed words (`_request`): every field reads back through
    /// `getTask` as requested, whatever the values, with the flags the request implies.
    function testFuzz_request_fields_read_back(uint88 fee, uint32 deadlineAhead, uint8 mode, uint16 rows, bool cb)
        public
    {
        fee = uint88(bound(fee, 1, 1_000_000 ether));
        mode = uint8(bound(mode, 0, 1)); // zk needs a verifier
        rows = uint16(bound(rows, 1, 3));
        uint32 deadline = uint32(bound(uint256(block.timestamp) + 1 + deadlineAhead, 0, type(uint32).max));
        vm.assume(deadline > block.timestamp);
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode(mode), INPUT);
        (r.fee, r.deadline, r.rows) = (fee, deadline, rows);
        if (cb) (r.callback, r.callbackGas) = (address(0xCA11), 77_000);
        vm.prank(requester);
        uint256 id = tm.request(r);
        TaskManager.Task memory t = tm.getTask(id);
        assertEq(t.flags, cb ? 32 : 0, "flags");
        assertEq(t.provider, address(0), "no provider yet");
        assertEq(t.modelId, modelId, "model");
        assertEq(uint8(t.mode), mode, "mode");
        assertTrue(t.status == TaskManager.Status.Requested, "status");
        assertEq(t.deadline, deadline, "deadline");
        // the commitment is the record's hash, and the record rebuilt from TaskRequested is r's
        TaskRecord memory rec = _rec(id);
        assertEq(t.commitment, keccak256(abi.encode(rec)), "commitment = keccak256(abi.encode(record))");
        assertEq(rec.requester, requester, "requester");
        assertEq(rec.fee, fee, "fee");
        assertEq(rec.modelId, modelId, "record model");
        assertEq(rec.version, VERSION, "version");
        assertEq(rec.mode, mode, "record mode");
        assertFalse(rec.vault, "no vault");
        assertEq(rec.rows, rows, "rows");
        assertEq(rec.inputCommitment, INPUT, "input");
        assertEq(rec.callback, cb ? address(0xCA11) : address(0), "callback");
        assertEq(rec.callbackGas, cb ? 77_000 : 0, "callback gas");
        tm.checkRecord(id, rec, Claim(0, 0));
    }

    // ------------------------------------------------------------ optimistic

    /// The challenge window is exactly `challengeWindow` seconds: challenges are accepted in the
    /// seconds `[submit, submit + window)`, finalizing from `submit + window` on.
    function test_challenge_window_is_exactly_the_configured_seconds() public {
        uint256 id = _request(TaskManager.Mode.Optimistic, INPUT);
        uint256 submittedAt = block.timestamp;
        vm.prank(providers[0]);
        tm.submit(id, OUT, trace);
        assertEq(tm.getTask(id).deadline, submittedAt + cfg.params.challengeWindow - 1, "last second");
        vm.warp(submittedAt + cfg.params.challengeWindow - 1);
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        uint256 snap = vm.snapshotState();
        vm.prank(challenger);
        tm.challenge(id, _rec(id), _claim(id), Claim(keccak256("other"), trace));
        assertTrue(_status(id) == TaskManager.Status.Disputed, "a challenge in the last second");
        vm.revertToState(snap);
        vm.warp(submittedAt + cfg.params.challengeWindow);
        vm.expectRevert(TaskManager.DeadlinePassed.selector);
        vm.prank(challenger);
        tm.challenge(id, _rec(id), _claim(id), Claim(keccak256("other"), trace));
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized at submit + window");
    }

    function test_optimistic_happy_path() public {
        uint256 id = _request(TaskManager.Mode.Optimistic, INPUT);
        assertEq(token.balanceOf(address(tm)), FEE, "fee escrowed");
        address p = providers[0];
        vm.prank(p);
        tm.submit(id, OUT, trace);
        assertEq(_locked(p), cfg.providerBond, "bond locked");
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        vm.warp(block.timestamp + cfg.params.challengeWindow + 1);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        uint256 cut = uint256(FEE) * cfg.params.auditFeeBps / 10_000;
        assertEq(tm.balances(p), FEE - cut, "provider credited");
        assertEq(_receiptCount(), 1, "receipt appended");
        _assertConserved();
        // finalized tasks cannot be finalized, challenged or refunded again
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadStatus.selector, TaskManager.Status.Finalized));
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadStatus.selector, TaskManager.Status.Finalized));
        vm.prank(challenger);
        tm.challenge(id, _rec(id), _claim(id), Claim(OUT, trace));
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadStatus.selector, TaskManager.Status.Finalized));
        tm.refund(id, _rec(id));
        // withdraw pays exactly once
        uint256 before = token.balanceOf(p);
        vm.prank(p);
        tm.withdraw();
        assertEq(token.balanceOf(p) - before, FEE - cut, "withdrawn");
        vm.prank(p);
        vm.expectRevert(TaskManager.NothingToWithdraw.selector);
        tm.withdraw();
        _assertConserved();
    }

    function test_submit_requires_opt_in_and_deadline() public {
        uint256 id = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.prank(challenger);
        vm.expectRevert(TaskManager.NotOptedIn.selector);
        tm.submit(id, OUT, trace);
        vm.warp(block.timestamp + 2 hours);
        vm.prank(providers[0]);
        vm.expectRevert(TaskManager.DeadlinePassed.selector);
        tm.submit(id, OUT, trace);
    }

    function test_refund_after_deadline() public {
        uint256 id = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.refund(id, _rec(id));
        vm.warp(block.timestamp + 1 hours + 1);
        tm.refund(id, _rec(id));
        assertEq(tm.balances(requester), FEE, "refund credited");
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadStatus.selector, TaskManager.Status.Refunded));
        tm.refund(id, _rec(id));
        // the credit pays the next request without a transfer
        uint256 bal = token.balanceOf(requester);
        _request(TaskManager.Mode.Optimistic, INPUT);
        assertEq(token.balanceOf(requester), bal, "paid from credit");
        assertEq(tm.balances(requester), 0, "credit used");
        _assertConserved();
    }

    function test_frozen_model_rejects_requests() public {
        for (uint256 i; i < cfg.freezeThreshold; ++i) {
            vm.prank(address(tm));
            registry.recordStrike(modelId, VERSION, providers[i]);
        }
        assertTrue(registry.status(modelId, VERSION) == ModelRegistry.Status.Frozen, "frozen");
        vm.prank(requester);
        vm.expectRevert(TaskManager.ModelNotActive.selector);
        tm.request(_requestInput(TaskManager.Mode.Optimistic, INPUT));
    }

    // ------------------------------------------------------------ disputes (outcomes by timeout)

    function _submittedAndChallenged(bytes32 challengerTrace) internal returns (uint256 id, uint256 gameId) {
        id = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.prank(providers[0]);
        tm.submit(id, OUT, trace);
        vm.prank(challenger);
        gameId = tm.challenge(id, _rec(id), _claim(id), Claim(keccak256("other output"), challengerTrace));
        assertTrue(_status(id) == TaskManager.Status.Disputed, "disputed");
        _assertConserved();
    }

    function test_challenger_wins_when_defender_stops_answering() public {
        bytes32 cl = keccak256("cl");
        bytes32 cr = keccak256("cr");
        (uint256 id, uint256 gid) = _submittedAndChallenged(keccak256(abi.encodePacked(cl, cr)));
        game.postGraph(gid, 2, nodesRoot, outputNodes);
        vm.prank(challenger);
        game.bisect(gid, cl, cr);
        vm.warp(block.timestamp + 2 hours);
        uint256 provBefore = staking.freeStake(providers[0]) + _locked(providers[0]);
        game.timeout(gid);
        assertTrue(_status(id) == TaskManager.Status.Failed, "failed");
        assertEq(tm.balances(requester), FEE, "fee refunded");
        assertEq(tm.balances(challenger), cfg.params.challengerBond + cfg.providerBond, "challenger paid");
        assertEq(staking.freeStake(providers[0]) + _locked(providers[0]), provBefore - cfg.providerBond, "slashed");
        (,,,,, uint32 strikes,,,,,) = _version();
        assertEq(strikes, 1, "strike recorded");
        _assertConserved();
    }

    function _version()
        internal
        view
        returns (
            bytes32,
            bytes32,
            bytes32,
            address,
            uint32,
            uint32,
            uint64,
            ModelRegistry.Status,
            bytes32,
            string memory,
            string memory
        )
    {
        ModelRegistry.Version memory v = registry.getVersion(modelId, VERSION);
        return (
            v.packageHash,
            v.weightsRoot,
            v.graphRoot,
            v.zkVerifier,
            v.semanticsVersion,
            v.strikes,
            v.registeredAt,
            v.status,
            v.provenanceUid,
            v.packageCid,
            v.metadataUri
        );
    }

    function test_defender_wins_when_nobody_proceeds_and_window_restarts() public {
        (uint256 id, uint256 gid) = _submittedAndChallenged(keccak256("garbage"));
        vm.warp(block.timestamp + 2 hours);
        game.timeout(gid);
        assertTrue(_status(id) == TaskManager.Status.Submitted, "back to submitted");
        assertEq(tm.balances(providers[0]), cfg.params.challengerBond, "provider got challenger bond");
        assertEq(_locked(providers[0]), cfg.providerBond, "provider bond still locked");
        vm.warp(block.timestamp + cfg.params.challengeWindow + 1);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        assertEq(_locked(providers[0]) == 0 || tm.getTask(id).flags & 1 == 1, true, "bond released unless audited");
        _assertConserved();
    }

    function test_only_task_manager_opens_and_only_game_resolves() public {
        vm.expectRevert(TaskManager.NotDisputeGame.selector);
        tm.resolveDispute(1, TaskManager.Status.None == TaskManager.Status.None ? _o(1) : _o(1));
    }

    function _o(uint8 x) internal pure returns (Outcome) {
        return Outcome(x);
    }

    // ------------------------------------------------------------ committee

    function _committee(uint256 id) internal returns (address[] memory members) {
        vm.roll(block.number + 2);
        members = _drawOf(id);
    }

    /// Commitments of the tests' committees, in arrival order (the `Committed` events).
    bytes32[] internal commits;

    function _commitAll(uint256 id, address[] memory m, bytes32[] memory outs) internal {
        bytes32[] memory traces = new bytes32[](m.length);
        for (uint256 i; i < m.length; ++i) {
            traces[i] = trace;
        }
        _commitAll(id, m, outs, traces);
    }

    /// Every member commits to `(outs[i], traces[i])` with salt `i`.
    function _commitAll(uint256 id, address[] memory m, bytes32[] memory outs, bytes32[] memory traces) internal {
        delete commits;
        for (uint256 i; i < m.length; ++i) {
            bytes32 c = keccak256(abi.encode(id, m[i], outs[i], traces[i], bytes32(i)));
            vm.prank(m[i]);
            tm.commit(id, i, c, m);
            commits.push(c);
        }
    }

    function test_committee_agreement_finalizes_on_last_reveal() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        address[] memory m = _committee(id);
        assertEq(m.length, 3, "three members");
        bytes32[] memory outs = new bytes32[](3);
        outs[0] = OUT;
        outs[1] = OUT;
        outs[2] = OUT;
        _commitAll(id, m, outs);
        for (uint256 i; i < 3; ++i) {
            assertEq(_locked(m[i]), cfg.committeeBond, "member bond locked");
            vm.prank(m[i]);
            tm.reveal(id, _rec(id), _claim(id), i, Claim(OUT, trace), bytes32(i), m, commits);
        }
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        uint256 share = (FEE - uint256(FEE) * cfg.params.auditFeeBps / 10_000) / 3;
        for (uint256 i; i < 3; ++i) {
            assertEq(tm.balances(m[i]), share, "member paid");
        }
        _assertConserved();
    }

    function test_committee_reveal_needs_the_commit_chain() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        address[] memory m = _committee(id);
        bytes32[] memory outs = new bytes32[](3);
        outs[0] = OUT;
        outs[1] = OUT;
        outs[2] = OUT;
        _commitAll(id, m, outs);
        bytes32[] memory good = commits;
        // wrong order: the chain does not match
        bytes32[] memory swapped = new bytes32[](3);
        (swapped[0], swapped[1], swapped[2]) = (good[1], good[0], good[2]);
        vm.prank(m[0]);
        vm.expectRevert(TaskManager.BadReveal.selector);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(OUT, trace), bytes32(0), m, swapped);
        // a list that omits the caller's commitment
        bytes32[] memory omitted = new bytes32[](2);
        (omitted[0], omitted[1]) = (good[1], good[2]);
        vm.prank(m[0]);
        vm.expectRevert(TaskManager.BadReveal.selector);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(OUT, trace), bytes32(0), m, omitted);
        // an opening that differs from the commitment (another output)
        vm.prank(m[0]);
        vm.expectRevert(TaskManager.BadReveal.selector);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(keccak256("other"), trace), bytes32(0), m, good);
        // another member's opening under the caller's index
        vm.prank(m[0]);
        vm.expectRevert(TaskManager.NotMember.selector);
        tm.reveal(id, _rec(id), _claim(id), 1, Claim(OUT, trace), bytes32(uint256(1)), m, good);
        vm.prank(m[0]);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(OUT, trace), bytes32(0), m, good);
        vm.prank(m[0]);
        vm.expectRevert(TaskManager.AlreadyRevealed.selector);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(OUT, trace), bytes32(0), m, good);
    }

    function test_committee_non_committer_cannot_reveal() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        address[] memory m = _committee(id);
        // member 1 commits member 0's commitment on its behalf; member 0 never commits
        bytes32 c0 = keccak256(abi.encode(id, m[0], OUT, trace, bytes32(0)));
        vm.prank(m[1]);
        tm.commit(id, 1, c0, m);
        bytes32[] memory list = new bytes32[](1);
        list[0] = c0;
        vm.warp(block.timestamp + 1 hours + 1); // commit deadline passed: reveals open
        vm.prank(m[0]);
        vm.expectRevert(TaskManager.BadReveal.selector);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(OUT, trace), bytes32(0), m, list);
    }

    function test_committee_reveal_before_all_committed_is_too_early() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        address[] memory m = _committee(id);
        vm.prank(m[0]);
        tm.commit(id, 0, keccak256(abi.encode(id, m[0], OUT, trace, bytes32(0))), m);
        vm.prank(m[0]);
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(OUT, trace), bytes32(0), m, commits);
    }

    function test_committee_non_revealer_slashed() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        address[] memory m = _committee(id);
        bytes32[] memory outs = new bytes32[](3);
        outs[0] = OUT;
        outs[1] = OUT;
        outs[2] = OUT;
        _commitAll(id, m, outs);
        for (uint256 i; i < 2; ++i) {
            vm.prank(m[i]);
            tm.reveal(id, _rec(id), _claim(id), i, Claim(OUT, trace), bytes32(i), m, commits);
        }
        vm.warp(block.timestamp + 2 hours);
        uint256 poolBefore = _auditPool();
        tm.finalizeCommittee(id, _rec(id), _claim(id), m, new int32[](0));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        assertEq(_locked(m[2]), 0, "no-show bond gone");
        assertGt(_auditPool(), poolBefore + cfg.committeeBond - 1, "slashed into pool");
        _assertConserved();
    }

    function test_committee_dispute_the_defenders_result_stands() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        address[] memory m = _committee(id);
        bytes32[] memory outs = new bytes32[](3);
        outs[0] = OUT;
        outs[1] = keccak256("lie");
        outs[2] = OUT;
        _commitAll(id, m, outs);
        vm.prank(m[0]);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(OUT, trace), bytes32(0), m, commits);
        vm.prank(m[1]);
        tm.reveal(id, _rec(id), _claim(id), 1, Claim(outs[1], trace), bytes32(uint256(1)), m, commits);
        assertTrue(_status(id) == TaskManager.Status.Disputed, "disputed");
        // same traces, different outputs: the output check decides. Nobody proves: defender wins.
        vm.warp(block.timestamp + 2 hours);
        game.timeout(1);
        assertTrue(_status(id) == TaskManager.Status.Submitted, "the defender's result stands");
        assertEq(_claim(id).output, OUT, "the honest output");
        assertEq(tm.balances(m[0]), cfg.committeeBond, "defender paid the dissenter's bond");
        assertEq(_locked(m[1]), 0, "dissenter slashed");
        assertEq(_locked(m[0]), cfg.committeeBond, "the standing result keeps its bond locked");
        tm.releaseCommitteeBonds(id, m);
        assertEq(_locked(m[2]), 0, "bystander released");
        _finalizeStanding(id, m[0]);
        _assertConserved();
    }

    function test_committee_dispute_the_challengers_result_stands() public {
        uint256 id = _request(TaskManager.Mode.Committee, INPUT);
        address[] memory m = _committee(id);
        bytes32 lie = keccak256("lie");
        bytes32 lieTrace = keccak256("lie trace");
        bytes32[] memory outs = new bytes32[](3);
        outs[0] = lie;
        outs[1] = OUT;
        outs[2] = OUT;
        bytes32[] memory traces = new bytes32[](3);
        traces[0] = lieTrace;
        traces[1] = trace;
        traces[2] = trace;
        _commitAll(id, m, outs, traces);
        vm.prank(m[0]);
        tm.reveal(id, _rec(id), _claim(id), 0, Claim(lie, lieTrace), bytes32(0), m, commits);
        vm.prank(m[1]);
        tm.reveal(id, _rec(id), _claim(id), 1, Claim(OUT, trace), bytes32(uint256(1)), m, commits);
        assertTrue(_status(id) == TaskManager.Status.Disputed, "disputed");
        uint256 stakeBefore = _locked(m[0]);
        vm.prank(address(game));
        tm.resolveDispute(id, Outcome.ChallengerWins);
        TaskManager.Task memory t = tm.getTask(id);
        assertTrue(t.status == TaskManager.Status.Submitted, "the challenger's result stands");
        assertEq(t.provider, m[1], "the winning member is the provider");
        assertEq(_claim(id).output, OUT, "the honest output (the last ResultSubmitted)");
        assertEq(_claim(id).traceRoot, trace, "the honest trace root");
        tm.checkRecord(id, _rec(id), Claim(OUT, trace));
        assertEq(stakeBefore - _locked(m[0]), cfg.committeeBond, "the liar's bond slashed");
        assertEq(tm.balances(m[1]), cfg.committeeBond, "the winner gets the liar's bond");
        vm.expectRevert(abi.encodeWithSelector(TaskManager.BadStatus.selector, TaskManager.Status.Submitted));
        vm.prank(m[2]);
        tm.reveal(id, _rec(id), _claim(id), 2, Claim(OUT, trace), bytes32(uint256(2)), m, commits);
        tm.releaseCommitteeBonds(id, m);
        assertEq(_locked(m[2]), 0, "bystander released");
        assertEq(_locked(m[1]), cfg.committeeBond, "the standing result keeps its bond locked");
        _finalizeStanding(id, m[1]);
        _assertConserved();
    }

    /// After a committee dispute: the window runs, then `finalize` pays the standing member.
    function _finalizeStanding(uint256 id, address winner) internal {
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        uint256 before = tm.balances(winner);
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        assertGt(tm.balances(winner), before, "the fee paid to the standing member");
        assertEq(_locked(winner) == 0 || tm.getTask(id).flags & 1 == 1, true, "bond released unless audited");
    }

    // ------------------------------------------------------------ zk

    function test_zk_mode_finalizes_with_valid_proof() public {
        MockZkVerifier v = new MockZkVerifier();
        modelId = _registerModel(keccak256("w"), keccak256("g"), address(v));
        uint256 id = _request(TaskManager.Mode.Zk, INPUT);
        vm.prank(providers[1]);
        vm.expectRevert(TaskManager.ProofRejected.selector);
        tm.submitZk(id, _rec(id), OUT, "bad");
        vm.prank(providers[1]);
        tm.submitZk(id, _rec(id), OUT, abi.encode(OUT));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "finalized");
        _assertConserved();
    }

    function test_zk_mode_needs_verifier() public {
        vm.prank(requester);
        vm.expectRevert(TaskManager.ModelNotActive.selector);
        tm.request(_requestInput(TaskManager.Mode.Zk, INPUT));
    }

    // ------------------------------------------------------------ callbacks

    function test_callback_gas_cap_enforced() public {
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        r.callback = address(1);
        r.callbackGas = cfg.params.maxCallbackGas + 1;
        vm.prank(requester);
        vm.expectRevert(TaskManager.CallbackGasTooHigh.selector);
        tm.request(r);
    }

    // ------------------------------------------------------------ audits

    /// A finalized optimistic task flagged for audit, with a funded audit pool.
    function _auditedTask() internal returns (uint256 id) {
        id = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.prank(providers[0]);
        tm.submit(id, OUT, trace);
        vm.warp(block.timestamp + cfg.params.challengeWindow + 1);
        // find a prevrandao that flags the task
        for (uint256 r; r < 1000; ++r) {
            bytes32 rand = keccak256(abi.encode(bytes32(r), block.number));
            if (uint256(keccak256(abi.encode(rand, id))) % 10_000 < cfg.params.auditBps) {
                vm.prevrandao(bytes32(r));
                break;
            }
        }
        token.approve(address(tm), 100 ether);
        tm.fundAuditPool(100 ether);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        assertEq(tm.getTask(id).flags & 1, 1, "flagged");
        assertEq(_locked(providers[0]), cfg.providerBond, "bond held during audit");
    }

    function test_audit_confirm_is_paid_when_the_window_closes_unchallenged() public {
        uint256 id = _auditedTask();
        vm.prank(challenger);
        tm.confirmAudit(id, _rec(id), Claim(OUT, trace));
        assertEq(tm.auditors(id), challenger, "confirmer recorded");
        assertEq(tm.balances(challenger), 0, "not paid before the window ends");
        assertEq(_locked(providers[0]), cfg.providerBond, "bond held until the window ends");
        vm.expectRevert(TaskManager.NotAudited.selector);
        tm.confirmAudit(id, _rec(id), Claim(OUT, trace)); // one confirmer per audit
        vm.expectRevert(TaskManager.TooEarly.selector);
        tm.closeAudit(id);
        vm.warp(tm.getTask(id).deadline + 1);
        tm.closeAudit(id);
        assertEq(tm.balances(challenger), cfg.params.auditReward, "confirmer paid from the pool");
        assertEq(_locked(providers[0]), 0, "bond released");
        vm.expectRevert(TaskManager.NotAudited.selector);
        tm.closeAudit(id);
        _assertConserved();
    }

    function test_audit_a_provider_cannot_confirm_its_own_result() public {
        uint256 id = _auditedTask();
        vm.prank(providers[0]);
        vm.expectRevert(TaskManager.NotAudited.selector);
        tm.confirmAudit(id, _rec(id), Claim(OUT, trace));
    }

    function test_audit_a_confirmed_lie_can_still_be_challenged_and_the_confirmer_is_not_paid() public {
        uint256 id = _auditedTask();
        // anyone (a Sybil of the provider) confirms the posted values, which are public
        address sybil = makeAddr("sybil");
        vm.prank(sybil);
        tm.confirmAudit(id, _rec(id), Claim(OUT, trace));
        // an auditor that re-executed disagrees: the audit is still open
        vm.prank(challenger);
        tm.challengeAudit(id, _rec(id), _claim(id), Claim(keccak256("the right output"), keccak256("its trace")));
        uint256 stakeBefore = staking.freeStake(providers[0]) + _locked(providers[0]);
        vm.prank(address(game));
        tm.resolveDispute(id, Outcome.ChallengerWins);
        assertEq(tm.getTask(id).flags & 4, 4, "audit failed");
        assertEq(
            staking.freeStake(providers[0]) + _locked(providers[0]), stakeBefore - cfg.providerBond, "liar slashed"
        );
        assertEq(tm.balances(sybil), 0, "the confirmer of a lie is paid nothing");
        assertTrue(tm.balances(challenger) >= cfg.params.auditReward, "the auditor that caught it is paid");
        vm.expectRevert(TaskManager.NotAudited.selector);
        tm.closeAudit(id);
        _assertConserved();
    }

    // ------------------------------------------------------------ receipts

    function test_receipts_batch_and_single() public {
        uint256 id = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.prank(providers[0]);
        tm.submit(id, OUT, trace);
        vm.warp(block.timestamp + cfg.params.challengeWindow + 1);
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        bytes32 leaf = keccak256(abi.encode(id, modelId, uint32(VERSION), INPUT, OUT, uint8(0), trace));
        assertEq(tm.receiptHead(), keccak256(abi.encode(bytes32(0), leaf)), "hash chain");
        bytes32 uid = receipts.flushReceipts();
        assertTrue(d.eas.isAttestationValid(uid), "batch attested");
        vm.expectRevert(bytes4(keccak256("NothingToAttest()")));
        receipts.flushReceipts();
        bytes32 one = receipts.attestReceipt(id, _rec(id), _claim(id));
        assertEq(d.eas.getAttestation(one).recipient, requester, "receipt to requester");
        vm.expectRevert(bytes4(keccak256("AlreadyAttested()")));
        receipts.attestReceipt(id, _rec(id), _claim(id));
    }

    function test_receipts_attested_in_one_multi_attest_once_each() public {
        uint256 a = _request(TaskManager.Mode.Optimistic, INPUT);
        uint256 b = _request(TaskManager.Mode.Optimistic, INPUT);
        uint256 open = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.startPrank(providers[0]);
        tm.submit(a, OUT, trace);
        tm.submit(b, OUT, trace);
        vm.stopPrank();
        vm.warp(block.timestamp + cfg.params.challengeWindow + 1);
        tm.finalize(a, _rec(a), _claim(a), new int32[](0));
        tm.finalize(b, _rec(b), _claim(b), new int32[](0));
        uint256[] memory ids = new uint256[](4);
        (ids[0], ids[1], ids[2], ids[3]) = (a, open, b, a);
        (TaskRecord[] memory recs, Claim[] memory results) = _recsOf(ids);
        bytes32[] memory uids = receipts.attestReceipts(ids, recs, results);
        assertTrue(uids[0] != bytes32(0) && uids[2] != bytes32(0) && uids[0] != uids[2], "a and b attested");
        assertEq(uids[1], bytes32(0), "not finalized: skipped");
        assertEq(uids[3], bytes32(0), "a repeated: attested once");
        assertEq(receipts.receiptUid(a), uids[0], "uid of a");
        assertEq(receipts.receiptUid(b), uids[2], "uid of b");
        assertEq(d.eas.getAttestation(uids[0]).recipient, requester, "receipt to requester");
        assertEq(d.eas.getAttestation(uids[2]).schema, receipts.receiptSchema(), "receipt schema");
        vm.expectRevert(bytes4(keccak256("NothingToAttest()")));
        receipts.attestReceipts(ids, recs, results);
        vm.expectRevert(bytes4(keccak256("AlreadyAttested()")));
        receipts.attestReceipt(b, _rec(b), _claim(b));
    }

    function _recsOf(uint256[] memory ids) internal returns (TaskRecord[] memory recs, Claim[] memory results) {
        recs = new TaskRecord[](ids.length);
        results = new Claim[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            (recs[i], results[i]) = (_rec(ids[i]), _claim(ids[i]));
        }
    }

    function test_a_second_deployment_on_the_same_eas_registers_no_schema_twice() public {
        ModelRegistry again = new ModelRegistry(d.eas, address(this), 3);
        assertEq(again.provenanceSchema(), d.registry.provenanceSchema(), "provenance schema");
        ReceiptAttester other = new ReceiptAttester(d.eas, tm);
        assertEq(other.receiptSchema(), receipts.receiptSchema(), "receipt schema");
        assertEq(other.receiptBatchSchema(), receipts.receiptBatchSchema(), "batch schema");
        assertEq(d.schemaRegistry.getSchema(other.receiptSchema()).schema, other.RECEIPT_SCHEMA(), "registered");
    }
}

import {Outcome} from "../src/IDisputeGame.sol";
