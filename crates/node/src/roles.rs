//! What each role does with one task. Every worker is driven by the task's on-chain state and
//! its journal entry, so running it again after a crash continues where it stopped: a step
//! already on-chain is observed, not repeated.

use crate::chainview::{commitments_of, members_of, request_of, retry};
use crate::metrics::inc;
use crate::work::{Run, execute};
use crate::{Ctx, Error, Result};
use std::sync::Arc;
use std::time::Duration;
use vouch_chain::alloy::primitives::{Address, B256, U256, keccak256};
use vouch_chain::alloy::sol_types::SolValue;
use vouch_chain::bindings::task_manager::TaskManager::TaskRequested;
use vouch_chain::dispute::{self, Move};
use vouch_journal::{DisputeState, NewTask, TaskState};

/// `TaskManager.Status` codes (from [`vouch_task::Status`]), as match patterns.
pub(crate) mod status {
    use vouch_task::Status;
    pub(crate) const REQUESTED: u8 = Status::Requested.code();
    pub(crate) const SUBMITTED: u8 = Status::Submitted.code();
    pub(crate) const DISPUTED: u8 = Status::Disputed.code();
    pub(crate) const FINALIZED: u8 = Status::Finalized.code();
    pub(crate) const REFUNDED: u8 = Status::Refunded.code();
    pub(crate) const FAILED: u8 = Status::Failed.code();
}

/// `TaskManager.Mode` codes (from [`vouch_task::Mode`]), as match patterns.
pub(crate) mod mode {
    use vouch_task::Mode;
    pub(crate) const OPTIMISTIC: u8 = Mode::Optimistic.code();
    pub(crate) const COMMITTEE: u8 = Mode::Committee.code();
    pub(crate) const ZK: u8 = Mode::Zk.code();
}

/// The journal's name of a mode code.
fn mode_name(m: u8) -> &'static str {
    vouch_task::Mode::from_code(m).map_or("unknown", vouch_task::Mode::as_str)
}

pub(crate) fn is_bad_status(e: &Error) -> bool {
    e.revert_reason().is_some_and(|r| {
        r.starts_with("BadStatus")
            || r.starts_with("DeadlinePassed")
            || r.starts_with("AlreadyCommitted")
    })
}

/// ProviderStaking refused a bond: the provider was ejected after `maxFaults` slashes.
fn is_ejected(e: &Error) -> bool {
    e.revert_reason().is_some_and(|r| r.starts_with("Ejected"))
}

/// A send that failed without a decoded reason (mined but reverted after the state moved).
fn is_transient_send(e: &Error) -> bool {
    matches!(e, Error::Chain(vouch_chain::Error::FailedOnChain { .. }))
}

/// Runs a blocking write (an fsync'd journal step, a store write) without stalling the async
/// workers: on a multi-threaded runtime the worker hands its other tasks off first.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Ctx {
    /// Records the task in the journal (once) with its input in the store.
    pub(crate) fn accept(&self, id: &str, req: &TaskRequested, model_cid: &str) -> Result<()> {
        let input_cid = blocking(|| self.models.store().put(&req.inlineInput))?;
        let fresh = blocking(|| {
            self.journal.accept(&NewTask {
                id: id.to_owned(),
                requester: req.requester.to_string(),
                model_cid: model_cid.to_owned(),
                input_cid: input_cid.to_string(),
                mode: mode_name(req.mode).to_owned(),
                max_fee: req.fee.to_string(),
            })
        })?;
        if fresh {
            inc(&self.metrics.tasks_accepted);
        }
        Ok(())
    }

    /// Moves a journal entry, logging (not failing on) steps the state machine refuses.
    pub(crate) fn advance(
        &self,
        id: &str,
        to: TaskState,
        commitment: Option<B256>,
        detail: Option<String>,
    ) {
        let data = vouch_journal::StepData {
            output_cid: None,
            commitment: commitment.map(|c| c.to_string()),
            detail,
        };
        match blocking(|| self.journal.transition(id, to, &data)) {
            // a task this node never claimed (another provider took it first)
            Ok(_) | Err(vouch_journal::Error::UnknownTask { .. }) => {}
            Err(e) => {
                tracing::warn!(node = %self.cfg.name, task = id, error = %e, "journal step refused");
            }
        }
    }

    /// Journals a dispute this node lost (its bond slashed) and counts it.
    fn record_slashed(&self, id: &str, why: &str) {
        inc(&self.metrics.tasks_slashed);
        self.advance(id, TaskState::Disputed, None, None);
        self.advance(id, TaskState::Slashed, None, Some(why.to_owned()));
    }

    /// Sends `finalize` for a task whose window is over; a refusal (no block past the deadline
    /// yet, or another party finalized first) waits a moment for the next read.
    async fn try_finalize(&self, task: U256) {
        let tm = self.sys.task_manager();
        if self
            .send("TaskManager.finalize", tm.finalize(task))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The current chain time: the later of the wall clock and the latest block.
    pub(crate) async fn chain_now(&self) -> Result<u64> {
        let ts = retry(&self.metrics, || async {
            Ok(self.sys.latest_timestamp().await?)
        })
        .await?;
        Ok(ts.max(now_secs()))
    }

    /// This node's execution of the task; a lying node (`lie`) changes its result.
    pub(crate) async fn run_of(&self, task: U256, req: &TaskRequested, lie: bool) -> Result<Run> {
        let model = self.models.get(&self.sys, req.modelId, req.version).await?;
        let inline = req.inlineInput.clone();
        let commitment = (req.mode != mode::ZK).then_some(req.inputCommitment);
        let id = task.to_string();
        let lie = lie && self.cfg.lie == crate::Lie::Always;
        let rows = req.rows;
        let run = tokio::task::spawn_blocking(move || {
            execute(&id, &model.pkg, &inline, rows, commitment)
        })
        .await
        .map_err(|e| Error::State(format!("execution task: {e}")))??;
        Ok(if lie { run.lie() } else { run })
    }

    async fn send<D>(
        &self,
        what: &str,
        call: vouch_chain::alloy::contract::CallBuilder<
            &&vouch_chain::alloy::providers::DynProvider,
            D,
        >,
    ) -> Result<()>
    where
        D: vouch_chain::alloy::contract::CallDecoder + Clone,
    {
        retry(&self.metrics, || async {
            self.sys.client().send(what, call.clone()).await?;
            Ok(())
        })
        .await?;
        inc(&self.metrics.transactions_sent);
        Ok(())
    }
}

/// Waits (polling every `poll`, at most 10 polls) until the mined status of `task` is no
/// longer `from`: a transaction seen in the pending block takes a block to show.
async fn wait_for_change(ctx: &Ctx, task: U256, from: u8) -> Result<()> {
    for _ in 0..10 {
        tokio::time::sleep(ctx.cfg.poll.min(Duration::from_millis(250))).await;
        let t = retry(&ctx.metrics, || async { Ok(ctx.sys.task(task).await?) }).await?;
        if t.status != from {
            break;
        }
    }
    Ok(())
}

/// This provider's wait before claiming `task`: a share of `stagger` fixed by
/// `keccak256(task ‖ provider)`, so providers take turns per task instead of racing.
fn claim_delay(stagger: Duration, task: U256, me: Address) -> Duration {
    let mut pre = [0u8; 52];
    pre[..32].copy_from_slice(&task.to_be_bytes::<32>());
    pre[32..].copy_from_slice(me.as_slice());
    let h = keccak256(pre);
    let mut top = [0u8; 8];
    top.copy_from_slice(&h[..8]);
    stagger.mul_f64(u64::from_be_bytes(top) as f64 / 2f64.powi(64))
}

/// Provider of an optimistic or zk task: execute, claim by submitting, finalize after the
/// window, follow a dispute to its end.
pub(crate) async fn provider(ctx: Arc<Ctx>, task: U256, req: Option<TaskRequested>) -> Result<()> {
    let sys = &ctx.sys;
    let req = match req {
        Some(r) => r,
        None => retry(&ctx.metrics, || request_of(sys, task)).await?,
    };
    let id = format!("provider:{task}");
    let model = ctx.models.get(sys, req.modelId, req.version).await?;
    // a task enters the journal when this node claims it (a resumed task is already there);
    // tasks other providers take first cost no journal write
    let mut claimed = ctx.journal.task(&id)?.is_some();
    let mut run: Option<Run> = None;
    loop {
        // registered before the read, so a challenge logged after it still wakes the wait
        let challenged = ctx.challenged.notified();
        tokio::pin!(challenged);
        challenged.as_mut().enable();
        let t = retry(&ctx.metrics, || async { Ok(sys.task(task).await?) }).await?;
        let mine = t.provider == ctx.me;
        match t.status {
            status::REQUESTED => {
                if ctx.chain_now().await? > u64::from(t.deadline) {
                    ctx.advance(
                        &id,
                        TaskState::Cancelled,
                        None,
                        Some("deadline passed".into()),
                    );
                    return Ok(());
                }
                // Spread claims over providers: each waits its own share of `stagger`, drawn
                // from the task id and its address, so one provider usually goes first and
                // the others see the task taken before executing it at all.
                // The re-check reads the pending block: a turn taken in the block being built
                // counts, so the others neither execute nor post a duplicate that would revert.
                if run.is_none() {
                    tokio::time::sleep(claim_delay(ctx.cfg.stagger, task, ctx.me)).await;
                    let now =
                        retry(&ctx.metrics, || async { Ok(sys.task_pending(task).await?) }).await?;
                    if now.status != status::REQUESTED {
                        wait_for_change(&ctx, task, status::REQUESTED).await?;
                        continue;
                    }
                }
                let r = match &run {
                    Some(r) => r.clone(),
                    None => {
                        let r = match ctx.run_of(task, &req, true).await {
                            Ok(r) => r,
                            Err(e) => {
                                if claimed {
                                    ctx.advance(&id, TaskState::Failed, None, Some(e.to_string()));
                                }
                                return Err(e);
                            }
                        };
                        run = Some(r.clone());
                        r
                    }
                };
                if !claimed {
                    ctx.accept(&id, &req, &model.cid.to_string())?;
                    claimed = true;
                }
                ctx.advance(&id, TaskState::Executed, Some(r.output), None);
                let sent = if t.mode == mode::ZK {
                    submit_zk(&ctx, task, &req, &r).await
                } else {
                    ctx.send(
                        "TaskManager.submit",
                        sys.task_manager().submit(task, r.output, r.trace_root),
                    )
                    .await
                };
                match sent {
                    Ok(()) => {
                        inc(&ctx.metrics.results_posted);
                        // journaled now: a challenge may land before the next read (a watcher
                        // can see the result before this node has polled its receipt)
                        if t.mode != mode::ZK {
                            ctx.advance(&id, TaskState::Submitted, Some(r.output), None);
                        }
                        tracing::info!(node = %ctx.cfg.name, %task, output = %r.output, "submitted");
                    }
                    // taken meanwhile (the estimate runs on the pending block) or a transient
                    // failure: look again once the mined state may have moved
                    Err(e) if is_bad_status(&e) || is_transient_send(&e) => {
                        wait_for_change(&ctx, task, status::REQUESTED).await?;
                        continue;
                    }
                    // every bond of this provider is locked in running windows: wait for one
                    // to free up (or for another provider to take the task)
                    Err(e)
                        if e.revert_reason()
                            .is_some_and(|r| r.starts_with("InsufficientFreeStake")) =>
                    {
                        tracing::warn!(node = %ctx.cfg.name, %task, "no free stake for a bond; waiting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    // this provider lost too many disputes: it takes no task (others will)
                    Err(e) if is_ejected(&e) => {
                        tracing::warn!(node = %ctx.cfg.name, %task, "ejected by ProviderStaking: not taking the task");
                        ctx.advance(&id, TaskState::Cancelled, None, Some("ejected".into()));
                        return Ok(());
                    }
                    Err(e) => {
                        ctx.advance(&id, TaskState::Failed, None, Some(e.to_string()));
                        return Err(e);
                    }
                }
            }
            status::SUBMITTED if !mine => {
                inc(&ctx.metrics.tasks_lost_race);
                ctx.advance(
                    &id,
                    TaskState::Cancelled,
                    None,
                    Some(format!("taken by {}", t.provider)),
                );
                return Ok(());
            }
            status::SUBMITTED => {
                ctx.advance(&id, TaskState::Submitted, Some(t.outputCommitment), None);
                let now = ctx.chain_now().await?;
                let end = u64::from(t.deadline);
                if now <= end {
                    // Finalizing needs a block stamped after the deadline (the window's last
                    // second): wake just after the clock reaches `end + 1`, on a challenge
                    // logged meanwhile, or now and then on a long window.
                    tokio::select! {
                        () = tokio::time::sleep(until_after(t.deadline)) => {}
                        () = &mut challenged => {}
                    }
                    continue;
                }
                ctx.try_finalize(task).await;
            }
            status::DISPUTED if mine => {
                ctx.advance(&id, TaskState::Disputed, None, None);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            status::FINALIZED if mine => {
                inc(&ctx.metrics.tasks_finalized);
                ctx.advance(&id, TaskState::Submitted, Some(t.outputCommitment), None);
                ctx.advance(&id, TaskState::Finalized, Some(t.outputCommitment), None);
                tracing::info!(node = %ctx.cfg.name, %task, "finalized");
                return Ok(());
            }
            status::FAILED if mine => {
                ctx.record_slashed(&id, "lost the dispute");
                tracing::warn!(node = %ctx.cfg.name, %task, "slashed");
                return Ok(());
            }
            _ => {
                let why = if t.status == status::REFUNDED {
                    "refunded"
                } else {
                    "settled with another provider"
                };
                ctx.advance(&id, TaskState::Cancelled, None, Some(why.into()));
                return Ok(());
            }
        }
    }
}

async fn submit_zk(ctx: &Ctx, task: U256, req: &TaskRequested, run: &Run) -> Result<()> {
    let (Some(prover), Some(keys)) = (
        ctx.prover.as_ref(),
        ctx.cfg.zk_keys.get(&(req.modelId, req.version)),
    ) else {
        return Err(Error::State(format!(
            "task {task} is a zk task for model {} v{} and this node has no proving keys for it",
            req.modelId, req.version
        )));
    };
    let model = ctx.models.get(&ctx.sys, req.modelId, req.version).await?;
    let inputs =
        crate::work::decode_inputs(&model.pkg, &req.inlineInput, req.rows).map_err(|reason| {
            Error::Execute {
                task: task.to_string(),
                reason,
            }
        })?;
    let (prover, keys) = (prover.clone(), keys.clone());
    let (output, proof) =
        tokio::task::spawn_blocking(move || prover.prove(&model.pkg, &keys, inputs))
            .await
            .map_err(|e| Error::State(format!("proving task: {e}")))?
            .map_err(|reason| Error::Execute {
                task: task.to_string(),
                reason,
            })?;
    if output != run.output && ctx.cfg.lie == crate::Lie::Never {
        return Err(Error::State(format!(
            "task {task}: the circuit's output {output} differs from the engine's {}",
            run.output
        )));
    }
    ctx.send(
        "TaskManager.submitZk",
        ctx.sys.task_manager().submitZk(task, output, proof),
    )
    .await
}

/// Challenger of an optimistic result: re-execute; on a mismatch, challenge and play.
pub(crate) async fn challenger(
    ctx: Arc<Ctx>,
    task: U256,
    output: B256,
    trace_root: B256,
) -> Result<()> {
    let sys = &ctx.sys;
    let cached = ctx
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&task);
    let req = match cached {
        Some(r) => r,
        None => retry(&ctx.metrics, || request_of(sys, task)).await?,
    };
    if req.mode != mode::OPTIMISTIC {
        return Ok(());
    }
    // lies are told as a provider or committee member, never by re-checking others
    let run = match ctx.run_of(task, &req, false).await {
        Ok(run) => run,
        Err(e) => {
            // an input that cannot hold the task's rows has no answer: any result is a lie
            let model = ctx.models.get(sys, req.modelId, req.version).await?;
            let Some(inputs) = crate::work::misfit_inputs(
                &model.pkg,
                &req.inlineInput,
                req.rows,
                req.inputCommitment,
            ) else {
                return Err(e);
            };
            return challenge_misfit(&ctx, Against::Result, task, &req, &model, inputs).await;
        }
    };
    inc(&ctx.metrics.results_rechecked);
    if run.output == output && run.trace_root == trace_root {
        return Ok(());
    }
    inc(&ctx.metrics.mismatches_found);
    let id = format!("challenger:{task}");
    let model = ctx.models.get(sys, req.modelId, req.version).await?;
    ctx.accept(&id, &req, &model.cid.to_string())?;
    ctx.advance(&id, TaskState::Executed, Some(run.output), None);
    tracing::warn!(node = %ctx.cfg.name, %task, posted = %output, computed = %run.output, "result differs: challenging");
    let dispute = match Against::Result
        .open(&ctx, task, run.output, run.trace_root)
        .await
    {
        Ok(Opened::Ours(d)) => d,
        // someone else challenged first: that dispute decides
        Ok(Opened::Theirs(d)) => {
            ctx.advance(
                &id,
                TaskState::Cancelled,
                None,
                Some(format!("dispute {d} opened by another party")),
            );
            return Ok(());
        }
        Ok(Opened::Closed(e)) => {
            ctx.advance(&id, TaskState::Cancelled, None, Some(e.to_string()));
            return Ok(());
        }
        Err(e) => {
            ctx.advance(&id, TaskState::Failed, None, Some(e.to_string()));
            return Err(e);
        }
    };
    inc(&ctx.metrics.challenges_opened);
    inc(&ctx.metrics.transactions_sent);
    ctx.advance(
        &id,
        TaskState::Submitted,
        Some(run.output),
        Some(format!("dispute {dispute}")),
    );
    ctx.advance(&id, TaskState::Disputed, None, None);
    play(ctx, dispute, task, Some(run)).await
}

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

/// Challenges a result posted for a task whose committed input cannot hold its rows, claiming
/// "no answer" (output and trace `0`), and shows it with `DisputeGame.resolveInput`.
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
    tracing::warn!(node = %ctx.cfg.name, %task, rows = req.rows, "a result for an input that cannot hold the task's rows: challenging");
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
        Some("no answer: the input cannot hold the task's rows".to_owned()),
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
    let mut pause = Duration::from_millis(300);
    loop {
        match dispute::resolve_input(sys, dispute, &header, &nodes, &inputs).await {
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
            None => {
                let r = ctx.run_of(task, &req, true).await?;
                run = Some(r.clone());
                r
            }
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
                            U256::from(i),
                            run.output,
                            run.trace_root,
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
                && my_output.is_some_and(|o| o != t.outputCommitment));
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
                            tm.finalizeCommittee(task, members.clone()),
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
                    ctx.try_finalize(task).await;
                } else {
                    tokio::time::sleep(until_after(t.deadline)).await;
                }
            }
            status::SUBMITTED => tokio::time::sleep(until_after(t.deadline)).await,
            status::FINALIZED => {
                inc(&ctx.metrics.tasks_finalized);
                ctx.advance(&id, TaskState::Finalized, Some(t.outputCommitment), None);
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

/// How long until just after the second `deadline` (when a block may be stamped past it),
/// capped at 30 s so long windows are re-read now and then.
pub(crate) fn until_after(deadline: u32) -> Duration {
    let at = std::time::UNIX_EPOCH
        + Duration::from_secs(u64::from(deadline) + 1)
        + Duration::from_millis(150);
    at.duration_since(std::time::SystemTime::now())
        .unwrap_or_default()
        .min(Duration::from_secs(30))
}

/// After a committee dispute, a member that was not a party releases the bonds of every
/// member that was not (`releaseCommitteeBonds`, once per task). Returns whether nothing is
/// left to do: released (by this call or another member's), or not this member's to release.
/// A failure is logged and retried on the next pass, never a reason to abandon the task.
async fn release_bystanders(
    ctx: &Ctx,
    task: U256,
    t: &vouch_chain::bindings::task_manager::TaskManager::Task,
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
