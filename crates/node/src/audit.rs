//! The auditor role: tasks `TaskManager` flags for audit when they finalize (a share of the
//! settled tasks, `auditBps`) are re-executed in their audit window. A result that differs is
//! challenged with `challengeAudit` and the dispute played to its end (the provider's bond is
//! still locked, so a lie nobody challenged in time is slashed after all); a matching result is
//! confirmed. When the window ends the audit is closed, which pays the confirmer `auditReward`
//! and frees the provider's bond. A provider closes the audits of its own tasks.

use crate::chainview::{request_of, retry};
use crate::metrics::inc;
use crate::roles::status::FINALIZED;
use crate::roles::{
    Against, Opened, challenge_misfit, is_closed_audit, play, rerun_while_open, until_after,
};
use crate::{Ctx, Error, Result};
use std::sync::Arc;
use std::time::Duration;
use vouch_chain::alloy::primitives::{Address, U256};
use vouch_journal::TaskState;

use vouch_chain::record::{FLAG_AUDIT, FLAG_AUDIT_CLOSED, FLAG_AUDIT_FAILED};

/// Audits `task` (when this node is an auditor and not the task's provider), then closes the
/// audit once its window is over. Driven by the task's on-chain state and its journal entry
/// (`auditor:{task}`), so it can run again after a restart.
pub(crate) async fn auditor(ctx: Arc<Ctx>, task: U256, audit: bool) -> Result<()> {
    let sys = &ctx.sys;
    let t = retry(&ctx.metrics, || async { Ok(sys.task(task).await?) }).await?;
    if t.status != FINALIZED || t.flags & (FLAG_AUDIT | FLAG_AUDIT_CLOSED) != FLAG_AUDIT {
        return Ok(()); // not flagged, or already closed or challenged
    }
    let mine = t.provider == ctx.me;
    if !mine && !audit {
        return Ok(());
    }
    let id = Against::Audit.journal_id(task);
    if audit && !mine && ctx.chain_now().await? <= u64::from(t.deadline) {
        let confirmer = retry(&ctx.metrics, || async { Ok(sys.auditor_of(task).await?) }).await?;
        // not yet judged (a restart between the execution and the verdict judges again)
        let state = ctx.journal.task(&id)?.map(|r| r.state);
        if matches!(
            state,
            None | Some(TaskState::Accepted | TaskState::Executed)
        ) && let Some(done) = check(&ctx, task, &t, confirmer, state).await?
        {
            return done;
        }
    }
    close_after_window(&ctx, task, t.deadline, &id).await
}

/// Re-executes `task` and confirms or challenges its result. `Some(r)` when the worker ends
/// here (a challenge was played to its end, or the result could not be judged).
async fn check(
    ctx: &Arc<Ctx>,
    task: U256,
    t: &vouch_chain::system::Task,
    confirmer: Address,
    state: Option<TaskState>,
) -> Result<Option<Result<()>>> {
    let sys = &ctx.sys;
    let id = Against::Audit.journal_id(task);
    let req = retry(&ctx.metrics, || request_of(sys, task)).await?;
    let model = ctx.models.get(sys, req.modelId, req.version).await?;
    let run = match rerun_while_open(ctx, task, &req, FINALIZED).await {
        Ok(run) => run,
        Err(e) => {
            // an input that cannot hold the task's rows, or out of range, has no answer: any result is a lie
            let bytes = ctx.input_of(task, &req).await.unwrap_or_default();
            let Some(inputs) =
                crate::work::misfit_inputs(&model.pkg, &bytes, req.rows, req.inputCommitment)
            else {
                tracing::error!(node = %ctx.cfg.name, %task, error = %e, "cannot re-execute the audited task");
                return Ok(Some(Err(e)));
            };
            inc(&ctx.metrics.audits_performed);
            let r = challenge_misfit(ctx, Against::Audit, task, &req, &model, inputs).await;
            return Ok(Some(r));
        }
    };
    inc(&ctx.metrics.audits_performed);
    ctx.accept(&id, &req, &model.cid.to_string())?;
    if state != Some(TaskState::Executed) {
        ctx.advance(&id, TaskState::Executed, Some(run.output), None);
    }
    if run.output == t.output_commitment && run.trace_root == t.trace_root {
        if confirmer != Address::ZERO {
            // another auditor confirmed first: nothing to be paid for, the close remains
            ctx.advance(
                &id,
                TaskState::Cancelled,
                None,
                Some(format!("agrees; confirmed first by {confirmer}")),
            );
            return Ok(None);
        }
        match sys.confirm_audit(task, run.output, run.trace_root).await {
            Ok(()) => {
                inc(&ctx.metrics.transactions_sent);
                inc(&ctx.metrics.audits_confirmed);
                tracing::info!(node = %ctx.cfg.name, %task, "audit: the result agrees; confirmed");
                ctx.advance(
                    &id,
                    TaskState::Submitted,
                    Some(run.output),
                    Some("confirmed".into()),
                );
            }
            Err(e) => {
                // raced another confirmer or the window's end: the close remains
                let e = Error::from(e);
                ctx.advance(&id, TaskState::Cancelled, None, Some(e.to_string()));
            }
        }
        return Ok(None);
    }
    inc(&ctx.metrics.mismatches_found);
    tracing::warn!(node = %ctx.cfg.name, %task, posted = %t.output_commitment, computed = %run.output, "audit: the result differs; challenging");
    let dispute = match Against::Audit
        .open(ctx, task, run.output, run.trace_root)
        .await
    {
        Ok(Opened::Ours(d)) => d,
        // another auditor challenged first, or the window closed
        Ok(Opened::Theirs(d)) => {
            let why = format!("dispute {d} opened by another party");
            ctx.advance(&id, TaskState::Cancelled, None, Some(why));
            return Ok(Some(Ok(())));
        }
        Ok(Opened::Closed(e)) => {
            ctx.advance(&id, TaskState::Cancelled, None, Some(e.to_string()));
            return Ok(Some(Ok(())));
        }
        Err(e) => {
            ctx.advance(&id, TaskState::Cancelled, None, Some(e.to_string()));
            return Ok(Some(Err(e)));
        }
    };
    ctx.challenge_opened(&id, run.output, dispute);
    Ok(Some(play(ctx.clone(), dispute, task, Some(run)).await))
}

/// Waits for the audit window of `task` to end, then closes the audit (anyone may; the first
/// close wins and the others see `NotAudited`).
async fn close_after_window(ctx: &Ctx, task: U256, deadline: u32, id: &str) -> Result<()> {
    let sys = &ctx.sys;
    loop {
        if ctx.chain_now().await? > u64::from(deadline) {
            match sys.close_audit(task).await {
                Ok(()) => {
                    inc(&ctx.metrics.transactions_sent);
                    inc(&ctx.metrics.audits_closed);
                    tracing::info!(node = %ctx.cfg.name, %task, "audit closed");
                    break;
                }
                Err(e) => {
                    let e = Error::from(e);
                    if is_closed_audit(&e) {
                        break; // closed by someone else, or challenged
                    }
                    // no block past the deadline yet, or a flaky endpoint
                    tracing::debug!(node = %ctx.cfg.name, %task, error = %e, "closing the audit failed; trying again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
        }
        // the chain's clock may run ahead of the wall clock (a warped devnet): look again soon
        tokio::time::sleep(
            until_after(deadline).clamp(Duration::from_millis(200), Duration::from_secs(5)),
        )
        .await;
    }
    if ctx
        .journal
        .task(id)?
        .is_some_and(|r| r.state == TaskState::Submitted)
    {
        // our confirmation settled: paid, unless another auditor's challenge failed the task
        let t = retry(&ctx.metrics, || async { Ok(sys.task(task).await?) }).await?;
        let detail = if t.flags & FLAG_AUDIT_FAILED != 0 {
            "audit failed by another auditor's challenge: the confirmation is not paid"
        } else {
            "audit closed"
        };
        ctx.advance(id, TaskState::Finalized, None, Some(detail.into()));
    }
    Ok(())
}
