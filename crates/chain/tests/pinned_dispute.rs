//! Disputes on a pre-quantized model pinned to its own grid (`docs/semantics.md`, pre-quantized
//! models), on a real anvil: `pq_lenet_qop` (onnxruntime's `QLinearConv`/`QLinearMatMul`
//! form) imports with the model's own integer weights and requantizes onto each quantized
//! tensor's grid with the finest multiplier section 4 allows, up to `M < 2^31` (a calibrated
//! package's stay under `2^15`). A provider lies in one element of each node that carries
//! such a multiplier and an honest challenger wins the game: the one-step checks (plain and
//! partial-sum) judge those multipliers as the engine applies them. The one-step's `gasUsed`
//! is printed (`cargo test -p vouch-chain --test pinned_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_model::{Op, Package};

mod common;

/// The largest requantization multiplier node `j` applies, if it requantizes.
fn multiplier(pkg: &Package, j: usize) -> Option<i64> {
    match &pkg.nodes[j].op {
        Op::Linear {
            rq, wide: false, ..
        }
        | Op::Conv {
            rq, wide: false, ..
        }
        | Op::MatMul { rq, wide: false }
        | Op::Mul { rq }
        | Op::Rescale { rq } => Some(rq.m),
        Op::Add { ma, mb, .. } => Some(ma.abs().max(mb.abs())),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_each_node_requantizing_onto_a_pinned_grid_is_caught() {
    let name = "pq_lenet_qop";
    let (bytes, pkg) = vouch_testkit::fixture(name, None);
    vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
    // the nodes whose multiplier is past what calibration ever picks (2^15)
    let nodes: Vec<(usize, i64)> = (0..pkg.nodes.len())
        .filter_map(|j| multiplier(&pkg, j).map(|m| (j, m)))
        .filter(|&(_, m)| m >= 1 << 15)
        .collect();
    assert!(
        nodes.iter().any(|&(_, m)| m >= 1 << 30),
        "{name}: no multiplier of 2^30 or more: {nodes:?}"
    );
    for want in ["Conv", "Linear"] {
        assert!(
            nodes.iter().any(|&(j, _)| pkg.nodes[j].op.name() == want),
            "{name}: no {want} requantizing onto a grid: {nodes:?}"
        );
    }
    // enough for a lost game (bond and slash) per node
    let (_chain, bob, carol, model) = common::staked_dispute(&bytes, &pkg, 50_000).await;
    let (ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 1);
    let lies = nodes
        .into_iter()
        .map(|(j, m)| {
            let what = format!("{} ({}, M {m})", pkg.nodes[j].name, pkg.nodes[j].op.name());
            (j, honest.tensors()[j].len() / 2, what)
        })
        .collect();
    let table =
        common::nudged_liars_lose((&carol, &honest, &evidence), &bob, model, ic, lies).await;
    common::print_one_steps("lying pinned node", &table);
}
