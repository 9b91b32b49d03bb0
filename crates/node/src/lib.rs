//! The vouch node: one process playing any of the provider, challenger and committee roles
//! for one key, over a persistent job journal.
//!
//! The node follows the TaskManager and DisputeGame logs from the last block it applied (kept
//! in the journal) up to the head minus `confirmations`, and hands each event to a worker per
//! task and role ([`roles`]). Workers act on the task's on-chain state, so a node restarted
//! after a crash resumes every task the journal holds as unfinished, and every open dispute,
//! without repeating a step that is already on-chain. Transient RPC failures are retried with
//! backoff; reverts are decoded and logged. The node serves `GET /metrics` (Prometheus text)
//! and its blob store (`GET /blocks/{cid}`) over HTTP.
//!
//! | module | holds |
//! |---|---|
//! | [`chainview`] | chain history reads (a task's request, committee members) and retries |
//! | [`config`] | [`NodeConfig`], [`Roles`], [`Lie`] |
//! | [`work`] | model packages by registry CID, task executions |
//! | [`roles`] | the provider and challenger workers, the codes and helpers every role uses |
//! | `committee` | the committee member's worker |
//! | `disputes` | opening challenges (of results and audits) and playing disputes |
//! | `audit` | the auditor's worker |
//! | [`receipts`] | automatic receipt attestation in journaled batches (EAS `multiAttest`) |
//! | [`metrics`] | counters and their Prometheus rendering |

#![forbid(unsafe_code)]
mod audit;
pub mod chainview;
mod committee;
pub mod config;
mod disputes;
mod error;
pub mod metrics;
pub mod receipts;
pub mod roles;
pub mod work;

pub use config::{Lie, NodeConfig, Roles};
pub use error::{Error, Result};
pub use metrics::Metrics;
pub use receipts::ReceiptBatching;

use crate::chainview::retry;
use crate::metrics::inc;
use axum::Router;
use axum::routing::get;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use vouch_chain::System;
use vouch_chain::alloy::primitives::{Address, B256, Bytes, U256};
use vouch_chain::alloy::rpc::types::Log;
use vouch_chain::alloy::sol_types::SolEvent;
use vouch_chain::bindings::task_manager::TaskManager;
use vouch_engine::Tensor;
use vouch_journal::Journal;
use vouch_model::Package;
use vouch_store::Store;

/// Proves zk tasks for a provider (implemented over the zk prover by the command line, so the
/// node does not link the prover unless asked to).
pub trait ZkProver: Send + Sync + 'static {
    /// Proves `pkg` on `inputs` with the proving keys in `keys`; returns the output
    /// commitment and the `submitZk` proof bytes.
    fn prove(
        &self,
        pkg: &Package,
        keys: &Path,
        inputs: Vec<Tensor>,
    ) -> Result<(B256, Bytes), String>;
}

/// Journal key of the last block whose events were applied.
const CURSOR: &str = "cursor";
/// Journal key of the hash of that block (a chain that no longer has it was rolled back).
const CURSOR_HASH: &str = "cursor_hash";
/// Most blocks read in one `eth_getLogs`.
const MAX_RANGE: u64 = 2_000;

/// What the workers share.
/// Most `TaskRequested` events a challenger keeps between a request and its result (past
/// this, it reads them from the chain).
const REQUEST_CACHE: usize = 20_000;

pub(crate) struct Ctx {
    sys: System,
    me: Address,
    cfg: NodeConfig,
    journal: Arc<Journal>,
    models: work::Models,
    metrics: Arc<Metrics>,
    prover: Option<Arc<dyn ZkProver>>,
    active: Mutex<HashSet<String>>,
    workers: Mutex<JoinSet<()>>,
    opted: Mutex<HashMap<u32, bool>>,
    /// `TaskRequested` events seen by the event loop, kept for the challenger (which would
    /// otherwise search the whole log range for each task); bounded by [`REQUEST_CACHE`].
    requests: Mutex<HashMap<U256, TaskManager::TaskRequested>>,
    /// Woken on every `Challenged` event: providers waiting out a window re-read their task.
    challenged: tokio::sync::Notify,
    reveal_window: u64,
    committee_bond: U256,
    secret: [u8; 32],
    /// Finalized tasks whose receipts wait for their batch (mirrors the journal).
    pending: Mutex<receipts::Pending>,
    /// Where blob inputs are read back from (the beacon URL when configured, else anvil's pool).
    blobs: vouch_chain::blob::Blobs,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("node", &self.cfg.name)
            .field("me", &self.me)
            .finish()
    }
}

impl Ctx {
    /// Runs `fut` as the worker `key` unless one with that key is running.
    fn spawn_once<F>(self: &Arc<Self>, key: String, fut: F)
    where
        F: Future<Output = Result<()>> + Send + 'static,
    {
        if !self
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone())
        {
            return;
        }
        let ctx = self.clone();
        let name = self.cfg.name.clone();
        self.workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .spawn(async move {
                if let Err(e) = fut.await {
                    tracing::error!(node = %name, worker = %key, error = %e, "worker stopped");
                }
                ctx.active
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&key);
            });
    }

    async fn serves(&self, model: u32) -> bool {
        if !self.cfg.models.is_empty() {
            return self.cfg.models.contains(&model);
        }
        if let Some(&b) = self
            .opted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&model)
        {
            return b;
        }
        let b = retry(&self.metrics, || async {
            Ok(self
                .sys
                .client()
                .call(
                    "ProviderStaking.isOptedIn",
                    self.sys.staking().isOptedIn(model, self.me),
                )
                .await?)
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!(node = %self.cfg.name, model, error = %e, "cannot read the opt-in; skipping the task");
            false
        });
        if b {
            self.opted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(model, b);
        }
        b
    }

    fn sampled(&self, task: U256) -> bool {
        let bps = u64::from(self.cfg.sample_bps.min(10_000));
        let mut pre = task.to_be_bytes::<32>().to_vec();
        pre.extend_from_slice(self.me.as_slice());
        let h = vouch_chain::alloy::primitives::keccak256(pre);
        u64::from(u16::from_be_bytes([h[0], h[1]])) * 10_000 / 65_536 < bps
    }

    /// Applies one log: journals a finalized task's pending receipt (when this node attests
    /// receipts) or hands the log to the workers. False when the journal write failed.
    async fn apply(self: &Arc<Self>, log: &Log) -> bool {
        if self.cfg.attest_receipts.is_some()
            && log.topic0() == Some(&TaskManager::Finalized::SIGNATURE_HASH)
        {
            return match log.log_decode::<TaskManager::Finalized>() {
                Ok(ev) => self.enqueue_receipt(ev.inner.data.taskId),
                Err(_) => true,
            };
        }
        self.dispatch(log).await;
        true
    }

    /// Hands one log to the workers.
    async fn dispatch(self: &Arc<Self>, log: &Log) {
        let Some(topic) = log.topic0().copied() else {
            return;
        };
        let roles = self.cfg.roles;
        if topic == TaskManager::TaskRequested::SIGNATURE_HASH {
            let Ok(ev) = log.log_decode::<TaskManager::TaskRequested>() else {
                return;
            };
            let ev = ev.inner.data;
            let task = ev.taskId;
            if roles.challenger && ev.mode == roles::mode::OPTIMISTIC {
                let mut cache = self.requests.lock().unwrap_or_else(|e| e.into_inner());
                if cache.len() < REQUEST_CACHE {
                    cache.insert(task, ev.clone());
                }
            }
            if !self.serves(ev.modelId).await {
                return;
            }
            if ev.mode == roles::mode::COMMITTEE {
                if roles.committee {
                    let ctx = self.clone();
                    self.spawn_once(
                        format!("committee:{task}"),
                        roles::committee(ctx, task, Some(ev)),
                    );
                }
            } else if roles.provider
                && (ev.mode == roles::mode::OPTIMISTIC || self.prover.is_some())
            {
                let ctx = self.clone();
                self.spawn_once(
                    format!("provider:{task}"),
                    roles::provider(ctx, task, Some(ev)),
                );
            }
        } else if topic == TaskManager::ResultSubmitted::SIGNATURE_HASH {
            let Ok(ev) = log.log_decode::<TaskManager::ResultSubmitted>() else {
                return;
            };
            let ev = ev.inner.data;
            if roles.challenger && (ev.provider == self.me || !self.sampled(ev.taskId)) {
                self.requests
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&ev.taskId);
            } else if roles.challenger {
                let ctx = self.clone();
                self.spawn_once(
                    format!("challenger:{}", ev.taskId),
                    roles::challenger(ctx, ev.taskId, ev.output, ev.traceRoot),
                );
            }
        } else if topic == TaskManager::Challenged::SIGNATURE_HASH {
            let Ok(ev) = log.log_decode::<TaskManager::Challenged>() else {
                return;
            };
            self.challenged.notify_waiters();
            let ev = ev.inner.data;
            if ev.challenger == self.me && ev.kind != 1 {
                return; // our own challenge (of a result or an audit): its worker plays it
            }
            if roles.provider || roles.committee {
                let ctx = self.clone();
                self.spawn_once(
                    format!("dispute:{}", ev.disputeId),
                    roles::play(ctx, ev.disputeId, ev.taskId, None),
                );
            }
        } else if topic == TaskManager::AuditFlagged::SIGNATURE_HASH
            && (roles.auditor || roles.provider)
        {
            let Ok(ev) = log.log_decode::<TaskManager::AuditFlagged>() else {
                return;
            };
            // an auditor audits it; a provider closes the audits of its own tasks
            let ctx = self.clone();
            let task = ev.inner.data.taskId;
            self.spawn_once(
                format!("auditor:{task}"),
                audit::auditor(ctx, task, roles.auditor),
            );
        }
    }

    /// Restarts a worker for every unfinished task and open dispute in the journal.
    fn resume(self: &Arc<Self>) -> Result<()> {
        for rec in self.journal.resumable()? {
            let Some((role, task)) = rec.task.id.split_once(':') else {
                continue;
            };
            let Ok(task) = task.parse::<U256>() else {
                continue;
            };
            inc(&self.metrics.tasks_resumed);
            tracing::info!(node = %self.cfg.name, task = %rec.task.id, state = %rec.state, "resuming");
            let ctx = self.clone();
            match role {
                "provider" => {
                    self.spawn_once(rec.task.id.clone(), roles::provider(ctx, task, None))
                }
                "committee" => {
                    self.spawn_once(rec.task.id.clone(), roles::committee(ctx, task, None))
                }
                "auditor" => self.spawn_once(
                    rec.task.id.clone(),
                    audit::auditor(ctx, task, self.cfg.roles.auditor),
                ),
                _ => {}
            }
        }
        for d in self.journal.open_disputes()? {
            let (Ok(id), Ok(task)) = (d.id.parse::<U256>(), d.task_id.parse::<U256>()) else {
                continue;
            };
            let ctx = self.clone();
            self.spawn_once(format!("dispute:{id}"), roles::play(ctx, id, task, None));
        }
        Ok(())
    }
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    ctx: Arc<Ctx>,
    main: tokio::task::JoinHandle<()>,
    http: Option<(SocketAddr, tokio::task::JoinHandle<()>)>,
}

impl Node {
    /// Opens the journal and store under `cfg.data_dir`, resumes unfinished work, serves HTTP
    /// when `cfg.listen` is set, and starts following the chain. `sys` signs with the node's
    /// key.
    pub async fn start(
        sys: System,
        cfg: NodeConfig,
        prover: Option<Arc<dyn ZkProver>>,
    ) -> Result<Self> {
        let me = sys.client().sender("a node")?;
        std::fs::create_dir_all(&cfg.data_dir).map_err(|source| Error::Io {
            path: cfg.data_dir.clone(),
            source,
        })?;
        let journal = Arc::new(Journal::open(&cfg.data_dir.join("node.sqlite"))?);
        let store = Store::open(cfg.data_dir.join("store"))?;
        let secret = node_secret(&cfg.data_dir)?;
        let tm = sys.task_manager();
        let params = sys
            .client()
            .call("TaskManager.getParams", tm.getParams())
            .await?;
        let committee_bond = sys
            .client()
            .call("TaskManager.committeeBond", tm.committeeBond())
            .await?;
        let blobs = vouch_chain::blob::Blobs::new(sys.client(), cfg.beacon_url.as_deref())?;
        let metrics = Arc::new(Metrics::default());
        let http = match cfg.listen {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|source| Error::Io {
                        path: addr.to_string().into(),
                        source,
                    })?;
                let local = listener.local_addr().map_err(|source| Error::Io {
                    path: addr.to_string().into(),
                    source,
                })?;
                let m = metrics.clone();
                let name = cfg.name.clone();
                let app = Router::new()
                    .route(
                        "/metrics",
                        get(move || {
                            let body = m.render(&name);
                            async move { ([("content-type", "text/plain; version=0.0.4")], body) }
                        }),
                    )
                    .merge(vouch_store::router(store.clone()));
                let h = tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
                Some((local, h))
            }
            None => None,
        };
        let ctx = Arc::new(Ctx {
            me,
            models: work::Models::new(store, cfg.peers.clone()),
            journal,
            metrics,
            prover,
            active: Mutex::default(),
            workers: Mutex::new(JoinSet::new()),
            opted: Mutex::default(),
            requests: Mutex::default(),
            challenged: tokio::sync::Notify::new(),
            reveal_window: u64::from(params.revealWindow),
            committee_bond: U256::from(committee_bond),
            secret,
            pending: Mutex::default(),
            blobs,
            cfg,
            sys,
        });
        ctx.load_pending()?;
        ctx.resume()?;
        let main = tokio::spawn(follow(ctx.clone()));
        tracing::info!(node = %ctx.cfg.name, address = %me, "node started");
        Ok(Self { ctx, main, http })
    }

    /// The node's counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.ctx.metrics
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<Journal> {
        &self.ctx.journal
    }

    /// The node's address.
    pub fn address(&self) -> Address {
        self.ctx.me
    }

    /// Where the HTTP server listens, if it does.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().map(|h| h.0)
    }

    /// The blob store (packages are published into it for peers to fetch).
    pub fn store(&self) -> &Store {
        self.ctx.models.store()
    }

    /// Workers running now.
    pub fn busy(&self) -> usize {
        self.ctx
            .active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Stops at once: the event loop, every worker and the HTTP server are dropped mid-step,
    /// as in a crash (the journal keeps what was accepted; a new node on the same data
    /// directory resumes it).
    pub fn kill(self) {
        self.main.abort();
        self.ctx
            .workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abort_all();
        if let Some((_, h)) = self.http {
            h.abort();
        }
    }
}

/// A per-node random secret (committee salts), created on first start.
fn node_secret(dir: &Path) -> Result<[u8; 32]> {
    let path = dir.join("secret");
    match std::fs::read(&path) {
        Ok(b) if b.len() == 32 => {
            let mut s = [0u8; 32];
            s.copy_from_slice(&b);
            Ok(s)
        }
        _ => {
            let s: [u8; 32] = rand::random();
            std::fs::write(&path, s).map_err(|source| Error::Io { path, source })?;
            Ok(s)
        }
    }
}

/// The event loop: apply the logs of every confirmed block once, in order.
async fn follow(ctx: Arc<Ctx>) {
    let sys = &ctx.sys;
    let mut cursor = ctx
        .journal
        .meta(CURSOR)
        .ok()
        .flatten()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            ctx.cfg
                .start_block
                .unwrap_or(sys.deployment().block)
                .saturating_sub(1)
        });
    let mut last_flush = Instant::now();
    let mut flushed_count = None;
    loop {
        {
            let mut w = ctx.workers.lock().unwrap_or_else(|p| p.into_inner());
            while w.try_join_next().is_some() {}
        }
        let head = match retry(&ctx.metrics, || chainview::head(sys)).await {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(node = %ctx.cfg.name, error = %e, "chain head unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        let to = head.saturating_sub(ctx.cfg.confirmations);
        // a devnet restarted from an older saved state (or a reorg deeper than the
        // confirmations): the block we stopped at is gone or different, so read again from the
        // deployment; every worker is driven by on-chain state, so a replayed event is harmless
        if to != cursor {
            let seen = ctx
                .journal
                .meta(CURSOR_HASH)
                .ok()
                .flatten()
                .filter(|h| !h.is_empty());
            let stale = match (seen, chainview::block_hash(sys, cursor).await) {
                (Some(seen), Ok(now)) => now.is_none_or(|n| n.to_string() != seen),
                _ => false,
            };
            if stale {
                let from = ctx
                    .cfg
                    .start_block
                    .unwrap_or(sys.deployment().block)
                    .saturating_sub(1);
                tracing::warn!(node = %ctx.cfg.name, cursor, head, "the chain no longer holds the last block read (restarted from older state, or reorganized): reading events again from block {}", from + 1);
                cursor = from;
                let _ = ctx.journal.set_meta(CURSOR, &cursor.to_string());
                let _ = ctx.journal.set_meta(CURSOR_HASH, "");
                continue;
            }
        }
        if to > cursor {
            let end = to.min(cursor + MAX_RANGE);
            match retry(&ctx.metrics, || chainview::logs(sys, cursor + 1, end)).await {
                Ok(logs) => {
                    let mut journaled = true;
                    for log in &logs {
                        journaled &= ctx.apply(log).await;
                    }
                    if !journaled {
                        // a pending receipt could not be journaled: read these blocks again
                        // rather than move past a receipt a crash would lose
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        continue;
                    }
                    cursor = end;
                    ctx.metrics
                        .last_block
                        .store(cursor, std::sync::atomic::Ordering::Relaxed);
                    if let Err(e) = ctx.journal.set_meta(CURSOR, &cursor.to_string()) {
                        tracing::error!(node = %ctx.cfg.name, error = %e, "journal cursor write failed");
                    }
                    if let Ok(Some(h)) = chainview::block_hash(sys, cursor).await {
                        let _ = ctx.journal.set_meta(CURSOR_HASH, &h.to_string());
                    }
                    if end < to {
                        continue;
                    }
                }
                Err(e) => {
                    tracing::error!(node = %ctx.cfg.name, error = %e, "eth_getLogs failed; retrying");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
            }
        }
        ctx.attest_due().await;
        if let Some(every) = ctx.cfg.flush_receipts
            && last_flush.elapsed() >= every
        {
            last_flush = Instant::now();
            flush(&ctx, &mut flushed_count).await;
        }
        tokio::time::sleep(ctx.cfg.poll).await;
    }
}

/// Attests the receipts finalized since the last flush, if any.
async fn flush(ctx: &Ctx, flushed: &mut Option<u32>) {
    let sys = &ctx.sys;
    let Ok(ledger) = sys
        .client()
        .call("TaskManager.ledger", sys.task_manager().ledger())
        .await
    else {
        return;
    };
    if *flushed == Some(ledger.receiptCount) || ledger.receiptCount == 0 {
        return;
    }
    match sys.flush_receipts().await {
        Ok((uid, from, to)) => {
            inc(&ctx.metrics.receipt_batches);
            inc(&ctx.metrics.transactions_sent);
            *flushed = Some(ledger.receiptCount);
            tracing::info!(node = %ctx.cfg.name, %uid, from, to, "receipts attested");
        }
        Err(e) => {
            if e.revert_name() == Some("NothingToAttest") {
                *flushed = Some(ledger.receiptCount);
            } else {
                tracing::warn!(node = %ctx.cfg.name, error = %e, "receipt flush failed");
            }
        }
    }
}
