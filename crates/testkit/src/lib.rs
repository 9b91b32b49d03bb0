//! Test support for the tests that touch a chain: anvil's public dev keys, a real anvil on a
//! free port with the whole system deployed ([`Chain`]), funded and staked keys, and the
//! fixture models of `testdata/models` imported as users import them ([`fixture`]).
//!
//! Every chain test of the workspace starts its world here, so the setup is written once.
//! Panics on failure: it is test code, and a failed setup is a failed test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::str::FromStr;
use vouch_chain::alloy::primitives::U256;
use vouch_chain::alloy::signers::local::PrivateKeySigner;
use vouch_chain::{Client, DeployConfig, Deployment, Devnet, DevnetConfig, System, TOKEN};
use vouch_model::Package;

/// anvil's well-known dev accounts 0..9 (public test keys: never use them on a real chain).
pub const DEV_KEYS: [&str; 10] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// The signer of dev key `i`.
pub fn signer(i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_str(DEV_KEYS[i]).unwrap()
}

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The directory of fixture model `name` (`testdata/models/<name>`).
pub fn model_dir(name: &str) -> PathBuf {
    repo().join("testdata/models").join(name)
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
        },
    )
    .unwrap();
    let names: Vec<&str> = graph
        .inputs
        .iter()
        .map(|&v| graph.values[v].name.as_str())
        .collect();
    let samples = vouch_quant::json::inputs_from_json(&cal, &names).unwrap();
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
