//! The SQLite backend of the journal (embedded, WAL mode, `synchronous = FULL`).

use crate::{
    Dispute, DisputeState, Error, NewTask, Result, SCHEMA_VERSION, StepData, TaskEvent, TaskRecord,
    TaskState, Transition,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// The SQLite backend: one connection behind a mutex (WAL mode, `synchronous = FULL`).
#[derive(Debug)]
pub struct Sqlite {
    conn: Mutex<Connection>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (
    id          TEXT PRIMARY KEY,
    requester   TEXT NOT NULL,
    model_cid   TEXT NOT NULL,
    input_cid   TEXT NOT NULL,
    mode        TEXT NOT NULL,
    max_fee     TEXT NOT NULL,
    state       TEXT NOT NULL,
    output_cid  TEXT,
    commitment  TEXT,
    detail      TEXT,
    resumes     INTEGER NOT NULL DEFAULT 0,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state);
CREATE INDEX IF NOT EXISTS tasks_requester ON tasks(requester);
CREATE TABLE IF NOT EXISTS events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id  TEXT NOT NULL REFERENCES tasks(id),
    state    TEXT NOT NULL,
    detail   TEXT,
    at_ms    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_task ON events(task_id, seq);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS disputes (
    id          TEXT PRIMARY KEY,
    task_id     TEXT NOT NULL,
    role        TEXT NOT NULL,
    state       TEXT NOT NULL,
    progress    TEXT NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS disputes_state ON disputes(state);
CREATE TABLE IF NOT EXISTS spend (
    identity  TEXT PRIMARY KEY,
    reserved  TEXT NOT NULL
);
";

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn spent_in(conn: &Connection, identity: &str) -> Result<u128> {
    let v: Option<String> = conn
        .query_row(
            "SELECT reserved FROM spend WHERE identity = ?1",
            [identity],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

impl Sqlite {
    /// Opens (creating if needed) the journal at `path`, in WAL mode.
    pub fn open(path: &Path) -> Result<Self> {
        Self::init(Connection::open(path)?)
    }

    /// An in-memory journal (tests, ephemeral gateways).
    pub fn in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // In memory this answers "memory"; on disk "wal".
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(Error::Schema { found });
        }
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (each write is one
        // transaction), so a poisoned lock is safe to reuse.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A node-level value (e.g. the last block whose events were applied), if set.
    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a node-level value.
    pub(crate) fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Reserves `fee` (base units) against `identity`'s spend `cap`, durably: `Ok(Err(left))`
    /// with what is left when the reservation would pass the cap (nothing is reserved then).
    pub(crate) fn reserve_spend(
        &self,
        identity: &str,
        fee: u128,
        cap: u128,
    ) -> Result<std::result::Result<(), u128>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let spent = spent_in(&tx, identity)?;
        let Some(total) = spent.checked_add(fee).filter(|&t| t <= cap) else {
            return Ok(Err(cap.saturating_sub(spent)));
        };
        tx.execute(
            "INSERT INTO spend (identity, reserved) VALUES (?1, ?2)
             ON CONFLICT(identity) DO UPDATE SET reserved = excluded.reserved",
            params![identity, total.to_string()],
        )?;
        tx.commit()?;
        Ok(Ok(()))
    }

    /// Returns `fee` of a reservation of `identity` (a task that was not created).
    pub(crate) fn release_spend(&self, identity: &str, fee: u128) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let left = spent_in(&tx, identity)?.saturating_sub(fee);
        tx.execute(
            "UPDATE spend SET reserved = ?2 WHERE identity = ?1",
            params![identity, left.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// What `identity` has reserved so far.
    pub(crate) fn spent(&self, identity: &str) -> Result<u128> {
        spent_in(&self.conn(), identity)
    }

    /// The SQLite journal mode in force (`wal` on disk).
    pub(crate) fn journal_mode(&self) -> Result<String> {
        Ok(self
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))?)
    }

    /// Records an accepted task in state `accepted`. Returns `true` if it was new, `false` if
    /// the same task was already recorded; a different task under the same id is
    /// [`Error::Conflict`].
    pub(crate) fn accept(&self, t: &NewTask) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let existing: Option<NewTask> = tx
            .query_row(
                "SELECT id, requester, model_cid, input_cid, mode, max_fee FROM tasks WHERE id = ?1",
                [&t.id],
                |r| {
                    Ok(NewTask {
                        id: r.get(0)?,
                        requester: r.get(1)?,
                        model_cid: r.get(2)?,
                        input_cid: r.get(3)?,
                        mode: r.get(4)?,
                        max_fee: r.get(5)?,
                    })
                },
            )
            .optional()?;
        if let Some(e) = existing {
            return if e == *t {
                Ok(false)
            } else {
                Err(Error::Conflict { id: t.id.clone() })
            };
        }
        let now = to_i64(now_ms());
        tx.execute(
            "INSERT INTO tasks (id, requester, model_cid, input_cid, mode, max_fee, state, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            params![t.id, t.requester, t.model_cid, t.input_cid, t.mode, t.max_fee, TaskState::Accepted.as_str(), now],
        )?;
        tx.execute(
            "INSERT INTO events (task_id, state, detail, at_ms) VALUES (?1, ?2, NULL, ?3)",
            params![t.id, TaskState::Accepted.as_str(), now],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Moves task `id` to `to`, recording `data`. Idempotent: a step to the current state is
    /// [`Transition::Unchanged`], a step to a state the task is already past is
    /// [`Transition::Stale`]; neither writes anything. Any other disallowed step is
    /// [`Error::InvalidTransition`].
    pub(crate) fn transition(
        &self,
        id: &str,
        to: TaskState,
        data: &StepData,
    ) -> Result<Transition> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let from: Option<String> = tx
            .query_row("SELECT state FROM tasks WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        let from = from.ok_or_else(|| Error::UnknownTask { id: id.to_owned() })?;
        let from = TaskState::parse(&from).ok_or_else(|| Error::Corrupt {
            id: id.to_owned(),
            field: "state",
            value: from.clone(),
        })?;
        if from == to {
            return Ok(Transition::Unchanged);
        }
        if !from.can_go_to(to) {
            if to.reaches(from) {
                return Ok(Transition::Stale);
            }
            return Err(Error::InvalidTransition {
                id: id.to_owned(),
                from,
                to,
            });
        }
        let now = to_i64(now_ms());
        tx.execute(
            "UPDATE tasks SET state = ?2,
                 output_cid = COALESCE(?3, output_cid),
                 commitment = COALESCE(?4, commitment),
                 detail = COALESCE(?5, detail),
                 updated_ms = ?6
             WHERE id = ?1",
            params![
                id,
                to.as_str(),
                data.output_cid,
                data.commitment,
                data.detail,
                now
            ],
        )?;
        tx.execute(
            "INSERT INTO events (task_id, state, detail, at_ms) VALUES (?1, ?2, ?3, ?4)",
            params![id, to.as_str(), data.detail, now],
        )?;
        tx.commit()?;
        Ok(Transition::Applied)
    }

    /// The task `id`, if recorded.
    pub(crate) fn task(&self, id: &str) -> Result<Option<TaskRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!("{TASK_SELECT} WHERE id = ?1"))?;
        let mut rows = st.query_map([id], row_to_task)?;
        rows.next().transpose()?.map(check_task).transpose()
    }

    /// Tasks, newest first, optionally only those of `requester`, at most `limit`.
    pub(crate) fn tasks(&self, requester: Option<&str>, limit: u32) -> Result<Vec<TaskRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "{TASK_SELECT} WHERE (?1 IS NULL OR requester = ?1) ORDER BY created_ms DESC, id LIMIT ?2"
        ))?;
        let rows = st.query_map(params![requester, limit], row_to_task)?;
        rows.map(|r| check_task(r?)).collect()
    }

    /// Every task not in a terminal state, oldest first, and counts one more resume for each.
    /// Call once at start-up, then drive each task on from its state.
    pub(crate) fn resume(&self) -> Result<Vec<TaskRecord>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let terminal: Vec<&str> = TaskState::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| s.as_str())
            .collect();
        let placeholders = vec!["?"; terminal.len()].join(",");
        tx.execute(
            &format!("UPDATE tasks SET resumes = resumes + 1 WHERE state NOT IN ({placeholders})"),
            rusqlite::params_from_iter(terminal.iter()),
        )?;
        let out = {
            let mut st = tx.prepare(&format!(
                "{TASK_SELECT} WHERE state NOT IN ({placeholders}) ORDER BY created_ms, id"
            ))?;
            let rows = st.query_map(rusqlite::params_from_iter(terminal.iter()), row_to_task)?;
            rows.map(|r| check_task(r?)).collect::<Result<Vec<_>>>()?
        };
        tx.commit()?;
        Ok(out)
    }

    /// Every task not in a terminal state, oldest first (read only).
    pub(crate) fn resumable(&self) -> Result<Vec<TaskRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!("{TASK_SELECT} ORDER BY created_ms, id"))?;
        let rows = st.query_map([], row_to_task)?;
        let mut out = Vec::new();
        for r in rows {
            let t = check_task(r?)?;
            if !t.state.is_terminal() {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Events after sequence number `after` (0 = from the start), for one task or all.
    pub(crate) fn events(
        &self,
        task_id: Option<&str>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<TaskEvent>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT seq, task_id, state, detail, at_ms FROM events
             WHERE seq > ?1 AND (?2 IS NULL OR task_id = ?2) ORDER BY seq LIMIT ?3",
        )?;
        let rows = st.query_map(params![to_i64(after), task_id, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        rows.map(|r| {
            let (seq, task_id, state, detail, at) = r?;
            let state = TaskState::parse(&state).ok_or_else(|| Error::Corrupt {
                id: task_id.clone(),
                field: "event state",
                value: state.clone(),
            })?;
            Ok(TaskEvent {
                seq: to_u64(seq),
                task_id,
                state,
                detail,
                at_ms: to_u64(at),
            })
        })
        .collect()
    }

    /// Records a dispute as open (idempotent: an existing dispute is left as it is).
    /// Returns `true` if it was new.
    pub(crate) fn open_dispute(&self, id: &str, task_id: &str, role: &str) -> Result<bool> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO disputes (id, task_id, role, state, progress, updated_ms)
             VALUES (?1, ?2, ?3, 'open', '{}', ?4)",
            params![id, task_id, role, to_i64(now_ms())],
        )?;
        Ok(n == 1)
    }

    /// Saves a dispute's protocol progress (JSON text) so a restart continues from it.
    pub(crate) fn dispute_progress(&self, id: &str, progress: &str) -> Result<()> {
        let n = self.conn().execute(
            "UPDATE disputes SET progress = ?2, updated_ms = ?3 WHERE id = ?1 AND state = 'open'",
            params![id, progress, to_i64(now_ms())],
        )?;
        if n == 0 && self.dispute(id)?.is_none() {
            return Err(Error::UnknownDispute { id: id.to_owned() });
        }
        Ok(())
    }

    /// Closes a dispute as won or lost (idempotent: closing a closed dispute changes nothing).
    pub(crate) fn close_dispute(&self, id: &str, outcome: DisputeState) -> Result<Transition> {
        let n = self.conn().execute(
            "UPDATE disputes SET state = ?2, updated_ms = ?3 WHERE id = ?1 AND state = 'open'",
            params![id, outcome.as_str(), to_i64(now_ms())],
        )?;
        if n == 1 {
            return Ok(Transition::Applied);
        }
        match self.dispute(id)? {
            None => Err(Error::UnknownDispute { id: id.to_owned() }),
            Some(_) => Ok(Transition::Unchanged),
        }
    }

    /// The dispute `id`, if recorded.
    pub(crate) fn dispute(&self, id: &str) -> Result<Option<Dispute>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!("{DISPUTE_SELECT} WHERE id = ?1"))?;
        let mut rows = st.query_map([id], row_to_dispute)?;
        rows.next().transpose()?.map(check_dispute).transpose()
    }

    /// Every open dispute, oldest first.
    pub(crate) fn open_disputes(&self) -> Result<Vec<Dispute>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(&format!(
            "{DISPUTE_SELECT} WHERE state = 'open' ORDER BY updated_ms, id"
        ))?;
        let rows = st.query_map([], row_to_dispute)?;
        rows.map(|r| check_dispute(r?)).collect()
    }

    /// Counts of tasks per state (for metrics).
    pub(crate) fn counts(&self) -> Result<Vec<(TaskState, u64)>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached("SELECT state, COUNT(*) FROM tasks GROUP BY state")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = Vec::new();
        for r in rows {
            let (s, n) = r?;
            if let Some(s) = TaskState::parse(&s) {
                out.push((s, to_u64(n)));
            }
        }
        Ok(out)
    }

    /// Checkpoints the WAL into the main file (optional; SQLite also does it on its own).
    pub(crate) fn checkpoint(&self) -> Result<()> {
        self.conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

const TASK_SELECT: &str = "SELECT id, requester, model_cid, input_cid, mode, max_fee, state, output_cid, commitment, detail, resumes, created_ms, updated_ms FROM tasks";
const DISPUTE_SELECT: &str = "SELECT id, task_id, role, state, progress, updated_ms FROM disputes";

type RawTask = (
    NewTask,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
);

fn row_to_task(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawTask> {
    Ok((
        NewTask {
            id: r.get(0)?,
            requester: r.get(1)?,
            model_cid: r.get(2)?,
            input_cid: r.get(3)?,
            mode: r.get(4)?,
            max_fee: r.get(5)?,
        },
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
    ))
}

fn check_task(raw: RawTask) -> Result<TaskRecord> {
    let (task, state, output_cid, commitment, detail, resumes, created, updated) = raw;
    let state = TaskState::parse(&state).ok_or_else(|| Error::Corrupt {
        id: task.id.clone(),
        field: "state",
        value: state.clone(),
    })?;
    Ok(TaskRecord {
        task,
        state,
        output_cid,
        commitment,
        detail,
        resumes: u32::try_from(resumes).unwrap_or(u32::MAX),
        created_ms: to_u64(created),
        updated_ms: to_u64(updated),
    })
}

type RawDispute = (String, String, String, String, String, i64);

fn row_to_dispute(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawDispute> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn check_dispute(raw: RawDispute) -> Result<Dispute> {
    let (id, task_id, role, state, progress, updated) = raw;
    let state = DisputeState::parse(&state).ok_or_else(|| Error::Corrupt {
        id: id.clone(),
        field: "dispute state",
        value: state.clone(),
    })?;
    Ok(Dispute {
        id,
        task_id,
        role,
        state,
        progress,
        updated_ms: to_u64(updated),
    })
}
