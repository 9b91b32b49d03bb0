//! The gateway on a chain: [`ChainSink`] turns accepted tasks into `TaskManager.request`
//! transactions and follows them to settlement; [`ChainDirectory`] lists the models of the
//! `ModelRegistry` and the providers of `ProviderStaking`; [`serve`] wires both into a running
//! gateway (used by `vouch gateway` and, in-process, by `vouch up`).
//!
//! **The gateway pays fees.** Every task is requested from the gateway operator's own account
//! (its key, its token balance) with `fee = max_fee`; the client never signs a transaction.
//! The gateway charges the fee against the identity's spend cap (the [`crate::limits`] logic)
//! when it accepts the task. At start the operator approves the TaskManager for its balance
//! once, so concurrent requests never race on the allowance. Refunds (nobody delivered by the
//! deadline; the provider lost a dispute) are credited by the TaskManager to the operator,
//! which spends that credit first on its next request; the sink sends `refund` itself when a
//! task it follows passes its deadline unserved.
//!
//! **Submitting.** The model CID is looked up among the registered versions (refreshed from
//! the chain on a miss); the package is read from the gateway's blob store; the input JSON is
//! quantized exactly as `vouch task request` does; the input commitment is the list
//! commitment of the quantized tensors (optimistic, committee) or the Poseidon input hash the
//! zk verifier checks (zk); the input travels inline as canonical tensor bytes. The gateway
//! also runs the model itself and keeps the output JSON in its store, but reports the output
//! (and its commitment) only once the task is `finalized` on-chain with the same output
//! commitment; a different on-chain commitment is reported in `detail` and the output is
//! withheld.
//!
//! **Following.** One background task polls the chain: one `eth_getLogs` per poll over the
//! TaskManager, ModelRegistry and ProviderStaking addresses, then `getTask` (the state word;
//! a finalized task's output commitment from its last `ResultSubmitted` log) only for the
//! followed tasks a log touched (and once for every task when it is accepted or resumed after
//! a restart). State changes go into the [`Journal`] (its own SQLite file, so accepted tasks
//! survive a restart): `accepted -> executed` (requested on-chain, output computed locally)
//! `-> submitted -> finalized | disputed -> finalized | failed`, or `cancelled` (refunded).
//! A task the provider lost is reported as `failed` (the journal's `failed`, or its `slashed`
//! where the journal has no `disputed -> failed` step).
//!
//! Known gap: a crash between the `request` transaction and the journal write loses the task
//! from the gateway's view (the fee stays escrowed on-chain and is refunded after the
//! deadline by anyone calling `refund`).

use vouch_chain::record::FLAG_VAULT;

mod directory;
mod local_run;
mod serve;
mod signed;
mod steps;

use local_run::prepare;
use steps::{advance, path, status_name, view};

pub use directory::ChainDirectory;
pub use serve::{Served, serve};

use crate::sink::{
    BoxFuture, EventView, Mode, Rejection, SinkError, TaskRequest, TaskSink, TaskView,
};
use directory::{DirState, ModelEntry};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;
use vouch_chain::System;
use vouch_chain::alloy::primitives::{Address, B256, U256};
use vouch_chain::alloy::providers::Provider;
use vouch_chain::alloy::rpc::types::{Filter, Log};
use vouch_chain::alloy::sol_types::SolEvent;
use vouch_chain::bindings::model_registry::ModelRegistry;
use vouch_chain::bindings::provider_staking::ProviderStaking;
use vouch_chain::system::{self, Request};
use vouch_journal::{Journal, NewTask, StepData, TaskRecord, TaskState};
use vouch_model::Package;
use vouch_primitives::{Cid, hex0x};
use vouch_store::Store;
use vouch_task::codec;

/// The `detail` prefix of a task whose on-chain output differs from the gateway's own run.
pub const MISMATCH: &str = "output mismatch:";

/// Settings of the chain sink.
#[derive(Debug, Clone)]
pub struct ChainSinkConfig {
    /// How often the chain is polled.
    pub poll: Duration,
    /// Seconds from the request until the submission deadline.
    pub deadline_secs: u32,
    /// The most blocks one `eth_getLogs` covers (catching up runs several).
    pub log_range: u64,
    /// Send `TaskManager.refund` for followed tasks nobody served by their deadline.
    pub refund_expired: bool,
}

impl Default for ChainSinkConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            deadline_secs: 3600,
            log_range: 5_000,
            refund_expired: true,
        }
    }
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|p| p.into_inner())
}

/// Tasks followed on-chain.
#[derive(Debug, Default)]
struct Track {
    /// Non-terminal tasks, with their submission deadline once seen.
    tasks: BTreeMap<U256, Option<u32>>,
    /// Tasks to read with `getTask` on the next poll.
    dirty: BTreeSet<U256>,
    /// The first block the next poll reads logs from.
    next_block: Option<u64>,
    /// The last poll's error, if it failed.
    last_error: Option<String>,
}

struct Shared {
    sys: System,
    store: Store,
    journal: Arc<Journal>,
    dir: Arc<DirState>,
    cfg: ChainSinkConfig,
    track: Mutex<Track>,
    poll_lock: tokio::sync::Mutex<()>,
}

/// The [`TaskSink`] that requests tasks on-chain, paid by the gateway operator (see the
/// module documentation).
#[derive(Clone)]
pub struct ChainSink {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ChainSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainSink")
            .field("deployment", self.shared.sys.deployment())
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> SinkError {
    SinkError::Unavailable(e.to_string())
}

/// The journal id of on-chain task `id` (`0x…` hex).
pub fn task_key(id: U256) -> String {
    format!("{id:#x}")
}

/// Parses a task id as the API accepts it (decimal or `0x` hex).
pub fn parse_task_id(s: &str) -> Option<U256> {
    s.parse().ok()
}

fn chain_error(e: vouch_chain::Error) -> SinkError {
    match e {
        vouch_chain::Error::Reverted { .. } | vouch_chain::Error::NoCommittee { .. } => {
            SinkError::Rejected(Rejection::Reverted {
                reason: e.to_string(),
            })
        }
        other => unavailable(other),
    }
}

fn topic_u32(t: &B256) -> Option<u32> {
    let (hi, lo) = t.as_slice().split_at(28);
    if hi.iter().any(|&b| b != 0) {
        return None;
    }
    Some(u32::from_be_bytes(lo.try_into().ok()?))
}

impl ChainSink {
    /// Starts following the chain: approves the TaskManager for the operator's tokens (once),
    /// resumes the journal's open tasks, reads the registry and staking history into the
    /// directory, and spawns the poller (it stops when the last clone of the sink is dropped).
    /// `sys` must sign with the operator's key.
    pub async fn start(
        sys: System,
        store: Store,
        journal: Arc<Journal>,
        cfg: ChainSinkConfig,
    ) -> Result<Self, SinkError> {
        let me = sys
            .client()
            .sender("the gateway (it pays the fees)")
            .map_err(unavailable)?;
        let tm = sys.deployment().contracts.task_manager;
        let allowance = sys
            .client()
            .call("VouchToken.allowance", sys.token().allowance(me, tm))
            .await
            .map_err(unavailable)?;
        if allowance < U256::MAX >> 1 {
            sys.client()
                .send("VouchToken.approve", sys.token().approve(tm, U256::MAX))
                .await
                .map_err(unavailable)?;
        }
        let mut track = Track::default();
        for r in journal.resumable().map_err(unavailable)? {
            if let Some(id) = parse_task_id(&r.task.id) {
                track.tasks.insert(id, None);
                track.dirty.insert(id);
            }
        }
        let shared = Arc::new(Shared {
            sys,
            store,
            journal,
            dir: Arc::default(),
            cfg,
            track: Mutex::new(track),
            poll_lock: tokio::sync::Mutex::new(()),
        });
        shared.poll().await?;
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        let every = shared.cfg.poll;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(s) = weak.upgrade() else { break };
                let res = s.poll().await;
                lock(&s.track).last_error = res.err().map(|e| e.to_string());
            }
        });
        Ok(Self { shared })
    }

    /// The directory this sink keeps up to date.
    pub fn directory(&self) -> ChainDirectory {
        ChainDirectory {
            state: self.shared.dir.clone(),
        }
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<Journal> {
        &self.shared.journal
    }

    /// The chain handles.
    pub fn system(&self) -> &System {
        &self.shared.sys
    }

    /// Polls the chain now (the background poller does this every `poll`).
    pub async fn refresh(&self) -> Result<(), SinkError> {
        self.shared.poll().await
    }

    /// The last background poll's error, if it failed.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared.track).last_error.clone()
    }

    async fn submit_inner(&self, req: TaskRequest) -> Result<TaskView, SinkError> {
        let s = &self.shared;
        let cid = req.model.to_string();
        let (model_id, version16, _) = self.resolve(&cid).await?;
        let local = self
            .run_local(req.model, req.input_bytes.clone(), req.mode)
            .await?;
        let r = Request {
            model_id,
            version: version16,
            mode: req.mode,
            fee: req.max_fee,
            deadline_secs: s.cfg.deadline_secs,
            input_commitment: local.input_commitment,
            rows: local.rows,
            // the input travels inline
            input_cid: String::new(),
            inline_input: local.inline.clone(),
            callback: None,
        };
        let id = s.sys.request(&r).await.map_err(chain_error)?;
        let task = NewTask {
            id: task_key(id),
            requester: req.requester,
            model_cid: cid,
            input_cid: req.input_cid.to_string(),
            mode: req.mode.as_str().to_owned(),
            max_fee: req.max_fee.to_string(),
        };
        let detail = format!("requested on-chain as task {id}; the gateway paid the fee");
        self.record(id, task, &local, detail).await
    }
}

impl Shared {
    async fn poll(&self) -> Result<(), SinkError> {
        let _g = self.poll_lock.lock().await;
        let p = self.sys.client().provider();
        let head = p
            .get_block_by_number(vouch_chain::alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| unavailable("the endpoint has no latest block"))?;
        let (head_no, now) = (head.header.number, head.header.timestamp);
        let c = &self.sys.deployment().contracts;
        // The chain went back (a devnet restarted from an older state, or without one): the
        // only time the deployment can have vanished, so the only time its code is read (not
        // once a poll). A chain without it keeps the poll failing (`/health` 503) and the
        // tracked state untouched until the real chain is back.
        let next = lock(&self.track).next_block;
        let went_back = next.is_some_and(|n| n > head_no + 1);
        if went_back || next.is_none() {
            let code = p.get_code_at(c.task_manager).await.map_err(unavailable)?;
            if code.is_empty() {
                return Err(unavailable(format!(
                    "chain lost: no TaskManager code at {} (the chain was reset without its state)",
                    c.task_manager
                )));
            }
        }
        let from = {
            let mut t = lock(&self.track);
            if went_back {
                // read it all again: every followed task may have moved back
                t.next_block = None;
                let all: Vec<U256> = t.tasks.keys().copied().collect();
                t.dirty.extend(all);
            }
            t.next_block.unwrap_or(self.sys.deployment().block)
        };
        let mut versions = BTreeSet::new();
        let mut provs = BTreeSet::new();
        let mut touched = BTreeSet::new();
        let mut start = from;
        while start <= head_no {
            let end = head_no.min(start.saturating_add(self.cfg.log_range.max(1) - 1));
            let filter = Filter::new()
                .address(vec![c.task_manager, c.registry, c.staking])
                .from_block(start)
                .to_block(end);
            let logs = p.get_logs(&filter).await.map_err(unavailable)?;
            for l in &logs {
                self.classify(l, &mut versions, &mut provs, &mut touched);
            }
            start = end + 1;
        }
        self.refresh_models(versions).await?;
        self.refresh_providers(provs).await?;
        let dirty: Vec<U256> = {
            let mut t = lock(&self.track);
            let followed: Vec<U256> = touched
                .into_iter()
                .filter(|id| t.tasks.contains_key(id))
                .collect();
            t.dirty.extend(followed);
            // tasks waiting past their deadline are read again (to refund them)
            let expired: Vec<U256> = t
                .tasks
                .iter()
                .filter(|(_, d)| d.is_some_and(|d| u64::from(d) < now))
                .map(|(id, _)| *id)
                .collect();
            t.dirty.extend(expired);
            std::mem::take(&mut t.dirty).into_iter().collect()
        };
        let mut failed = None;
        for id in dirty {
            if let Err(e) = self.follow(id, now).await {
                lock(&self.track).dirty.insert(id);
                failed = Some(e);
            }
        }
        lock(&self.track).next_block = Some(head_no + 1);
        failed.map_or(Ok(()), Err)
    }

    fn classify(
        &self,
        l: &Log,
        versions: &mut BTreeSet<(u32, u32)>,
        provs: &mut BTreeSet<Address>,
        touched: &mut BTreeSet<U256>,
    ) {
        let c = &self.sys.deployment().contracts;
        let topics = l.topics();
        let (Some(t0), Some(t1)) = (topics.first(), topics.get(1)) else {
            return;
        };
        let addr = l.address();
        if addr == c.registry {
            if (*t0 == ModelRegistry::VersionRegistered::SIGNATURE_HASH
                || *t0 == ModelRegistry::StatusChanged::SIGNATURE_HASH)
                && let (Some(m), Some(v)) = (topic_u32(t1), topics.get(2).and_then(topic_u32))
            {
                versions.insert((m, v));
            }
        } else if addr == c.staking {
            let who = Address::from_word(*t1);
            let model = topics.get(2).and_then(topic_u32);
            if *t0 == ProviderStaking::OptedIn::SIGNATURE_HASH {
                if let Some(m) = model {
                    write(&self.dir.providers)
                        .entry(who)
                        .or_default()
                        .models
                        .insert(m);
                }
                provs.insert(who);
            } else if *t0 == ProviderStaking::OptedOut::SIGNATURE_HASH {
                if let Some(m) = model {
                    write(&self.dir.providers)
                        .entry(who)
                        .or_default()
                        .models
                        .remove(&m);
                }
                provs.insert(who);
            } else if [
                ProviderStaking::Staked::SIGNATURE_HASH,
                ProviderStaking::UnbondRequested::SIGNATURE_HASH,
                ProviderStaking::Slashed::SIGNATURE_HASH,
            ]
            .contains(t0)
            {
                provs.insert(who);
            }
        } else if addr == c.task_manager {
            touched.insert(U256::from_be_bytes(t1.0));
        }
    }

    async fn refresh_models(&self, versions: BTreeSet<(u32, u32)>) -> Result<(), SinkError> {
        let reg = self.sys.registry();
        for (m, v) in versions {
            let ver = self
                .sys
                .client()
                .call("ModelRegistry.getVersion", reg.getVersion(m, v))
                .await
                .map_err(unavailable)?;
            write(&self.dir.models).insert(
                (m, v),
                ModelEntry {
                    cid: ver.packageCid.clone(),
                    status: ver.status,
                    zk: ver.zkVerifier != Address::ZERO,
                    pkg: None,
                },
            );
        }
        // packages that reached the store since (e.g. `vouch store put`)
        let missing: Vec<((u32, u32), String)> = read(&self.dir.models)
            .iter()
            .filter(|(_, e)| e.pkg.is_none())
            .map(|(k, e)| (*k, e.cid.clone()))
            .collect();
        for (k, cid) in missing {
            let Ok(cid_v) = cid.parse::<Cid>() else {
                continue;
            };
            if !self.store.has(&cid_v) {
                continue;
            }
            let store = self.store.clone();
            let pkg = tokio::task::spawn_blocking(move || {
                store
                    .get(&cid_v)
                    .ok()
                    .and_then(|b| Package::from_bytes(&b).ok())
            })
            .await
            .map_err(unavailable)?;
            if let Some(pkg) = pkg {
                let inputs = pkg.inputs.iter().map(|i| i.name.clone()).collect();
                if let Some(e) = write(&self.dir.models).get_mut(&k) {
                    e.pkg = Some(directory::PackageFacts {
                        name: pkg.name.clone(),
                        inputs,
                        integer_inputs: crate::directory::IntegerInput::of_package(&pkg),
                        modes: vouch_task::modes::supported_modes(&pkg),
                    });
                }
            }
        }
        Ok(())
    }

    async fn refresh_providers(&self, provs: BTreeSet<Address>) -> Result<(), SinkError> {
        for who in provs {
            let info = self.sys.provider_info(who).await.map_err(unavailable)?;
            write(&self.dir.providers).entry(who).or_default().stake = info.stake;
        }
        Ok(())
    }

    /// Reads task `id` (its state word; the output of a finalized one from its logs) and
    /// records what changed.
    async fn follow(&self, id: U256, now: u64) -> Result<(), SinkError> {
        let t = self.sys.task_state(id).await.map_err(unavailable)?;
        let key = task_key(id);
        let j = &self.journal;
        let Some(rec) = j.task(&key).map_err(unavailable)? else {
            lock(&self.track).tasks.remove(&id);
            return Ok(());
        };
        let status = system::status_name(t.status);
        let step = |detail: String| StepData {
            detail: Some(detail),
            ..StepData::default()
        };
        match status {
            "requested" => {
                lock(&self.track).tasks.insert(id, Some(t.deadline));
                if self.cfg.refund_expired && u64::from(t.deadline) < now {
                    // nobody served it: take the fee back (credited to the operator)
                    self.sys.refund(id).await.map_err(unavailable)?;
                    // a fee the FeeVault holds (a custom fee token; a client-signed request) is
                    // credited to the requester by a claim, which anyone may send
                    let claimed = if t.flags & FLAG_VAULT != 0 {
                        match self.sys.claim_fee(id, &[]).await {
                            Ok(()) => "; the FeeVault credited the fee to the requester".to_owned(),
                            Err(e) => {
                                format!("; FeeVault.claim not sent ({e}): anyone may send it")
                            }
                        }
                    } else {
                        String::new()
                    };
                    advance(
                        j,
                        &key,
                        TaskState::Cancelled,
                        &step(format!(
                            "refunded: no provider delivered by the deadline (unix {}){claimed}",
                            t.deadline
                        )),
                    )?;
                }
            }
            "submitted" => advance(
                j,
                &key,
                TaskState::Submitted,
                &step(format!(
                    "result posted by {}; challenges are accepted until unix {} inclusive",
                    t.provider, t.deadline
                )),
            )?,
            "disputed" => advance(
                j,
                &key,
                TaskState::Disputed,
                &step("the result is disputed".to_owned()),
            )?,
            "finalized" => {
                let full = self.sys.task(id).await.map_err(unavailable)?;
                let onchain = hex0x(full.output_commitment.as_slice());
                let detail = match &rec.commitment {
                    Some(local) if local.eq_ignore_ascii_case(&onchain) => {
                        format!("finalized on-chain; provider {}", t.provider)
                    }
                    Some(local) => format!(
                        "{MISMATCH} the on-chain output commitment {onchain} differs from the \
                         gateway's own run {local}; the output is withheld"
                    ),
                    None => format!("{MISMATCH} the gateway has no output of its own to compare"),
                };
                advance(j, &key, TaskState::Finalized, &step(detail))?;
            }
            "refunded" => advance(
                j,
                &key,
                TaskState::Cancelled,
                &step("refunded: no provider delivered by the deadline".to_owned()),
            )?,
            "failed" => {
                let d = step(
                    "failed: the provider lost a dispute and was slashed; the fee is refunded"
                        .to_owned(),
                );
                let to = if path(rec.state, TaskState::Failed).is_some() {
                    TaskState::Failed
                } else {
                    TaskState::Slashed
                };
                advance(j, &key, to, &d)?;
            }
            "none" => {
                // requested, but the chain no longer holds it (rolled back to a state saved
                // before the request): nobody can serve it and no fee was spent
                let d = step(format!(
                    "lost: the chain no longer holds task {id} (it went back to a state saved \
                     before the request); no fee was spent, request it again"
                ));
                advance(j, &key, TaskState::Failed, &d)?;
            }
            other => {
                return Err(unavailable(format!(
                    "task {key} has on-chain status {other}"
                )));
            }
        }
        let done = j
            .task(&key)
            .map_err(unavailable)?
            .is_none_or(|r| r.state.is_terminal());
        if done {
            lock(&self.track).tasks.remove(&id);
        }
        Ok(())
    }
}

fn normalize(id: &str) -> String {
    parse_task_id(id).map_or_else(|| id.to_owned(), task_key)
}

impl TaskSink for ChainSink {
    fn spend_ledger(&self) -> Option<Arc<Journal>> {
        Some(self.shared.journal.clone())
    }

    fn health(&self) -> Option<String> {
        self.last_error()
    }

    fn submit(&self, req: TaskRequest) -> BoxFuture<'_, Result<TaskView, SinkError>> {
        Box::pin(self.submit_inner(req))
    }

    fn draft_signed(
        &self,
        d: crate::sink::DraftRequest,
    ) -> BoxFuture<'_, Result<crate::sink::SignedDraft, SinkError>> {
        Box::pin(self.draft_inner(d))
    }

    fn submit_signed(
        &self,
        t: crate::sink::SignedTask,
    ) -> BoxFuture<'_, Result<TaskView, SinkError>> {
        Box::pin(self.submit_signed_inner(t))
    }

    fn task(&self, id: &str) -> BoxFuture<'_, Result<Option<TaskView>, SinkError>> {
        let (j, id) = (self.shared.journal.clone(), normalize(id));
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Ok(j.task(&id).map_err(unavailable)?.map(view)))
                .await
                .map_err(unavailable)?
        })
    }

    fn events(&self, id: &str, after: u64) -> BoxFuture<'_, Result<Vec<EventView>, SinkError>> {
        let (j, id) = (self.shared.journal.clone(), normalize(id));
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                Ok(j.events(Some(&id), after, 1000)
                    .map_err(unavailable)?
                    .into_iter()
                    .map(|e| EventView {
                        seq: e.seq,
                        status: status_name(e.state).to_owned(),
                        terminal: e.state.is_terminal(),
                        detail: e.detail,
                        at_ms: e.at_ms,
                    })
                    .collect())
            })
            .await
            .map_err(unavailable)?
        })
    }

    fn blob(&self, cid: &Cid) -> BoxFuture<'_, Result<Option<Vec<u8>>, SinkError>> {
        Box::pin(crate::sink::read_blob(self.shared.store.clone(), *cid))
    }

    fn counts(&self) -> BoxFuture<'_, Vec<(String, u64)>> {
        let j = self.shared.journal.clone();
        Box::pin(async move {
            let counts = tokio::task::spawn_blocking(move || j.counts().unwrap_or_default())
                .await
                .unwrap_or_default();
            let mut out: BTreeMap<String, u64> = BTreeMap::new();
            for (s, n) in counts {
                *out.entry(status_name(s).to_owned()).or_default() += n;
            }
            out.into_iter().collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::directory::PackageFacts;
    use super::{DirState, ModelEntry};
    use vouch_task::Mode;

    fn entry_with(status: u8, zk: bool, modes: Vec<Mode>) -> ModelEntry {
        ModelEntry {
            cid: "bafkreimodel".into(),
            status,
            zk,
            pkg: Some(PackageFacts {
                name: "mlp".into(),
                inputs: vec!["x".into()],
                integer_inputs: Vec::new(),
                modes,
            }),
        }
    }

    fn entry(status: u8, zk: bool) -> ModelEntry {
        entry_with(status, zk, Mode::ALL.to_vec())
    }

    /// A package whose ops one checker lacks (a MIN tree ensemble: no one-step check) is
    /// listed only in the modes it can be checked in.
    #[test]
    fn models_list_only_the_modes_their_ops_can_be_checked_in() {
        let trees = DirState::info((1, 1), &entry_with(1, true, vec![Mode::Zk]));
        assert_eq!(trees.modes, ["zk"]);
        let no_zk = DirState::info((1, 1), &entry_with(1, false, vec![Mode::Zk]));
        assert!(no_zk.modes.is_empty());
    }

    /// A frozen version takes zk requests only (a proof cannot lie); a deprecated one none.
    #[test]
    fn frozen_models_offer_zk_only() {
        let active = DirState::info((1, 1), &entry(1, true));
        assert_eq!(active.modes, ["zk", "optimistic", "committee"]);
        assert!(!active.frozen);
        let frozen = DirState::info((1, 1), &entry(2, true));
        assert_eq!(frozen.modes, ["zk"]);
        assert!(frozen.frozen);
        assert!(DirState::info((1, 1), &entry(2, false)).modes.is_empty());
        assert!(DirState::info((1, 1), &entry(3, true)).modes.is_empty());
    }
}
