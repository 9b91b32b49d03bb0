//! What a zk task costs on-chain, as receipts: on a fresh anvil pinned to cancun, deploys the
//! protocol, deploys the verifier of `KEYS` for `PACKAGE` (as `vouch zk deploy-verifier`),
//! publishes the model with it, requests a zk task for row 0 of `INPUT`, proves it and settles
//! it with `TaskManager.submitZk`. Prints one JSON line with the gasUsed of that transaction's
//! receipt; the figure counts only with status 1 and the verifier's `verifyProof` call inside
//! the same transaction returning true (anvil's `debug_traceTransaction`, `callTracer`), and
//! the program fails otherwise.
//!
//! ```text
//! cargo run --release -p vouch-cli --example zk_task_gas -- PACKAGE KEYS INPUT.json
//! ```
#![allow(clippy::print_stdout)] // a measurement program: its output is the report

use eyre::{Result, WrapErr, bail, eyre};
use std::path::PathBuf;
use std::str::FromStr;
use vouch_chain::alloy::primitives::{Address, B256, Bytes, U256};
use vouch_chain::alloy::providers::Provider;
use vouch_chain::alloy::signers::local::PrivateKeySigner;
use vouch_chain::system::{Mode, Request};
use vouch_chain::{Client, DeployConfig, Devnet, DevnetConfig, System, TOKEN};

/// anvil's well-known dev accounts (public test keys): 0 deployer/model owner, 1 provider,
/// 2 requester.
const DEV_KEYS: [&str; 3] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

/// The ABI encoding of `true`.
const TRUE: &str = "0x0000000000000000000000000000000000000000000000000000000000000001";

async fn system(url: &str, dep: &vouch_chain::Deployment, i: usize) -> Result<System> {
    let c = Client::connect(url, Some(PrivateKeySigner::from_str(DEV_KEYS[i])?)).await?;
    Ok(System::new(c, dep.clone())?)
}

/// The call to `verifier` inside a `callTracer` trace, depth first.
fn find_call(trace: &serde_json::Value, verifier: Address) -> Option<&serde_json::Value> {
    let to = trace["to"].as_str().and_then(|t| Address::from_str(t).ok());
    if to == Some(verifier) {
        return Some(trace);
    }
    trace["calls"]
        .as_array()?
        .iter()
        .find_map(|c| find_call(c, verifier))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [package, keys, input] = args.as_slice() else {
        bail!("usage: zk_task_gas PACKAGE KEYS INPUT.json");
    };
    let pkg = vouch_cli::io::read_package(package)?;
    let keys = std::fs::read(keys).wrap_err_with(|| format!("cannot read {}", keys.display()))?;
    let inputs = vouch_cli::cmd::zk::one_row(&pkg, input, 0)?;

    let devnet = Devnet::spawn(&DevnetConfig {
        hardfork: Some("cancun".to_owned()),
        ..DevnetConfig::default()
    })
    .await?;
    let url = devnet.url();
    let c0 = Client::connect(&url, Some(PrivateKeySigner::from_str(DEV_KEYS[0])?)).await?;
    let cfg = DeployConfig {
        audit_bps: 0,
        ..DeployConfig::default()
    };
    let dep = vouch_chain::deploy(&c0, &cfg).await?;
    let owner = System::new(c0, dep.clone())?;
    let (info, _) =
        vouch_localnet::zk_setup::deploy_verifier(&owner, &pkg, &keys, "VouchZkVerifier").await?;
    let m = vouch_chain::graph::commitments_of(&pkg.to_bytes(), &pkg);
    let (published, _) = owner
        .publish_with_verifier(&m, info.address, Some(info.vk_hash))
        .await?;

    let requester = system(&url, &dep, 2).await?;
    let provider = system(&url, &dep, 1).await?;
    let requester_address = requester
        .client()
        .from()
        .ok_or_else(|| eyre!("no signer"))?;
    owner
        .transfer(requester_address, U256::from(100 * TOKEN))
        .await?;
    let ic = vouch_zk_prover::task::input_commitment(&pkg, &inputs)?;
    let task = requester
        .request(&Request {
            model_id: published.model_id,
            version: u16::try_from(published.version)?,
            mode: Mode::Zk,
            fee: 2 * TOKEN,
            deadline_secs: 3600,
            input_commitment: B256::from(ic),
            rows: 1,
            input_cid: String::new(),
            inline_input: Vec::new(),
            callback: None,
        })
        .await?;
    let pkg2 = pkg.clone();
    let proof =
        tokio::task::spawn_blocking(move || vouch_zk_prover::task::prove(&pkg2, &keys, inputs))
            .await??;
    let receipt = provider
        .submit_zk(
            task,
            B256::from(proof.output_commitment),
            Bytes::from(proof.calldata.clone()),
        )
        .await?;
    let trace: serde_json::Value = provider
        .client()
        .provider()
        .raw_request(
            "debug_traceTransaction".into(),
            (
                receipt.transaction_hash,
                serde_json::json!({"tracer": "callTracer"}),
            ),
        )
        .await?;
    let verify = find_call(&trace, info.address)
        .ok_or_else(|| eyre!("submitZk did not call the verifier {}", info.address))?;
    let returned = verify["output"].as_str().unwrap_or("0x");
    if !receipt.status() || returned != TRUE {
        bail!(
            "submitZk {}: status {}, verifyProof returned {returned}",
            receipt.transaction_hash,
            receipt.status()
        );
    }
    let verify_gas = verify["gasUsed"]
        .as_str()
        .and_then(|g| u64::from_str_radix(g.trim_start_matches("0x"), 16).ok());
    println!(
        "{}",
        serde_json::json!({
            "package": package.display().to_string(),
            "submit_zk_gas": receipt.gas_used,
            "status": receipt.status(),
            "verify_proof_returned": returned,
            "verify_proof_call_gas": verify_gas,
            "tx": receipt.transaction_hash.to_string(),
            "proof_bytes": proof.calldata.len(),
            "how": "gasUsed of the TaskManager.submitZk receipt on anvil (--hardfork cancun), status 1, verifyProof returned true in the callTracer trace",
        })
    );
    Ok(())
}
