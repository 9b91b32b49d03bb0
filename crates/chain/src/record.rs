//! A task as callers see it, rebuilt from the hashed task layout (`docs/architecture.md`,
//! "Consumer decision gas").
//!
//! The TaskManager stores per task a state word (provider, model, mode, status, flags,
//! deadline) and one commitment: `c0 = keccak256(abi.encode(rec))` over the [`TaskRecord`] a
//! request fixes, folded with the standing result once there is one (`flags & RESULT`:
//! `keccak256(abi.encode(c0, output, traceRoot))`). Every call that settles a task takes the
//! record and the standing [`Claim`] back; a reader gets the record from the task's
//! `TaskRequested` log and the standing result from its last `ResultSubmitted` log
//! (`eth_getLogs` by the indexed task id from the deployment block), and checks both against
//! the stored commitment here, exactly as `TaskManager.checkRecord` does on-chain.

use crate::{Error, Result, System};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::{SolEvent, SolValue};
use vouch_bindings::task_manager::TaskManager;

pub use vouch_bindings::task_manager::TaskManager::{Claim, TaskRecord};

/// Task flag: flagged for audit.
pub const FLAG_AUDIT: u8 = 1;
/// Task flag: the audit closed.
pub const FLAG_AUDIT_CLOSED: u8 = 2;
/// Task flag: the audit found the result wrong.
pub const FLAG_AUDIT_FAILED: u8 = 4;
/// Task flag: the values were delivered to the callback.
pub const FLAG_DELIVERED: u8 = 8;
/// Task flag: the callback reverted or ran out of gas.
pub const FLAG_CALLBACK_FAILED: u8 = 16;
/// Task flag: the request named a callback.
pub const FLAG_HAS_CALLBACK: u8 = 32;
/// Task flag: the FeeVault escrows the fee in the version's own token.
pub const FLAG_VAULT: u8 = 64;
/// Task flag: the commitment folds a standing result.
pub const FLAG_RESULT: u8 = 128;

/// A task: the TaskManager's state word (`getTask`: provider, model, mode, status, flags,
/// deadline, commitment) completed with the record from its `TaskRequested` log (requester,
/// fee, version, rows, input commitment, callback) and the standing result from its last
/// `ResultSubmitted` log (output commitment, trace root). The record and result are checked
/// against the stored commitment when read from the latest block ([`System::task`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Who requested it (zero: no such task).
    pub requester: Address,
    /// The fee as requested (a FeeVault task's fee is in the version's own token).
    pub fee: u128,
    /// The task flags (`FLAG_*`).
    pub flags: u8,
    /// The submitter (optimistic, zk) or the first revealer (committee); zero before.
    pub provider: Address,
    /// The model.
    pub model_id: u32,
    /// Its version.
    pub version: u16,
    /// `TaskManager.Mode` code.
    pub mode: u8,
    /// `TaskManager.Status` code.
    pub status: u8,
    /// Submission, challenge-window or audit deadline (unix seconds), by status.
    pub deadline: u32,
    /// List commitment of the input tensors.
    pub input_commitment: B256,
    /// Rows of the input.
    pub rows: u16,
    /// The standing output commitment (zero while none stands).
    pub output_commitment: B256,
    /// The standing trace root (zk: keccak256 of the proof; zero while none stands).
    pub trace_root: B256,
    /// The stored commitment (`c0`, or `c0` folded with the standing result).
    pub commitment: B256,
    /// The record the settling calls take.
    pub record: TaskRecord,
    /// The standing result the settling calls take (zero while none stands).
    pub result: Claim,
}

impl Task {
    /// Whether a result stands (`FLAG_RESULT`).
    pub fn has_result(&self) -> bool {
        self.flags & FLAG_RESULT != 0
    }

    /// Whether the request named a callback.
    pub fn has_callback(&self) -> bool {
        self.flags & FLAG_HAS_CALLBACK != 0
    }

    /// The callback the request named, if any.
    pub fn callback(&self) -> Option<crate::system::Callback> {
        (self.record.callback != Address::ZERO).then_some(crate::system::Callback {
            target: self.record.callback,
            gas: self.record.callbackGas,
        })
    }
}

/// `$r` (a task's [`TaskRecord`]) as another binding's copy of the type (each contract's
/// binding declares its own `TaskRecord`, e.g. a consumer's for its `consume`), field by field:
/// `vouch_chain::convert_record!(&task.record, lending_risk_gate::TaskRecord)`.
#[macro_export]
macro_rules! convert_record {
    ($r:expr, $ty:path) => {{
        let r = $r;
        $ty {
            requester: r.requester,
            fee: r.fee,
            modelId: r.modelId,
            version: r.version,
            mode: r.mode,
            vault: r.vault,
            rows: r.rows,
            inputCommitment: r.inputCommitment,
            callback: r.callback,
            callbackGas: r.callbackGas,
        }
    }};
}

/// The record a `TaskRequested` event carries.
pub fn record_of(ev: &TaskManager::TaskRequested) -> Result<TaskRecord> {
    let fee = u128::try_from(ev.fee)
        .ok()
        .filter(|f| *f >> 88 == 0)
        .ok_or_else(|| Error::OutOfRange {
            what: format!("fee {} of task {} (above uint88)", ev.fee, ev.taskId),
        })?;
    Ok(TaskRecord {
        requester: ev.requester,
        fee: alloy::primitives::Uint::<88, 2>::from(fee),
        modelId: ev.modelId,
        version: ev.version,
        mode: ev.mode,
        vault: ev.vault,
        rows: ev.rows,
        inputCommitment: ev.inputCommitment,
        callback: ev.callback,
        callbackGas: ev.callbackGas,
    })
}

/// `c0 = keccak256(abi.encode(rec))`: the commitment a request stores.
pub fn record_hash(rec: &TaskRecord) -> B256 {
    keccak256(rec.abi_encode())
}

/// The commitment of a task with record `rec`, folding `result` when one stands.
pub fn commitment_of(rec: &TaskRecord, result: Option<&Claim>) -> B256 {
    let c0 = record_hash(rec);
    match result {
        Some(r) => keccak256((c0, r.output, r.traceRoot).abi_encode()),
        None => c0,
    }
}

/// A task's logs: its request and every result that stood, in chain order.
#[derive(Debug, Clone, Default)]
pub struct TaskLogs {
    /// The `TaskRequested` event (none: no such task, or the logs were pruned).
    pub requested: Option<TaskManager::TaskRequested>,
    /// The `ResultSubmitted` events; the last is the standing result.
    pub results: Vec<TaskManager::ResultSubmitted>,
}

impl TaskLogs {
    /// The standing result: the last `ResultSubmitted`.
    pub fn standing(&self) -> Option<Claim> {
        self.results.last().map(|e| Claim {
            output: e.output,
            traceRoot: e.traceRoot,
        })
    }
}

impl System {
    /// The `TaskRequested` and `ResultSubmitted` logs of `task` (from the deployment block),
    /// one `eth_getLogs` call.
    pub async fn task_logs(&self, task: U256) -> Result<TaskLogs> {
        let filter = Filter::new()
            .address(self.deployment().contracts.task_manager)
            .event_signature(vec![
                TaskManager::TaskRequested::SIGNATURE_HASH,
                TaskManager::ResultSubmitted::SIGNATURE_HASH,
            ])
            .topic1(B256::from(task))
            .from_block(self.deployment().block);
        let logs = self
            .client()
            .provider()
            .get_logs(&filter)
            .await
            .map_err(|e| Error::Rpc {
                call: "eth_getLogs".to_owned(),
                message: e.to_string(),
            })?;
        let mut out = TaskLogs::default();
        for l in &logs {
            if let Ok(ev) = l.log_decode::<TaskManager::TaskRequested>() {
                out.requested.get_or_insert(ev.inner.data);
            } else if let Ok(ev) = l.log_decode::<TaskManager::ResultSubmitted>() {
                out.results.push(ev.inner.data);
            }
        }
        Ok(out)
    }

    /// A task's state word alone (`getTask`: provider, model, mode, status, flags, deadline,
    /// commitment), one call and no log search: enough to follow its status.
    pub async fn task_state(&self, task: U256) -> Result<TaskManager::Task> {
        self.client()
            .call("TaskManager.getTask", self.task_manager().getTask(task))
            .await
    }

    /// A task: its state word from the latest block, its record and standing result from its
    /// logs, checked against the stored commitment (a mismatch, e.g. an endpoint missing logs,
    /// is [`Error::RecordMismatch`]). A task that does not exist has status 0 and a zero
    /// requester.
    pub async fn task(&self, task: U256) -> Result<Task> {
        let state = self.task_state(task).await?;
        let logs = self.task_logs(task).await?;
        let t = assemble(task, state, &logs)?;
        if t.status != 0
            && commitment_of(&t.record, t.has_result().then_some(&t.result)) != t.commitment
        {
            return Err(Error::RecordMismatch {
                task,
                commitment: t.commitment,
            });
        }
        Ok(t)
    }

    /// A task as the node's pending block has it: a result posted but not yet mined already
    /// shows as submitted (a provider that sees this does not post a losing duplicate). The
    /// state word is the pending block's; the record and result come from the mined logs, so a
    /// pending result is flagged but its output and trace root may still read zero, and the
    /// commitment is not checked.
    pub async fn task_pending(&self, task: U256) -> Result<Task> {
        let state = self
            .client()
            .call(
                "TaskManager.getTask",
                self.task_manager()
                    .getTask(task)
                    .block(alloy::eips::BlockId::pending()),
            )
            .await?;
        let logs = self.task_logs(task).await?;
        assemble(task, state, &logs)
    }
}

/// The caller's view of `task` from its state word and logs (not checked).
fn assemble(task: U256, s: TaskManager::Task, logs: &TaskLogs) -> Result<Task> {
    let record = match &logs.requested {
        Some(ev) => record_of(ev)?,
        None if s.status == 0 => TaskRecord {
            requester: Address::ZERO,
            fee: Default::default(),
            modelId: 0,
            version: 0,
            mode: 0,
            vault: false,
            rows: 0,
            inputCommitment: B256::ZERO,
            callback: Address::ZERO,
            callbackGas: 0,
        },
        None => {
            return Err(Error::RecordMismatch {
                task,
                commitment: s.commitment,
            });
        }
    };
    // The standing result is the last `ResultSubmitted`; the logs are read after the state,
    // so a result that replaced it meanwhile may follow it: take the last one the stored
    // commitment folds (the last one when none does; `System::task` then refuses it).
    let c0 = record_hash(&record);
    let folds = |r: &&TaskManager::ResultSubmitted| {
        keccak256((c0, r.output, r.traceRoot).abi_encode()) == s.commitment
    };
    let standing = logs
        .results
        .iter()
        .rev()
        .find(folds)
        .or(logs.results.last());
    let result = match standing {
        Some(r) if s.flags & FLAG_RESULT != 0 => Claim {
            output: r.output,
            traceRoot: r.traceRoot,
        },
        _ => Claim {
            output: B256::ZERO,
            traceRoot: B256::ZERO,
        },
    };
    Ok(Task {
        requester: record.requester,
        fee: record.fee.to::<u128>(),
        flags: s.flags,
        provider: s.provider,
        model_id: s.modelId,
        version: record.version,
        mode: s.mode,
        status: s.status,
        deadline: s.deadline,
        input_commitment: record.inputCommitment,
        rows: record.rows,
        output_commitment: result.output,
        trace_root: result.traceRoot,
        commitment: s.commitment,
        record,
        result,
    })
}
