//! A `Concat` of more than 8 inputs is a tree of `Concat`s of at most 8 inputs each
//! (`crates/quant/src/quantize/layout.rs`): a `Concat` element's one-step check takes a window
//! of every input with its Merkle and range proofs, 2.46M gas for the 64 steps of silero-vad's
//! sequence LSTM (`bench/production/gas.sh`). On a real anvil: the fixture `vad_lstm_seq` (an
//! LSTM over 64 frames, its head on every step's state) imports with no `Concat` over 8
//! inputs, its states put end to end the same, bit for bit, as one `Concat` of the 64 steps
//! (which `check_mode` refuses for disputes), and a provider lying in the tree's root or in one
//! of its runs loses to an honest challenger with a one-step check under 1M gas
//! (`cargo test --release -p vouch-chain --test concat_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_model::{MAX_CONCAT_INPUTS, Op, Operand};

mod common;

const STEPS: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_a_long_concat_loses_within_a_million_gas() {
    let (bytes, pkg) = vouch_testkit::fixture("vad_lstm_seq", None);
    let is_concat = |j: usize| matches!(pkg.nodes[j].op, Op::Concat { .. });
    let producer = |o: &Operand| match o {
        Operand::Value(v) => pkg.nodes.iter().position(|n| n.output == *v),
        Operand::Const(_) => None,
    };
    for (j, n) in pkg.nodes.iter().enumerate() {
        assert!(
            !is_concat(j) || n.inputs.len() <= MAX_CONCAT_INPUTS,
            "{}: a Concat of {} inputs",
            n.name,
            n.inputs.len()
        );
    }
    // the root: the Concat of Concats; its runs' inputs are the 64 steps' states
    let root = (0..pkg.nodes.len())
        .rfind(|&j| {
            is_concat(j)
                && pkg.nodes[j]
                    .inputs
                    .iter()
                    .all(|o| producer(o).is_some_and(is_concat))
        })
        .expect("a tree of Concats");
    let runs: Vec<usize> = pkg.nodes[root]
        .inputs
        .iter()
        .map(|o| producer(o).unwrap())
        .collect();
    let steps: Vec<Operand> = runs
        .iter()
        .flat_map(|&r| pkg.nodes[r].inputs.clone())
        .collect();
    assert_eq!(steps.len(), STEPS, "the runs hold every step's state");
    // in step order: the unrolled steps' states are computed one after the other (each seen
    // through the `Rescale` onto the Concat's scale, where it has one)
    let made: Vec<usize> = steps
        .iter()
        .map(|o| {
            let p = producer(o).unwrap();
            match pkg.nodes[p].op {
                Op::Rescale { .. } => producer(&pkg.nodes[p].inputs[0]).unwrap(),
                _ => p,
            }
        })
        .collect();
    assert!(
        made.is_sorted_by(|a, b| a < b),
        "steps out of order: {made:?}"
    );
    vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();

    let (ic, honest, output, evidence) = common::run_fixture(&pkg, "vad_lstm_seq", 1);
    // the old form, one Concat of the 64 states: the same tensor and outputs, and refused for
    // disputes before any task is accepted
    let mut flat = pkg.clone();
    flat.nodes[root].inputs = steps;
    for mode in [vouch_task::Mode::Optimistic, vouch_task::Mode::Committee] {
        let e = vouch_task::modes::check_mode(&flat, mode)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Concat of more than 8 inputs"), "{e}");
    }
    let (_, flat_trace, flat_output, _) = common::run_fixture(&flat, "vad_lstm_seq", 1);
    assert_eq!(flat_trace.tensors()[root], honest.tensors()[root]);
    assert_eq!(flat_output, output);
    let states = &honest.tensors()[root];
    assert!(states.iter().any(|&v| v != 0), "states worth lying about");

    let (_chain, bob, carol, model) = common::staked_dispute(&bytes, &pkg, 50_000).await;
    let run = runs[runs.len() / 2];
    let lie = |j: usize| {
        let n = &pkg.nodes[j];
        let e = honest.tensors()[j].len() * 2 / 3;
        (j, e, format!("{} (Concat of {})", n.name, n.inputs.len()))
    };
    let table = common::nudged_liars_lose(
        (&carol, &honest, &evidence),
        &bob,
        model,
        ic,
        vec![lie(root), lie(run)],
    )
    .await;
    common::print_one_steps("lying Concat", &table);
    for (what, _, gas) in &table {
        assert!(*gas < 1_000_000, "{what}: one-step {gas} gas");
    }
}
