// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {ModelRegistry} from "./ModelRegistry.sol";
import {ProviderStaking} from "./ProviderStaking.sol";
import {IRandomnessSource} from "./RandomnessSource.sol";
import {Outcome} from "./IDisputeGame.sol";
import {ResultDelivery} from "./ResultDelivery.sol";
import {TaskRecord, Claim} from "./consumer/TaskRecord.sol";
import {TaskManager} from "./TaskManager.sol";
import {TaskManagerCore} from "./TaskManagerCore.sol";

/// @title TaskManagerModule
/// @notice The TaskManager's committee path (`commit`, `redraw`, `reveal`, `finalizeCommittee`,
/// `releaseCommitteeBonds`), its challenges and audits (`challenge`, `confirmAudit`,
/// `challengeAudit`, `closeAudit`) and dispute resolution (`resolveDispute`), in a contract of its own
/// so the TaskManager's bytecode stays under EIP-170. The TaskManager creates it and runs these
/// functions by delegatecall on its own storage (the shared `TaskManagerCore` layout), behind
/// its own entry points of the same signatures and its reentrancy guard: they are documented
/// there. Called directly, every function reverts (`OnlyDelegated`).
contract TaskManagerModule is TaskManagerCore {
    using SafeERC20 for IERC20;

    /// This contract's own address: a direct call runs at it, a delegated one does not.
    address private immutable self;

    /// @notice The function was called on the module, not through the TaskManager.
    error OnlyDelegated();

    modifier onlyDelegated() {
        if (address(this) == self) revert OnlyDelegated();
        _;
    }

    constructor(
        IERC20 token_,
        ModelRegistry registry_,
        ProviderStaking staking_,
        IRandomnessSource randomness_,
        address feeVault_,
        ResultDelivery delivery_,
        uint96 providerBond_,
        uint96 committeeBond_
    ) TaskManagerCore(token_, registry_, staking_, randomness_, feeVault_, delivery_, providerBond_, committeeBond_) {
        self = address(this);
    }

    /// @notice Commits `keccak256(abi.encode(taskId, member, output, traceRoot, salt))`, appended
    /// to the task's commit chain, and locks the member's bond. The first commitment after the
    /// randomness is ready draws the committee (a pure function of the snapshot and the seed, so
    /// who triggers it and when changes nothing); later calls pass the drawn member list (from
    /// `CommitteeDrawn`).
    function commit(uint256 taskId, uint256 idx, bytes32 commitment, address[] calldata members)
        external
        onlyDelegated
    {
        TaskManager.Task storage t = tasks[taskId];
        if (t.mode != TaskManager.Mode.Committee) revert TaskManager.BadMode();
        if (t.status != TaskManager.Status.Requested) revert TaskManager.BadStatus(t.status);
        if (block.timestamp > t.deadline) revert TaskManager.DeadlinePassed();
        TaskManager.Committee storage c = committees[taskId];
        address member;
        if (!c.drawn) {
            address[] memory drawn = _draw(taskId, t, c);
            if (idx >= drawn.length) revert TaskManager.NotMember();
            member = drawn[idx];
        } else {
            if (bytes16(keccak256(abi.encode(members))) != c.membersHash) revert TaskManager.BadMembers();
            if (idx >= members.length) revert TaskManager.NotMember();
            member = members[idx];
        }
        if (member != msg.sender) revert TaskManager.NotMember();
        uint8 bit = uint8(uint256(1) << idx);
        if (c.commitMask & bit != 0) revert TaskManager.AlreadyCommitted();
        c.commitMask |= bit;
        commitChain[taskId] = keccak256(abi.encode(commitChain[taskId], commitment));
        emit TaskManager.Committed(taskId, msg.sender, commitment);
        staking.lock(msg.sender, committeeBond);
    }

    /// @notice Re-targets a committee task left undrawn after its snapshot aged out of the draw
    /// horizon (e.g. its randomness ticket expired): a new ticket and a new snapshot.
    function redraw(uint256 taskId) external onlyDelegated {
        TaskManager.Task storage t = tasks[taskId];
        TaskManager.Committee storage c = committees[taskId];
        if (t.mode != TaskManager.Mode.Committee || t.status != TaskManager.Status.Requested || c.drawn) {
            revert TaskManager.BadStatus(t.status);
        }
        if (block.number <= uint256(c.snapshot) + SNAPSHOT_HORIZON) revert TaskManager.TooEarly();
        c.ticket = uint40(randomness.request());
        c.snapshot = uint48(block.number - 1);
    }

    function _draw(uint256 taskId, TaskManager.Task storage t, TaskManager.Committee storage c)
        internal
        returns (address[] memory m)
    {
        bytes32 seed = keccak256(abi.encode(randomness.randomness(c.ticket), taskId));
        m = staking.sample(t.modelId, seed, c.size, committeeBond, c.snapshot);
        if (m.length != c.size) revert TaskManager.NotEnoughProviders();
        c.drawn = true;
        c.membersHash = bytes16(keccak256(abi.encode(m)));
        emit TaskManager.CommitteeDrawn(taskId, m);
    }

    /// @notice Reveals a commitment once every member committed or the commit deadline passed.
    /// The first reveal sets the task's result (`standing` is then ignored); a matching reveal
    /// agrees; a different one opens a dispute between the first revealer (defender) and this
    /// member (challenger). When all members have revealed in agreement the task finalizes in
    /// the same call. `commits` is the task's commitments in arrival order (the `Committed`
    /// events); it must hash to the commit chain and hold the caller's commitment. The caller
    /// must have committed itself (its bit), and commits are closed once reveals may start, so
    /// every opening is bound before any reveal.
    function reveal(
        uint256 taskId,
        TaskRecord calldata rec,
        Claim calldata standing,
        uint256 idx,
        Claim calldata mine,
        bytes32 salt,
        address[] calldata members,
        bytes32[] calldata commits
    ) external onlyDelegated {
        bytes32 c0 = _check(taskId, rec, standing.output, standing.traceRoot);
        TaskManager.Task storage t = tasks[taskId];
        TaskManager.Committee storage c = committees[taskId];
        if (t.mode != TaskManager.Mode.Committee || !c.drawn) revert TaskManager.BadMode();
        if (t.status != TaskManager.Status.Requested) revert TaskManager.BadStatus(t.status);
        if (c.commitMask != _full(c) && block.timestamp <= t.deadline) revert TaskManager.TooEarly();
        if (block.timestamp > uint256(t.deadline) + params.revealWindow) revert TaskManager.DeadlinePassed();
        if (bytes16(keccak256(abi.encode(members))) != c.membersHash) revert TaskManager.BadMembers();
        if (idx >= members.length || members[idx] != msg.sender) revert TaskManager.NotMember();
        uint8 bit = uint8(uint256(1) << idx);
        if (c.revealMask & bit != 0) revert TaskManager.AlreadyRevealed();
        if (c.commitMask & bit == 0) revert TaskManager.BadReveal();
        _checkOpening(taskId, mine.output, mine.traceRoot, salt, commits);
        c.revealMask |= bit;
        emit TaskManager.Revealed(taskId, msg.sender, mine.output, mine.traceRoot);
        if (c.agreeMask == 0) {
            c.agreeMask = bit;
            _stand(taskId, c0, msg.sender, mine.output, mine.traceRoot);
        } else if (mine.output == standing.output && mine.traceRoot == standing.traceRoot) {
            c.agreeMask |= bit;
        } else {
            _openCommitteeDispute(taskId, rec, standing, mine);
            return;
        }
        if (c.agreeMask == _full(c)) {
            _settle(taskId, rec, _agreeing(members, c.agreeMask), true, mine.output, mine.traceRoot);
        }
    }

    /// @notice After the reveal deadline: pays the agreeing revealers and slashes members that
    /// committed but did not reveal (into the audit pool; members that never committed locked
    /// nothing); with no reveal at all, refunds the requester (`result` is then ignored).
    /// Non-empty `values` are delivered as in `finalize`.
    function finalizeCommittee(
        uint256 taskId,
        TaskRecord calldata rec,
        Claim calldata result,
        address[] calldata members,
        int32[] calldata values
    ) external onlyDelegated {
        _check(taskId, rec, result.output, result.traceRoot);
        TaskManager.Task storage t = tasks[taskId];
        TaskManager.Committee storage c = committees[taskId];
        if (t.mode != TaskManager.Mode.Committee || !c.drawn) revert TaskManager.BadMode();
        if (t.status != TaskManager.Status.Requested) revert TaskManager.BadStatus(t.status);
        if (block.timestamp <= uint256(t.deadline) + params.revealWindow) revert TaskManager.TooEarly();
        if (bytes16(keccak256(abi.encode(members))) != c.membersHash) revert TaskManager.BadMembers();
        uint96 bond = committeeBond;
        // effects first: status, then the slashes (interactions with the trusted staking contract)
        bool anyReveal = c.agreeMask != 0;
        if (!anyReveal) {
            t.status = TaskManager.Status.Refunded;
            _refundFee(rec);
            emit TaskManager.Refunded(taskId);
        }
        for (uint256 i; i < members.length; ++i) {
            if ((c.commitMask & ~c.agreeMask) & (uint256(1) << i) != 0) {
                ledger.auditPool += bond;
                _slash(members[i], bond);
            }
        }
        if (anyReveal) {
            // slashed members' bonds were counted into the pool above; agreeing ones are unlocked in _settle
            _settle(taskId, rec, _agreeing(members, c.agreeMask), true, result.output, result.traceRoot);
            _deliver(taskId, rec, result.output, values);
        } else {
            _notifyFailed(taskId, rec);
        }
    }

    /// Reverts unless `commits` hashes to the task's commit chain and contains the caller's
    /// commitment to `(output, traceRoot, salt)`.
    function _checkOpening(uint256 taskId, bytes32 output, bytes32 traceRoot, bytes32 salt, bytes32[] calldata commits)
        internal
        view
    {
        bytes32 mine = keccak256(abi.encode(taskId, msg.sender, output, traceRoot, salt));
        bytes32 chain;
        bool found;
        for (uint256 i; i < commits.length; ++i) {
            bytes32 x = commits[i];
            chain = keccak256(abi.encode(chain, x));
            if (x == mine) found = true;
        }
        if (!found || chain != commitChain[taskId]) revert TaskManager.BadReveal();
    }

    function _openCommitteeDispute(
        uint256 taskId,
        TaskRecord calldata rec,
        Claim calldata standing,
        Claim calldata mine
    ) internal {
        tasks[taskId].status = TaskManager.Status.Disputed;
        disputes[taskId] = TaskManager.Dispute({
            challenger: msg.sender,
            challengerBond: 0,
            kind: 1,
            challengerOutput: mine.output,
            challengerTrace: mine.traceRoot
        });
        disputeRecords[taskId] = rec;
        uint256 disputeId = disputeGame.open(_disputeParams(taskId, rec, standing, mine), rec.rows);
        emit TaskManager.Challenged(taskId, msg.sender, disputeId, 1);
    }

    function _full(TaskManager.Committee storage c) internal view returns (uint8) {
        return uint8((uint256(1) << c.size) - 1);
    }

    function _agreeing(address[] calldata members, uint8 mask) internal pure returns (address[] memory out) {
        out = new address[](members.length);
        uint256 n;
        for (uint256 i; i < members.length; ++i) {
            if (mask & (uint256(1) << i) != 0) out[n++] = members[i];
        }
        assembly ("memory-safe") {
            mstore(out, n) // shrink to the agreeing members (the tail stays allocated, unused)
        }
    }

    /// @notice Called by the DisputeGame when a dispute ends. The loser's bond goes to the
    /// winner; when both were wrong both bonds go to the audit pool. The winning result (the
    /// provider's, or either member's in a committee) stands for a fresh challenge window; a
    /// provider that lost an optimistic dispute, or a committee dispute both members lost, makes
    /// the task fail (fee refunded). A lost result records a strike on the model version; an
    /// audit dispute never reopens the finalized task.
    function resolveDispute(uint256 taskId, Outcome outcome) external onlyDelegated {
        if (msg.sender != address(disputeGame)) revert TaskManager.NotDisputeGame();
        TaskManager.Task storage t = tasks[taskId];
        TaskManager.Dispute memory d = disputes[taskId];
        TaskRecord memory rec = disputeRecords[taskId];
        delete disputes[taskId];
        delete disputeRecords[taskId];
        emit TaskManager.DisputeResolved(taskId, outcome);
        address defender = t.provider;
        uint256 defBond = _bondOf(t.mode);

        if (d.kind == 2) {
            // audit of a finalized task: status stays Finalized
            if (outcome == Outcome.DefenderWins) {
                _releaseChallengerBond(d, defender);
                _unlock(defender, defBond);
            } else {
                t.flags |= FLAG_AUDIT_FAILED;
                _loserPays(d, defender, defBond, outcome);
                if (outcome == Outcome.ChallengerWins) _payAuditReward(d.challenger);
                _strike(rec, defender);
            }
            emit TaskManager.AuditClosed(taskId, d.challenger, outcome != Outcome.DefenderWins);
            return;
        }

        if (t.status != TaskManager.Status.Disputed) revert TaskManager.BadStatus(t.status);
        if (outcome == Outcome.DefenderWins || (d.kind == 1 && outcome == Outcome.ChallengerWins)) {
            // A result stands: the provider's, or in a committee the winning member's. Its side
            // gets the loser's bond and the task goes back to a fresh challenge window, after
            // which `finalize` pays the standing side.
            if (d.kind == 1) {
                address loser = d.challenger;
                if (outcome == Outcome.ChallengerWins) {
                    loser = defender;
                    _stand(taskId, keccak256(abi.encode(rec)), d.challenger, d.challengerOutput, d.challengerTrace);
                    _strike(rec, defender);
                }
                // the members that were not parties get their bonds back (releaseCommitteeBonds)
                releaseExcept[taskId] = loser;
                _credit(t.provider, defBond);
                _slash(loser, defBond);
            } else {
                _releaseChallengerBond(d, defender);
            }
            t.status = TaskManager.Status.Submitted;
            t.deadline = uint32(block.timestamp) + params.challengeWindow - 1;
            return;
        }
        // a lost optimistic result, or a committee dispute both parties lost: the task fails and
        // the fee goes back; the committee's other members get their bonds back.
        t.status = TaskManager.Status.Failed;
        _refundFee(rec);
        _loserPays(d, defender, defBond, outcome);
        if (d.kind == 1) releaseExcept[taskId] = d.challenger;
        _strike(rec, defender);
        _notifyFailed(taskId, rec);
    }

    function _loserPays(TaskManager.Dispute memory d, address defender, uint256 defBond, Outcome outcome) internal {
        if (outcome == Outcome.ChallengerWins) {
            _releaseChallengerBond(d, d.challenger); // challenger gets its own bond back
            _credit(d.challenger, defBond); // and the defender's
            _slash(defender, defBond);
        } else {
            // both wrong: both bonds to the audit pool
            if (d.kind != 1) {
                totalBonds -= d.challengerBond;
                ledger.auditPool += d.challengerBond;
            } else {
                ledger.auditPool += uint96(committeeBond);
                _slash(d.challenger, committeeBond);
            }
            ledger.auditPool += uint96(defBond);
            _slash(defender, defBond);
        }
    }

    function _releaseChallengerBond(TaskManager.Dispute memory d, address to) internal {
        if (d.kind != 1) {
            totalBonds -= d.challengerBond;
            _credit(to, d.challengerBond);
        } else if (to != d.challenger) {
            // committee challenger lost: its locked bond goes to `to`
            _credit(to, committeeBond);
            _slash(d.challenger, committeeBond);
        } else {
            _unlock(d.challenger, committeeBond);
        }
    }

    /// @notice After a committee dispute, releases the bonds of the members that committed and
    /// were not parties to it.
    function releaseCommitteeBonds(uint256 taskId, address[] calldata members) external onlyDelegated {
        address party = releaseExcept[taskId];
        if (party == address(0)) revert TaskManager.BadStatus(tasks[taskId].status);
        TaskManager.Committee storage c = committees[taskId];
        if (bytes16(keccak256(abi.encode(members))) != c.membersHash) revert TaskManager.BadMembers();
        delete releaseExcept[taskId];
        address defender = tasks[taskId].provider;
        for (uint256 i; i < members.length; ++i) {
            address m = members[i];
            if (m == defender || m == party || c.commitMask & (uint256(1) << i) == 0) continue;
            _unlock(m, committeeBond);
        }
    }

    /// @notice Challenges an optimistic result inside its window, posting the challenger's own
    /// result (`mine`) and a bond (from its credited balance or transferFrom).
    function challenge(uint256 taskId, TaskRecord calldata rec, Claim calldata standing, Claim calldata mine)
        external
        onlyDelegated
        returns (uint256 disputeId)
    {
        _check(taskId, rec, standing.output, standing.traceRoot);
        TaskManager.Task storage t = tasks[taskId];
        if (t.status != TaskManager.Status.Submitted) revert TaskManager.BadStatus(t.status);
        if (block.timestamp > t.deadline) revert TaskManager.DeadlinePassed();
        t.status = TaskManager.Status.Disputed;
        disputeId = _openEscrowedDispute(taskId, rec, standing, mine, 0);
    }

    /// @notice An auditor of a flagged task confirms the result by posting the same result. A
    /// confirmation does not close the audit: the posted values are public, so posting them
    /// proves no work, and a lie confirmed (by anyone, the liar included) can still be
    /// challenged until the audit window ends. The first confirmer is paid `auditReward` when
    /// the window ends unchallenged (`closeAudit`); a confirmer of a result later shown wrong
    /// gets nothing. A result other than the standing one is `BadRecord`.
    function confirmAudit(uint256 taskId, TaskRecord calldata rec, Claim calldata result) external onlyDelegated {
        _check(taskId, rec, result.output, result.traceRoot);
        TaskManager.Task storage t = tasks[taskId];
        _requireOpenAudit(t);
        if (msg.sender == t.provider || auditors[taskId] != address(0)) revert TaskManager.NotAudited();
        auditors[taskId] = msg.sender;
        emit TaskManager.AuditConfirmed(taskId, msg.sender);
    }

    /// @notice An auditor that disagrees with a flagged task opens a dispute (with a bond), also
    /// after a confirmation.
    function challengeAudit(uint256 taskId, TaskRecord calldata rec, Claim calldata standing, Claim calldata mine)
        external
        onlyDelegated
        returns (uint256 disputeId)
    {
        _check(taskId, rec, standing.output, standing.traceRoot);
        TaskManager.Task storage t = tasks[taskId];
        _requireOpenAudit(t);
        t.flags |= FLAG_AUDIT_CLOSED; // one audit dispute per task
        disputeId = _openEscrowedDispute(taskId, rec, standing, mine, 2);
    }

    /// @notice Ends an unchallenged audit after its window: releases the provider's bond and pays
    /// the confirmer, if any, `auditReward` from the pool.
    function closeAudit(uint256 taskId) external onlyDelegated {
        TaskManager.Task storage t = tasks[taskId];
        if (_auditOpen(t)) revert TaskManager.TooEarly();
        t.flags |= FLAG_AUDIT_CLOSED;
        address auditor = auditors[taskId];
        if (auditor != address(0)) _payAuditReward(auditor);
        emit TaskManager.AuditClosed(taskId, auditor, false);
        _unlock(t.provider, _bondOf(t.mode));
    }

    function _requireOpenAudit(TaskManager.Task storage t) internal view {
        if (!_auditOpen(t)) revert TaskManager.DeadlinePassed();
    }

    /// Whether a flagged task's audit window is still running; reverts `NotAudited` for a task
    /// not flagged or whose audit closed.
    function _auditOpen(TaskManager.Task storage t) internal view returns (bool) {
        if (t.status != TaskManager.Status.Finalized || t.flags & (FLAG_AUDIT | FLAG_AUDIT_CLOSED) != FLAG_AUDIT) {
            revert TaskManager.NotAudited();
        }
        return block.timestamp <= t.deadline;
    }

    function _openEscrowedDispute(
        uint256 taskId,
        TaskRecord calldata rec,
        Claim calldata standing,
        Claim calldata mine,
        uint8 kind
    ) internal returns (uint256 disputeId) {
        uint96 bond = params.challengerBond;
        disputes[taskId] = TaskManager.Dispute({
            challenger: msg.sender, challengerBond: bond, kind: kind, challengerOutput: mine.output, challengerTrace: 0
        });
        disputeRecords[taskId] = rec;
        totalBonds += bond;
        uint256 bal = balances[msg.sender];
        if (bal >= bond) {
            balances[msg.sender] = bal - bond;
        } else {
            token.safeTransferFrom(msg.sender, address(this), bond);
        }
        disputeId = disputeGame.open(_disputeParams(taskId, rec, standing, mine), rec.rows);
        emit TaskManager.Challenged(taskId, msg.sender, disputeId, kind);
    }
}
