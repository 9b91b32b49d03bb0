//! The node's persistent job journal, on embedded SQLite (WAL mode, `synchronous = FULL`).
//!
//! A node records every task it accepts and every step it takes, so that after a crash or a
//! restart it resumes each unfinished task ([`Journal::resumable`]) and each open dispute
//! ([`Journal::open_disputes`]). Every write is one transaction, and every transition is
//! idempotent: replaying an event the journal already applied is a no-op, which is what makes
//! "re-read the chain from the last confirmed block and apply everything again" safe.
//!
//! Task states (terminal states in capitals):
//!
//! ```text
//! accepted -> executed -> submitted ---------------> FINALIZED
//!    |           |            \-> disputed -> FINALIZED | SLASHED
//!    |           \-> committed -> revealed -> FINALIZED | disputed
//!    \-> FAILED | CANCELLED  (also from executed, committed)
//! committed -> SLASHED (never revealed) | disputed (another member's reveal disagreed);
//! revealed, disputed -> FAILED (task refunded)
//! ```
//!
//! | item | holds |
//! |---|---|
//! | [`Journal`] | the journal (`Send + Sync`) over a [`Backend`]: [`Sqlite`] by default |
//! | [`TaskState`], [`Transition`] | the state machine and the outcome of applying a step |
//! | [`NewTask`], [`TaskRecord`], [`TaskEvent`] | what is recorded per task |
//! | [`Dispute`], [`DisputeState`] | disputes the node is party to |

#![forbid(unsafe_code)]
mod sqlite;
mod state;

pub use state::TaskState;

use serde::{Deserialize, Serialize};
use std::path::Path;

pub use sqlite::Sqlite;

/// The schema version this crate writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// Everything that can go wrong in the journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage failed: the disk is full (`full`), the file is locked, unreadable or
    /// damaged. Nothing of the failed step was written.
    #[error("journal storage: {message}")]
    Storage {
        /// The storage engine's message.
        message: String,
        /// The disk (or the database's size limit) is full: retry once space is freed.
        full: bool,
    },
    /// The database was written by a newer vouch.
    #[error("journal schema version {found} is newer than this build's {SCHEMA_VERSION}")]
    Schema {
        /// The version found on disk.
        found: i64,
    },
    /// No task with this id.
    #[error("task {id} is not in the journal")]
    UnknownTask {
        /// The task id.
        id: String,
    },
    /// No dispute with this id.
    #[error("dispute {id} is not in the journal")]
    UnknownDispute {
        /// The dispute id.
        id: String,
    },
    /// A task id was accepted twice with different contents.
    #[error("task {id} was already accepted with different parameters")]
    Conflict {
        /// The task id.
        id: String,
    },
    /// The step is not allowed from the task's current state.
    #[error("task {id}: cannot go from {from} to {to}")]
    InvalidTransition {
        /// The task id.
        id: String,
        /// Its current state.
        from: TaskState,
        /// The state asked for.
        to: TaskState,
    },
    /// A stored value does not parse (the file was edited or corrupted).
    #[error("journal row for {id} holds an unknown {field}: {value:?}")]
    Corrupt {
        /// The task or dispute id.
        id: String,
        /// The column.
        field: &'static str,
        /// The value found.
        value: String,
    },
}

/// SQLite's errors become [`Error::Storage`], so callers never name the storage engine.
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        let full = matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DiskFull));
        Self::Storage {
            message: e.to_string(),
            full,
        }
    }
}

/// The journal's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A task as accepted by the node or the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    /// The task id (the on-chain id as `0x…` hex, or a local id).
    pub id: String,
    /// Who asked (a `did:pkh` or an address).
    pub requester: String,
    /// The model package's CID.
    pub model_cid: String,
    /// The input's CID (the JSON input stored in the blob store).
    pub input_cid: String,
    /// `zk`, `optimistic` or `committee`.
    pub mode: String,
    /// The most the requester pays, in the token's base units (decimal string).
    pub max_fee: String,
}

/// A task and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// What was accepted.
    #[serde(flatten)]
    pub task: NewTask,
    /// The current state.
    pub state: TaskState,
    /// The output's CID, once executed.
    pub output_cid: Option<String>,
    /// The output/trace commitment (`0x…`), once executed.
    pub commitment: Option<String>,
    /// The last detail recorded (transaction hash, error message, …).
    pub detail: Option<String>,
    /// How many times the task was resumed after a restart.
    pub resumes: u32,
    /// Unix milliseconds when accepted.
    pub created_ms: u64,
    /// Unix milliseconds of the last change.
    pub updated_ms: u64,
}

/// One step in a task's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskEvent {
    /// Increasing per journal (usable as an SSE event id).
    pub seq: u64,
    /// The task.
    pub task_id: String,
    /// The state entered.
    pub state: TaskState,
    /// What happened (transaction hash, error, …).
    pub detail: Option<String>,
    /// Unix milliseconds.
    pub at_ms: u64,
}

/// Data recorded with a step; all fields optional, only set fields overwrite.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepData {
    /// The output's CID.
    pub output_cid: Option<String>,
    /// The output/trace commitment.
    pub commitment: Option<String>,
    /// Free text: a transaction hash, an error message.
    pub detail: Option<String>,
}

/// What applying a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The task moved to the new state.
    Applied,
    /// The task was already in that state: nothing changed.
    Unchanged,
    /// The task is already past that state (an old event replayed): nothing changed.
    Stale,
}

/// Where a dispute stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeState {
    /// Still being played.
    Open,
    /// This node's side won.
    Won,
    /// This node's side lost.
    Lost,
}

impl DisputeState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Self::Open,
            "won" => Self::Won,
            "lost" => Self::Lost,
            _ => return None,
        })
    }
}

/// A dispute the node is party to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    /// The dispute id (on-chain).
    pub id: String,
    /// The disputed task.
    pub task_id: String,
    /// `challenger` or `defender`.
    pub role: String,
    /// Where it stands.
    pub state: DisputeState,
    /// Protocol progress the node needs to resume (e.g. the bisection step), as JSON text.
    pub progress: String,
    /// Unix milliseconds of the last change.
    pub updated_ms: u64,
}

/// Where a journal keeps its records. [`Journal`] calls only these methods, so another
/// database (a server one for a fleet of gateways) is one `impl Backend` away and no caller
/// changes. Every method is one transaction; a step the state machine refuses is
/// [`Error::InvalidTransition`], and replaying an applied step is a no-op
/// ([`Transition::Unchanged`]).
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// A node-level value (e.g. the last block whose events were applied), if set.
    fn meta(&self, key: &str) -> Result<Option<String>>;

    /// Sets a node-level value.
    fn set_meta(&self, key: &str, value: &str) -> Result<()>;

    /// Reserves `fee` (base units) against `identity`'s spend `cap`, durably: `Ok(Err(left))`
    /// with what is left when the reservation would pass the cap (nothing is reserved then).
    fn reserve_spend(
        &self,
        identity: &str,
        fee: u128,
        cap: u128,
    ) -> Result<std::result::Result<(), u128>>;

    /// Returns `fee` of a reservation of `identity` (a task that was not created).
    fn release_spend(&self, identity: &str, fee: u128) -> Result<()>;

    /// What `identity` has reserved so far.
    fn spent(&self, identity: &str) -> Result<u128>;

    /// The SQLite journal mode in force (`wal` on disk).
    fn journal_mode(&self) -> Result<String>;

    /// Records an accepted task in state `accepted`. Returns `true` if it was new, `false` if
    /// the same task was already recorded; a different task under the same id is
    /// [`Error::Conflict`].
    fn accept(&self, t: &NewTask) -> Result<bool>;

    /// Moves task `id` to `to`, recording `data`. Idempotent: a step to the current state is
    /// [`Transition::Unchanged`], a step to a state the task is already past is
    /// [`Transition::Stale`]; neither writes anything. Any other disallowed step is
    /// [`Error::InvalidTransition`].
    fn transition(&self, id: &str, to: TaskState, data: &StepData) -> Result<Transition>;

    /// The task `id`, if recorded.
    fn task(&self, id: &str) -> Result<Option<TaskRecord>>;

    /// Tasks, newest first, optionally only those of `requester`, at most `limit`.
    fn tasks(&self, requester: Option<&str>, limit: u32) -> Result<Vec<TaskRecord>>;

    /// Every task not in a terminal state, oldest first, and counts one more resume for each.
    /// Call once at start-up, then drive each task on from its state.
    fn resume(&self) -> Result<Vec<TaskRecord>>;

    /// Every task not in a terminal state, oldest first (read only).
    fn resumable(&self) -> Result<Vec<TaskRecord>>;

    /// Events after sequence number `after` (0 = from the start), for one task or all.
    fn events(&self, task_id: Option<&str>, after: u64, limit: u32) -> Result<Vec<TaskEvent>>;

    /// Records a dispute as open (idempotent: an existing dispute is left as it is).
    /// Returns `true` if it was new.
    fn open_dispute(&self, id: &str, task_id: &str, role: &str) -> Result<bool>;

    /// Saves a dispute's protocol progress (JSON text) so a restart continues from it.
    fn dispute_progress(&self, id: &str, progress: &str) -> Result<()>;

    /// Closes a dispute as won or lost (idempotent: closing a closed dispute changes nothing).
    fn close_dispute(&self, id: &str, outcome: DisputeState) -> Result<Transition>;

    /// The dispute `id`, if recorded.
    fn dispute(&self, id: &str) -> Result<Option<Dispute>>;

    /// Every open dispute, oldest first.
    fn open_disputes(&self) -> Result<Vec<Dispute>>;

    /// Counts of tasks per state (for metrics).
    fn counts(&self) -> Result<Vec<(TaskState, u64)>>;

    /// Checkpoints the WAL into the main file (optional; SQLite also does it on its own).
    fn checkpoint(&self) -> Result<()>;
}

impl Backend for sqlite::Sqlite {
    fn meta(&self, key: &str) -> Result<Option<String>> {
        sqlite::Sqlite::meta(self, key)
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        sqlite::Sqlite::set_meta(self, key, value)
    }

    fn reserve_spend(
        &self,
        identity: &str,
        fee: u128,
        cap: u128,
    ) -> Result<std::result::Result<(), u128>> {
        sqlite::Sqlite::reserve_spend(self, identity, fee, cap)
    }

    fn release_spend(&self, identity: &str, fee: u128) -> Result<()> {
        sqlite::Sqlite::release_spend(self, identity, fee)
    }

    fn spent(&self, identity: &str) -> Result<u128> {
        sqlite::Sqlite::spent(self, identity)
    }

    fn journal_mode(&self) -> Result<String> {
        sqlite::Sqlite::journal_mode(self)
    }

    fn accept(&self, t: &NewTask) -> Result<bool> {
        sqlite::Sqlite::accept(self, t)
    }

    fn transition(&self, id: &str, to: TaskState, data: &StepData) -> Result<Transition> {
        sqlite::Sqlite::transition(self, id, to, data)
    }

    fn task(&self, id: &str) -> Result<Option<TaskRecord>> {
        sqlite::Sqlite::task(self, id)
    }

    fn tasks(&self, requester: Option<&str>, limit: u32) -> Result<Vec<TaskRecord>> {
        sqlite::Sqlite::tasks(self, requester, limit)
    }

    fn resume(&self) -> Result<Vec<TaskRecord>> {
        sqlite::Sqlite::resume(self)
    }

    fn resumable(&self) -> Result<Vec<TaskRecord>> {
        sqlite::Sqlite::resumable(self)
    }

    fn events(&self, task_id: Option<&str>, after: u64, limit: u32) -> Result<Vec<TaskEvent>> {
        sqlite::Sqlite::events(self, task_id, after, limit)
    }

    fn open_dispute(&self, id: &str, task_id: &str, role: &str) -> Result<bool> {
        sqlite::Sqlite::open_dispute(self, id, task_id, role)
    }

    fn dispute_progress(&self, id: &str, progress: &str) -> Result<()> {
        sqlite::Sqlite::dispute_progress(self, id, progress)
    }

    fn close_dispute(&self, id: &str, outcome: DisputeState) -> Result<Transition> {
        sqlite::Sqlite::close_dispute(self, id, outcome)
    }

    fn dispute(&self, id: &str) -> Result<Option<Dispute>> {
        sqlite::Sqlite::dispute(self, id)
    }

    fn open_disputes(&self) -> Result<Vec<Dispute>> {
        sqlite::Sqlite::open_disputes(self)
    }

    fn counts(&self) -> Result<Vec<(TaskState, u64)>> {
        sqlite::Sqlite::counts(self)
    }

    fn checkpoint(&self) -> Result<()> {
        sqlite::Sqlite::checkpoint(self)
    }
}

/// The job journal: the state machine over a [`Backend`] (SQLite unless another is given).
#[derive(Debug)]
pub struct Journal {
    backend: Box<dyn Backend>,
}

impl Journal {
    /// Opens (creating if needed) the SQLite journal at `path`, in WAL mode.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self::with_backend(sqlite::Sqlite::open(path)?))
    }

    /// An in-memory SQLite journal (tests, ephemeral gateways).
    pub fn in_memory() -> Result<Self> {
        Ok(Self::with_backend(sqlite::Sqlite::in_memory()?))
    }

    /// A journal over any backend.
    pub fn with_backend(backend: impl Backend + 'static) -> Self {
        Self {
            backend: Box::new(backend),
        }
    }

    /// A node-level value (e.g. the last block whose events were applied), if set.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.backend.meta(key)
    }

    /// Sets a node-level value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.backend.set_meta(key, value)
    }

    /// Reserves `fee` (base units) against `identity`'s spend `cap`, durably: `Ok(Err(left))`
    /// with what is left when the reservation would pass the cap (nothing is reserved then).
    pub fn reserve_spend(
        &self,
        identity: &str,
        fee: u128,
        cap: u128,
    ) -> Result<std::result::Result<(), u128>> {
        self.backend.reserve_spend(identity, fee, cap)
    }

    /// Returns `fee` of a reservation of `identity` (a task that was not created).
    pub fn release_spend(&self, identity: &str, fee: u128) -> Result<()> {
        self.backend.release_spend(identity, fee)
    }

    /// What `identity` has reserved so far.
    pub fn spent(&self, identity: &str) -> Result<u128> {
        self.backend.spent(identity)
    }

    /// The SQLite journal mode in force (`wal` on disk).
    pub fn journal_mode(&self) -> Result<String> {
        self.backend.journal_mode()
    }

    /// Records an accepted task in state `accepted`. Returns `true` if it was new, `false` if
    /// the same task was already recorded; a different task under the same id is
    /// [`Error::Conflict`].
    pub fn accept(&self, t: &NewTask) -> Result<bool> {
        self.backend.accept(t)
    }

    /// Moves task `id` to `to`, recording `data`. Idempotent: a step to the current state is
    /// [`Transition::Unchanged`], a step to a state the task is already past is
    /// [`Transition::Stale`]; neither writes anything. Any other disallowed step is
    /// [`Error::InvalidTransition`].
    pub fn transition(&self, id: &str, to: TaskState, data: &StepData) -> Result<Transition> {
        self.backend.transition(id, to, data)
    }

    /// The task `id`, if recorded.
    pub fn task(&self, id: &str) -> Result<Option<TaskRecord>> {
        self.backend.task(id)
    }

    /// Tasks, newest first, optionally only those of `requester`, at most `limit`.
    pub fn tasks(&self, requester: Option<&str>, limit: u32) -> Result<Vec<TaskRecord>> {
        self.backend.tasks(requester, limit)
    }

    /// Every task not in a terminal state, oldest first, and counts one more resume for each.
    /// Call once at start-up, then drive each task on from its state.
    pub fn resume(&self) -> Result<Vec<TaskRecord>> {
        self.backend.resume()
    }

    /// Every task not in a terminal state, oldest first (read only).
    pub fn resumable(&self) -> Result<Vec<TaskRecord>> {
        self.backend.resumable()
    }

    /// Events after sequence number `after` (0 = from the start), for one task or all.
    pub fn events(&self, task_id: Option<&str>, after: u64, limit: u32) -> Result<Vec<TaskEvent>> {
        self.backend.events(task_id, after, limit)
    }

    /// Records a dispute as open (idempotent: an existing dispute is left as it is).
    /// Returns `true` if it was new.
    pub fn open_dispute(&self, id: &str, task_id: &str, role: &str) -> Result<bool> {
        self.backend.open_dispute(id, task_id, role)
    }

    /// Saves a dispute's protocol progress (JSON text) so a restart continues from it.
    pub fn dispute_progress(&self, id: &str, progress: &str) -> Result<()> {
        self.backend.dispute_progress(id, progress)
    }

    /// Closes a dispute as won or lost (idempotent: closing a closed dispute changes nothing).
    pub fn close_dispute(&self, id: &str, outcome: DisputeState) -> Result<Transition> {
        self.backend.close_dispute(id, outcome)
    }

    /// The dispute `id`, if recorded.
    pub fn dispute(&self, id: &str) -> Result<Option<Dispute>> {
        self.backend.dispute(id)
    }

    /// Every open dispute, oldest first.
    pub fn open_disputes(&self) -> Result<Vec<Dispute>> {
        self.backend.open_disputes()
    }

    /// Counts of tasks per state (for metrics).
    pub fn counts(&self) -> Result<Vec<(TaskState, u64)>> {
        self.backend.counts()
    }

    /// Checkpoints the WAL into the main file (optional; SQLite also does it on its own).
    pub fn checkpoint(&self) -> Result<()> {
        self.backend.checkpoint()
    }
}
