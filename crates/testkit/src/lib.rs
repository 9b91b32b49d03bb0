//! Test support for the tests that touch a chain: anvil's public dev keys, a real anvil on a
//! free port with the whole system deployed ([`Chain`]), funded and staked keys, and the
//! fixture models of `testdata/models` imported as users import them ([`fixture`]), and the
//! ecosystem's tools the interop tests run ([`interop`]), and the 784-128-10 MLP published with its
//! committed zk verifier and proof ([`zk`]).
//!
//! Every chain test of the workspace starts its world here, so the setup is written once.
//! Panics on failure: it is test code, and a failed setup is a failed test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![forbid(unsafe_code)]
#![allow(clippy::print_stderr)]

pub mod interop;
pub mod zk;

use std::path::PathBuf;
use std::str::FromStr;
use vouch_chain::alloy::primitives::U256;
use vouch_chain::alloy::signers::local::PrivateKeySigner;
use vouch_chain::{Client, DeployConfig, Deployment, Devnet, DevnetConfig, System, TOKEN};
use vouch_model::Package;

pub use vouch_chain::devnet::DEV_KEYS;

/// The signer of dev key `i`.
pub fn signer(i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_str(DEV_KEYS[i]).unwrap()
}

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Foundry's `cast` (`node_modules/.bin/cast` of the repository, from
/// `scripts/bootstrap-node.sh`), or `$VOUCH_CAST`.
pub fn cast() -> PathBuf {
    if let Some(p) = std::env::var_os("VOUCH_CAST") {
        return PathBuf::from(p);
    }
    let p = repo().join("node_modules/.bin/cast");
    assert!(
        p.exists(),
        "{} not found: run scripts/bootstrap-node.sh (or set VOUCH_CAST)",
        p.display()
    );
    p
}

/// Runs [`cast`] with `args`: its standard output, trimmed (panics with its stderr when it
/// fails).
pub fn run_cast(args: &[&str]) -> String {
    let o = std::process::Command::new(cast())
        .args(args)
        .output()
        .expect("run cast");
    assert!(
        o.status.success(),
        "cast {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap().trim().to_owned()
}

/// The directory of fixture model `name` (`testdata/models/<name>`).
pub fn model_dir(name: &str) -> PathBuf {
    repo().join("testdata/models").join(name)
}

/// Name prefixes of the converter fixtures: models exported by skl2onnx, onnxmltools and
/// CatBoost from scikit-learn, XGBoost, LightGBM and CatBoost (`testdata/models/trees.py`,
/// `linear.py` and the scripts beside them).
pub const CONVERTER_PREFIXES: [&str; 3] = ["tree_", "linear_", "svm_"];

/// Every converter fixture in `testdata/models` (a directory with a `model.onnx` whose name
/// starts with one of [`CONVERTER_PREFIXES`]), sorted.
pub fn converter_fixtures() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("testdata/models"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("model.onnx").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| CONVERTER_PREFIXES.iter().any(|p| n.starts_with(p)))
        .collect();
    names.sort();
    names
}

/// Fixture model `name` imported from its committed ONNX file and calibration rows, keeping the
/// graph outputs `outputs` (all when `None`): the package's bytes and the package.
pub fn fixture(name: &str, outputs: Option<&[&str]>) -> (Vec<u8>, Package) {
    let dir = model_dir(name);
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let cal: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("calibration.json")).unwrap()).unwrap();
    let graph = vouch_onnx::import(
        &onnx,
        &vouch_onnx::ImportOptions {
            outputs: outputs.map(|o| o.iter().map(|s| (*s).to_owned()).collect()),
            ..Default::default()
        },
    )
    .unwrap();
    let samples = vouch_quant::calibration_from_json(&graph, &cal).unwrap();
    let pkg = vouch_quant::import(&graph, samples, name, [0; 32], |_| {}).unwrap();
    (pkg.to_bytes(), pkg)
}

/// The digits MLP (its `probabilities` output), the model most chain tests use.
pub fn digits_mlp() -> (Vec<u8>, Package) {
    fixture("digits_mlp", Some(&["probabilities"]))
}

/// The deployment parameters of the chain tests: windows long enough that nothing expires
/// unless a test warps time, no audits (tests that want them turn them on).
pub fn test_config() -> DeployConfig {
    DeployConfig {
        challenge_window: 100,
        reveal_window: 100,
        step_timeout: 60,
        audit_bps: 0,
        committee_size: 3,
        ..DeployConfig::default()
    }
}

/// A real anvil on a free port with the whole system deployed by dev key 0. Stops anvil on
/// drop.
#[derive(Debug)]
pub struct Chain {
    /// The devnet.
    pub devnet: Devnet,
    /// Its RPC URL.
    pub url: String,
    /// The deployment.
    pub deployment: Deployment,
    /// The parameters it was deployed with.
    pub cfg: DeployConfig,
}

impl Chain {
    /// Starts anvil (port 0) and deploys with `cfg`.
    pub async fn start(cfg: DeployConfig) -> Self {
        Self::start_on(DevnetConfig::default(), cfg).await
    }

    /// [`Self::start`] with an anvil configured by `devnet` (its port 0 picks a free one).
    pub async fn start_on(devnet: DevnetConfig, cfg: DeployConfig) -> Self {
        let devnet = Devnet::spawn(&devnet).await.unwrap();
        let url = devnet.url();
        let c0 = Client::connect(&url, Some(signer(0))).await.unwrap();
        let deployment = vouch_chain::deploy(&c0, &cfg).await.unwrap();
        Self {
            devnet,
            url,
            deployment,
            cfg,
        }
    }

    /// The system as dev key `i` signs it.
    pub async fn system(&self, i: usize) -> System {
        self.system_via(&self.url, i).await
    }

    /// [`Self::system`] through another endpoint (a proxy in front of this anvil).
    pub async fn system_via(&self, url: &str, i: usize) -> System {
        let c = Client::connect(url, Some(signer(i))).await.unwrap();
        System::new(c, self.deployment.clone()).unwrap()
    }

    /// Publishes `pkg` (its bytes `bytes`) as a new model, signed by dev key 0; its model id.
    pub async fn publish(&self, bytes: &[u8], pkg: &Package) -> u32 {
        self.system(0)
            .await
            .publish(&vouch_chain::graph::commitments_of(bytes, pkg))
            .await
            .unwrap()
            .model_id
    }

    /// Sends `tokens` whole tokens from dev key 0 to each of `keys`.
    pub async fn fund(&self, keys: impl IntoIterator<Item = usize>, tokens: u128) {
        let owner = self.system(0).await;
        for i in keys {
            owner
                .transfer(signer(i).address(), U256::from(tokens * TOKEN))
                .await
                .unwrap();
        }
    }

    /// Dev key `i` stakes `tokens` whole tokens and opts in to `model`.
    pub async fn stake(&self, i: usize, model: u32, tokens: u128) {
        self.system(i)
            .await
            .join(model, tokens * TOKEN)
            .await
            .unwrap();
    }
}
