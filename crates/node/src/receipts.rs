//! Automatic receipt attestation: a node configured with [`ReceiptBatching`] attests the
//! receipt of every task the TaskManager finalizes, in batches (one EAS `multiAttest` per batch
//! through `ReceiptAttester.attestReceipts`; the recipient of each attestation is the task's
//! requester).
//!
//! Crash safety. The tasks waiting for attestation are a set in the journal (meta key
//! [`PENDING`]), written when the `Finalized` event is applied, before the event cursor moves
//! past its block: a crash never loses one (the restarted node replays the block, or finds the
//! task in the set). A batch is removed from the set only after its transaction is mined; a
//! crash between the two leaves tasks in the set that are already attested, and the next batch
//! drops them after reading `ReceiptAttester.receiptUid` (the contract skips attested tasks as
//! well), so no receipt is attested twice.

use crate::Ctx;
use crate::metrics::inc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use vouch_chain::alloy::primitives::U256;

/// Journal meta key of the set of finalized tasks whose receipts wait to be attested (decimal
/// ids, comma-separated, in finalization order).
pub const PENDING: &str = "receipts_pending";

/// When a node attests receipts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptBatching {
    /// Most receipts in one batch; a batch is sent as soon as this many wait.
    pub max_batch: usize,
    /// Longest a waiting receipt waits for its batch to fill.
    pub max_wait: Duration,
}

impl Default for ReceiptBatching {
    /// 20 receipts, or one minute.
    fn default() -> Self {
        Self {
            max_batch: 20,
            max_wait: Duration::from_secs(60),
        }
    }
}

/// The waiting receipts (a mirror of the journal's set) and when the oldest began waiting.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    tasks: Vec<U256>,
    since: Option<Instant>,
}

/// Parses the journal's set; ids that do not parse are dropped (and logged).
fn parse(s: &str) -> Vec<U256> {
    s.split(',')
        .filter(|t| !t.is_empty())
        .filter_map(|t| match t.parse::<U256>() {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(entry = t, error = %e, "dropping an unreadable pending receipt");
                None
            }
        })
        .collect()
}

fn render(tasks: &[U256]) -> String {
    tasks
        .iter()
        .map(U256::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

impl Ctx {
    /// The waiting receipts as the journal holds them (at start).
    pub(crate) fn load_pending(&self) -> crate::Result<()> {
        let tasks = parse(&self.journal.meta(PENDING)?.unwrap_or_default());
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.since = (!tasks.is_empty()).then(Instant::now);
        p.tasks = tasks;
        Ok(())
    }

    /// Adds a finalized task to the waiting set and journals the set (an event replayed after a
    /// crash adds nothing). False when the journal write failed: then the task is not added,
    /// and the event loop reads its block again.
    pub(crate) fn enqueue_receipt(&self, task: U256) -> bool {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if p.tasks.contains(&task) {
            return true;
        }
        let mut next = p.tasks.clone();
        next.push(task);
        if let Err(e) = self.journal.set_meta(PENDING, &render(&next)) {
            tracing::error!(node = %self.cfg.name, %task, error = %e, "cannot journal a pending receipt");
            return false;
        }
        p.tasks = next;
        p.since.get_or_insert_with(Instant::now);
        true
    }

    /// Removes `done` from the waiting set and journals it.
    fn settle(&self, done: &[U256]) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.tasks.retain(|t| !done.contains(t));
        p.since = (!p.tasks.is_empty()).then(Instant::now);
        if let Err(e) = self.journal.set_meta(PENDING, &render(&p.tasks)) {
            tracing::error!(node = %self.cfg.name, error = %e, "cannot journal attested receipts");
        }
    }

    /// The next batch when one is due: full, or its oldest receipt waited `max_wait`.
    fn due(&self, b: ReceiptBatching) -> Option<Vec<U256>> {
        let p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let full = p.tasks.len() >= b.max_batch.max(1);
        let old = p.since.is_some_and(|s| s.elapsed() >= b.max_wait);
        ((full || old) && !p.tasks.is_empty())
            .then(|| p.tasks.iter().take(b.max_batch.max(1)).copied().collect())
    }

    /// Sends the batches that are due (each one `multiAttest`); failures are logged and the
    /// batch stays in the journal for the next round.
    pub(crate) async fn attest_due(&self) {
        let Some(b) = self.cfg.attest_receipts else {
            return;
        };
        while let Some(batch) = self.due(b) {
            let todo = match self.sys.unattested(&batch).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(node = %self.cfg.name, error = %e, "cannot read receipt attestations; retrying later");
                    return;
                }
            };
            if todo.is_empty() {
                self.settle(&batch);
                continue;
            }
            match self.sys.attest_receipts(&todo).await {
                Ok(r) => {
                    inc(&self.metrics.receipt_batches);
                    inc(&self.metrics.transactions_sent);
                    self.metrics
                        .receipts_attested
                        .fetch_add(r.attested.len() as u64, Ordering::Relaxed);
                    tracing::info!(
                        node = %self.cfg.name,
                        receipts = r.attested.len(),
                        gas = r.gas_used,
                        tx = %r.tx,
                        "receipts attested"
                    );
                    self.settle(&batch);
                }
                Err(e) if e.revert_name() == Some("NothingToAttest") => self.settle(&batch),
                Err(e) => {
                    tracing::warn!(node = %self.cfg.name, error = %e, "receipt batch failed; retrying later");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{U256, parse, render};

    #[test]
    fn the_journaled_set_round_trips_and_skips_garbage() {
        let v = vec![U256::from(3), U256::from(1), U256::from(10)];
        assert_eq!(parse(&render(&v)), v);
        assert_eq!(parse(""), Vec::<U256>::new());
        assert_eq!(parse("5,x,7"), vec![U256::from(5), U256::from(7)]);
    }
}
