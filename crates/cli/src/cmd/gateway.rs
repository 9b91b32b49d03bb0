//! `vouch gateway` (being built).

use clap::Args;
use eyre::{Result, bail};

/// `vouch gateway`
#[derive(Debug, Args)]
pub struct GatewayArgs {}

/// Runs `vouch gateway`.
pub fn run(_a: &GatewayArgs) -> Result<()> {
    bail!("vouch gateway is not built yet")
}
