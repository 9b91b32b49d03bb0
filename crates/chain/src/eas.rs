//! vouch's attestations on EAS: receipts attested in batches (one `multiAttest` per batch, the
//! recipient of each being the task's requester) and the model provenance attestation a
//! receipt's model version points at.
//!
//! Schema UIDs are what EAS's schema registry computes:
//! `keccak256(abi.encodePacked(schema, resolver, revocable))`, here with no resolver and
//! irrevocable ([`schema_uid`]); a deployment on a shared EAS registers a schema only when its
//! UID is not there yet (`contracts/src/EasSchemas.sol`).

use crate::receipt::Check;
use crate::{Error, Result, System};
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolEvent, SolValue};
use vouch_bindings::eas::EAS;
use vouch_bindings::model_registry::ModelRegistry;
use vouch_bindings::receipt_attester::ReceiptAttester;

/// The UID EAS's schema registry gives `schema` with no resolver, irrevocable.
pub fn schema_uid(schema: &str) -> B256 {
    let mut pre = schema.as_bytes().to_vec();
    pre.extend_from_slice(Address::ZERO.as_slice());
    pre.push(0); // revocable = false
    keccak256(pre)
}

/// The outcome of one batched receipt attestation.
#[derive(Debug, Clone)]
pub struct ReceiptBatch {
    /// The tasks attested by this transaction, with their attestation UIDs, in request order.
    pub attested: Vec<(U256, B256)>,
    /// The transaction.
    pub tx: B256,
    /// Its gas used.
    pub gas_used: u64,
}

/// What a model version's provenance attestation says (its data decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The attestation UID.
    pub uid: B256,
    /// The model id.
    pub model_id: u32,
    /// The version.
    pub version: u32,
    /// The package CID.
    pub package_cid: String,
    /// The package's sha2-256.
    pub package_hash: B256,
    /// The weights Merkle root.
    pub weights_root: B256,
    /// The graph root.
    pub graph_root: B256,
    /// The semantics version.
    pub semantics_version: u32,
    /// The zk verifier (zero when none).
    pub zk_verifier: Address,
    /// Who published the version (the attestation's recipient).
    pub publisher: Address,
}

/// The data of a provenance attestation, as `ModelRegistry._provenanceData` encodes it.
type ProvenanceData = (u32, u32, String, B256, B256, B256, u32, Address);

impl System {
    /// The tasks among `tasks` whose receipt is not attested per task yet (read from
    /// `ReceiptAttester.receiptUid`), in order, without repeats.
    pub async fn unattested(&self, tasks: &[U256]) -> Result<Vec<U256>> {
        let mut out = Vec::with_capacity(tasks.len());
        for &t in tasks {
            if out.contains(&t) {
                continue;
            }
            let uid = self
                .client()
                .call("ReceiptAttester.receiptUid", self.receipts().receiptUid(t))
                .await?;
            if uid == B256::ZERO {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Attests the receipts of the finalized, not yet attested tasks among `tasks` in one EAS
    /// `multiAttest` (`ReceiptAttester.attestReceipts`; recipient: each task's requester). The
    /// contract skips the others, so sending a batch twice attests nothing twice; a batch with
    /// nothing left to attest reverts `NothingToAttest`.
    pub async fn attest_receipts(&self, tasks: &[U256]) -> Result<ReceiptBatch> {
        const CALL: &str = "ReceiptAttester.attestReceipts";
        let mut recs = Vec::with_capacity(tasks.len());
        let mut results = Vec::with_capacity(tasks.len());
        for &id in tasks {
            let t = self.task(id).await?;
            recs.push(crate::system::attester_record(&t.record));
            results.push(crate::system::attester_claim(&t.result));
        }
        let r = self
            .client()
            .send(
                CALL,
                self.receipts()
                    .attestReceipts(tasks.to_vec(), recs, results),
            )
            .await?;
        let attested = attested_in(&r);
        if attested.is_empty() {
            return Err(Error::MissingEvent {
                call: CALL.to_owned(),
                event: "ReceiptAttested",
            });
        }
        Ok(ReceiptBatch {
            attested,
            tx: r.transaction_hash,
            gas_used: r.gas_used,
        })
    }

    /// The provenance attestation of a model version, read from EAS, with the checks that it
    /// exists, is by the model registry on the provenance schema, is not revoked, and that its
    /// data is this version's registry entry. RPC failures are errors; failed checks are in
    /// the returned list (the provenance is `None` when its data does not decode).
    pub async fn provenance_checks(
        &self,
        model_id: u32,
        version: u32,
    ) -> Result<(Option<Provenance>, Vec<Check>)> {
        let reg = self.registry();
        let v = self
            .client()
            .call(
                "ModelRegistry.getVersion",
                reg.getVersion(model_id, version),
            )
            .await?;
        let uid = v.provenanceUid;
        let what = "provenance attestation";
        if uid == B256::ZERO {
            return Ok((
                None,
                vec![Check::fail(
                    what,
                    format!("model {model_id} v{version} has no provenance attestation"),
                )],
            ));
        }
        let schema = self
            .client()
            .call("ModelRegistry.provenanceSchema", reg.provenanceSchema())
            .await?;
        let schema_text = self
            .client()
            .call("ModelRegistry.PROVENANCE_SCHEMA", reg.PROVENANCE_SCHEMA())
            .await?;
        let eas = EAS::new(self.deployment().contracts.eas, self.client().provider());
        let a = self
            .client()
            .call("EAS.getAttestation", eas.getAttestation(uid))
            .await?;
        let registry = self.deployment().contracts.registry;
        let mut checks = vec![Check::when(
            what,
            a.uid == uid
                && a.schema == schema
                && schema == schema_uid(&schema_text)
                && a.attester == registry
                && a.revocationTime == 0,
            format!("uid {uid} on EAS (provenance schema, attester the registry, not revoked)"),
            format!(
                "uid {uid}: found uid {}, schema {} (want {schema}), attester {} (want {registry}), revoked at {}",
                a.uid, a.schema, a.attester, a.revocationTime
            ),
        )];
        let Ok(d) = ProvenanceData::abi_decode_params(&a.data) else {
            checks.push(Check::fail(
                "provenance data",
                "the attestation's data does not decode as the provenance schema",
            ));
            return Ok((None, checks));
        };
        let p = Provenance {
            uid,
            model_id: d.0,
            version: d.1,
            package_cid: d.2,
            package_hash: d.3,
            weights_root: d.4,
            graph_root: d.5,
            semantics_version: d.6,
            zk_verifier: d.7,
            publisher: a.recipient,
        };
        checks.push(Check::when(
            "provenance data",
            matches_version(&p, model_id, version, &v),
            format!(
                "model {model_id} v{version}, package {} (sha256 {}), published by {}",
                p.package_cid, p.package_hash, p.publisher
            ),
            format!(
                "the attestation says model {} v{} package {} (sha256 {}), the registry holds model {model_id} v{version} package {} (sha256 {})",
                p.model_id, p.version, p.package_cid, p.package_hash, v.packageCid, v.packageHash
            ),
        ));
        Ok((Some(p), checks))
    }
}

/// Whether the provenance attestation's data is the registry's entry of `model_id` v`version`.
fn matches_version(
    p: &Provenance,
    model_id: u32,
    version: u32,
    v: &ModelRegistry::Version,
) -> bool {
    p.model_id == model_id
        && p.version == version
        && p.package_cid == v.packageCid
        && p.package_hash == v.packageHash
        && p.weights_root == v.weightsRoot
        && p.graph_root == v.graphRoot
        && p.semantics_version == v.semanticsVersion
        && p.zk_verifier == v.zkVerifier
}

/// Every `ReceiptAttested` event of a transaction: `(task, uid)`.
pub fn attested_in(r: &TransactionReceipt) -> Vec<(U256, B256)> {
    r.inner
        .logs()
        .iter()
        .filter(|l| l.topic0() == Some(&ReceiptAttester::ReceiptAttested::SIGNATURE_HASH))
        .filter_map(|l| l.log_decode::<ReceiptAttester::ReceiptAttested>().ok())
        .map(|l| (l.inner.data.taskId, l.inner.data.uid))
        .collect()
}
