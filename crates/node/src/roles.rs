//! What each role does with one task. Every worker is driven by the task's on-chain state and
//! its journal entry, so running it again after a crash continues where it stopped: a step
//! already on-chain is observed, not repeated.

use crate::chainview::{request_of, retry};
use crate::metrics::inc;
use crate::work::{Run, execute};
use crate::{Ctx, Error, Result};

pub(crate) use crate::committee::committee;
pub(crate) use crate::disputes::{Against, Opened, challenge_misfit, is_closed_audit, play};
use std::sync::Arc;
use std::time::Duration;
use vouch_chain::alloy::primitives::{Address, B256, U256, keccak256};
use vouch_chain::bindings::task_manager::TaskManager::TaskRequested;
use vouch_journal::{NewTask, TaskState};

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

pub(crate) use vouch_chain::record::{FLAG_DELIVERED, FLAG_HAS_CALLBACK};

/// `TaskManager.Mode` codes (from [`vouch_task::Mode`]), as match patterns.
pub(crate) mod mode {
    use vouch_task::Mode;
    pub(crate) const OPTIMISTIC: u8 = Mode::Optimistic.code();
    pub(crate) const COMMITTEE: u8 = Mode::Committee.code();
    pub(crate) const ZK: u8 = Mode::Zk.code();
}

/// The journal's name of a mode code.
pub(crate) fn mode_name(m: u8) -> &'static str {
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
pub(crate) fn is_ejected(e: &Error) -> bool {
    e.revert_reason().is_some_and(|r| r.starts_with("Ejected"))
}

/// A send that failed without a decoded reason (mined but reverted after the state moved).
pub(crate) fn is_transient_send(e: &Error) -> bool {
    matches!(e, Error::Chain(vouch_chain::Error::FailedOnChain { .. }))
}

/// Runs a blocking write (an fsync'd journal step, a store write) without stalling the async
/// workers: on a multi-threaded runtime the worker hands its other tasks off first.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Ctx {
    /// Records the task in the journal (once) with its input in the store.
    pub(crate) fn accept(&self, id: &str, req: &TaskRequested, model_cid: &str) -> Result<()> {
        // an input named by CID or blobs is journaled by that name; an inline one is stored
        let input_cid = if req.inlineInput.is_empty() && !req.inputCid.is_empty() {
            req.inputCid.clone()
        } else {
            blocking(|| self.models.store().put(&req.inlineInput))?.to_string()
        };
        let fresh = blocking(|| {
            self.journal.accept(&NewTask {
                id: id.to_owned(),
                requester: req.requester.to_string(),
                model_cid: model_cid.to_owned(),
                input_cid,
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
    pub(crate) fn record_slashed(&self, id: &str, why: &str) {
        inc(&self.metrics.tasks_slashed);
        self.advance(id, TaskState::Disputed, None, None);
        self.advance(id, TaskState::Slashed, None, Some(why.to_owned()));
    }

    /// Sends `finalize` for a task whose window is over, with its output values (delivered to
    /// the task's callback in the same transaction; empty: settle only); a refusal (no block
    /// past the deadline yet, or another party finalized first) waits a moment for the next
    /// read.
    pub(crate) async fn try_finalize(
        &self,
        task: U256,
        t: &vouch_chain::system::Task,
        values: Vec<i32>,
    ) {
        let tm = self.sys.task_manager();
        let call = tm.finalize(task, t.record.clone(), t.result.clone(), values);
        if self.send("TaskManager.finalize", call).await.is_err() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Delivers a finalized task's values to its callback when they are not delivered yet and
    /// this node's run is the task's result; another party delivering first is no error.
    pub(crate) async fn try_deliver(
        &self,
        task: U256,
        t: &vouch_chain::system::Task,
        run: Option<&Run>,
    ) {
        let values = self.values_for(t, run);
        if values.is_empty() {
            return;
        }
        let tm = self.sys.task_manager();
        let pending = t.flags & (FLAG_HAS_CALLBACK | FLAG_DELIVERED) == FLAG_HAS_CALLBACK;
        let call = tm.deliver(task, t.record.clone(), t.result.clone(), values);
        if pending && let Err(e) = self.send("TaskManager.deliver", call).await {
            tracing::debug!(node = %self.cfg.name, %task, error = %e, "deliver");
        }
    }

    /// The values to finalize `task` with: this node's run when its output is the task's,
    /// else none (the task settles and anyone holding the values may deliver them); a task
    /// without a callback needs none.
    pub(crate) fn values_for(&self, t: &vouch_chain::system::Task, run: Option<&Run>) -> Vec<i32> {
        match run {
            Some(r) if t.flags & FLAG_HAS_CALLBACK != 0 && r.output == t.output_commitment => {
                r.values()
            }
            _ => Vec::new(),
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

    /// The task's input bytes (canonical `i32` words): inline in the request; read back from
    /// the request transaction's blobs when its `inputCid` names blobs (through the beacon
    /// node when one is configured, by the block of the task's `TaskRequested` log; each blob checked
    /// against its versioned hash; the words are checked against the input commitment when the
    /// task is executed); from this node's store when the CID is a content CID the store holds
    /// (e.g. put there by a gateway). Any other input is not available here: an error naming it.
    pub(crate) async fn input_of(&self, task: U256, req: &TaskRequested) -> Result<Vec<u8>> {
        let cid = req.inputCid.as_str();
        if !req.inlineInput.is_empty() || cid.is_empty() {
            return Ok(req.inlineInput.to_vec());
        }
        if vouch_chain::blob::parse_cid(cid).is_some() {
            // a dead or syncing beacon node is asked again (with backoff) before giving up
            return retry(&self.metrics, || async {
                let block = crate::chainview::request_block_of(&self.sys, task).await?;
                Ok(vouch_chain::blob::read_input(&self.blobs, cid, block).await?)
            })
            .await;
        }
        let unavailable = |why: &str| Error::Execute {
            task: task.to_string(),
            reason: format!("the input {cid:?} {why}"),
        };
        let parsed: vouch_primitives::Cid = cid
            .parse()
            .map_err(|_| unavailable("is neither inline, blobs nor a CID"))?;
        let store = self.models.store();
        if !store.has(&parsed) {
            return Err(unavailable("is not in this node's store"));
        }
        Ok(blocking(|| store.get(&parsed))?)
    }

    /// This node's execution of the task; a lying node (`lie`) changes its result.
    pub(crate) async fn run_of(&self, task: U256, req: &TaskRequested, lie: bool) -> Result<Run> {
        let model = self.models.get(&self.sys, req.modelId, req.version).await?;
        let inline = match self.input_of(task, req).await {
            Ok(b) => b,
            Err(e) => {
                inc(&self.metrics.executions_refused);
                return Err(e);
            }
        };
        let commitment = (req.mode != mode::ZK).then_some(req.inputCommitment);
        let id = task.to_string();
        let lie = lie && self.cfg.lie == crate::Lie::Always;
        let rows = req.rows;
        let run = tokio::task::spawn_blocking(move || {
            execute(&id, &model.pkg, &inline, rows, commitment)
        })
        .await
        .map_err(|e| Error::State(format!("execution task: {e}")))?
        .inspect_err(|_| inc(&self.metrics.executions_refused))?;
        Ok(if lie { run.lie() } else { run })
    }

    pub(crate) async fn send<D>(
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
pub(crate) async fn wait_for_change(ctx: &Ctx, task: U256, from: u8) -> Result<()> {
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
    // never claim a task its mode cannot settle (an op without a circuit or one-step verifier)
    if let Some(mode) = vouch_task::Mode::from_code(req.mode)
        && let Err(e) = vouch_task::modes::check_mode(&model.pkg, mode)
    {
        tracing::warn!(node = %ctx.cfg.name, %task, error = %e, "not claiming the task");
        return Ok(());
    }
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
                ctx.advance(&id, TaskState::Submitted, Some(t.output_commitment), None);
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
                // the values go with the settlement: a node restarted since it submitted runs
                // the task again for them (only when there is a callback to deliver to)
                if run.is_none() && t.flags & FLAG_HAS_CALLBACK != 0 {
                    match ctx.run_of(task, &req, true).await {
                        Ok(r) => run = Some(r),
                        // settle anyway: the values may be delivered later by anyone
                        Err(e) => {
                            tracing::warn!(node = %ctx.cfg.name, %task, error = %e, "finalizing without values");
                        }
                    }
                }
                ctx.try_finalize(task, &t, ctx.values_for(&t, run.as_ref()))
                    .await;
            }
            status::DISPUTED if mine => {
                ctx.advance(&id, TaskState::Disputed, None, None);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            status::FINALIZED if mine => {
                inc(&ctx.metrics.tasks_finalized);
                ctx.advance(&id, TaskState::Submitted, Some(t.output_commitment), None);
                ctx.advance(&id, TaskState::Finalized, Some(t.output_commitment), None);
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
    let bytes = ctx.input_of(task, req).await?;
    let inputs = crate::work::decode_inputs(&model.pkg, &bytes, req.rows).map_err(|reason| {
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
    let rec = vouch_chain::record::record_of(req)?;
    ctx.send(
        "TaskManager.submitZk",
        ctx.sys.task_manager().submitZk(task, rec, output, proof),
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
    let run = match rerun_while_open(&ctx, task, &req, status::SUBMITTED).await {
        Ok(run) => run,
        Err(e) => {
            // an input that cannot hold the task's rows, or out of range, has no answer: any result is a lie
            let model = ctx.models.get(sys, req.modelId, req.version).await?;
            let bytes = ctx.input_of(task, &req).await.unwrap_or_default();
            let Some(inputs) =
                crate::work::misfit_inputs(&model.pkg, &bytes, req.rows, req.inputCommitment)
            else {
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
    ctx.challenge_opened(&id, run.output, dispute);
    play(ctx, dispute, task, Some(run)).await
}

/// This node's run of `task` for a challenge of its result (`open` = `SUBMITTED`) or of its
/// audit (`open` = `FINALIZED`). A failure that may pass (the input's beacon node or the RPC
/// endpoint down past the retries) is tried again every few seconds while the task is in
/// `open` and its window has not ended: giving up would let a lie stand. Any other failure,
/// or the window closing, returns the error.
pub(crate) async fn rerun_while_open(
    ctx: &Ctx,
    task: U256,
    req: &TaskRequested,
    open: u8,
) -> Result<Run> {
    loop {
        let e = match ctx.run_of(task, req, false).await {
            Err(e) if e.is_transient() => e,
            r => return r,
        };
        let t = retry(&ctx.metrics, || async { Ok(ctx.sys.task(task).await?) }).await?;
        if t.status != open || ctx.chain_now().await? > u64::from(t.deadline) {
            tracing::warn!(node = %ctx.cfg.name, %task, error = %e, "could not re-run the task while its result could be challenged");
            return Err(e);
        }
        tracing::warn!(node = %ctx.cfg.name, %task, error = %e, "re-running the task failed; trying again while the result can be challenged");
        tokio::time::sleep(until_after(t.deadline).min(Duration::from_secs(5))).await;
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
