//! Disputes on the ops `Resize` and `ConvTranspose` lower into, on a real anvil: the fixture
//! `upsample_net` (a conv autoencoder whose decoder is two `ConvTranspose`s, a nearest and a
//! bilinear `Resize`) published, a provider lying in one element of each lowered node (the
//! 1x1 `Conv` and interleaving `Transpose` of a kernel equal to its stride; the zero `Pad`,
//! stuffing `Select` and `Conv` of the general form; the nearest `Select`; the bilinear
//! `Linear` and its `Transpose`) on the first held-out row, and an honest challenger
//! that plays the game to the one-step check and wins, the liar slashed. The one-step's
//! `gasUsed` is printed (`cargo test -p vouch-chain --test upsample_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_chain::graph::op;

mod common;

const MODEL: &str = "upsample_net";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_each_lowered_resize_and_conv_transpose_node_is_caught() {
    let (bytes, pkg) = vouch_testkit::fixture(MODEL, None);
    vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
    // one liar loses once per node kind: keep it staked
    let (_chain, bob, carol, model) = common::staked_dispute(&bytes, &pkg, 1_500).await;
    let (ic, honest, _output, evidence) = common::run_fixture(&pkg, MODEL, 1);
    let first = |code: u8, after: usize| {
        evidence
            .nodes
            .iter()
            .enumerate()
            .skip(after)
            .find(|(_, n)| n.op == code)
            .map(|(j, _)| j)
            .unwrap_or_else(|| panic!("{MODEL}: no node of op {code} after {after}"))
    };
    // dec1 (2x2 stride 2): a 1x1 Conv, Reshape, Transpose, Reshape
    let interleave = first(op::TRANSPOSE, 0);
    let conv1x1 = (0..interleave)
        .rev()
        .find(|&j| evidence.nodes[j].op == op::CONV)
        .unwrap();
    // dec2 (3x3 stride 2, pad 1, output_padding 1, group 2): Pad, Select, Conv
    let pad = first(op::PAD, 0);
    let stuffing = first(op::SELECT, pad);
    let linear = first(op::LINEAR, 0);
    let targets = [
        ("Conv (1x1, k = stride)", conv1x1),
        ("Transpose (interleave)", interleave),
        ("Select (nearest)", first(op::SELECT, 0)),
        ("Pad (one zero)", pad),
        ("Select (stuffing)", stuffing),
        ("Conv (stuffed input)", first(op::CONV, stuffing)),
        ("Linear (bilinear)", linear),
        ("Transpose (bilinear)", first(op::TRANSPOSE, linear)),
    ];
    let mut table = Vec::new();
    for (what, j) in targets {
        let mut lie = honest.clone();
        // a middle element: the Conv's first outputs sit on the padded border
        let e = lie.tensors()[j].len() / 2;
        lie.set(j, e, lie.tensors()[j][e] + 1).unwrap();
        let (moves, gas) = common::liar_loses(
            (&carol, &honest, &evidence),
            (&bob, &lie),
            model,
            ic,
            0,
            what,
        )
        .await;
        table.push((what, j, moves, gas));
    }
    println!("lying node              index  moves  one-step gasUsed");
    for (what, j, moves, gas) in table {
        println!("{what:<23} {j:>5}  {moves:>5}  {gas:>16}");
    }
}
