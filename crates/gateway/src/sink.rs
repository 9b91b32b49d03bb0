//! Where accepted tasks go. [`TaskSink`] is the seam to the chain: the chain crate implements
//! it by calling `TaskManager.request` (fees from the gateway's deposit for the identity);
//! [`JournalSink`] is the in-process implementation used by tests and the local network,
//! backed by the node's job journal and blob store.

use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use vouch_chain::alloy::primitives::{Address, U256};
use vouch_chain::signed::SignedRequest;
use vouch_journal::{Journal, NewTask, TaskRecord, TaskState};
use vouch_primitives::Cid;
use vouch_store::Store;

/// A boxed, sendable future (keeps [`TaskSink`] object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The verification mode of a request (its wire names: `zk`, `optimistic`, `committee`).
pub use vouch_task::Mode;

/// A validated task request.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRequest {
    /// The requester's `did:pkh`.
    pub requester: String,
    /// The model package.
    pub model: Cid,
    /// The input JSON, exactly as it will be stored (its CID is `input_cid`).
    pub input_bytes: Vec<u8>,
    /// The CID of `input_bytes`.
    pub input_cid: Cid,
    /// Verification mode.
    pub mode: Mode,
    /// The most the requester pays, in base units.
    pub max_fee: u128,
}

/// A task as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskView {
    /// Task id.
    pub id: String,
    /// Requester `did:pkh`.
    pub requester: String,
    /// Model CID.
    pub model: String,
    /// Input CID.
    pub input_cid: String,
    /// Mode.
    pub mode: String,
    /// Max fee (decimal string).
    pub max_fee: String,
    /// State (`accepted`, `executed`, `submitted`, `finalized`, …).
    pub status: String,
    /// Whether the status is final.
    pub terminal: bool,
    /// Output CID, once known.
    pub output_cid: Option<String>,
    /// Output/trace commitment, once known.
    pub commitment: Option<String>,
    /// Last detail (transaction hash, receipt attestation uid, error).
    pub detail: Option<String>,
}

/// One step of a task, for the event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// Increasing sequence number (the SSE `id`).
    pub seq: u64,
    /// The state entered.
    pub status: String,
    /// Whether the state is final.
    pub terminal: bool,
    /// Detail.
    pub detail: Option<String>,
    /// Unix milliseconds.
    pub at_ms: u64,
}

/// Why a sink could not serve a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The backing service (journal, chain RPC) failed.
    #[error("task backend unavailable: {0}")]
    Unavailable(String),
    /// The backend refused the request; the client must change it (HTTP 422).
    #[error("task rejected: {0}")]
    Rejected(Rejection),
}

/// Why a task was refused before it was accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The model package is not in the gateway's blob store.
    #[error("model package {model} is not in this gateway's store: {reason}")]
    ModelNotStored {
        /// The package CID.
        model: String,
        /// What the store reported.
        reason: String,
    },
    /// The model package does not load (or the engine refuses it).
    #[error("model package {model}: {reason}")]
    BadPackage {
        /// The package CID.
        model: String,
        /// Why it does not load.
        reason: String,
    },
    /// No registered model version has this package CID.
    #[error("model {model} is not registered: no ModelRegistry version has this package CID")]
    NotRegistered {
        /// The package CID.
        model: String,
    },
    /// The model version exists but is not active (frozen or retired).
    #[error("model {model} (model {model_id} version {version}) is not active on-chain")]
    NotActive {
        /// The package CID.
        model: String,
        /// The registry's model id.
        model_id: String,
        /// The version.
        version: String,
    },
    /// The model version does not fit a task's `uint16` version field.
    #[error("model {model}: version {version} exceeds uint16")]
    VersionTooLarge {
        /// The package CID.
        model: String,
        /// The version.
        version: String,
    },
    /// The input is not JSON, or does not fit the model's inputs.
    #[error("{reason}")]
    BadInput {
        /// What is wrong with it.
        reason: String,
    },
    /// A zk task proves one row; the input has more.
    #[error("a zk task proves one row: this input has {rows}; send one row per task")]
    ZkNeedsOneRow {
        /// The input's rows.
        rows: usize,
    },
    /// The package holds an op the requested mode cannot check (no circuit or one-step
    /// verifier for it yet).
    #[error("{0}")]
    ModeUnsupported(#[from] vouch_task::modes::ModeUnsupported),
    /// More rows than a task can hold (`uint16`).
    #[error("{rows} rows exceed a task's limit of {}", u16::MAX)]
    TooManyRows {
        /// The input's rows.
        rows: usize,
    },
    /// The contract refused the request (its decoded revert), or the client refused to send
    /// it (a committee task no committee could be drawn for).
    #[error("{reason}")]
    Reverted {
        /// The decoded revert, with the call.
        reason: String,
    },
    /// A client-signed request the gateway refuses to forward.
    #[error("{0}")]
    Signed(#[from] SignedRefusal),
}

/// Why a client-signed request (`POST /tasks/signed`) was refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignedRefusal {
    /// The sink has no chain to forward to.
    #[error("this gateway does not forward client-signed requests (it is not on a chain)")]
    Unsupported,
    /// The signature's expiry has passed.
    #[error("the signature expired at unix {expiry}; the chain is at unix {now}: sign again")]
    Expired {
        /// The signed expiry.
        expiry: String,
        /// The latest block's timestamp.
        now: u64,
    },
    /// The task's submission deadline has passed.
    #[error("the task deadline unix {deadline} has passed; the chain is at unix {now}")]
    DeadlinePassed {
        /// The signed deadline.
        deadline: u32,
        /// The latest block's timestamp.
        now: u64,
    },
    /// The nonce was used (or cancelled) already.
    #[error("nonce {nonce} of {client} is already used or cancelled: sign with a fresh nonce")]
    NonceUsed {
        /// The client.
        client: String,
        /// The nonce.
        nonce: String,
    },
    /// The signature is not the client's.
    #[error("the signature is not {client}'s: {reason}")]
    BadSignature {
        /// The client the request names.
        client: String,
        /// What recovery found.
        reason: String,
    },
    /// The request names another token than the version's fee token.
    #[error(
        "model {model_id} version {version} takes fees in {expected}, the request signs for {got}"
    )]
    WrongFeeToken {
        /// The model.
        model_id: u32,
        /// The version.
        version: u16,
        /// The version's fee token.
        expected: String,
        /// The token signed for.
        got: String,
    },
    /// The version takes ETH fees, which a signature cannot move.
    #[error(
        "model {model_id} version {version} takes fees in ETH: the client sends them itself with FeeVault.request"
    )]
    EthFee {
        /// The model.
        model_id: u32,
        /// The version.
        version: u16,
    },
    /// The fee is zero.
    #[error("the fee must be positive")]
    ZeroFee,
    /// A signed field differs from what the posted input gives.
    #[error("the signed request does not match the posted input: {what}")]
    InputMismatch {
        /// The field and both values.
        what: String,
    },
}

impl SignedRefusal {
    /// The stable error code of the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsupported => "signed_unsupported",
            Self::Expired { .. } => "signature_expired",
            Self::DeadlinePassed { .. } => "deadline_passed",
            Self::NonceUsed { .. } => "nonce_used",
            Self::BadSignature { .. } => "bad_signature",
            Self::WrongFeeToken { .. } => "wrong_fee_token",
            Self::EthFee { .. } => "eth_fee_unsigned",
            Self::ZeroFee => "invalid_fee",
            Self::InputMismatch { .. } => "input_mismatch",
        }
    }

    /// The HTTP status of the refusal: 401 for a signature that is not the client's, 409 for a
    /// used nonce, 501 for a gateway without a chain, else 422.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unsupported => 501,
            Self::BadSignature { .. } => 401,
            Self::NonceUsed { .. } => 409,
            _ => 422,
        }
    }
}

/// A client-signed request as the gateway received it (`POST /tasks/signed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTask {
    /// The client's `did:pkh` (the task's requester in the API).
    pub requester: String,
    /// The input JSON, exactly as stored (its CID is `input_cid`).
    pub input_bytes: Vec<u8>,
    /// The CID of `input_bytes`.
    pub input_cid: Cid,
    /// The signed request.
    pub request: SignedRequest,
}

/// What a client asks to sign (`POST /tasks/signed/draft`).
#[derive(Debug, Clone, PartialEq)]
pub struct DraftRequest {
    /// The model package.
    pub model: Cid,
    /// The input JSON.
    pub input_bytes: Vec<u8>,
    /// Verification mode.
    pub mode: Mode,
    /// The fee, in the version's fee token's base units.
    pub fee: u128,
    /// The client that will sign.
    pub client: Address,
    /// The client's nonce.
    pub nonce: U256,
    /// Seconds the signature stays valid.
    pub expiry_secs: u64,
}

/// The request a client signs, with what it needs to sign it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedDraft {
    /// The request (signature empty): the EIP-712 `Request` message.
    pub request: SignedRequest,
    /// The EIP-712 domain (`name`, `version`, `chainId`, `verifyingContract`).
    pub domain: serde_json::Value,
    /// The account a fee permit (EIP-2612) must name as spender.
    pub permit_spender: Address,
}

/// Accepts tasks and reports on them.
pub trait TaskSink: Send + Sync + 'static {
    /// Accepts a validated task; returns its view (with its id).
    fn submit(&self, req: TaskRequest) -> BoxFuture<'_, Result<TaskView, SinkError>>;
    /// The task `id`, if known.
    fn task(&self, id: &str) -> BoxFuture<'_, Result<Option<TaskView>, SinkError>>;
    /// The task's events after sequence number `after`.
    fn events(&self, id: &str, after: u64) -> BoxFuture<'_, Result<Vec<EventView>, SinkError>>;
    /// The bytes of blob `cid` from the sink's store (a settled task's output JSON, served at
    /// `/tasks/{id}/output`); none when the store does not hold it.
    fn blob(&self, cid: &Cid) -> BoxFuture<'_, Result<Option<Vec<u8>>, SinkError>>;
    /// Task counts by status (for metrics); empty if unknown.
    fn counts(&self) -> BoxFuture<'_, Vec<(String, u64)>> {
        Box::pin(async { Vec::new() })
    }
    /// The journal behind the sink, where the gateway keeps its spend reservations so that
    /// a restart keeps every identity's cap; none keeps them in memory.
    fn spend_ledger(&self) -> Option<Arc<Journal>> {
        None
    }
    /// Why the backend cannot serve right now (a dead RPC endpoint, a lost chain), if it
    /// cannot; `/health` answers 503 with it.
    fn health(&self) -> Option<String> {
        None
    }
    /// The request a client signs for `d` (`POST /tasks/signed/draft`); a sink without a chain
    /// refuses ([`SignedRefusal::Unsupported`]).
    fn draft_signed(&self, _d: DraftRequest) -> BoxFuture<'_, Result<SignedDraft, SinkError>> {
        Box::pin(async { Err(SinkError::Rejected(SignedRefusal::Unsupported.into())) })
    }
    /// Checks and forwards a client-signed request (`POST /tasks/signed`); returns its view.
    /// A sink without a chain refuses ([`SignedRefusal::Unsupported`]).
    fn submit_signed(&self, _t: SignedTask) -> BoxFuture<'_, Result<TaskView, SinkError>> {
        Box::pin(async { Err(SinkError::Rejected(SignedRefusal::Unsupported.into())) })
    }
}

/// The in-process sink: input bytes go into the blob store, the task into the journal in state
/// `accepted`, where a local node picks it up.
#[derive(Debug, Clone)]
pub struct JournalSink {
    journal: Arc<Journal>,
    store: Store,
}

impl JournalSink {
    /// A sink over `journal` and `store`.
    pub fn new(journal: Arc<Journal>, store: Store) -> Self {
        Self { journal, store }
    }

    /// The journal (a local node drives tasks on through it).
    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }
}

fn view(r: TaskRecord) -> TaskView {
    TaskView {
        id: r.task.id,
        requester: r.task.requester,
        model: r.task.model_cid,
        input_cid: r.task.input_cid,
        mode: r.task.mode,
        max_fee: r.task.max_fee,
        status: r.state.as_str().to_owned(),
        terminal: r.state.is_terminal(),
        output_cid: r.output_cid,
        commitment: r.commitment,
        detail: r.detail,
    }
}

fn unavailable(e: impl std::fmt::Display) -> SinkError {
    SinkError::Unavailable(e.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SinkError> + Send + 'static,
) -> Result<T, SinkError> {
    tokio::task::spawn_blocking(f).await.map_err(unavailable)?
}

/// Reads blob `cid` from `store` off the async runtime; a missing blob is `None`.
pub(crate) async fn read_blob(store: Store, cid: Cid) -> Result<Option<Vec<u8>>, SinkError> {
    blocking(move || match store.get(&cid) {
        Ok(b) => Ok(Some(b)),
        Err(vouch_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(unavailable(e)),
    })
    .await
}

impl TaskSink for JournalSink {
    fn spend_ledger(&self) -> Option<Arc<Journal>> {
        Some(self.journal.clone())
    }

    fn submit(&self, req: TaskRequest) -> BoxFuture<'_, Result<TaskView, SinkError>> {
        let this = self.clone();
        Box::pin(blocking(move || {
            let stored = this.store.put(&req.input_bytes).map_err(unavailable)?;
            if stored != req.input_cid {
                return Err(SinkError::Unavailable("input CID mismatch".into()));
            }
            let mut raw = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
            let id = vouch_primitives::hex0x(&raw);
            let task = NewTask {
                id: id.clone(),
                requester: req.requester,
                model_cid: req.model.to_string(),
                input_cid: req.input_cid.to_string(),
                mode: req.mode.as_str().to_owned(),
                max_fee: req.max_fee.to_string(),
            };
            this.journal.accept(&task).map_err(unavailable)?;
            this.journal
                .task(&id)
                .map_err(unavailable)?
                .map(view)
                .ok_or_else(|| SinkError::Unavailable("task vanished after accept".into()))
        }))
    }

    fn task(&self, id: &str) -> BoxFuture<'_, Result<Option<TaskView>, SinkError>> {
        let (j, id) = (self.journal.clone(), id.to_owned());
        Box::pin(blocking(move || {
            Ok(j.task(&id).map_err(unavailable)?.map(view))
        }))
    }

    fn events(&self, id: &str, after: u64) -> BoxFuture<'_, Result<Vec<EventView>, SinkError>> {
        let (j, id) = (self.journal.clone(), id.to_owned());
        Box::pin(blocking(move || {
            Ok(j.events(Some(&id), after, 1000)
                .map_err(unavailable)?
                .into_iter()
                .map(|e| EventView {
                    seq: e.seq,
                    status: e.state.as_str().to_owned(),
                    terminal: e.state.is_terminal(),
                    detail: e.detail,
                    at_ms: e.at_ms,
                })
                .collect())
        }))
    }

    fn blob(&self, cid: &Cid) -> BoxFuture<'_, Result<Option<Vec<u8>>, SinkError>> {
        Box::pin(read_blob(self.store.clone(), *cid))
    }

    fn counts(&self) -> BoxFuture<'_, Vec<(String, u64)>> {
        let j = self.journal.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || j.counts().unwrap_or_default())
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|(s, n): (TaskState, u64)| (s.as_str().to_owned(), n))
                .collect()
        })
    }
}
