//! Challenges and disputes: opening a challenge (of a result or an audit) through a flaky
//! endpoint, the "no answer" challenge of an input that cannot hold its rows, and playing a
//! dispute to its end as either party.

use crate::chainview::{request_of, retry};
use crate::metrics::inc;
use crate::roles::{is_bad_status, is_transient_send, mode};
use crate::work::Run;
use crate::{Ctx, Error, Result};
use std::sync::Arc;
use std::time::Duration;
use vouch_chain::alloy::primitives::{B256, U256};
use vouch_chain::bindings::task_manager::TaskManager::TaskRequested;
use vouch_chain::dispute::{self, Move};
use vouch_journal::{DisputeState, TaskState};

/// What a challenge is against: a result in its challenge window, or a finalized result in
/// its audit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Against {
    /// `TaskManager.challenge`, journaled as `challenger:{task}`.
    Result,
    /// `TaskManager.challengeAudit`, journaled as `auditor:{task}`.
    Audit,
}

impl Against {
    /// The journal id of this node's challenge of `task`.
    pub(crate) fn journal_id(self, task: U256) -> String {
        match self {
            Self::Result => format!("challenger:{task}"),
            Self::Audit => format!("auditor:{task}"),
        }
    }

    /// Opens the challenge with the bond; returns the dispute id.
    async fn open_once(
        self,
        ctx: &Ctx,
        task: U256,
        output: B256,
        trace_root: B256,
    ) -> vouch_chain::Result<U256> {
        match self {
            Self::Result => ctx.sys.challenge(task, output, trace_root).await,
            Self::Audit => ctx.sys.challenge_audit(task, output, trace_root).await,
        }
    }

    /// Opens the challenge, through a flaky endpoint too: a failed send is retried, and when
    /// the task is disputed after all, the dispute's challenger decides whose it is (a send
    /// whose answer was lost may well have gone through).
    pub(crate) async fn open(
        self,
        ctx: &Ctx,
        task: U256,
        output: B256,
        trace_root: B256,
    ) -> Result<Opened> {
        let sys = &ctx.sys;
        let mut pause = Duration::from_millis(300);
        let mut attempt = 0;
        loop {
            let e = match self.open_once(ctx, task, output, trace_root).await {
                Ok(d) => return Ok(Opened::Ours(d)),
                Err(e) => Error::from(e),
            };
            let transient = e.is_transient() || is_transient_send(&e);
            if !transient && !is_bad_status(&e) && !is_closed_audit(&e) {
                return Err(e);
            }
            // did a dispute open (ours, whose answer was lost, or another party's)?
            if let Ok(d) = sys.dispute_of(task).await
                && !d.is_zero()
                && let Ok(g) = sys
                    .client()
                    .call("DisputeGame.game", sys.dispute_game().game(d))
                    .await
                && g.p.taskId == task
            {
                return Ok(if g.p.challenger == ctx.me {
                    Opened::Ours(d)
                } else {
                    Opened::Theirs(d)
                });
            }
            attempt += 1;
            if !transient || attempt >= 20 {
                return Ok(Opened::Closed(e));
            }
            tracing::warn!(node = %ctx.cfg.name, %task, error = %e, "opening the challenge failed; trying again");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}

impl Ctx {
    /// Counts and journals a challenge this node opened (its claim `output` is posted and
    /// disputed in `dispute`) under the journal id `id`.
    pub(crate) fn challenge_opened(&self, id: &str, output: B256, dispute: U256) {
        inc(&self.metrics.challenges_opened);
        inc(&self.metrics.transactions_sent);
        self.advance(
            id,
            TaskState::Submitted,
            Some(output),
            Some(format!("dispute {dispute}")),
        );
        self.advance(id, TaskState::Disputed, None, None);
    }
}

/// How opening a challenge ended.
#[derive(Debug)]
pub(crate) enum Opened {
    /// Our dispute, with its id.
    Ours(U256),
    /// Another party challenged first (its dispute).
    Theirs(U256),
    /// The window closed (or the audit ended) before any challenge; the refusal.
    Closed(Error),
}

/// `TaskManager` refused an audit step: the audit is closed, challenged, or past its window.
pub(crate) fn is_closed_audit(e: &Error) -> bool {
    e.revert_reason()
        .is_some_and(|r| r.starts_with("NotAudited") || r.starts_with("DeadlinePassed"))
}

/// Challenges a result posted for a task whose committed input cannot hold its rows or holds an
/// element the engine refuses, claiming "no answer" (output and trace `0`), and shows it with
/// `DisputeGame.resolveInput` or `resolveInputRange`.
pub(crate) async fn challenge_misfit(
    ctx: &Ctx,
    against: Against,
    task: U256,
    req: &TaskRequested,
    model: &crate::work::Model,
    inputs: Vec<Vec<i32>>,
) -> Result<()> {
    let sys = &ctx.sys;
    let id = against.journal_id(task);
    ctx.accept(&id, req, &model.cid.to_string())?;
    tracing::warn!(node = %ctx.cfg.name, %task, rows = req.rows, "a result for an input without an answer (rows or range): challenging");
    let dispute = match against.open(ctx, task, B256::ZERO, B256::ZERO).await {
        Ok(Opened::Ours(d)) => d,
        Ok(Opened::Theirs(d)) => {
            let why = format!("dispute {d} opened by another party");
            ctx.advance(&id, TaskState::Cancelled, None, Some(why));
            return Ok(());
        }
        Ok(Opened::Closed(e)) => {
            ctx.advance(&id, TaskState::Cancelled, None, Some(e.to_string()));
            return Ok(());
        }
        Err(e) => {
            ctx.advance(&id, TaskState::Cancelled, None, Some(e.to_string()));
            return Err(e);
        }
    };
    inc(&ctx.metrics.challenges_opened);
    // the journal's path for a challenge: our claim ("no answer") is posted, then disputed
    ctx.advance(
        &id,
        TaskState::Executed,
        Some(B256::ZERO),
        Some("no answer: the input cannot hold the task's rows or is out of range".to_owned()),
    );
    ctx.advance(
        &id,
        TaskState::Submitted,
        Some(B256::ZERO),
        Some(format!("dispute {dispute}")),
    );
    ctx.advance(&id, TaskState::Disputed, None, None);
    let header = vouch_chain::graph::header_of(&model.pkg);
    let nodes = vouch_chain::graph::descriptors(&model.pkg);
    let consts: Vec<Vec<i32>> = model.pkg.consts.iter().map(|c| c.data.clone()).collect();
    let mut pause = Duration::from_millis(300);
    loop {
        match dispute::resolve_input(sys, dispute, &header, &nodes, &inputs, &consts).await {
            Ok(Move::Done { outcome }) => {
                let to = if outcome == "challenger wins" {
                    TaskState::Finalized
                } else {
                    TaskState::Slashed
                };
                ctx.advance(&id, to, None, Some(outcome.to_owned()));
                return Ok(());
            }
            Ok(_) => {
                inc(&ctx.metrics.transactions_sent);
                pause = Duration::from_millis(300);
            }
            Err(e) => {
                tracing::warn!(node = %ctx.cfg.name, %task, %dispute, error = %e, "resolving a misfit input failed; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Plays dispute `dispute` on `task` to its end if this node is a party (with `run`, or a
/// fresh execution of the task).
pub(crate) async fn play(ctx: Arc<Ctx>, dispute: U256, task: U256, run: Option<Run>) -> Result<()> {
    let sys = &ctx.sys;
    let game = retry(&ctx.metrics, || async {
        Ok(sys
            .client()
            .call("DisputeGame.game", sys.dispute_game().game(dispute))
            .await?)
    })
    .await?;
    let role = if game.p.defender == ctx.me {
        "defender"
    } else if game.p.challenger == ctx.me {
        "challenger"
    } else {
        return Ok(());
    };
    let did = dispute.to_string();
    ctx.journal.open_dispute(&did, &task.to_string(), role)?;
    let run = match run {
        Some(r) => r,
        None => {
            let req = retry(&ctx.metrics, || request_of(sys, task)).await?;
            // the result this node posted: a lying node defends its lie
            let own = role == "defender" || req.mode == mode::COMMITTEE;
            ctx.run_of(task, &req, own).await?
        }
    };
    tracing::info!(node = %ctx.cfg.name, %task, %dispute, role, "playing dispute");
    // A dispute is played to its end: an error that is not a lost race (a dead endpoint past
    // the retries, a step our evidence cannot make yet) is logged and the step is tried again
    // with a growing pause, for as long as the game runs. Giving up would hand the other party
    // a win by timeout.
    let mut pause = Duration::from_millis(300);
    loop {
        let mv = retry(&ctx.metrics, || async {
            Ok(dispute::step_with(sys, dispute, &run.trace, Some(&run.evidence)).await?)
        })
        .await;
        match mv {
            Ok(Move::Posted(what)) => {
                pause = Duration::from_millis(300);
                inc(&ctx.metrics.transactions_sent);
                ctx.journal.dispute_progress(&did, what)?;
            }
            Ok(Move::ClaimedTimeout) => inc(&ctx.metrics.transactions_sent),
            Ok(Move::Waiting { .. }) => tokio::time::sleep(Duration::from_millis(300)).await,
            Ok(Move::NeedsOneStep) => {
                return Err(Error::State(format!(
                    "dispute {dispute}: one-step evidence missing"
                )));
            }
            Ok(Move::Done { outcome }) => {
                let won = (role == "defender" && outcome == "defender wins")
                    || (role == "challenger" && outcome == "challenger wins");
                ctx.journal.close_dispute(
                    &did,
                    if won {
                        DisputeState::Won
                    } else {
                        DisputeState::Lost
                    },
                )?;
                inc(if won {
                    &ctx.metrics.disputes_won
                } else {
                    &ctx.metrics.disputes_lost
                });
                tracing::info!(node = %ctx.cfg.name, %task, %dispute, outcome, "dispute ended");
                if role == "challenger" {
                    for against in [Against::Result, Against::Audit] {
                        let id = against.journal_id(task);
                        if ctx
                            .journal
                            .task(&id)?
                            .is_some_and(|r| r.state == TaskState::Disputed)
                        {
                            let to = if won {
                                TaskState::Finalized
                            } else {
                                TaskState::Slashed
                            };
                            ctx.advance(&id, to, None, Some(outcome.to_owned()));
                        }
                    }
                }
                return Ok(());
            }
            // a step raced the other party's (state moved under us, or the transaction was
            // mined after the phase changed): look again
            Err(e)
                if is_bad_status(&e)
                    || e.revert_reason().is_some()
                    || matches!(e, Error::Chain(vouch_chain::Error::FailedOnChain { .. })) =>
            {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => {
                tracing::warn!(node = %ctx.cfg.name, %task, %dispute, role, error = %e, "dispute step failed; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
        }
    }
}
