//! Disputes on the nodes settled by the partial-sum game over their fan-in, on a real anvil: a
//! provider lies in one element of each `Conv`, `MatMul` and `Linear` of fan-in over 64 in
//! `cnn_ops` (the plain 3x3 Conv, the grouped dilated Conv, the strided Conv, the 144->10
//! Gemm) and `lenet` (two Convs, the 400->120 Linear) on the first held-out row; an honest
//! challenger plays the
//! partial-sum game over the element's fan-in (docs/semantics.md section 8.4) to the one-step
//! check of one chunk and wins, the liar slashed, each one-step under 1M gas. The liar's prefix
//! sums deviate from the middle chunk on. The one-step's `gasUsed` is printed
//! (`cargo test -p vouch-chain --test conv_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_chain::dispute;
use vouch_chain::graph::op;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_each_conv_and_large_linear_node_is_caught_by_its_partial_sums() {
    // one liar loses once per node: keep it staked
    let chain = common::dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    let mut table = Vec::new();
    for name in ["cnn_ops", "lenet"] {
        let (bytes, pkg) = vouch_testkit::fixture(name, None);
        vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
        let model = common::publish(&chain, &bytes, &pkg).await;
        chain.stake(2, model, 1_500).await;
        let (ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 1);
        let targets: Vec<usize> = (0..evidence.nodes.len())
            .filter(|&j| dispute::bisects(&evidence.nodes[j]))
            .collect();
        assert!(
            targets.iter().any(|&j| evidence.nodes[j].op == op::CONV),
            "{name}: no Conv node"
        );
        for j in targets {
            let node = &evidence.nodes[j];
            let k = dispute::fan_in(node).unwrap();
            let chunks = k.div_ceil(dispute::chunk_of(node.op));
            let mut lie = honest.clone();
            // a middle element, moved to a neighbour its requantization can reach
            let e = lie.tensors[j].len() / 2;
            let hi = node.attrs[3].as_i64();
            let v = i64::from(lie.tensors[j][e]);
            lie.tensors[j][e] = i32::try_from(if v < hi { v + 1 } else { v - 1 }).unwrap();
            let what = format!("{name} node {j}");
            let (moves, gas) = common::liar_loses(
                (&carol, &honest, &evidence),
                (&bob, &lie),
                model,
                ic,
                chunks / 2,
                &what,
            )
            .await;
            table.push((name, j, node.op, k, moves, gas));
        }
    }
    println!("fixture  node  op      fan-in  moves  one-step gasUsed");
    for (name, j, code, k, moves, gas) in table {
        let op = match code {
            op::CONV => "Conv",
            op::MATMUL => "MatMul",
            _ => "Linear",
        };
        println!("{name:<8} {j:>4}  {op:<6}  {k:>6}  {moves:>5}  {gas:>16}");
    }
}
