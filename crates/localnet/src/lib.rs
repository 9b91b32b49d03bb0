//! A whole vouch network in one process, as `vouch up` runs it, and the pieces it is made of
//! that the CLI, the tests and the benchmarks share.
//!
//! | module | holds |
//! |---|---|
//! | [`network`] | [`start`] a network (anvil, contracts, the embedded model, provider and challenger nodes, the gateway) fresh or resumed; crash and restart its parts |
//! | [`embedded`] | the embedded defaults: the digits MLP, its calibration rows, inputs, labels |
//! | [`import`] | ONNX bytes + calibration JSON to a package |
//! | [`zk_setup`] | the development zk setup (insecure local ptau) and verifier deployment |
//! | [`prover`] | the node's zk prover backed by `vouch-zk-prover` |
//!
//! anvil runs with a fresh chain (every transaction mined at once, plus one empty block a second
//! so that committee draws, which read a future block hash, never wait for traffic). Everything
//! lives in [`UpOptions::dir`]: the chain (anvil's state, written every two seconds and at exit),
//! the deployment, the node and gateway journals; [`UpOptions::resume`] starts the same network
//! again from there. anvil stops with the process, also when it is killed.
//!
//! Keys are anvil's public dev accounts: 0 deploys and publishes, 1 runs the gateway (it pays
//! fees), 2.. are providers, the next one the challenger, 9 the demo client
//! ([`CLIENT_KEY`]). Never use them on a real chain.

#![forbid(unsafe_code)]
pub mod embedded;
pub mod import;
pub mod network;
pub mod prover;
pub mod zk_setup;

pub use embedded::{CALIBRATION, CLIENT_KEY, INPUT, LABELS, MODEL};
pub use network::{
    CrashedProvider, Network, ProviderNode, UpOptions, dev_signer, dev_signing_key,
    embedded_package, start,
};
pub use vouch_chain::devnet::DEV_KEYS;

use eyre::{Result, WrapErr};
use std::path::Path;

/// Where a network reports its progress: `step` for the numbered steps of a start (the CLI
/// prints them on stdout), `note` for details of long work such as the zk setup (stderr).
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// A step done.
    pub step: fn(&str),
    /// A detail of long work.
    pub note: fn(&str),
}

impl Progress {
    /// Drops every report (tests and benchmarks that print their own).
    pub const SILENT: Self = Self {
        step: |_| {},
        note: |_| {},
    };
}

/// Writes `bytes` to `path` through a synced temporary file and a rename, creating the folder:
/// a crash leaves the old file or the new one, never a torn one.
///
/// # Errors
///
/// The folder cannot be created, or the file cannot be written or renamed (named in the error).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("vouch-tmp");
    let res = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).wrap_err_with(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}
