//! `vouch up` (being built).

use clap::Args;
use eyre::{Result, bail};

/// `vouch up`
#[derive(Debug, Args)]
pub struct UpArgs {}

/// Runs `vouch up`.
pub fn run(_a: &UpArgs) -> Result<()> {
    bail!("vouch up is not built yet")
}
