//! `vouch model publish PKG`: registers the package's CID, sha2-256, weights root, graph
//! root and semantics version in the ModelRegistry (which attests provenance with EAS).

use crate::cmd::key::{ChainArgs, runtime};
use crate::{io, out};
use clap::Args;
use eyre::{Result, WrapErr};
use std::path::PathBuf;
use vouch_primitives::hex0x;

/// `vouch model publish`
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The package file.
    pub package: PathBuf,
    /// Metadata URI recorded with the version.
    #[arg(long, default_value = "")]
    pub metadata_uri: String,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// Runs `vouch model publish`.
pub fn run(a: &PublishArgs) -> Result<()> {
    let bytes = std::fs::read(&a.package)
        .wrap_err_with(|| format!("cannot read {}", a.package.display()))?;
    let pkg = io::read_package(&a.package)?;
    let mut m = vouch_chain::graph::commitments_of(&bytes, &pkg);
    m.metadata_uri.clone_from(&a.metadata_uri);
    runtime()?.block_on(async {
        let sys = a.chain.system().await?;
        let p = sys.publish(&m).await?;
        out::line(format!("model {} version {}", p.model_id, p.version));
        out::line(format!("  package cid     {}", m.package_cid));
        out::line(format!(
            "  package sha256  {}",
            hex0x(m.package_hash.as_slice())
        ));
        out::line(format!(
            "  weights root    {}",
            hex0x(m.weights_root.as_slice())
        ));
        out::line(format!(
            "  graph root      {}",
            hex0x(m.graph_root.as_slice())
        ));
        out::line(format!(
            "  provenance uid  {}",
            hex0x(p.provenance_uid.as_slice())
        ));
        Ok(())
    })
}
