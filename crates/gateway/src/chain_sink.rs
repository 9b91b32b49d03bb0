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
//! TaskManager, ModelRegistry and ProviderStaking addresses, then `getTask` only for the
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

use crate::directory::{Directory, ModelInfo, ProviderInfo};
use crate::sink::{BoxFuture, EventView, Mode, SinkError, TaskRequest, TaskSink, TaskView};
use crate::{Gateway, GatewayConfig};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
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

/// A registered model version as the directory keeps it.
#[derive(Debug, Clone)]
struct ModelEntry {
    cid: String,
    /// `ModelRegistry.Status` (1 = active).
    status: u8,
    zk: bool,
    /// Name and input names, once the package is in the store.
    pkg: Option<(String, Vec<String>)>,
}

#[derive(Debug, Clone, Default)]
struct ProviderEntry {
    stake: u128,
    models: BTreeSet<u32>,
}

#[derive(Debug, Default)]
struct DirState {
    models: RwLock<BTreeMap<(u32, u32), ModelEntry>>,
    providers: RwLock<BTreeMap<Address, ProviderEntry>>,
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

impl DirState {
    /// The newest version registered with package `cid`.
    fn by_cid(&self, cid: &str) -> Option<((u32, u32), ModelEntry)> {
        read(&self.models)
            .iter()
            .rev()
            .find(|(_, e)| e.cid == cid)
            .map(|(k, e)| (*k, e.clone()))
    }

    fn info(key: (u32, u32), e: &ModelEntry) -> ModelInfo {
        let (name, inputs, modes) = match &e.pkg {
            Some((name, inputs)) => {
                // a frozen version (status 2) still serves zk requests: a proof cannot lie;
                // a deprecated one (3) serves nobody
                let mut modes = match e.status {
                    1 => vec!["optimistic".to_owned(), "committee".to_owned()],
                    _ => Vec::new(),
                };
                if e.zk && e.status <= 2 {
                    modes.insert(0, "zk".to_owned());
                }
                (name.clone(), inputs.clone(), modes)
            }
            // Without the package the gateway can neither quantize nor check an input.
            None => (
                format!(
                    "model {} v{} (package not in this gateway's store)",
                    key.0, key.1
                ),
                Vec::new(),
                Vec::new(),
            ),
        };
        ModelInfo {
            cid: e.cid.clone(),
            name,
            inputs,
            modes,
            frozen: e.status != 1,
        }
    }
}

/// The models of the `ModelRegistry` (by package CID; the newest version of a CID wins) and
/// the providers of `ProviderStaking`, as of the [`ChainSink`]'s last poll.
#[derive(Debug, Clone)]
pub struct ChainDirectory {
    state: Arc<DirState>,
}

impl Directory for ChainDirectory {
    fn models(&self) -> Vec<ModelInfo> {
        let models = read(&self.state.models);
        // one entry per CID: the newest version
        let mut seen = BTreeSet::new();
        let mut out: Vec<ModelInfo> = models
            .iter()
            .rev()
            .filter(|(_, e)| seen.insert(e.cid.clone()))
            .map(|(k, e)| DirState::info(*k, e))
            .collect();
        out.reverse();
        out
    }

    fn providers(&self) -> Vec<ProviderInfo> {
        let models = read(&self.state.models);
        read(&self.state.providers)
            .iter()
            .filter(|(_, p)| p.stake > 0 || !p.models.is_empty())
            .map(|(a, p)| ProviderInfo {
                address: a.to_checksum(None),
                stake: p.stake.to_string(),
                models: models
                    .iter()
                    .filter(|((id, _), _)| p.models.contains(id))
                    .map(|(_, e)| e.cid.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                store_url: None,
            })
            .collect()
    }

    fn model(&self, cid: &str) -> Option<ModelInfo> {
        self.state.by_cid(cid).map(|(k, e)| DirState::info(k, &e))
    }
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
        vouch_chain::Error::Reverted { .. } => SinkError::Rejected(e.to_string()),
        other => unavailable(other),
    }
}

/// What the gateway computed for one task before requesting it.
struct Local {
    input_commitment: B256,
    rows: u16,
    inline: Vec<u8>,
    output_commitment: B256,
    output_cid: Cid,
}

fn prepare(store: &Store, model: &Cid, input_bytes: &[u8], mode: Mode) -> Result<Local, SinkError> {
    let bytes = store.get(model).map_err(|e| {
        SinkError::Rejected(format!(
            "model package {model} is not in this gateway's store: {e}"
        ))
    })?;
    let pkg = Package::from_bytes(&bytes)
        .map_err(|e| SinkError::Rejected(format!("model package {model}: {e}")))?;
    let input: serde_json::Value = serde_json::from_slice(input_bytes)
        .map_err(|e| SinkError::Rejected(format!("input is not JSON: {e}")))?;
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let floats = codec::json::inputs_from_json(&input, &names)
        .map_err(|e| SinkError::Rejected(e.to_string()))?;
    let inputs = codec::quantize_inputs(&pkg, &floats);
    // every row of a task can be disputed on its own (docs/semantics.md section 8.5); a zk
    // proof covers one row, and the contract takes at most 65,535
    let rows = vouch_engine::exec::rows_of(&pkg, &inputs)
        .map_err(|e| SinkError::Rejected(format!("input does not fit the model: {e}")))?;
    if mode == Mode::Zk && rows != 1 {
        return Err(SinkError::Rejected(format!(
            "a zk task proves one row: this input has {rows}; send one row per task"
        )));
    }
    let rows = u16::try_from(rows).map_err(|_| {
        SinkError::Rejected(format!("{rows} rows exceed a task's limit of {}", u16::MAX))
    })?;
    let input_commitment = B256::from(
        codec::input_commitment(mode, &pkg, &inputs)
            .map_err(|e| SinkError::Rejected(e.to_string()))?,
    );
    let inline = codec::inline_bytes(&inputs);
    let engine = vouch_engine::Engine::new(
        &pkg,
        vouch_engine::Options {
            threads: 1,
            trace: false,
        },
    )
    .map_err(|e| SinkError::Rejected(format!("model package {model}: {e}")))?;
    let exec = engine
        .run(inputs)
        .map_err(|e| SinkError::Rejected(format!("input does not fit the model: {e}")))?;
    let mut outputs = serde_json::Map::new();
    for (i, t) in exec.outputs.iter().enumerate() {
        let deq = codec::dequantize(&pkg, i, t);
        let name = pkg
            .outputs
            .get(i)
            .map_or_else(|| format!("output{i}"), |o| o.name.clone());
        outputs.insert(name, codec::json::tensor_to_nested(&t.shape, &deq));
    }
    let output_commitment = B256::from(exec.output_commitment());
    let out = serde_json::json!({
        "outputs": outputs,
        "commitment": hex0x(output_commitment.as_slice()),
    });
    let out_bytes = serde_json::to_vec(&out).map_err(unavailable)?;
    store.put(input_bytes).map_err(unavailable)?;
    let output_cid = store.put(&out_bytes).map_err(unavailable)?;
    Ok(Local {
        input_commitment,
        rows,
        inline,
        output_commitment,
        output_cid,
    })
}

/// The shortest path of journal steps from `from` to `to` (excluding `from`).
fn path(from: TaskState, to: TaskState) -> Option<Vec<TaskState>> {
    let mut prev: Vec<(TaskState, TaskState)> = Vec::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = vec![from];
    while let Some(s) = queue.pop_front() {
        if s == to {
            let mut out = vec![to];
            let mut cur = to;
            while let Some(&(_, p)) = prev.iter().find(|(n, _)| *n == cur) {
                if p == from {
                    break;
                }
                out.push(p);
                cur = p;
            }
            out.reverse();
            return Some(out);
        }
        for &n in s.next() {
            if !seen.contains(&n) {
                seen.push(n);
                prev.push((n, s));
                queue.push_back(n);
            }
        }
    }
    None
}

/// Moves task `id` to `to` through whatever steps the journal needs; `data` goes with the
/// last step. Nothing happens when the task is already there or past it.
fn advance(j: &Journal, id: &str, to: TaskState, data: &StepData) -> Result<(), SinkError> {
    let Some(rec) = j.task(id).map_err(unavailable)? else {
        return Ok(());
    };
    if rec.state == to || rec.state.is_terminal() {
        return Ok(());
    }
    let Some(steps) = path(rec.state, to) else {
        return Err(unavailable(format!(
            "task {id}: the journal has no way from {} to {}",
            rec.state.as_str(),
            to.as_str()
        )));
    };
    let last = steps.len().saturating_sub(1);
    for (i, s) in steps.into_iter().enumerate() {
        let d = if i == last {
            data.clone()
        } else {
            StepData::default()
        };
        j.transition(id, s, &d).map_err(unavailable)?;
    }
    Ok(())
}

/// The state a gateway reports (a task the provider lost is `failed`).
fn status_name(s: TaskState) -> &'static str {
    match s {
        TaskState::Slashed => "failed",
        other => other.as_str(),
    }
}

fn view(r: TaskRecord) -> TaskView {
    let shown =
        r.state == TaskState::Finalized && !r.detail.as_deref().unwrap_or("").starts_with(MISMATCH);
    TaskView {
        id: r.task.id,
        requester: r.task.requester,
        model: r.task.model_cid,
        input_cid: r.task.input_cid,
        mode: r.task.mode,
        max_fee: r.task.max_fee,
        status: status_name(r.state).to_owned(),
        terminal: r.state.is_terminal(),
        output_cid: if shown { r.output_cid } else { None },
        commitment: if shown { r.commitment } else { None },
        detail: r.detail,
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
        let found = match s.dir.by_cid(&cid) {
            Some(e) => Some(e),
            None => {
                s.poll().await?;
                s.dir.by_cid(&cid)
            }
        };
        let Some(((model_id, version), entry)) = found else {
            return Err(SinkError::Rejected(format!(
                "model {cid} is not registered: no ModelRegistry version has this package CID"
            )));
        };
        if entry.status != 1 {
            return Err(SinkError::Rejected(format!(
                "model {cid} (model {model_id} version {version}) is not active on-chain"
            )));
        }
        let version16 = u16::try_from(version).map_err(|_| {
            SinkError::Rejected(format!("model {cid}: version {version} exceeds uint16"))
        })?;
        let (store, model, input, mode) = (
            s.store.clone(),
            req.model,
            req.input_bytes.clone(),
            req.mode,
        );
        let local = tokio::task::spawn_blocking(move || prepare(&store, &model, &input, mode))
            .await
            .map_err(unavailable)??;
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
            inline_input: local.inline,
        };
        let id = s.sys.request(&r).await.map_err(chain_error)?;
        let key = task_key(id);
        let task = NewTask {
            id: key.clone(),
            requester: req.requester,
            model_cid: cid,
            input_cid: req.input_cid.to_string(),
            mode: req.mode.as_str().to_owned(),
            max_fee: req.max_fee.to_string(),
        };
        let j = s.journal.clone();
        let commitment = hex0x(local.output_commitment.as_slice());
        let output_cid = local.output_cid.to_string();
        let k2 = key.clone();
        let rec = tokio::task::spawn_blocking(move || {
            j.accept(&task).map_err(unavailable)?;
            j.transition(
                &k2,
                TaskState::Executed,
                &StepData {
                    output_cid: Some(output_cid),
                    commitment: Some(commitment),
                    detail: Some(format!(
                        "requested on-chain as task {id}; the gateway paid the fee"
                    )),
                },
            )
            .map_err(unavailable)?;
            j.task(&k2).map_err(unavailable)
        })
        .await
        .map_err(unavailable)??;
        {
            let mut t = lock(&s.track);
            t.tasks.insert(id, None);
            t.dirty.insert(id);
        }
        rec.map(view)
            .ok_or_else(|| unavailable(format!("task {key} vanished after accept")))
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
        // the chain lost the deployment (a devnet restarted without its state): nothing on it
        // can be followed; say so instead of reporting stale states as live
        let code = p.get_code_at(c.task_manager).await.map_err(unavailable)?;
        if code.is_empty() {
            return Err(unavailable(format!(
                "chain lost: no TaskManager code at {} (the chain was reset without its state)",
                c.task_manager
            )));
        }
        let from = {
            let mut t = lock(&self.track);
            match t.next_block {
                // the chain went back (restarted from older saved state): read it all again
                Some(next) if next > head_no + 1 => {
                    t.next_block = None;
                    let all: Vec<U256> = t.tasks.keys().copied().collect();
                    t.dirty.extend(all);
                    self.sys.deployment().block
                }
                Some(next) => next,
                None => self.sys.deployment().block,
            }
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
                    e.pkg = Some((pkg.name.clone(), inputs));
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

    /// Reads task `id` and records what changed.
    async fn follow(&self, id: U256, now: u64) -> Result<(), SinkError> {
        let t = self.sys.task(id).await.map_err(unavailable)?;
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
                    let tm = self.sys.task_manager();
                    self.sys
                        .client()
                        .send("TaskManager.refund", tm.refund(id))
                        .await
                        .map_err(unavailable)?;
                    advance(
                        j,
                        &key,
                        TaskState::Cancelled,
                        &step(format!(
                            "refunded: no provider delivered by the deadline (unix {})",
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
                let onchain = hex0x(t.outputCommitment.as_slice());
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

/// A gateway serving in the background. Dropping it stops the server (the chain poller stops
/// with the last clone of the sink).
#[derive(Debug)]
pub struct Served {
    /// The address the gateway listens on.
    pub addr: SocketAddr,
    /// The sink (journal, chain handles, [`ChainSink::refresh`]).
    pub sink: ChainSink,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Served {
    /// The base URL (`http://addr`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the server stops (it only stops on an I/O error or [`Served::stop`]).
    pub async fn wait(mut self) -> std::io::Result<()> {
        match self.server.take() {
            Some(h) => match h.await {
                Ok(r) => r,
                Err(e) if e.is_cancelled() => Ok(()),
                Err(e) => Err(std::io::Error::other(e)),
            },
            None => Ok(()),
        }
    }

    /// Stops the server.
    pub fn stop(&self) {
        if let Some(h) = &self.server {
            h.abort();
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a gateway on `listener` whose tasks go on-chain through `sys` (signing with the
/// operator's key, which pays the fees), with packages read from `store` and tasks journaled
/// in the SQLite file `journal_path` (created if needed). Returns once the directory is read
/// from the chain and the server is accepting connections.
pub async fn serve(
    sys: System,
    store: Store,
    journal_path: &Path,
    listener: tokio::net::TcpListener,
    cfg: GatewayConfig,
    sink_cfg: ChainSinkConfig,
) -> Result<Served, SinkError> {
    if let Some(dir) = journal_path.parent() {
        std::fs::create_dir_all(dir).map_err(unavailable)?;
    }
    let journal = Arc::new(Journal::open(journal_path).map_err(unavailable)?);
    let addr = listener.local_addr().map_err(unavailable)?;
    let sink = ChainSink::start(sys, store, journal, sink_cfg).await?;
    let gw = Gateway::new(cfg, Arc::new(sink.clone()), Arc::new(sink.directory()));
    let server = tokio::spawn(async move { gw.serve(listener).await });
    Ok(Served {
        addr,
        sink,
        server: Some(server),
    })
}

#[cfg(test)]
mod tests {
    use super::{DirState, ModelEntry};

    fn entry(status: u8, zk: bool) -> ModelEntry {
        ModelEntry {
            cid: "bafkreimodel".into(),
            status,
            zk,
            pkg: Some(("mlp".into(), vec!["x".into()])),
        }
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
