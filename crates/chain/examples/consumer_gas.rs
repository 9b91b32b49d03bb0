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
//! Then the same decision in zk mode: the 784-128-10 MLP fixture (`testdata/models/
//! mlp_784_128_10`, imported at int8 as its committed proof's package) published with its
//! committed verifier (`contracts/src/verifiers/VouchZkVerifierMlp784.sol`, compiled with
//! solcjs), a zk request on row 0 of its input (inline) with the gate as callback, and
//! `submitZk` with the committed proof (`testdata/proofs/v3/mlp_784_128_10.calldata.json`),
//! which verifies, settles and delivers the proof's values to the gate in one transaction; and
//! a request naming the input by its CID (as the gateway stores it) instead of carrying it;
//! and the one-transaction zk decision (`FeeVault.requestSignedZk`: the borrower signs the
//! request, EIP-712, and the provider sends it with the proof), its fee taken by
//! `transferFrom` or from the borrower's TaskManager deposit.
//!
//! ```text
//! cargo run -p vouch-chain --example consumer_gas      # bench/consumer/run.sh
//! ```
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a measurement program: its output is the report

use vouch_chain::alloy::primitives::Address;
use vouch_chain::alloy::primitives::{I256, U256};
use vouch_chain::alloy::providers::Provider;
use vouch_chain::bindings::lending_risk_gate::LendingRiskGate;
use vouch_chain::record::{FLAG_CALLBACK_FAILED, FLAG_DELIVERED};
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

/// Task `t`'s callback ran (its pending-callback flag is clear) and the gate at `gate` holds
/// the credit line `line` for `borrower`.
async fn the_gate_acted(
    b: &System,
    owner: &System,
    gate: Address,
    t: U256,
    borrower: usize,
    line: U256,
) {
    let task = b.task(t).await.unwrap();
    assert_eq!(task.flags & FLAG_CALLBACK_FAILED, 0, "the callback ran");
    assert_ne!(task.flags & FLAG_DELIVERED, 0, "the values were delivered");
    let gate = LendingRiskGate::new(gate, owner.client().provider().clone());
    let got = owner
        .client()
        .call(
            "creditLineOf",
            gate.creditLineOf(signer(borrower).address()),
        )
        .await
        .unwrap();
    assert_eq!(got, line, "the gate approved the credit line");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let cfg = vouch_testkit::test_config();
    let chain = Chain::start(cfg.clone()).await;
    let owner = chain.system(0).await;
    let m = vouch_chain::graph::commitments_of(&bytes, &pkg);
    let model = owner.publish(&m).await.unwrap().model_id;
    chain.fund(1..8, 5_000).await;
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
    let trace = HonestTrace::of_package(exec.trace.iter().map(|t| t.data.clone()).collect(), &pkg);
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
        the_gate_acted(&b, &owner, *gate.address(), t, borrower, line).await;
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

    let zk = zk_decision(&chain, &owner).await;
    println!();
    println!(
        "| zk decision consumed by LendingRiskGate (784-128-10 MLP int8, committed proof, receipts on anvil) | gasUsed |"
    );
    println!("|---|---:|");
    for (what, g) in &zk {
        println!("| {what} | {g} |");
    }
    println!(
        "| total, inline input [target <= 450000] | {} |",
        zk[0].1 + zk[1].1
    );
    println!(
        "| total, input by CID [target <= 450000] | {} |",
        zk[2].1 + zk[1].1
    );
    println!(
        "| total, one transaction, fee by transferFrom [target <= 450000] | {} |",
        zk[3].1
    );
    println!(
        "| total, one transaction, fee from a deposit [target <= 450000] | {} |",
        zk[4].1
    );
}

/// The zk decision's rows for a new borrower after one warm-up decision: the request with the
/// input inline, `submitZk`, and the request of another new borrower naming the input by CID;
/// then the one-transaction decision (`FeeVault.requestSignedZk`: the borrower's signed request
/// and the provider's proof together), the fee taken by `transferFrom` (the borrower approved
/// the TaskManager before) and from the borrower's TaskManager deposit.
async fn zk_decision(chain: &Chain, owner: &System) -> Vec<(&'static str, u64)> {
    let fx = vouch_testkit::zk::publish_mlp784(owner).await;
    let model = fx.model;
    // approves any score: every decision writes the borrower's fresh credit line
    let line = U256::from(1_000 * TOKEN);
    let gate = LendingRiskGate::deploy(
        owner.client().provider().clone(),
        owner.deployment().contracts.task_manager,
        model,
        1,
        U256::ZERO,
        U256::ZERO,
        I256::try_from(10_i128.pow(30)).unwrap(),
        line,
    )
    .await
    .unwrap();
    let provider = chain.system(1).await;
    // the input as the gateway stores it, named by its CID (the request carries no input bytes)
    let cid =
        vouch_primitives::Cid::of_file(&serde_json::to_vec(&fx.input_json).unwrap()).to_string();
    let request = |by_cid: bool| Request {
        model_id: model,
        version: 1,
        mode: Mode::Zk,
        fee: TOKEN,
        deadline_secs: 3600,
        input_commitment: fx.input_commitment,
        rows: 1,
        input_cid: if by_cid { cid.clone() } else { String::new() },
        inline_input: if by_cid {
            Vec::new()
        } else {
            fx.inline.clone()
        },
        callback: Some(Callback {
            target: *gate.address(),
            gas: 100_000,
        }),
    };
    let mut rows = Vec::new();
    // borrower 5 warms up; 6 sends the input inline, 7 names it by CID
    for borrower in [5, 6, 7] {
        let by_cid = borrower == 7;
        let b = chain.system(borrower).await;
        let t = b.request(&request(by_cid)).await.unwrap();
        let request = last_gas(&b).await;
        let rc = provider
            .submit_zk(t, fx.output, fx.proof.clone())
            .await
            .unwrap();
        the_gate_acted(&b, owner, *gate.address(), t, borrower, line).await;
        let submit = "submitZk (verifies, settles, delivers the proof's values, the gate approves)";
        match borrower {
            6 => rows.extend([
                ("request (inline input, callback to the gate)", request),
                (submit, rc.gas_used),
            ]),
            7 => rows.push((
                "request with the input by CID instead (no inline bytes)",
                request,
            )),
            _ => {}
        }
    }
    // one transaction (the provider was paid before): borrower 8 pays by transferFrom, 9 from
    // a deposit
    chain.fund(8..10, 100).await;
    let vault = *provider.fee_vault().unwrap().address();
    for borrower in [8, 9] {
        let b = chain.system(borrower).await;
        let tm = b.deployment().contracts.task_manager;
        if borrower == 9 {
            b.deposit(TOKEN).await.unwrap();
        } else {
            b.ensure_allowance(tm, U256::from(TOKEN)).await.unwrap();
        }
        let key = vouch_testkit::signer(borrower);
        let signed = b
            .draft_signed(&request(true), key.address(), U256::from(borrower), 600)
            .await
            .unwrap()
            .sign(&key, b.client().chain_id(), vault)
            .unwrap();
        let (t, rc) = provider
            .request_signed_zk(&signed, fx.output, fx.proof.clone())
            .await
            .unwrap();
        the_gate_acted(&b, owner, *gate.address(), t, borrower, line).await;
        rows.push((
            if borrower == 8 {
                "one transaction: signed request (input by CID) + proof, fee by transferFrom"
            } else {
                "one transaction: signed request (input by CID) + proof, fee from a deposit"
            },
            rc.gas_used,
        ));
    }
    rows
}
