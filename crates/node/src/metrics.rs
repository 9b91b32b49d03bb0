//! Counters in the Prometheus text exposition format (`GET /metrics`).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// One counter per thing the node does.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Tasks accepted (claimed, or drawn into a committee).
    pub tasks_accepted: AtomicU64,
    /// Results posted (submit, submitZk, reveal).
    pub results_posted: AtomicU64,
    /// Tasks finalized with this node paid.
    pub tasks_finalized: AtomicU64,
    /// Tasks another provider took first.
    pub tasks_lost_race: AtomicU64,
    /// Tasks this node was slashed on.
    pub tasks_slashed: AtomicU64,
    /// Results of others re-executed.
    pub results_rechecked: AtomicU64,
    /// Executions refused: the input unavailable (blobs or CID not readable), not opening the
    /// task's input commitment, or refused by the engine.
    pub executions_refused: AtomicU64,
    /// Results of others found wrong.
    pub mismatches_found: AtomicU64,
    /// Disputes this node opened.
    pub challenges_opened: AtomicU64,
    /// Flagged tasks this node re-executed as an auditor.
    pub audits_performed: AtomicU64,
    /// Audits this node confirmed.
    pub audits_confirmed: AtomicU64,
    /// Audits this node closed after their window.
    pub audits_closed: AtomicU64,
    /// Disputes won.
    pub disputes_won: AtomicU64,
    /// Disputes lost.
    pub disputes_lost: AtomicU64,
    /// Transactions sent.
    pub transactions_sent: AtomicU64,
    /// RPC errors retried.
    pub rpc_retries: AtomicU64,
    /// Tasks resumed from the journal after a restart.
    pub tasks_resumed: AtomicU64,
    /// Receipt batches attested.
    pub receipt_batches: AtomicU64,
    /// Receipts attested one per task (in batches).
    pub receipts_attested: AtomicU64,
    /// Last block whose events were processed.
    pub last_block: AtomicU64,
}

/// Adds one.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// The Prometheus text format, every series labelled with `node`.
    pub fn render(&self, node: &str) -> String {
        let rows: [(&str, &str, &str, &AtomicU64); 20] = [
            (
                "vouch_node_tasks_accepted_total",
                "counter",
                "Tasks accepted.",
                &self.tasks_accepted,
            ),
            (
                "vouch_node_results_posted_total",
                "counter",
                "Results posted on-chain.",
                &self.results_posted,
            ),
            (
                "vouch_node_tasks_finalized_total",
                "counter",
                "Tasks finalized and paid to this node.",
                &self.tasks_finalized,
            ),
            (
                "vouch_node_tasks_lost_race_total",
                "counter",
                "Tasks another provider took first.",
                &self.tasks_lost_race,
            ),
            (
                "vouch_node_tasks_slashed_total",
                "counter",
                "Tasks this node was slashed on.",
                &self.tasks_slashed,
            ),
            (
                "vouch_node_results_rechecked_total",
                "counter",
                "Results of others re-executed.",
                &self.results_rechecked,
            ),
            (
                "vouch_node_executions_refused_total",
                "counter",
                "Executions refused (input unavailable, not opening its commitment, or refused).",
                &self.executions_refused,
            ),
            (
                "vouch_node_mismatches_found_total",
                "counter",
                "Results of others found wrong.",
                &self.mismatches_found,
            ),
            (
                "vouch_node_challenges_opened_total",
                "counter",
                "Disputes opened.",
                &self.challenges_opened,
            ),
            (
                "vouch_node_audits_performed_total",
                "counter",
                "Flagged tasks re-executed as an auditor.",
                &self.audits_performed,
            ),
            (
                "vouch_node_audits_confirmed_total",
                "counter",
                "Audits confirmed.",
                &self.audits_confirmed,
            ),
            (
                "vouch_node_audits_closed_total",
                "counter",
                "Audits closed after their window.",
                &self.audits_closed,
            ),
            (
                "vouch_node_disputes_won_total",
                "counter",
                "Disputes won.",
                &self.disputes_won,
            ),
            (
                "vouch_node_disputes_lost_total",
                "counter",
                "Disputes lost.",
                &self.disputes_lost,
            ),
            (
                "vouch_node_transactions_sent_total",
                "counter",
                "Transactions sent.",
                &self.transactions_sent,
            ),
            (
                "vouch_node_rpc_retries_total",
                "counter",
                "RPC calls retried after a transient error.",
                &self.rpc_retries,
            ),
            (
                "vouch_node_tasks_resumed_total",
                "counter",
                "Tasks resumed from the journal.",
                &self.tasks_resumed,
            ),
            (
                "vouch_node_receipt_batches_total",
                "counter",
                "Receipt batches attested.",
                &self.receipt_batches,
            ),
            (
                "vouch_node_receipts_attested_total",
                "counter",
                "Receipts attested one per task.",
                &self.receipts_attested,
            ),
            (
                "vouch_node_last_block",
                "gauge",
                "Last block whose events were processed.",
                &self.last_block,
            ),
        ];
        let mut s = String::new();
        let label = node.replace('\\', "\\\\").replace('"', "\\\"");
        for (name, kind, help, v) in rows {
            let _ = writeln!(s, "# HELP {name} {help}");
            let _ = writeln!(s, "# TYPE {name} {kind}");
            let _ = writeln!(
                s,
                "{name}{{node=\"{label}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series_with_its_value() {
        let m = Metrics::default();
        inc(&m.tasks_accepted);
        inc(&m.tasks_accepted);
        let t = m.render("p\"1");
        assert!(
            t.contains("vouch_node_tasks_accepted_total{node=\"p\\\"1\"} 2\n"),
            "{t}"
        );
        assert_eq!(t.matches("# TYPE").count(), 20);
    }
}
