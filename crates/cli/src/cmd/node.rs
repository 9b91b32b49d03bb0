//! `vouch node` (being built).

use clap::Args;
use eyre::{Result, bail};

/// `vouch node`
#[derive(Debug, Args)]
pub struct NodeArgs {}

/// Runs `vouch node`.
pub fn run(_a: &NodeArgs) -> Result<()> {
    bail!("vouch node is not built yet")
}
