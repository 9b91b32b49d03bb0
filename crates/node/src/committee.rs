//! The committee role: if drawn, commit, reveal, finalize after the reveal window, and take
//! disagreements to the dispute game.

use crate::chainview::{commitments_of, members_of, request_of, retry};
use crate::metrics::inc;
use crate::roles::{is_bad_status, is_ejected, is_transient_send, status, until_after};
use crate::work::Run;
use crate::{Ctx, Result};
use std::sync::Arc;
use std::time::Duration;
use vouch_chain::alloy::primitives::{Address, U256, keccak256};
use vouch_chain::alloy::sol_types::SolValue;
use vouch_chain::bindings::task_manager::TaskManager::TaskRequested;
use vouch_chain::record::Claim;
use vouch_journal::TaskState;

/// Committee member: if drawn, commit, reveal once everyone committed (or the commit
/// deadline passed), finalize after the reveal window; disagreements go to the dispute game.
pub(crate) async fn committee(ctx: Arc<Ctx>, task: U256, req: Option<TaskRequested>) -> Result<()> {
    let sys = &ctx.sys;
    let tm = sys.task_manager();
    let req = match req {
        Some(r) => r,
        None => retry(&ctx.metrics, || request_of(sys, task)).await?,
    };
    let id = format!("committee:{task}");
    let model = ctx.models.get(sys, req.modelId, req.version).await?;
    // never commit to a task whose disagreement could not be settled (an op without a
    // one-step verifier)
    if let Some(mode) = vouch_task::Mode::from_code(req.mode)
        && let Err(e) = vouch_task::modes::check_mode(&model.pkg, mode)
    {
        tracing::warn!(node = %ctx.cfg.name, %task, error = %e, "not joining the committee");
        return Ok(());
    }
    let mut run: Option<Run> = None;
    // 1. who is on the committee (drawn, or what the draw will give: a pure function of the
    // task's snapshot and seed, so the off-chain sample is the on-chain draw)
    let (mut members, idx) = loop {
        let t = sys.task(task).await?;
        if t.status != status::REQUESTED {
            if ctx.journal.task(&id)?.is_none() {
                return Ok(());
            }
            break (members_of(sys, task).await?.unwrap_or_default(), None);
        }
        let drawn = retry(&ctx.metrics, || members_of(sys, task)).await?;
        let (m, i) = match drawn {
            Some(m) => {
                let i = m.iter().position(|a| *a == ctx.me);
                if i.is_none() && ctx.journal.task(&id)?.is_none() {
                    return Ok(()); // drawn without us
                }
                (m, i)
            }
            None => {
                if ctx.chain_now().await? > u64::from(t.deadline) {
                    return Ok(()); // never drawn: the requester gets a refund
                }
                match sampled_members(&ctx, task, &req).await? {
                    Some(m) => {
                        let i = m.iter().position(|a| *a == ctx.me);
                        if i.is_none() {
                            tokio::time::sleep(ctx.cfg.poll).await;
                            continue;
                        }
                        (m, i)
                    }
                    None => {
                        tokio::time::sleep(ctx.cfg.poll).await;
                        continue;
                    }
                }
            }
        };
        let Some(i) = i else { break (m, None) };
        // 2. execute once, then commit (the first member's commit draws the committee)
        let r = match &run {
            Some(r) => r.clone(),
            None => match ctx.run_of(task, &req, true).await {
                Ok(r) => {
                    run = Some(r.clone());
                    r
                }
                // the input could not be read past the node's retries (its RPC or beacon node
                // down): try again while the committee can still commit, as a challenger does
                Err(e) if e.is_transient() => {
                    if ctx.chain_now().await? > u64::from(t.deadline) {
                        tracing::warn!(node = %ctx.cfg.name, %task, error = %e, "could not execute the task before the commit deadline");
                        return Err(e);
                    }
                    tracing::warn!(node = %ctx.cfg.name, %task, error = %e, "executing the task failed; trying again while the committee can commit");
                    tokio::time::sleep(until_after(t.deadline).min(Duration::from_secs(5))).await;
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        let salt = keccak256((ctx.secret, task).abi_encode());
        let commitment = keccak256((task, ctx.me, r.output, r.trace_root, salt).abi_encode());
        let c = sys
            .client()
            .call("TaskManager.committees", tm.committees(task))
            .await?;
        if c.commitMask & (1u8 << i) == 0 {
            match ctx
                .send(
                    "TaskManager.commit",
                    tm.commit(task, U256::from(i), commitment, m.clone()),
                )
                .await
            {
                Ok(()) => {}
                Err(e) if is_bad_status(&e) => {}
                Err(e)
                    if is_transient_send(&e)
                        || e.revert_reason().is_some_and(|r| {
                            r.starts_with("NotMember") || r.starts_with("BadMembers")
                        }) =>
                {
                    // a transient failure, or a commit that raced the draw: look again
                    tokio::time::sleep(ctx.cfg.poll).await;
                    continue;
                }
                // the bond is locked when a member commits: with every bond of this member
                // locked in running tasks, wait for one to free up (until the commit deadline)
                Err(e)
                    if e.revert_reason()
                        .is_some_and(|r| r.starts_with("InsufficientFreeStake")) =>
                {
                    tracing::warn!(node = %ctx.cfg.name, %task, "no free stake for the committee bond; waiting");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(e) if is_ejected(&e) => {
                    tracing::warn!(node = %ctx.cfg.name, %task, "ejected by ProviderStaking: not committing");
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        ctx.accept(&id, &req, &model.cid.to_string())?;
        ctx.advance(&id, TaskState::Executed, Some(r.output), None);
        tracing::info!(node = %ctx.cfg.name, %task, member = i, "committed");
        break (m, Some(i));
    };
    let my_output = run.as_ref().map(|r| r.output);
    let run_kept = run.clone();
    if let (Some(i), Some(run)) = (idx, run) {
        let salt = keccak256((ctx.secret, task).abi_encode());
        let bit = 1u8 << i;
        ctx.advance(&id, TaskState::Committed, Some(run.output), None);
        // the drawn list is authoritative
        if let Some(m) = retry(&ctx.metrics, || members_of(sys, task)).await? {
            members = m;
        }
        // 3. reveal when every member committed or the commit deadline passed
        loop {
            let t = sys.task(task).await?;
            if t.status != status::REQUESTED {
                break;
            }
            let c = sys
                .client()
                .call("TaskManager.committees", tm.committees(task))
                .await?;
            if c.revealMask & bit != 0 {
                ctx.advance(&id, TaskState::Revealed, Some(run.output), None);
                break;
            }
            let full = u8::try_from((1u16 << c.size) - 1).unwrap_or(u8::MAX);
            tracing::debug!(node = %ctx.cfg.name, %task, commits = c.commitMask, reveals = c.revealMask, "waiting to reveal");
            if c.commitMask == full || ctx.chain_now().await? > u64::from(t.deadline) {
                let commits = retry(&ctx.metrics, || commitments_of(sys, task)).await?;
                match ctx
                    .send(
                        "TaskManager.reveal",
                        tm.reveal(
                            task,
                            t.record.clone(),
                            t.result.clone(),
                            U256::from(i),
                            Claim {
                                output: run.output,
                                traceRoot: run.trace_root,
                            },
                            salt,
                            members.clone(),
                            commits,
                        ),
                    )
                    .await
                {
                    Ok(()) => {
                        inc(&ctx.metrics.results_posted);
                        ctx.advance(&id, TaskState::Revealed, Some(run.output), None);
                        tracing::info!(node = %ctx.cfg.name, %task, "revealed");
                    }
                    // raced a state change (or a retried send that already landed): look
                    // again on the next pass
                    Err(e) if e.revert_reason().is_some() || is_transient_send(&e) => {
                        tracing::debug!(node = %ctx.cfg.name, %task, error = %e, "reveal retried");
                    }
                    Err(e) => return Err(e),
                }
            }
            tokio::time::sleep(ctx.cfg.poll).await;
        }
    }
    // 4. settle: finalize after the reveal window if not everyone revealed; after a dispute the
    // winning member's result stands for a fresh challenge window, which its member finalizes
    let mut disputed = ctx
        .journal
        .task(&id)?
        .is_some_and(|r| r.state == TaskState::Disputed);
    // whether the outcome of the last dispute was read (once per dispute: it is a log search),
    // and whether the bystanders' bonds are released (once per task)
    let mut outcome_read = false;
    let mut released = false;
    loop {
        let t = sys.task(task).await?;
        // a committee task is only ever submitted or failed after a dispute, and finalized
        // with an output other than this member's only after one
        disputed |= matches!(t.status, status::SUBMITTED | status::FAILED)
            || (t.status == status::FINALIZED
                && my_output.is_some_and(|o| o != t.output_commitment));
        if disputed && t.status != status::DISPUTED {
            if !outcome_read {
                if lost_dispute_on(&ctx, task).await? {
                    ctx.record_slashed(&id, "lost the committee dispute");
                    return Ok(());
                }
                outcome_read = true;
            }
            if !released {
                released = release_bystanders(&ctx, task, &t, &members).await;
            }
        }
        match t.status {
            status::REQUESTED => {
                let end = u64::from(t.deadline) + ctx.reveal_window;
                if ctx.chain_now().await? > end {
                    let _ = ctx
                        .send(
                            "TaskManager.finalizeCommittee",
                            tm.finalizeCommittee(
                                task,
                                t.record.clone(),
                                t.result.clone(),
                                members.clone(),
                                ctx.values_for(&t, run_kept.as_ref()),
                            ),
                        )
                        .await;
                } else {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            status::DISPUTED => {
                disputed = true;
                outcome_read = false; // a challenge of the standing result is a new dispute
                ctx.advance(&id, TaskState::Disputed, None, None);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            status::SUBMITTED if t.provider == ctx.me => {
                // the dispute left this member's result standing: finalize once a block may be
                // stamped after the window's last second
                if ctx.chain_now().await? > u64::from(t.deadline) {
                    ctx.try_finalize(task, &t, ctx.values_for(&t, run_kept.as_ref()))
                        .await;
                } else {
                    tokio::time::sleep(until_after(t.deadline)).await;
                }
            }
            status::SUBMITTED => tokio::time::sleep(until_after(t.deadline)).await,
            status::FINALIZED => {
                // a committee that agreed finalized in its last reveal, without the values
                ctx.try_deliver(task, &t, run_kept.as_ref()).await;
                inc(&ctx.metrics.tasks_finalized);
                ctx.advance(&id, TaskState::Finalized, Some(t.output_commitment), None);
                return Ok(());
            }
            _ => {
                let why = if disputed {
                    "task refunded: both parties of the committee dispute lost"
                } else {
                    "task refunded: no member revealed in time"
                };
                ctx.advance(&id, TaskState::Failed, None, Some(why.into()));
                return Ok(());
            }
        }
    }
}

/// After a committee dispute, a member that was not a party releases the bonds of every
/// member that was not (`releaseCommitteeBonds`, once per task). Returns whether nothing is
/// left to do: released (by this call or another member's), or not this member's to release.
/// A failure is logged and retried on the next pass, never a reason to abandon the task.
async fn release_bystanders(
    ctx: &Ctx,
    task: U256,
    t: &vouch_chain::system::Task,
    members: &[Address],
) -> bool {
    let sys = &ctx.sys;
    let tm = sys.task_manager();
    let party = match sys
        .client()
        .call("TaskManager.releaseExcept", tm.releaseExcept(task))
        .await
    {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(node = %ctx.cfg.name, %task, error = %e, "could not read the dispute's parties; retrying the bond release");
            return false;
        }
    };
    if party.is_zero() || party == ctx.me || t.provider == ctx.me || members.is_empty() {
        return true;
    }
    match ctx
        .send(
            "TaskManager.releaseCommitteeBonds",
            tm.releaseCommitteeBonds(task, members.to_vec()),
        )
        .await
    {
        Err(e) if e.revert_reason().is_none() => {
            tracing::warn!(node = %ctx.cfg.name, %task, error = %e, "releasing the committee's bonds failed; retrying");
            false
        }
        _ => true, // released, or a revert: another member released them first
    }
}

/// The committee the task's draw gives, once its randomness ticket is ready: the draw reads the
/// stakes and opt-ins at the end of the task's snapshot block, so this equals the on-chain draw
/// whoever commits first and whenever.
async fn sampled_members(
    ctx: &Ctx,
    task: U256,
    req: &TaskRequested,
) -> Result<Option<Vec<vouch_chain::alloy::primitives::Address>>> {
    let sys = &ctx.sys;
    let c = sys
        .client()
        .call(
            "TaskManager.committees",
            sys.task_manager().committees(task),
        )
        .await?;
    // the `IRandomnessSource` calls, which every source (future block, Chainlink VRF) answers
    let rnd = vouch_chain::bindings::randomness::FutureBlockRandomness::new(
        sys.deployment().contracts.randomness,
        sys.client().provider(),
    );
    let ticket = U256::from(c.ticket.to::<u64>());
    let ready = sys
        .client()
        .call("Randomness.isReady", rnd.isReady(ticket))
        .await?;
    if !ready {
        return Ok(None);
    }
    let r = sys
        .client()
        .call("Randomness.randomness", rnd.randomness(ticket))
        .await?;
    let seed = keccak256((r, task).abi_encode());
    let m = sys
        .client()
        .call(
            "ProviderStaking.sample",
            sys.staking().sample(
                req.modelId,
                seed,
                U256::from(c.size),
                ctx.committee_bond,
                c.snapshot,
            ),
        )
        .await?;
    Ok(Some(m))
}

/// Whether this node lost the dispute on `task` (its bond was slashed).
async fn lost_dispute_on(ctx: &Ctx, task: U256) -> Result<bool> {
    let sys = &ctx.sys;
    let d = sys.dispute_of(task).await?;
    if d.is_zero() {
        return Ok(false);
    }
    let g = sys
        .client()
        .call("DisputeGame.game", sys.dispute_game().game(d))
        .await?;
    // outcomes: 1 defender wins, 2 challenger wins, 3 both wrong
    Ok((g.p.defender == ctx.me && g.outcome != 1) || (g.p.challenger == ctx.me && g.outcome != 2))
}
