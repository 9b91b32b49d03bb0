//! The task state machine.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a task stands in the node's journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskState {
    /// Accepted (claimed, assigned, or created through the gateway); not yet executed.
    Accepted,
    /// Executed locally; output and commitment known, not yet on-chain.
    Executed,
    /// Committee mode: the commitment is on-chain.
    Committed,
    /// Committee mode: the output is revealed on-chain.
    Revealed,
    /// The result (and bond) is on-chain; the challenge window is running.
    Submitted,
    /// A dispute is open against (or by) this result.
    Disputed,
    /// Settled: paid (terminal).
    Finalized,
    /// Settled against this node: bond slashed (terminal).
    Slashed,
    /// Gave up (terminal), with the reason in `detail`.
    Failed,
    /// Cancelled or refunded before execution (terminal).
    Cancelled,
}

impl TaskState {
    /// Every state.
    pub const ALL: [Self; 10] = [
        Self::Accepted,
        Self::Executed,
        Self::Committed,
        Self::Revealed,
        Self::Submitted,
        Self::Disputed,
        Self::Finalized,
        Self::Slashed,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Executed => "executed",
            Self::Committed => "committed",
            Self::Revealed => "revealed",
            Self::Submitted => "submitted",
            Self::Disputed => "disputed",
            Self::Finalized => "finalized",
            Self::Slashed => "slashed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether nothing follows this state.
    pub fn is_terminal(self) -> bool {
        self.next().is_empty()
    }

    /// The states one step away.
    pub fn next(self) -> &'static [Self] {
        use TaskState::*;
        match self {
            Accepted => &[Executed, Failed, Cancelled],
            Executed => &[Submitted, Committed, Failed, Cancelled],
            Committed => &[Revealed, Disputed, Failed, Slashed],
            Revealed => &[Finalized, Disputed, Failed],
            Submitted => &[Finalized, Disputed],
            Disputed => &[Finalized, Slashed, Failed],
            Finalized | Slashed | Failed | Cancelled => &[],
        }
    }

    /// Whether `to` is one step away.
    pub fn can_go_to(self, to: Self) -> bool {
        self.next().contains(&to)
    }

    /// Whether `to` can be reached in one or more steps.
    pub fn reaches(self, to: Self) -> bool {
        // The graph is acyclic with ten nodes: a bounded walk is enough.
        let mut frontier = vec![self];
        let mut seen = Vec::new();
        while let Some(s) = frontier.pop() {
            for &n in s.next() {
                if n == to {
                    return true;
                }
                if !seen.contains(&n) {
                    seen.push(n);
                    frontier.push(n);
                }
            }
        }
        false
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_graph_is_acyclic() {
        for s in TaskState::ALL {
            assert_eq!(TaskState::parse(s.as_str()), Some(s));
            assert!(!s.reaches(s), "{s} reaches itself");
        }
        assert!(TaskState::Accepted.reaches(TaskState::Slashed));
        assert!(!TaskState::Finalized.reaches(TaskState::Accepted));
        let terminal: Vec<_> = TaskState::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal.len(), 4);
    }
}
