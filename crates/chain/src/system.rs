//! Typed handles on one deployment and the protocol flows the CLI and the node drive.

use crate::blob::SidecarForm;
use crate::{Client, Deployment, Error, Result};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolEvent;
use vouch_bindings::dispute_game::DisputeGame::{self, DisputeGameInstance};
use vouch_bindings::model_registry::ModelRegistry::{self, ModelRegistryInstance};
use vouch_bindings::provider_staking::ProviderStaking::{self, ProviderStakingInstance};
use vouch_bindings::receipt_attester::ReceiptAttester::{self, ReceiptAttesterInstance};
use vouch_bindings::task_manager::TaskManager::{self, TaskManagerInstance};
use vouch_bindings::vouch_token::VouchToken::{self, VouchTokenInstance};

/// What a model version commits to on-chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCommitments {
    /// CIDv1 of the package bytes.
    pub package_cid: String,
    /// sha2-256 of the package bytes.
    pub package_hash: B256,
    /// Merkle root over the constant tensors' commitments.
    pub weights_root: B256,
    /// Root of the graph header ([`crate::graph::GraphHeader::root`]).
    pub graph_root: B256,
    /// Semantics version.
    pub semantics_version: u32,
    /// Where more metadata lives (may be empty).
    pub metadata_uri: String,
    /// The graph outputs in package order (`docs/semantics.md` section 10): what a consumer
    /// contract needs to check delivered values and read them in fixed point.
    pub outputs: Vec<OutputSpec>,
}

/// One graph output as the ModelRegistry records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSpec {
    /// Elements per row.
    pub size: u32,
    /// The real value of one integer step, as the bits of the package's binary64 scale (the
    /// registry keeps them exactly).
    pub scale_bits: u64,
}

impl OutputSpec {
    /// An output of `size` elements per row whose integer step is worth `scale`.
    pub fn new(size: u32, scale: f64) -> Self {
        Self {
            size,
            scale_bits: scale.to_bits(),
        }
    }

    /// The scale.
    pub fn scale(self) -> f64 {
        f64::from_bits(self.scale_bits)
    }

    /// The registry's encoding.
    pub fn to_sol(self) -> ModelRegistry::OutputSpec {
        ModelRegistry::OutputSpec {
            size: self.size,
            scaleBits: self.scale_bits,
        }
    }
}

/// A consumer contract a request names (`IVouchConsumer`), called with the verified result
/// once final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Callback {
    /// The consumer contract.
    pub target: Address,
    /// Gas cap of each call to it (at most the TaskManager's `maxCallbackGas`).
    pub gas: u32,
}

/// A registered version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// The model id.
    pub model_id: u32,
    /// The version within the model.
    pub version: u32,
    /// The EAS provenance attestation.
    pub provenance_uid: B256,
}

pub use vouch_task::{Mode, Status};

/// A request for one inference.
#[derive(Debug, Clone)]
pub struct Request {
    /// The model.
    pub model_id: u32,
    /// Its version.
    pub version: u16,
    /// Verification mode.
    pub mode: Mode,
    /// Fee in token base units.
    pub fee: u128,
    /// Seconds from the current block until the submission deadline.
    pub deadline_secs: u32,
    /// List commitment of the input tensors.
    pub input_commitment: B256,
    /// Rows of the input (`docs/semantics.md` section 8.5): at least 1; a zk task has 1.
    pub rows: u16,
    /// CID of the input: empty when inline; `blob:0x<versioned hash>,...` when it travels as
    /// the request transaction's blobs ([`System::request_with_blobs`] fills it in).
    pub input_cid: String,
    /// Canonical tensor bytes of the inputs, or empty.
    pub inline_input: Vec<u8>,
    /// The consumer contract to call with the result, if any.
    pub callback: Option<Callback>,
}

pub use crate::record::{Claim, Task, TaskRecord};

/// The name of a `TaskManager.Status` code (`unknown` for a code no status has).
pub fn status_name(code: u8) -> &'static str {
    Status::from_code(code).map_or("unknown", Status::as_str)
}

/// Typed handles on one deployment, sending with the client's key.
#[derive(Debug, Clone)]
pub struct System {
    client: Client,
    deployment: Deployment,
}

impl System {
    /// Binds a client to a deployment on its chain.
    pub fn new(client: Client, deployment: Deployment) -> Result<Self> {
        if deployment.chain_id != client.chain_id() {
            return Err(Error::WrongChain {
                deployment: deployment.chain_id,
                endpoint: client.chain_id(),
            });
        }
        Ok(Self { client, deployment })
    }

    /// Loads `<datadir>/deployments/<chainid>.json` for the client's chain.
    pub fn load(client: Client, data_dir: &std::path::Path) -> Result<Self> {
        let dep = Deployment::load(data_dir, client.chain_id())?;
        Self::new(client, dep)
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The deployment.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    fn p(&self) -> &DynProvider {
        self.client.provider()
    }

    /// VouchToken.
    pub fn token(&self) -> VouchTokenInstance<&DynProvider> {
        VouchToken::new(self.deployment.contracts.token, self.p())
    }

    /// ModelRegistry.
    pub fn registry(&self) -> ModelRegistryInstance<&DynProvider> {
        ModelRegistry::new(self.deployment.contracts.registry, self.p())
    }

    /// ProviderStaking.
    pub fn staking(&self) -> ProviderStakingInstance<&DynProvider> {
        ProviderStaking::new(self.deployment.contracts.staking, self.p())
    }

    /// TaskManager.
    pub fn task_manager(&self) -> TaskManagerInstance<&DynProvider> {
        TaskManager::new(self.deployment.contracts.task_manager, self.p())
    }

    /// DisputeGame.
    pub fn dispute_game(&self) -> DisputeGameInstance<&DynProvider> {
        DisputeGame::new(self.deployment.contracts.dispute_game, self.p())
    }

    /// ReceiptAttester.
    pub fn receipts(&self) -> ReceiptAttesterInstance<&DynProvider> {
        ReceiptAttester::new(self.deployment.contracts.receipts, self.p())
    }

    /// Attests one finalized task as its own EAS attestation (recipient: the requester);
    /// returns the attestation uid.
    pub async fn attest_receipt(&self, task: U256) -> Result<B256> {
        let t = self.task(task).await?;
        let r = self
            .client
            .send(
                "ReceiptAttester.attestReceipt",
                self.receipts().attestReceipt(
                    task,
                    attester_record(&t.record),
                    attester_claim(&t.result),
                ),
            )
            .await?;
        let ev: ReceiptAttester::ReceiptAttested =
            event(&r, "ReceiptAttester.attestReceipt", "ReceiptAttested")?;
        Ok(ev.uid)
    }

    /// Attests every task finalized since the last flush as one EAS attestation of the
    /// receipt hash chain; returns `(uid, from index, to index)`.
    pub async fn flush_receipts(&self) -> Result<(B256, u64, u64)> {
        let r = self
            .client
            .send(
                "ReceiptAttester.flushReceipts",
                self.receipts().flushReceipts(),
            )
            .await?;
        let ev: ReceiptAttester::ReceiptsAttested =
            event(&r, "ReceiptAttester.flushReceipts", "ReceiptsAttested")?;
        Ok((ev.uid, ev.fromIndex, ev.toIndex))
    }

    /// Registers a new model with its first version, paid for in the TaskManager's token.
    pub async fn publish(&self, m: &ModelCommitments) -> Result<Published> {
        self.publish_paid_in(m, None).await
    }

    /// Registers a new model with its first version; with `fee_token`, the version's fees are
    /// paid in that token through the FeeVault (an ERC-20, or `Address::ZERO` for ETH), set in
    /// the same transaction (`VersionInput.customFee`).
    pub async fn publish_paid_in(
        &self,
        m: &ModelCommitments,
        fee_token: Option<Address>,
    ) -> Result<Published> {
        let input = ModelRegistry::VersionInput {
            packageCid: m.package_cid.clone(),
            packageHash: m.package_hash,
            weightsRoot: m.weights_root,
            graphRoot: m.graph_root,
            semanticsVersion: m.semantics_version,
            metadataUri: m.metadata_uri.clone(),
            zkVerifier: Address::ZERO,
            outputs: m.outputs.iter().map(|o| o.to_sol()).collect(),
            customFee: fee_token.is_some(),
            feeToken: fee_token.unwrap_or(Address::ZERO),
        };
        let r = self
            .client
            .send("ModelRegistry.register", self.registry().register(input))
            .await?;
        let ev: ModelRegistry::VersionRegistered =
            event(&r, "ModelRegistry.register", "VersionRegistered")?;
        Ok(Published {
            model_id: ev.modelId,
            version: ev.version,
            provenance_uid: ev.provenanceUid,
        })
    }

    /// Token balance of `who`.
    pub async fn balance(&self, who: Address) -> Result<U256> {
        self.client
            .call("VouchToken.balanceOf", self.token().balanceOf(who))
            .await
    }

    /// Sends tokens.
    pub async fn transfer(&self, to: Address, amount: U256) -> Result<()> {
        self.client
            .send("VouchToken.transfer", self.token().transfer(to, amount))
            .await?;
        Ok(())
    }

    /// Approves `spender` for at least `amount` (no transaction when already enough).
    pub async fn ensure_allowance(&self, spender: Address, amount: U256) -> Result<()> {
        let me = self.client.sender("approve")?;
        let have = self
            .client
            .call("VouchToken.allowance", self.token().allowance(me, spender))
            .await?;
        if have < amount {
            self.client
                .send("VouchToken.approve", self.token().approve(spender, amount))
                .await?;
        }
        Ok(())
    }

    /// Stakes `amount` (when non-zero) and opts in to `model_id` (when not yet).
    pub async fn join(&self, model_id: u32, amount: u128) -> Result<()> {
        let me = self.client.sender("provider join")?;
        if amount > 0 {
            self.ensure_allowance(self.deployment.contracts.staking, U256::from(amount))
                .await?;
            self.client
                .send("ProviderStaking.stake", self.staking().stake(amount))
                .await?;
        }
        let opted = self
            .client
            .call(
                "ProviderStaking.isOptedIn",
                self.staking().isOptedIn(model_id, me),
            )
            .await?;
        if !opted {
            self.client
                .send("ProviderStaking.optIn", self.staking().optIn(model_id))
                .await?;
        }
        Ok(())
    }

    /// Opts out of `model_id` and, when `unbond`, starts unbonding all free stake.
    pub async fn leave(&self, model_id: u32, unbond: bool) -> Result<U256> {
        let me = self.client.sender("provider leave")?;
        self.client
            .send("ProviderStaking.optOut", self.staking().optOut(model_id))
            .await?;
        let free = self
            .client
            .call("ProviderStaking.freeStake", self.staking().freeStake(me))
            .await?;
        if unbond && !free.is_zero() {
            let amount = u128::try_from(free).map_err(|_| Error::OutOfRange {
                what: "free stake (above uint128)".to_owned(),
            })?;
            self.client
                .send(
                    "ProviderStaking.requestUnbond",
                    self.staking().requestUnbond(amount),
                )
                .await?;
        }
        Ok(free)
    }

    /// A provider's stake record: stake, locked, unbonding, faults, ejection.
    pub async fn provider_info(&self, who: Address) -> Result<ProviderStaking::ProviderInfo> {
        self.client
            .call("ProviderStaking.providers", self.staking().providers(who))
            .await
    }

    /// Requests an inference, escrowing the fee; returns the task id.
    /// A committee request is refused first ([`Error::NoCommittee`]) when the model's
    /// providers could not draw a full committee now.
    pub async fn request(&self, r: &Request) -> Result<U256> {
        if r.mode == Mode::Committee {
            self.require_committee(r.model_id).await?;
        }
        let now = self.latest_timestamp().await?;
        let input = self.request_input(r, now)?;
        self.ensure_allowance(self.deployment.contracts.task_manager, U256::from(r.fee))
            .await?;
        let rc = self
            .client
            .send("TaskManager.request", self.task_manager().request(input))
            .await?;
        let ev: TaskManager::TaskRequested = event(&rc, "TaskManager.request", "TaskRequested")?;
        Ok(ev.taskId)
    }

    /// Requests an inference whose input (`canonical`, the bytes an inline request carries)
    /// travels as EIP-4844 blobs of the request transaction ([`crate::blob`]; the sidecar in the
    /// chain's form, [`Self::sidecar_form`]): `r`'s
    /// `input_cid` and `inline_input` are replaced by the blobs' `blob:` name and nothing. A
    /// committee request is checked as in [`Self::request`]. Returns the task id, the name and
    /// the receipt (its `gasUsed` and `blobGasUsed`).
    pub async fn request_with_blobs(
        &self,
        r: &Request,
        canonical: &[u8],
    ) -> Result<(U256, String, TransactionReceipt)> {
        if r.mode == Mode::Committee {
            self.require_committee(r.model_id).await?;
        }
        let form = self.sidecar_form().await;
        let (hashes, sidecar, sidecar_7594): (Vec<B256>, _, _) = match form {
            SidecarForm::Eip4844 => {
                let s = crate::blob::sidecar(canonical)?;
                (s.versioned_hashes().collect(), Some(s), None)
            }
            SidecarForm::Eip7594 => {
                let s = crate::blob::sidecar_7594(canonical)?;
                (s.versioned_hashes().collect(), None, Some(s))
            }
        };
        let cid = crate::blob::cid_of(&hashes);
        let r = Request {
            input_cid: cid.clone(),
            inline_input: Vec::new(),
            ..r.clone()
        };
        let now = self.latest_timestamp().await?;
        let input = self.request_input(&r, now)?;
        self.ensure_allowance(self.deployment.contracts.task_manager, U256::from(r.fee))
            .await?;
        let blob_fee = self
            .client
            .provider()
            .get_blob_base_fee()
            .await
            .map_err(|e| Error::Rpc {
                call: "eth_blobBaseFee".to_owned(),
                message: e.to_string(),
            })?;
        // twice the current blob base fee: room for it to rise before inclusion
        let tm = self.task_manager();
        let mut call = tm
            .request(input)
            .max_fee_per_blob_gas(blob_fee.saturating_mul(2).max(1));
        if let Some(s) = sidecar {
            call = call.sidecar(s);
        }
        if let Some(s) = sidecar_7594 {
            call = call.sidecar_7594(s);
        }
        let rc = self.client.send("TaskManager.request", call).await?;
        let ev: TaskManager::TaskRequested = event(&rc, "TaskManager.request", "TaskRequested")?;
        Ok((ev.taskId, cid, rc))
    }

    /// The sidecar form this chain's blob transactions take: EIP-7594 (cell proofs) when its
    /// `eth_config` (EIP-7910) lists Osaka's `P256VERIFY` precompile (EIP-7951) in the current
    /// fork, else EIP-4844 (also when the node has no `eth_config`, which came with Osaka).
    pub async fn sidecar_form(&self) -> SidecarForm {
        let config: Result<serde_json::Value> = self.client.raw("eth_config", ()).await;
        match config {
            Ok(c) if c["current"]["precompiles"].get("P256VERIFY").is_some() => {
                SidecarForm::Eip7594
            }
            _ => SidecarForm::Eip4844,
        }
    }

    /// The contract's request struct for `r`, its deadline counted from `now`.
    pub(crate) fn request_input(&self, r: &Request, now: u64) -> Result<TaskManager::RequestInput> {
        let deadline =
            u32::try_from(now + u64::from(r.deadline_secs)).map_err(|_| Error::OutOfRange {
                what: "deadline (past 2106)".to_owned(),
            })?;
        Ok(TaskManager::RequestInput {
            modelId: r.model_id,
            version: r.version,
            mode: r.mode.code(),
            fee: crate::signed::fee88(r.fee)?,
            deadline,
            inputCommitment: r.input_commitment,
            rows: r.rows,
            inputCid: r.input_cid.clone(),
            inlineInput: Bytes::from(r.inline_input.clone()),
            callback: r.callback.map_or(Address::ZERO, |c| c.target),
            callbackGas: r.callback.map_or(0, |c| c.gas),
        })
    }

    /// Posts an optimistic result.
    pub async fn submit(&self, task: U256, output: B256, trace_root: B256) -> Result<()> {
        self.client
            .send(
                "TaskManager.submit",
                self.task_manager().submit(task, output, trace_root),
            )
            .await?;
        Ok(())
    }

    /// Finalizes an optimistic task after its window.
    pub async fn finalize(&self, task: U256) -> Result<()> {
        self.finalize_with_values(task, &[]).await?;
        Ok(())
    }

    /// Finalizes an optimistic task after its window and, with non-empty `values` (the task's
    /// integer outputs, every output in package order), delivers them to the task's callback
    /// in the same transaction; the TaskManager refuses values that do not open the output
    /// commitment. Returns the receipt.
    pub async fn finalize_with_values(
        &self,
        task: U256,
        values: &[i32],
    ) -> Result<TransactionReceipt> {
        let t = self.task(task).await?;
        self.client
            .send(
                "TaskManager.finalize",
                self.task_manager()
                    .finalize(task, t.record, t.result, values.to_vec()),
            )
            .await
    }

    /// Delivers a finalized task's values to its callback (once per task; anyone holding the
    /// values may). Returns the receipt.
    pub async fn deliver(&self, task: U256, values: &[i32]) -> Result<TransactionReceipt> {
        let t = self.task(task).await?;
        self.client
            .send(
                "TaskManager.deliver",
                self.task_manager()
                    .deliver(task, t.record, t.result, values.to_vec()),
            )
            .await
    }

    /// Confirms a flagged task's audit with the same output and trace root (the caller is paid
    /// `auditReward` when the audit window ends unchallenged; a confirmation does not close it).
    pub async fn confirm_audit(&self, task: U256, output: B256, trace_root: B256) -> Result<()> {
        let t = self.task(task).await?;
        let mine = Claim {
            output,
            traceRoot: trace_root,
        };
        self.client
            .send(
                "TaskManager.confirmAudit",
                self.task_manager().confirmAudit(task, t.record, mine),
            )
            .await?;
        Ok(())
    }

    /// Challenges a flagged task's result in its audit window with the caller's own output and
    /// trace root, posting the challenger bond; returns the dispute id.
    pub async fn challenge_audit(
        &self,
        task: U256,
        output: B256,
        trace_root: B256,
    ) -> Result<U256> {
        const WHAT: &str = "TaskManager.challengeAudit";
        self.approve_challenger_bond().await?;
        let t = self.task(task).await?;
        let mine = Claim {
            output,
            traceRoot: trace_root,
        };
        let tm = self.task_manager();
        let rc = self
            .client
            .send(WHAT, tm.challengeAudit(task, t.record, t.result, mine))
            .await?;
        Ok(event::<TaskManager::Challenged>(&rc, WHAT, "Challenged")?.disputeId)
    }

    /// Closes an unchallenged audit after its window: the provider's bond is released and the
    /// confirmer, if any, paid.
    pub async fn close_audit(&self, task: U256) -> Result<()> {
        self.client
            .send(
                "TaskManager.closeAudit",
                self.task_manager().closeAudit(task),
            )
            .await?;
        Ok(())
    }

    /// Adds `amount` to the audit pool that pays auditors (`auditReward` per audit).
    pub async fn fund_audit_pool(&self, amount: u128) -> Result<()> {
        let amount = U256::from(amount);
        self.ensure_allowance(self.deployment.contracts.task_manager, amount)
            .await?;
        self.client
            .send(
                "TaskManager.fundAuditPool",
                self.task_manager().fundAuditPool(amount),
            )
            .await?;
        Ok(())
    }

    /// The first confirmer of a task's audit (zero when none).
    pub async fn auditor_of(&self, task: U256) -> Result<Address> {
        self.client
            .call("TaskManager.auditors", self.task_manager().auditors(task))
            .await
    }

    /// Challenges an optimistic result with the caller's own output and trace root, posting
    /// the challenger bond; returns the dispute id.
    pub async fn challenge(&self, task: U256, output: B256, trace_root: B256) -> Result<U256> {
        const WHAT: &str = "TaskManager.challenge";
        self.approve_challenger_bond().await?;
        let t = self.task(task).await?;
        let mine = Claim {
            output,
            traceRoot: trace_root,
        };
        let tm = self.task_manager();
        let rc = self
            .client
            .send(WHAT, tm.challenge(task, t.record, t.result, mine))
            .await?;
        Ok(event::<TaskManager::Challenged>(&rc, WHAT, "Challenged")?.disputeId)
    }

    /// Approves the TaskManager for the challenger bond (no transaction when already enough).
    async fn approve_challenger_bond(&self) -> Result<()> {
        let params = self
            .client
            .call("TaskManager.getParams", self.task_manager().getParams())
            .await?;
        self.ensure_allowance(
            self.deployment.contracts.task_manager,
            U256::from(params.challengerBond),
        )
        .await
    }

    /// Deposits `amount` into the caller's TaskManager balance (approving it first when
    /// needed): the fee of a later request of the caller is taken from that balance when it
    /// covers it, with no token transfer.
    pub async fn deposit(&self, amount: u128) -> Result<()> {
        let amount = U256::from(amount);
        self.ensure_allowance(self.deployment.contracts.task_manager, amount)
            .await?;
        self.client
            .send("TaskManager.deposit", self.task_manager().deposit(amount))
            .await?;
        Ok(())
    }

    /// Withdraws the caller's credited balance from the task manager.
    pub async fn withdraw(&self) -> Result<()> {
        self.client
            .send("TaskManager.withdraw", self.task_manager().withdraw())
            .await?;
        Ok(())
    }

    /// Credited (withdrawable) balance of `who` in the task manager.
    pub async fn credits(&self, who: Address) -> Result<U256> {
        self.client
            .call("TaskManager.balances", self.task_manager().balances(who))
            .await
    }

    /// Rows of a task's input (1 unless it asked for more), from its record.
    pub async fn task_rows(&self, task: U256) -> Result<u16> {
        Ok(self.task(task).await?.rows)
    }

    /// The dispute id open on a task (0 when none), from its `Challenged` event.
    pub async fn dispute_of(&self, task: U256) -> Result<U256> {
        use alloy::providers::Provider;
        let filter = alloy::rpc::types::Filter::new()
            .address(self.deployment.contracts.task_manager)
            .event_signature(TaskManager::Challenged::SIGNATURE_HASH)
            .topic1(B256::from(task))
            .from_block(self.deployment.block);
        let logs = self.p().get_logs(&filter).await.map_err(|e| Error::Rpc {
            call: "eth_getLogs".to_owned(),
            message: e.to_string(),
        })?;
        let last = logs
            .iter()
            .filter_map(|l| l.log_decode::<TaskManager::Challenged>().ok())
            .last();
        Ok(last.map_or(U256::ZERO, |l| l.inner.data.disputeId))
    }

    /// Timestamp of the latest block.
    pub async fn latest_timestamp(&self) -> Result<u64> {
        use alloy::providers::Provider;
        let b = self
            .p()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| Error::Rpc {
                call: "eth_getBlockByNumber".to_owned(),
                message: e.to_string(),
            })?
            .ok_or_else(|| Error::Rpc {
                call: "eth_getBlockByNumber".to_owned(),
                message: "no latest block".to_owned(),
            })?;
        Ok(b.header.timestamp)
    }
}

/// The first `E` event in a receipt.
pub fn event<E: SolEvent>(r: &TransactionReceipt, call: &str, name: &'static str) -> Result<E> {
    r.inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<E>().ok())
        .map(|l| l.inner.data)
        .ok_or_else(|| Error::MissingEvent {
            call: call.to_owned(),
            event: name,
        })
}

/// A record as the ReceiptAttester's binding names the type.
pub(crate) fn attester_record(r: &TaskRecord) -> ReceiptAttester::TaskRecord {
    crate::convert_record!(r, ReceiptAttester::TaskRecord)
}

/// A claim as the ReceiptAttester's binding names the type.
pub(crate) fn attester_claim(c: &Claim) -> ReceiptAttester::Claim {
    ReceiptAttester::Claim {
        output: c.output,
        traceRoot: c.traceRoot,
    }
}
