//! Reads of chain history the roles need: a task's request, a committee's members and
//! commitments, and the event stream between two blocks; with retries against a flaky
//! endpoint.

use crate::metrics::{Metrics, inc};
use crate::{Error, Result};
use std::future::Future;
use std::time::Duration;
use vouch_chain::System;
use vouch_chain::alloy::primitives::{Address, B256, U256};
use vouch_chain::alloy::providers::Provider;
use vouch_chain::alloy::rpc::types::{Filter, Log};
use vouch_chain::alloy::sol_types::SolEvent;
use vouch_chain::bindings::task_manager::TaskManager;

/// How many times a transient failure is retried (backoff 200 ms doubling to 5 s).
pub const RETRIES: u32 = 8;

/// Runs `f` until it succeeds or fails with a non-transient error, retrying transient ones
/// (dead or flaky endpoint) with exponential backoff.
pub async fn retry<T, F, Fut>(metrics: &Metrics, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut wait = Duration::from_millis(200);
    let mut attempt = 0;
    loop {
        match f().await {
            Err(e) if e.is_transient() && attempt < RETRIES => {
                inc(&metrics.rpc_retries);
                attempt += 1;
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            r => return r,
        }
    }
}

fn rpc(call: &str, e: impl std::fmt::Display) -> Error {
    Error::Chain(vouch_chain::Error::Rpc {
        call: call.to_owned(),
        message: e.to_string(),
    })
}

/// The current block number.
pub async fn head(sys: &System) -> Result<u64> {
    sys.client()
        .provider()
        .get_block_number()
        .await
        .map_err(|e| rpc("eth_blockNumber", e))
}

/// The hash of block `n`, `None` when the chain has no such block.
pub async fn block_hash(sys: &System, n: u64) -> Result<Option<B256>> {
    Ok(sys
        .client()
        .provider()
        .get_block_by_number(n.into())
        .await
        .map_err(|e| rpc("eth_getBlockByNumber", e))?
        .map(|b| b.header.hash))
}

/// The TaskManager and DisputeGame logs of blocks `from..=to`.
pub async fn logs(sys: &System, from: u64, to: u64) -> Result<Vec<Log>> {
    let c = &sys.deployment().contracts;
    let filter = Filter::new()
        .address(vec![c.task_manager, c.dispute_game])
        .from_block(from)
        .to_block(to);
    sys.client()
        .provider()
        .get_logs(&filter)
        .await
        .map_err(|e| rpc("eth_getLogs", e))
}

async fn task_logs<E: SolEvent>(sys: &System, task: U256) -> Result<Vec<E>> {
    let filter = Filter::new()
        .address(sys.deployment().contracts.task_manager)
        .event_signature(E::SIGNATURE_HASH)
        .topic1(B256::from(task))
        .from_block(sys.deployment().block);
    let logs = sys
        .client()
        .provider()
        .get_logs(&filter)
        .await
        .map_err(|e| rpc("eth_getLogs", e))?;
    Ok(logs
        .iter()
        .filter_map(|l| l.log_decode::<E>().ok())
        .map(|l| l.inner.data)
        .collect())
}

/// The `TaskRequested` event of `task` (its inline input, input CID, fee, mode).
pub async fn request_of(sys: &System, task: U256) -> Result<TaskManager::TaskRequested> {
    task_logs::<TaskManager::TaskRequested>(sys, task)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::State(format!("task {task} has no TaskRequested event")))
}

/// The execution block whose transaction requested `task` (the block of its `TaskRequested`
/// log), where the request's blobs are.
pub async fn request_block_of(sys: &System, task: U256) -> Result<u64> {
    let filter = Filter::new()
        .address(sys.deployment().contracts.task_manager)
        .event_signature(TaskManager::TaskRequested::SIGNATURE_HASH)
        .topic1(B256::from(task))
        .from_block(sys.deployment().block);
    sys.client()
        .provider()
        .get_logs(&filter)
        .await
        .map_err(|e| rpc("eth_getLogs", e))?
        .first()
        .and_then(|l| l.block_number)
        .ok_or_else(|| Error::State(format!("task {task} has no mined TaskRequested log")))
}

/// The committee drawn for `task`, if it was.
pub async fn members_of(sys: &System, task: U256) -> Result<Option<Vec<Address>>> {
    Ok(task_logs::<TaskManager::CommitteeDrawn>(sys, task)
        .await?
        .into_iter()
        .next()
        .map(|e| e.members))
}

/// The commitments posted on `task`, in arrival order (what `reveal` proves against the commit
/// chain).
pub async fn commitments_of(sys: &System, task: U256) -> Result<Vec<B256>> {
    Ok(task_logs::<TaskManager::Committed>(sys, task)
        .await?
        .into_iter()
        .map(|e| e.commitment)
        .collect())
}
