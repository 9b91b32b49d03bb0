//! What a task is, wherever it runs: its verification [`Mode`] and its on-chain [`Status`],
//! each with the code `TaskManager` stores and the name the gateway, the CLI and the journals
//! use, and (feature `codec`, on by default) the task input [`codec`]. Every crate takes them
//! from here, so a mode, a status or the input encoding is defined once.

#![forbid(unsafe_code)]

#[cfg(feature = "codec")]
pub mod codec;
#[cfg(feature = "codec")]
pub mod modes;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How a task's answer is checked (`TaskManager.Mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One bonded provider and a challenge window; a fraud proof settles a dispute.
    Optimistic,
    /// A committee drawn by stake commits and reveals; a fraud proof settles a disagreement.
    Committee,
    /// A succinct proof, final in one transaction.
    Zk,
}

impl Mode {
    /// Every mode, in `TaskManager` code order.
    pub const ALL: [Self; 3] = [Self::Optimistic, Self::Committee, Self::Zk];

    /// The code `TaskManager` stores.
    pub const fn code(self) -> u8 {
        match self {
            Self::Optimistic => 0,
            Self::Committee => 1,
            Self::Zk => 2,
        }
    }

    /// The mode of a `TaskManager` code.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Optimistic),
            1 => Some(Self::Committee),
            2 => Some(Self::Zk),
            _ => None,
        }
    }

    /// The wire name (`optimistic`, `committee`, `zk`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Optimistic => "optimistic",
            Self::Committee => "committee",
            Self::Zk => "zk",
        }
    }

    /// The mode of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMode(pub String);

impl fmt::Display for UnknownMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown mode {:?} (expected optimistic, committee or zk)",
            self.0
        )
    }
}

impl std::error::Error for UnknownMode {}

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownMode(s.to_owned()))
    }
}

/// A task's state on-chain (`TaskManager.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No such task.
    None,
    /// Waiting for a submission (optimistic, zk) or commitments (committee).
    Requested,
    /// A result is posted; its challenge window runs.
    Submitted,
    /// A dispute is open.
    Disputed,
    /// Paid (and, when flagged, in its audit window).
    Finalized,
    /// Nobody delivered in time; the fee went back.
    Refunded,
    /// The provider lost a dispute; the fee went back.
    Failed,
}

impl Status {
    /// Every status, in `TaskManager` code order.
    pub const ALL: [Self; 7] = [
        Self::None,
        Self::Requested,
        Self::Submitted,
        Self::Disputed,
        Self::Finalized,
        Self::Refunded,
        Self::Failed,
    ];

    /// The code `TaskManager` stores.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The status of a `TaskManager` code.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The name (`requested`, `finalized`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Requested => "requested",
            Self::Submitted => "submitted",
            Self::Disputed => "disputed",
            Self::Finalized => "finalized",
            Self::Refunded => "refunded",
            Self::Failed => "failed",
        }
    }

    /// Whether nothing follows (paid or refunded).
    pub const fn is_settled(self) -> bool {
        matches!(self, Self::Finalized | Self::Refunded | Self::Failed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_wire_forms_round_trip() {
        for m in Mode::ALL {
            assert_eq!(Mode::from_code(m.code()), Some(m));
            assert_eq!(m.as_str().parse::<Mode>(), Ok(m));
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
        }
        assert_eq!(Mode::from_code(3), None);
        assert!(
            "trust-me"
                .parse::<Mode>()
                .unwrap_err()
                .to_string()
                .contains("trust-me")
        );
        for (i, s) in Status::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(s.code()), i);
            assert_eq!(Status::from_code(s.code()), Some(s));
        }
        assert_eq!(Status::from_code(7), None);
        assert!(Status::Failed.is_settled() && !Status::Disputed.is_settled());
    }
}
