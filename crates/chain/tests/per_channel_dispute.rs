//! Disputes on nodes requantized per output channel (`docs/semantics.md` section 3, version 6),
//! on a real anvil: the fixture `per_channel_cnn` (two `Conv`s and a `Gemm` of fan-in 128 whose
//! output channels' weight ranges differ by 1000x, as folded batch norms make them) is imported
//! per channel; a provider lies in one element of each per-channel node and an honest
//! challenger wins the game. Every one of them plays the partial-sum game (section 8.4: any
//! `Conv`, a `Linear` of fan-in over 64), whose start reads the element's channel multiplier
//! `M[n]` from the `[N, 3]` bias to check the posted accumulator.
//! The one-step's `gasUsed` is printed
//! (`cargo test -p vouch-chain --test per_channel_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_chain::graph::op;
use vouch_model::{Op, Package};

mod common;

/// The per-channel `Linear` and `Conv` nodes of `pkg` (`M = 0`), with their op code.
fn per_channel_nodes(pkg: &Package) -> Vec<(usize, u8)> {
    pkg.nodes
        .iter()
        .enumerate()
        .filter_map(|(j, n)| match n.op {
            Op::Linear { rq, .. } if rq.m == 0 => Some((j, op::LINEAR)),
            Op::Conv { rq, .. } if rq.m == 0 => Some((j, op::CONV)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_each_per_channel_node_is_caught() {
    let chain = common::dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let mut table = Vec::new();
    for (name, outputs) in [("per_channel_cnn", None)] {
        let (bytes, pkg) = vouch_testkit::fixture(name, outputs);
        assert_eq!(
            pkg.semantics_version,
            vouch_semantics::PER_CHANNEL_VERSION,
            "{name}"
        );
        vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
        let nodes = per_channel_nodes(&pkg);
        for want in [op::CONV, op::LINEAR] {
            assert!(
                nodes.iter().any(|&(_, code)| code == want),
                "{name}: no per-channel node of op {want}: {nodes:?}"
            );
        }
        // the Linear's fan-in is over the plain check's 64: its dispute is the partial-sum game
        let fan_ins: Vec<u32> = nodes
            .iter()
            .filter_map(|&(j, _)| match pkg.nodes[j].op {
                Op::Linear { weight, .. } => pkg.consts[weight as usize].shape.get(1).copied(),
                _ => None,
            })
            .collect();
        assert!(fan_ins.iter().all(|&k| k > 64), "{name}: {fan_ins:?}");
        let model = common::publish(&chain, &bytes, &pkg).await;
        chain.stake(2, model, 1_500).await;
        let bob = chain.system(2).await;
        let carol = chain.system(3).await;
        let (ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 1);
        for &(j, code) in &nodes {
            assert_eq!(evidence.nodes[j].op, code, "{name} node {j}");
        }
        // a middle element: a Conv's first outputs sit on the padded border
        let lies = nodes
            .into_iter()
            .map(|(j, _)| {
                let what = format!("{name} node {j} ({})", pkg.nodes[j].name);
                (j, honest.tensors()[j].len() / 2, what)
            })
            .collect();
        table.extend(
            common::nudged_liars_lose((&carol, &honest, &evidence), &bob, model, ic, lies).await,
        );
    }
    common::print_one_steps("lying per-channel node", &table);
}
