//! `vouch receipt ...` (being built).

use clap::Subcommand;
use eyre::{Result, bail};

/// `vouch receipt ...`
#[derive(Debug, Subcommand)]
pub enum ReceiptCmd {
    /// Verify a task's receipt.
    Verify,
}

/// Runs `vouch receipt ...`.
pub fn run(_c: &ReceiptCmd) -> Result<()> {
    bail!("vouch receipt is not built yet")
}
