//! What a verified decision consumed by a contract costs, as receipts on a real anvil: the
//! digits MLP (16-bit, its probabilities output) published with its output scale, a borrower
//! requests an optimistic task on one input row (inline) with the example `LendingRiskGate` as
//! callback, the honest provider submits the Rust engine's output and trace root, and after the
//! window `finalize` with the engine's values delivers them: the gate approves the credit line.
//! Every figure is the gasUsed of one transaction's receipt (status 1; anvil mines one block per
//! transaction, so it is the latest block's only receipt), and the gate's decision is read back.
//! Steady state: one decision runs first (the provider has been paid before); the measured
//! borrower is new (its credit line is a fresh storage slot) and pays the fee by `transferFrom`.
//!
//! ```text
//! cargo run -p vouch-chain --example consumer_gas      # bench/consumer/run.sh
//! ```
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a measurement program: its output is the report

use vouch_chain::alloy::primitives::{I256, U256};
use vouch_chain::alloy::providers::Provider;
use vouch_chain::bindings::lending_risk_gate::LendingRiskGate;
use vouch_chain::system::{Callback, Mode, Request, System};
use vouch_chain::{TOKEN, dispute::HonestTrace};
use vouch_engine::{Engine, Options};
use vouch_testkit::{Chain, signer};

/// gasUsed of the latest block's last receipt (the transaction just sent).
async fn last_gas(sys: &System) -> u64 {
    let block = sys
        .client()
        .provider()
        .get_block_receipts(vouch_chain::alloy::eips::BlockId::latest())
        .await
        .unwrap()
        .unwrap();
    let r = block.last().unwrap();
    assert!(r.status(), "the transaction succeeded");
    r.gas_used
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let cfg = vouch_testkit::test_config();
    let chain = Chain::start(cfg.clone()).await;
    let owner = chain.system(0).await;
    let m = vouch_chain::graph::commitments_of(&bytes, &pkg);
    let model = owner.publish(&m).await.unwrap().model_id;
    chain.fund(1..5, 5_000).await;
    chain.stake(1, model, 1_500).await;
    let line = U256::from(1_000 * TOKEN);
    let gate = LendingRiskGate::deploy(
        owner.client().provider().clone(),
        owner.deployment().contracts.task_manager,
        model,
        1,
        U256::ZERO,
        U256::ZERO,
        I256::try_from(500_000_000_000_000_000_i128).unwrap(),
        line,
    )
    .await
    .unwrap();

    // row 0 of the fixture input, inline, as a client sends it
    let dir = vouch_testkit::model_dir("digits_mlp");
    let mut input: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    for (_, v) in input.as_object_mut().unwrap().iter_mut() {
        v.as_array_mut().unwrap().truncate(1);
    }
    let floats = vouch_task::codec::package_inputs_from_json(&pkg, &input).unwrap();
    let inputs = vouch_quant::quantize_inputs(&pkg, &floats);
    let ic = vouch_chain::alloy::primitives::B256::from(vouch_engine::exec::commit_list(&inputs));
    let inline = vouch_task::codec::inline_bytes(&inputs);
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
    let trace = HonestTrace {
        tensors: exec.trace.iter().map(|t| t.data.clone()).collect(),
        header: vouch_chain::graph::header_of(&pkg),
    };
    let values = trace.output_values();
    let provider = chain.system(1).await;

    let mut rows = Vec::new();
    for borrower in [3, 4] {
        let b = chain.system(borrower).await;
        let req = Request {
            model_id: model,
            version: 1,
            mode: Mode::Optimistic,
            fee: TOKEN,
            deadline_secs: 3600,
            input_commitment: ic,
            rows: 1,
            input_cid: String::new(),
            inline_input: inline.clone(),
            callback: Some(Callback {
                target: *gate.address(),
                gas: 100_000,
            }),
        };
        let t = b.request(&req).await.unwrap();
        let request = last_gas(&b).await;
        provider
            .submit(t, trace.output_commitment(), trace.trace_root())
            .await
            .unwrap();
        let submit = last_gas(&provider).await;
        b.client()
            .warp(u64::from(cfg.challenge_window) + 1)
            .await
            .unwrap();
        let rc = provider.finalize_with_values(t, &values).await.unwrap();
        let finalize = rc.gas_used;
        assert_eq!(b.task(t).await.unwrap().flags & 16, 0, "the callback ran");
        let got = owner
            .client()
            .call(
                "creditLineOf",
                gate.creditLineOf(signer(borrower).address()),
            )
            .await
            .unwrap();
        assert_eq!(got, line, "the gate approved the credit line");
        rows = vec![
            ("request (inline input, callback to the gate)", request),
            ("submit", submit),
            (
                "finalize with values (delivered, the gate approves)",
                finalize,
            ),
        ];
    }
    println!(
        "| optimistic decision consumed by LendingRiskGate (digits MLP, receipts on anvil) | gasUsed |"
    );
    println!("|---|---:|");
    for (what, g) in &rows {
        println!("| {what} | {g} |");
    }
    let total: u64 = rows.iter().map(|r| r.1).sum();
    println!("| total [target <= 350000] | {total} |");
}
