//! Disputes on a 16-bit softmax over a slice longer than a `Reduce` spans, on a real anvil: the
//! fixture `crnn_softmax` (a recognizer's softmax over 1,200 classes) is imported as the fine
//! form in stages (`docs/semantics.md` section 5, the long fine softmax: a tree of `Reduce max`
//! stages, the differences and `exp` tables, two exact `Linear` sums, the reciprocal's pieces
//! and the product); a provider lies in one element of each of its nodes and an honest
//! challenger wins the game at a one-step check under 1M gas (the `Linear` sums by the
//! partial-sum game). The one-step's `gasUsed` is printed
//! (`cargo test -p vouch-chain --test long_softmax_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_model::Op;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_at_each_stage_of_a_long_softmax_is_caught() {
    let name = "crnn_softmax";
    let (bytes, pkg) = vouch_testkit::fixture(name, None);
    for mode in [vouch_task::Mode::Optimistic, vouch_task::Mode::Committee] {
        vouch_task::modes::check_mode(&pkg, mode).unwrap();
    }
    // every node of the softmax's form but the data movement around its maximum's stages
    let nodes: Vec<usize> = pkg
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.name.starts_with("/Softmax") && !matches!(n.op, Op::Reshape))
        .map(|(j, _)| j)
        .collect();
    for want in ["Reduce", "Linear", "Rescale", "Lut", "Add", "Mul"] {
        assert!(
            nodes.iter().any(|&j| pkg.nodes[j].op.name() == want),
            "no {want} in the softmax's form"
        );
    }
    // enough for a lost game (bond and slash) per node
    let (_chain, bob, carol, model) = common::staked_dispute(&bytes, &pkg, 50_000).await;
    let (ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 1);
    let lies = nodes
        .into_iter()
        .map(|j| {
            let what = format!("{} ({})", pkg.nodes[j].name, pkg.nodes[j].op.name());
            (j, honest.tensors()[j].len() / 2, what)
        })
        .collect();
    let table =
        common::nudged_liars_lose((&carol, &honest, &evidence), &bob, model, ic, lies).await;
    common::print_one_steps("lying softmax node", &table);
}
