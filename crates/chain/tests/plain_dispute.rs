//! Disputes settled by the plain one-step check on narrowed windows, on a real anvil: a provider
//! lies in one element of the first node of each op kind whose check reads a few elements of
//! its input (elementwise `Add`/`Mul`/`Max`/`Min`/`PRelu`: one broadcast element per operand;
//! `Transpose`, `Pad`, `Concat`: one element; the pools: the kernel's rows; `Softmax`/`ArgMax`:
//! the axis) in `cnn_ops`, `upsample_net` and `lenet`, on the first held-out row; an honest
//! challenger plays to the one-step check, which proves only that window of each input
//! (docs/semantics.md section 8.3), and wins, the liar slashed. Were a window to miss an element
//! the check reads, the check would revert (`OutsideWindow`) and the honest side lose. The
//! one-step's `gasUsed` is printed (`cargo test -p vouch-chain --test plain_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_chain::graph::op;

mod common;

/// The op kinds whose plain check reads a narrowed window, with their names.
const NARROWED: [(u8, &str); 11] = [
    (op::ADD, "Add"),
    (op::MUL, "Mul"),
    (op::MAX, "Max"),
    (op::MIN, "Min"),
    (op::PRELU, "PRelu"),
    (op::TRANSPOSE, "Transpose"),
    (op::CONCAT, "Concat"),
    (op::PAD, "Pad"),
    (op::MAXPOOL, "MaxPool"),
    (op::AVGPOOL, "AveragePool"),
    (op::SOFTMAX, "Softmax"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_each_narrowed_plain_check_is_caught() {
    // one liar loses once per node: keep it staked
    let chain = common::dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    let mut covered: Vec<u8> = Vec::new();
    let mut table = Vec::new();
    for name in ["cnn_ops", "upsample_net", "lenet"] {
        let (bytes, pkg) = vouch_testkit::fixture(name, None);
        vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
        let model = common::publish(&chain, &bytes, &pkg).await;
        chain.stake(2, model, 1_500).await;
        let (ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 1);
        for (j, node) in evidence.nodes.iter().enumerate() {
            let code = node.op;
            let kind = NARROWED
                .iter()
                .chain([(op::ARGMAX, "ArgMax")].iter())
                .find(|(c, _)| *c == code);
            let Some((_, kind)) = kind else { continue };
            if covered.contains(&code) {
                continue;
            }
            covered.push(code);
            // a middle element, moved by one (an ArgMax index to another index)
            let lie = common::nudged(&honest, j, honest.tensors()[j].len() / 2);
            let inputs: usize = node
                .inShapes
                .iter()
                .map(|s| {
                    s.iter()
                        .map(|d| usize::try_from(*d).unwrap())
                        .product::<usize>()
                })
                .sum();
            let what = format!("{name} node {j} ({kind})");
            let (moves, gas) = common::liar_loses(
                (&carol, &honest, &evidence),
                (&bob, &lie),
                model,
                ic,
                0,
                &what,
            )
            .await;
            table.push((what, inputs, moves, gas));
        }
    }
    println!("lying node                          input elements  moves  one-step gasUsed");
    for (what, inputs, moves, gas) in table {
        println!("{what:<35} {inputs:>14}  {moves:>5}  {gas:>16}");
    }
    // the fixtures hold at least these kinds (packages lower `Softmax` into `Reduce`, `Lut`
    // and `Mul`; the checker's `Softmax` window is narrowed the same way as `ArgMax`'s)
    for code in [
        op::ADD,
        op::MUL,
        op::TRANSPOSE,
        op::CONCAT,
        op::PAD,
        op::MAXPOOL,
        op::AVGPOOL,
        op::ARGMAX,
    ] {
        assert!(
            covered.contains(&code),
            "no node of op {code} in the fixtures"
        );
    }
}
