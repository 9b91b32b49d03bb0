//! `vouch model publish PKG`: registers the package's CID, sha2-256, weights root, graph
//! root and semantics version in the ModelRegistry (which attests provenance with EAS).
//!
//! With `--zk-verifier ADDR` the version also records a zk verifier (`vouch zk
//! deploy-verifier`): publishing checks that the verifier was generated for the package's
//! weights root (and, with `--keys`, for that verifying key) and prints its `VK_HASH`, which is
//! how the version's verifying key hash is recorded (the verifier's code is immutable and the
//! provenance attestation includes its address).

use crate::chain_args::{ChainArgs, runtime};
use crate::{io, out};
use clap::Args;
use eyre::{Result, WrapErr};
use serde_json::json;
use std::path::PathBuf;
use vouch_chain::alloy::primitives::{Address, B256};
use vouch_primitives::hex0x;

/// `vouch model publish`
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The package file.
    pub package: PathBuf,
    /// Metadata URI recorded with the version.
    #[arg(long, default_value = "")]
    pub metadata_uri: String,
    /// zk verifier of the version (enables zk-mode tasks).
    #[arg(long)]
    pub zk_verifier: Option<Address>,
    /// Keys file the verifier must match (checks its verifying key hash).
    #[arg(long, requires = "zk_verifier")]
    pub keys: Option<PathBuf>,
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
    let vk_hash = match &a.keys {
        Some(k) => {
            let b = std::fs::read(k).wrap_err_with(|| format!("cannot read {}", k.display()))?;
            Some(B256::from(vouch_zk::files::read_keys_vk(&b)?.0.hash()))
        }
        None => None,
    };
    runtime()?.block_on(async {
        let sys = a.chain.system().await?;
        let (p, zk) = match a.zk_verifier {
            Some(v) => {
                let (p, info) = sys.publish_with_verifier(&m, v, vk_hash).await?;
                (p, Some(info))
            }
            None => (sys.publish(&m).await?, None),
        };
        let v = json!({
            "model_id": p.model_id,
            "version": p.version,
            "cid": m.package_cid.to_string(),
            "package_sha256": hex0x(m.package_hash.as_slice()),
            "weights_root": hex0x(m.weights_root.as_slice()),
            "graph_root": hex0x(m.graph_root.as_slice()),
            "provenance_uid": hex0x(p.provenance_uid.as_slice()),
            "zk_verifier": zk.as_ref().map(|z| z.address.to_string()),
            "zk_vk_hash": zk.as_ref().map(|z| hex0x(z.vk_hash.as_slice())),
        });
        out::result(v, || {
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
            if let Some(z) = &zk {
                out::line(format!("  zk verifier     {}", z.address));
                out::line(format!("  zk vk hash      {}", hex0x(z.vk_hash.as_slice())));
            }
        });
        Ok(())
    })
}
