//! Independent checks of a task's receipt from chain state alone (`vouch receipt verify`).
//!
//! - the task is `Finalized`, and the receipt leaf of its `Finalized` event recomputes from
//!   the task's record (its `TaskRequested` log) and standing result (its last
//!   `ResultSubmitted` log), both checked against the commitment the TaskManager stores
//!   (`docs/semantics.md` section 8.3):
//!   `keccak256(abi.encode(taskId, modelId, version, inputCommitment, outputCommitment, mode,
//!   traceRoot))`;
//! - an EAS attestation by the ReceiptAttester covers it: the per-task one
//!   (`ReceiptAttested`, data = the leaf preimage) or the batch whose range holds the task's
//!   receipt index (`ReceiptsAttested`, data = `(fromIndex, toIndex, prevHead, head)`; the
//!   hash chain `head = keccak256(abi.encode(head, leaf))` is recomputed over the range from the
//!   `Finalized` events). The attestation is read from EAS: schema, attester, not revoked.
//! - the model version's provenance attestation (by the ModelRegistry, on the provenance
//!   schema, not revoked) holds the registry's entry of the version the task ran
//!   ([`System::provenance_checks`]); the CLI then checks the package it re-executes against
//!   the attested CID and sha2-256.
//!
//! [`System::receipt_facts`] also returns what re-execution needs (the request's inline input,
//! the package CID) and, for a zk task, the `proof` argument of its `submitZk` transaction; the
//! engine and the zk verifier run in the CLI.

use crate::system::{Task, status_name};
use crate::{Error, Result, System};
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use vouch_bindings::eas::EAS;
use vouch_bindings::fee_vault::FeeVault;
use vouch_bindings::receipt_attester::ReceiptAttester;
use vouch_bindings::task_manager::TaskManager;

/// One check: what was checked and its result (`Ok(detail)` or `Err(why)`).
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub what: String,
    /// `Ok(detail)` when it holds, `Err(reason)` when it does not.
    pub result: std::result::Result<String, String>,
}

impl Check {
    /// A check that holds.
    pub fn ok(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            result: Ok(detail.into()),
        }
    }

    /// A failed check.
    pub fn fail(what: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            result: Err(why.into()),
        }
    }

    /// `ok` when `cond`, else `fail`.
    pub fn when(what: impl Into<String>, cond: bool, ok: String, fail: String) -> Self {
        if cond {
            Self::ok(what, ok)
        } else {
            Self::fail(what, fail)
        }
    }

    /// Whether it holds.
    pub fn passed(&self) -> bool {
        self.result.is_ok()
    }
}

/// What the chain says about a task's receipt.
#[derive(Debug, Clone)]
pub struct ReceiptFacts {
    /// The task.
    pub task: Task,
    /// Its `TaskRequested` event (inline input, input CID).
    pub requested: Option<TaskManager::TaskRequested>,
    /// The package CID the registry holds for the task's model version.
    pub package_cid: String,
    /// The version's zk verifier (zero when none).
    pub zk_verifier: Address,
    /// zk mode: the `proof` argument of the `submitZk` transaction.
    pub zk_proof: Option<Bytes>,
    /// What the version's provenance attestation says (when it was found and decodes).
    pub provenance: Option<crate::eas::Provenance>,
    /// The chain checks: finalized, leaf, attestation, provenance.
    pub checks: Vec<Check>,
}

/// The receipt leaf of a task (`docs/semantics.md` section 8.3).
pub fn receipt_leaf(task_id: U256, t: &Task) -> B256 {
    keccak256(receipt_data(task_id, t))
}

/// The receipt leaf preimage (also the per-task attestation's data).
pub fn receipt_data(task_id: U256, t: &Task) -> Vec<u8> {
    // small integers are words in `abi.encode`
    (
        task_id,
        U256::from(t.model_id),
        U256::from(t.version),
        t.input_commitment,
        t.output_commitment,
        U256::from(t.mode),
        t.trace_root,
    )
        .abi_encode()
}

/// The receipt hash chain step.
pub fn chain_step(head: B256, leaf: B256) -> B256 {
    keccak256((head, leaf).abi_encode())
}

impl System {
    async fn logs(&self, address: Address, sig: B256, topic1: Option<B256>) -> Result<Vec<Log>> {
        let mut f = Filter::new()
            .address(address)
            .event_signature(sig)
            .from_block(self.deployment().block);
        if let Some(t) = topic1 {
            f = f.topic1(t);
        }
        self.client()
            .provider()
            .get_logs(&f)
            .await
            .map_err(|e| Error::Rpc {
                call: "eth_getLogs".to_owned(),
                message: e.to_string(),
            })
    }

    /// Every `Finalized` event of the task manager with its receipt index in `[from, to)`,
    /// ordered by index.
    async fn finalized_range(&self, from: u64, to: u64) -> Result<Vec<TaskManager::Finalized>> {
        let logs = self
            .logs(
                self.deployment().contracts.task_manager,
                TaskManager::Finalized::SIGNATURE_HASH,
                None,
            )
            .await?;
        let mut v: Vec<TaskManager::Finalized> = logs
            .iter()
            .filter_map(|l| l.log_decode::<TaskManager::Finalized>().ok())
            .map(|l| l.inner.data)
            .filter(|e| (from..to).contains(&u64::from(e.receiptIndex)))
            .collect();
        v.sort_by_key(|e| e.receiptIndex);
        Ok(v)
    }

    /// Reads the task, its events, its registry entry and its attestation, and checks (a) and
    /// (b) of the module docs. RPC failures are errors; failed checks are in `checks`.
    pub async fn receipt_facts(&self, task_id: U256) -> Result<ReceiptFacts> {
        // the record and the standing result from the task's logs, checked against the
        // commitment the TaskManager stores
        let t = self.task(task_id).await?;
        let mut checks = Vec::new();
        let topic = Some(B256::from(task_id));
        let tm = self.deployment().contracts.task_manager;
        let requested = self.task_logs(task_id).await?.requested;
        let (package_cid, zk_verifier) = if t.requester == Address::ZERO {
            (String::new(), Address::ZERO)
        } else {
            let v = self
                .client()
                .call(
                    "ModelRegistry.getVersion",
                    self.registry().getVersion(t.model_id, u32::from(t.version)),
                )
                .await?;
            (v.packageCid, v.zkVerifier)
        };
        let mut facts = ReceiptFacts {
            task: t.clone(),
            requested,
            package_cid,
            zk_verifier,
            zk_proof: None,
            provenance: None,
            checks: Vec::new(),
        };
        let status = status_name(t.status);
        if t.status != 4 {
            checks.push(Check::fail(
                "task finalized",
                format!("task {task_id} is {status}"),
            ));
            facts.checks = checks;
            return Ok(facts);
        }
        checks.push(Check::ok("task finalized", format!("task {task_id}")));

        // (a) the Finalized event's leaf recomputes from the task
        let fin = self
            .logs(tm, TaskManager::Finalized::SIGNATURE_HASH, topic)
            .await?
            .iter()
            .find_map(|l| l.log_decode::<TaskManager::Finalized>().ok())
            .map(|l| l.inner.data);
        let leaf = receipt_leaf(task_id, &t);
        let Some(fin) = fin else {
            checks.push(Check::fail("receipt leaf", "no Finalized event"));
            facts.checks = checks;
            return Ok(facts);
        };
        checks.push(Check::when(
            "receipt leaf",
            fin.receiptLeaf == leaf && fin.output == t.output_commitment,
            format!("{leaf} (index {})", fin.receiptIndex),
            format!(
                "the Finalized event has leaf {} (output {}), the task's fields give {leaf}",
                fin.receiptLeaf, fin.output
            ),
        ));

        // (b) the EAS attestation
        checks.extend(self.attestation_checks(task_id, &t, &fin).await?);

        // (c) the model version's provenance attestation
        let (provenance, pc) = self
            .provenance_checks(t.model_id, u32::from(t.version))
            .await?;
        facts.provenance = provenance;
        checks.extend(pc);

        // zk: the proof from the submitZk calldata
        if t.mode == 2 {
            facts.zk_proof = self.zk_proof_of(task_id).await?;
        }
        facts.checks = checks;
        Ok(facts)
    }

    async fn attestation_checks(
        &self,
        task_id: U256,
        t: &Task,
        fin: &TaskManager::Finalized,
    ) -> Result<Vec<Check>> {
        let ra = self.receipts();
        let eas = EAS::new(self.deployment().contracts.eas, self.client().provider());
        let attester = self.deployment().contracts.receipts;
        let single = self
            .client()
            .call("ReceiptAttester.receiptUid", ra.receiptUid(task_id))
            .await?;
        let (uid, schema, batch) = if single != B256::ZERO {
            let schema = self
                .client()
                .call("ReceiptAttester.receiptSchema", ra.receiptSchema())
                .await?;
            (single, schema, None)
        } else {
            let idx = u64::from(fin.receiptIndex);
            let logs = self
                .logs(
                    attester,
                    ReceiptAttester::ReceiptsAttested::SIGNATURE_HASH,
                    None,
                )
                .await?;
            let batches: Vec<ReceiptAttester::ReceiptsAttested> = logs
                .iter()
                .filter_map(|l| l.log_decode::<ReceiptAttester::ReceiptsAttested>().ok())
                .map(|l| l.inner.data)
                .collect();
            let Some(b) = batches
                .iter()
                .find(|b| b.fromIndex <= idx && idx < b.toIndex)
            else {
                return Ok(vec![Check::fail(
                    "attestation",
                    format!(
                        "the receipt of task {task_id} is not attested yet: run `vouch task receipt --batch` (or `vouch task receipt {task_id}`)"
                    ),
                )]);
            };
            let schema = self
                .client()
                .call(
                    "ReceiptAttester.receiptBatchSchema",
                    ra.receiptBatchSchema(),
                )
                .await?;
            (b.uid, schema, Some(b.clone()))
        };
        let a = self
            .client()
            .call("EAS.getAttestation", eas.getAttestation(uid))
            .await?;
        let mut checks = vec![Check::when(
            "attestation on EAS",
            a.uid == uid && a.schema == schema && a.attester == attester && a.revocationTime == 0,
            format!(
                "uid {uid} ({} schema, attester {attester}, not revoked)",
                if batch.is_some() { "batch" } else { "receipt" }
            ),
            format!(
                "uid {uid}: schema {} (want {schema}), attester {} (want {attester}), revoked at {}",
                a.schema, a.attester, a.revocationTime
            ),
        )];
        match batch {
            None => {
                let want = receipt_data(task_id, t);
                checks.push(Check::when(
                    "attestation commits to the leaf",
                    a.data.as_ref() == want.as_slice(),
                    "its data is the leaf preimage".to_owned(),
                    "its data is not this task's receipt".to_owned(),
                ));
            }
            Some(b) => {
                type BatchData = (u64, u64, B256, B256);
                let Ok((from, to, prev, head)) = BatchData::abi_decode(&a.data) else {
                    checks.push(Check::fail(
                        "attestation commits to the leaf",
                        "the batch data does not decode",
                    ));
                    return Ok(checks);
                };
                let evs = self.finalized_range(from, to).await?;
                let complete = u64::try_from(evs.len()).ok() == to.checked_sub(from)
                    && evs
                        .iter()
                        .zip(from..)
                        .all(|(e, i)| u64::from(e.receiptIndex) == i);
                let h = evs.iter().fold(prev, |h, e| chain_step(h, e.receiptLeaf));
                let ours = evs
                    .iter()
                    .any(|e| e.taskId == task_id && e.receiptLeaf == fin.receiptLeaf);
                checks.push(Check::when(
                    "attestation commits to the leaf",
                    complete && ours && h == head && b.head == head && from == b.fromIndex,
                    format!(
                        "receipts {from}..{to}: the hash chain over {} leaves from {prev} gives head {head}",
                        evs.len()
                    ),
                    format!(
                        "receipts {from}..{to}: {} of {} leaves found, recomputed head {h}, attested {head}{}",
                        evs.len(),
                        to.saturating_sub(from),
                        if ours { "" } else { ", this task's leaf is not in it" }
                    ),
                ));
            }
        }
        Ok(checks)
    }

    /// The `proof` argument of the `submitZk` (or `FeeVault.requestSignedZk`) transaction of a
    /// task (None when the task has no submission or the submission was not a direct call).
    pub async fn zk_proof_of(&self, task_id: U256) -> Result<Option<Bytes>> {
        let logs = self
            .logs(
                self.deployment().contracts.task_manager,
                TaskManager::ResultSubmitted::SIGNATURE_HASH,
                Some(B256::from(task_id)),
            )
            .await?;
        let Some(tx) = logs.last().and_then(|l| l.transaction_hash) else {
            return Ok(None);
        };
        let t = self
            .client()
            .provider()
            .get_transaction_by_hash(tx)
            .await
            .map_err(|e| Error::Rpc {
                call: "eth_getTransactionByHash".to_owned(),
                message: e.to_string(),
            })?;
        use alloy::consensus::Transaction;
        Ok(t.and_then(|t| {
            let input = t.input();
            // `submitZk`, or the one-transaction `FeeVault.requestSignedZk` (which created
            // this task: its only `ResultSubmitted` is in that transaction)
            TaskManager::submitZkCall::abi_decode(input)
                .ok()
                .filter(|c| c.taskId == task_id)
                .map(|c| c.proof)
                .or_else(|| {
                    FeeVault::requestSignedZkCall::abi_decode(input)
                        .ok()
                        .map(|c| c.proof)
                })
        }))
    }
}
