//! Gas of the protocol's transactions as the Rust client sends them to a real anvil (first-time,
//! cold storage: an upper bound on the steady-state figures of `contracts/test/GasReport.t.sol`).
//!
//! `cargo run -p vouch-chain --example gas` prints a table.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::str::FromStr;
use vouch_chain::alloy::primitives::{B256, U256};
use vouch_chain::alloy::providers::Provider;
use vouch_chain::alloy::signers::local::PrivateKeySigner;
use vouch_chain::system::{Mode, Request};
use vouch_chain::{Client, DeployConfig, Devnet, DevnetConfig, System, TOKEN};
use vouch_engine::{Engine, Options};

const KEYS: [&str; 3] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

/// Gas of the transaction in the latest block (anvil mines one per block).
async fn last_gas(s: &System) -> u64 {
    let b = s
        .client()
        .provider()
        .get_block_by_number(vouch_chain::alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap();
    b.header.gas_used
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/models/digits_mlp");
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let cal: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("calibration.json")).unwrap()).unwrap();
    let graph = vouch_onnx::import(
        &onnx,
        &vouch_onnx::ImportOptions {
            outputs: Some(vec!["probabilities".to_owned()]),
        },
    )
    .unwrap();
    let names: Vec<&str> = graph
        .inputs
        .iter()
        .map(|&v| graph.values[v].name.as_str())
        .collect();
    let samples = vouch_quant::json::inputs_from_json(&cal, &names).unwrap();
    let pkg = vouch_quant::import(&graph, samples, "digits_mlp", [0; 32], |_| {}).unwrap();
    let input: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    let in_names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let inputs = vouch_quant::quantize_inputs(
        &pkg,
        &vouch_quant::json::inputs_from_json(&input, &in_names).unwrap(),
    );
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
    let exec = Engine::new(
        &pkg,
        Options {
            threads: 1,
            trace: true,
        },
    )
    .unwrap()
    .run(inputs)
    .unwrap();

    let devnet = Devnet::spawn(&DevnetConfig::default()).await.unwrap();
    let signer = |i: usize| PrivateKeySigner::from_str(KEYS[i]).unwrap();
    let cfg = DeployConfig {
        audit_bps: 0,
        ..DeployConfig::default()
    };
    let c0 = Client::connect(&devnet.url(), Some(signer(0)))
        .await
        .unwrap();
    let dep = vouch_chain::deploy(&c0, &cfg).await.unwrap();
    let owner = System::new(c0, dep.clone()).unwrap();
    let mut rows: Vec<(&str, u64)> = Vec::new();
    let m = owner
        .publish(&vouch_chain::graph::commitments_of(&pkg.to_bytes(), &pkg))
        .await
        .unwrap();
    rows.push((
        "register model version (+ EAS provenance)",
        last_gas(&owner).await,
    ));
    for i in [1, 2] {
        owner
            .transfer(signer(i).address(), U256::from(10_000 * TOKEN))
            .await
            .unwrap();
    }
    let prov = System::new(
        Client::connect(&devnet.url(), Some(signer(1)))
            .await
            .unwrap(),
        dep.clone(),
    )
    .unwrap();
    let req = System::new(
        Client::connect(&devnet.url(), Some(signer(2)))
            .await
            .unwrap(),
        dep,
    )
    .unwrap();
    prov.join(m.model_id, 2_000 * TOKEN).await.unwrap();
    rows.push(("opt in (after approve + stake)", last_gas(&prov).await));
    let mut total = 0;
    for round in 0..2 {
        let t = req
            .request(&Request {
                model_id: m.model_id,
                version: 1,
                mode: Mode::Optimistic,
                fee: TOKEN,
                deadline_secs: 3600,
                input_commitment: ic,
                rows: 1,
                input_cid: String::new(),
                inline_input: Vec::new(),
            })
            .await
            .unwrap();
        let g_req = last_gas(&req).await;
        prov.submit(
            t,
            B256::from(exec.output_commitment()),
            B256::from(exec.trace_root()),
        )
        .await
        .unwrap();
        let g_sub = last_gas(&prov).await;
        req.client()
            .warp(u64::from(cfg.challenge_window) + 1)
            .await
            .unwrap();
        req.finalize(t).await.unwrap();
        let g_fin = last_gas(&req).await;
        if round == 1 {
            rows.push(("optimistic: request (warm)", g_req));
            rows.push(("optimistic: submit (warm)", g_sub));
            rows.push(("optimistic: finalize (warm)", g_fin));
            total = g_req + g_sub + g_fin;
        } else {
            rows.push(("optimistic: request (first)", g_req));
            rows.push(("optimistic: submit (first)", g_sub));
            rows.push(("optimistic: finalize (first)", g_fin));
        }
    }
    rows.push(("optimistic: request + submit + finalize (warm)", total));
    req.flush_receipts().await.unwrap();
    rows.push((
        "receipts: one batched EAS attestation",
        last_gas(&req).await,
    ));
    req.attest_receipt(U256::from(2)).await.unwrap();
    rows.push((
        "receipt: one per-task EAS attestation",
        last_gas(&req).await,
    ));
    println!("| transaction (Rust client on anvil) | gas |");
    println!("|---|---|");
    for (what, g) in rows {
        println!("| {what} | {g} |");
    }
}
