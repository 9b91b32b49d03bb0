// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Fixture} from "./utils/Fixture.sol";
import {AnyProofVerifier} from "./ResultDelivery.t.sol";
import {TaskManager} from "../src/TaskManager.sol";
import {FeeVault} from "../src/FeeVault.sol";
import {TaskRecord, Claim} from "../src/consumer/TaskRecord.sol";

/// @notice A task stores only `keccak256(abi.encode(record))`, folded with the standing result:
/// every function that takes a record or a result refuses one that does not open the stored
/// commitment (`BadRecord`) before using it. Each wrong record below changes a field the
/// function would use (the requester a refund pays, the fee, the callback), so a function whose
/// check were removed would go on and act on it (or fail otherwise): the tests would fail.
contract RecordChecksTest is Fixture {
    bytes32 internal constant INPUT = keccak256("input");
    bytes32 internal constant OUT = keccak256("output");
    bytes32 internal constant TRACE = keccak256("trace");
    bytes32[] internal commits;

    function setUp() public override {
        super.setUp();
        modelId = _registerModel(keccak256("weights"), keccak256("graph"), address(0));
        for (uint256 i; i < providers.length; ++i) {
            _stakeAndOptIn(providers[i], modelId);
        }
    }

    /// A copy of `rec` with field `i` (0..9) changed.
    function _mutate(TaskRecord memory rec, uint256 i) internal pure returns (TaskRecord memory m) {
        m = abi.decode(abi.encode(rec), (TaskRecord)); // a copy: memory structs are references
        if (i == 0) m.requester = address(0xBAD);
        if (i == 1) m.fee = rec.fee + 1;
        if (i == 2) m.modelId = rec.modelId + 1;
        if (i == 3) m.version = rec.version + 1;
        if (i == 4) m.mode = rec.mode ^ 1;
        if (i == 5) m.vault = !rec.vault;
        if (i == 6) m.rows = rec.rows + 1;
        if (i == 7) m.inputCommitment = keccak256("other input");
        if (i == 8) m.callback = address(0xCA11);
        if (i == 9) m.callbackGas = rec.callbackGas + 1;
    }

    /// The wrong record the tests pass: another requester (a refund or a payout would go there).
    function _bad(uint256 id) internal returns (TaskRecord memory) {
        return _mutate(_rec(id), 0);
    }

    function _submitted() internal returns (uint256 id) {
        id = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.prank(providers[0]);
        tm.submit(id, OUT, TRACE);
    }

    function test_every_record_field_and_the_standing_result_are_bound() public {
        uint256 id = _request(TaskManager.Mode.Optimistic, INPUT);
        TaskRecord memory rec = _rec(id);
        tm.checkRecord(id, rec, Claim(keccak256("ignored before a result"), 0));
        for (uint256 i; i < 10; ++i) {
            vm.expectRevert(TaskManager.BadRecord.selector);
            tm.checkRecord(id, _mutate(rec, i), Claim(0, 0));
        }
        vm.prank(providers[0]);
        tm.submit(id, OUT, TRACE);
        tm.checkRecord(id, rec, Claim(OUT, TRACE));
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.checkRecord(id, rec, Claim(keccak256("other"), TRACE));
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.checkRecord(id, rec, Claim(OUT, keccak256("other")));
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.checkRecord(id, _mutate(rec, 1), Claim(OUT, TRACE));
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.checkRecord(type(uint256).max, rec, Claim(OUT, TRACE)); // no such task
    }

    function test_refund_refuses_a_wrong_record() public {
        uint256 id = _request(TaskManager.Mode.Optimistic, INPUT);
        vm.warp(block.timestamp + 2 hours);
        TaskRecord memory bad = _bad(id);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.refund(id, bad);
        tm.refund(id, _rec(id));
        assertEq(tm.balances(requester), FEE, "refunded to the requester");
    }

    function test_challenge_and_finalize_refuse_a_wrong_record_or_result() public {
        uint256 id = _submitted();
        (TaskRecord memory rec, Claim memory c) = (_rec(id), _claim(id));
        TaskRecord memory bad = _bad(id);
        Claim memory mine = Claim(keccak256("mine"), keccak256("my trace"));
        vm.startPrank(challenger);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.challenge(id, bad, c, mine);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.challenge(id, rec, Claim(keccak256("not the standing"), TRACE), mine);
        vm.stopPrank();
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.finalize(id, _mutate(rec, 1), c, new int32[](0)); // a larger fee
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.finalize(id, rec, Claim(OUT, keccak256("other trace")), new int32[](0));
        tm.finalize(id, rec, c, new int32[](0));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "the right record finalizes");
    }

    function test_deliver_and_receipts_refuse_a_wrong_record_or_result() public {
        uint256 id = _submitted();
        vm.warp(block.timestamp + cfg.params.challengeWindow);
        (TaskRecord memory rec, Claim memory c) = (_rec(id), _claim(id));
        tm.finalize(id, rec, c, new int32[](0));
        TaskRecord memory callback = _mutate(rec, 8); // a callback the request never named
        Claim memory wrong = Claim(keccak256("other"), TRACE);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.deliver(id, callback, c, new int32[](1));
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.deliver(id, rec, wrong, new int32[](1));

        TaskRecord memory bad = _bad(id);
        vm.expectRevert(TaskManager.BadRecord.selector);
        receipts.attestReceipt(id, bad, c);
        vm.expectRevert(TaskManager.BadRecord.selector);
        receipts.attestReceipt(id, rec, wrong);
        uint256[] memory ids = new uint256[](1);
        TaskRecord[] memory recs = new TaskRecord[](1);
        Claim[] memory results = new Claim[](1);
        (ids[0], recs[0], results[0]) = (id, bad, c);
        vm.expectRevert(TaskManager.BadRecord.selector);
        receipts.attestReceipts(ids, recs, results);
        recs[0] = rec;
        receipts.attestReceipts(ids, recs, results);
        assertTrue(receipts.receiptUid(id) != bytes32(0), "the right record is attested");
    }

    function test_submitZk_refuses_a_wrong_record() public {
        modelId = _registerModel(keccak256("w"), keccak256("g"), address(new AnyProofVerifier()));
        uint256 id = _request(TaskManager.Mode.Zk, INPUT);
        TaskRecord memory bad = _mutate(_rec(id), 7); // another input: the proof would be checked against it
        vm.prank(providers[0]);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.submitZk(id, bad, OUT, "proof");
        TaskRecord memory rec = _rec(id);
        vm.prank(providers[0]);
        tm.submitZk(id, rec, OUT, "proof");
        assertTrue(_status(id) == TaskManager.Status.Finalized, "the right record settles");
    }

    function _committeeRevealed() internal returns (uint256 id, address[] memory m) {
        id = _request(TaskManager.Mode.Committee, INPUT);
        vm.roll(block.number + 2);
        m = _drawOf(id);
        delete commits;
        for (uint256 i; i < m.length; ++i) {
            bytes32 c = keccak256(abi.encode(id, m[i], OUT, TRACE, bytes32(i)));
            vm.prank(m[i]);
            tm.commit(id, i, c, m);
            commits.push(c);
        }
        TaskRecord memory bad = _bad(id);
        vm.prank(m[0]);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.reveal(id, bad, Claim(0, 0), 0, Claim(OUT, TRACE), bytes32(0), m, commits);
        TaskRecord memory rec = _rec(id);
        vm.prank(m[0]);
        tm.reveal(id, rec, Claim(0, 0), 0, Claim(OUT, TRACE), bytes32(0), m, commits);
    }

    function test_committee_reveal_and_finalize_refuse_a_wrong_record_or_standing_result() public {
        (uint256 id, address[] memory m) = _committeeRevealed();
        (TaskRecord memory rec, Claim memory c) = (_rec(id), _claim(id));
        assertEq(c.output, OUT, "the first reveal stands");
        // a later reveal must name the standing result
        vm.prank(m[1]);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.reveal(id, rec, Claim(keccak256("other"), TRACE), 1, Claim(OUT, TRACE), bytes32(uint256(1)), m, commits);
        vm.prank(m[1]);
        tm.reveal(id, rec, c, 1, Claim(OUT, TRACE), bytes32(uint256(1)), m, commits);
        vm.warp(block.timestamp + 2 hours + cfg.params.revealWindow);
        TaskRecord memory bad = _bad(id);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.finalizeCommittee(id, bad, c, m, new int32[](0));
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.finalizeCommittee(id, rec, Claim(OUT, keccak256("other")), m, new int32[](0));
        tm.finalizeCommittee(id, rec, c, m, new int32[](0));
        assertTrue(_status(id) == TaskManager.Status.Finalized, "the right record finalizes");
    }

    /// A finalized optimistic task flagged for audit.
    function _audited() internal returns (uint256 id) {
        id = _submitted();
        vm.warp(block.timestamp + cfg.params.challengeWindow + 1);
        for (uint256 r; r < 1000; ++r) {
            bytes32 rand = keccak256(abi.encode(bytes32(r), block.number));
            if (uint256(keccak256(abi.encode(rand, id))) % 10_000 < cfg.params.auditBps) {
                vm.prevrandao(bytes32(r));
                break;
            }
        }
        tm.finalize(id, _rec(id), _claim(id), new int32[](0));
        assertEq(tm.getTask(id).flags & 1, 1, "flagged");
    }

    function test_audits_refuse_a_wrong_record_or_result() public {
        uint256 id = _audited();
        (TaskRecord memory rec, Claim memory c) = (_rec(id), _claim(id));
        TaskRecord memory bad = _bad(id);
        Claim memory mine = Claim(keccak256("mine"), keccak256("my trace"));
        vm.startPrank(challenger);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.confirmAudit(id, bad, c);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.confirmAudit(id, rec, mine); // confirming another result
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.challengeAudit(id, bad, c, mine);
        vm.expectRevert(TaskManager.BadRecord.selector);
        tm.challengeAudit(id, rec, mine, mine);
        tm.confirmAudit(id, rec, c);
        vm.stopPrank();
        assertEq(tm.auditors(id), challenger, "the right result confirms");
    }

    function test_feevault_claim_refuses_a_wrong_record_or_result() public {
        FeeVault vault = d.feeVault;
        vm.prank(modelOwner);
        registry.setFeeToken(modelId, VERSION, true, address(0)); // ETH fees
        TaskManager.RequestInput memory r = _requestInput(TaskManager.Mode.Optimistic, INPUT);
        r.fee = 1 ether;
        vm.deal(requester, 1 ether);
        vm.prank(requester);
        uint256 id = vault.request{value: 1 ether}(r, address(0));
        vm.warp(block.timestamp + 2 hours);
        TaskRecord memory rec = _rec(id);
        assertTrue(rec.vault, "a vault task");
        tm.refund(id, rec);
        TaskRecord memory bad = _bad(id);
        vm.expectRevert(TaskManager.BadRecord.selector);
        vault.claim(id, bad, Claim(0, 0), new address[](0));
        vault.claim(id, rec, Claim(0, 0), new address[](0));
        assertEq(vault.balances(address(0), requester), 1 ether, "refunded to the recorded requester");

        uint256 id2 = _submittedVault(vault, r);
        vm.warp(block.timestamp + cfg.params.challengeWindow + 1);
        (rec, bad) = (_rec(id2), _bad(id2));
        Claim memory c = _claim(id2);
        tm.finalize(id2, rec, c, new int32[](0));
        vm.expectRevert(TaskManager.BadRecord.selector);
        vault.claim(id2, bad, c, new address[](0));
        vm.expectRevert(TaskManager.BadRecord.selector);
        vault.claim(id2, rec, Claim(OUT, keccak256("other")), new address[](0));
        vault.claim(id2, rec, c, new address[](0));
        assertEq(vault.balances(address(0), providers[0]), 1 ether, "paid to the provider");
    }

    function _submittedVault(FeeVault vault, TaskManager.RequestInput memory r) internal returns (uint256 id) {
        r.deadline = uint32(block.timestamp + 1 hours);
        vm.deal(requester, 1 ether);
        vm.prank(requester);
        id = vault.request{value: 1 ether}(r, address(0));
        vm.prank(providers[0]);
        tm.submit(id, OUT, TRACE);
    }
}
