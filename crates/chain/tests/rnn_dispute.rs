//! Disputes on the ops `LSTM` and `GRU` are unrolled into, on a real anvil: the fixtures
//! `vad_lstm` (a forward LSTM) and `vad_bigru` (a bidirectional GRU) published, a provider
//! lying in one element of each kind of unrolled node (the per-gate input `Linear` over the
//! sequence, a step's `Select`, the recurrent `Linear` of the state, the gate sum `Add`, the
//! `Rescale` onto a gate table, the gate `Lut`, the gate product `Mul`, the head's `Linear` and
//! its fine `Lut`; the GRU's update `Add` of a difference and the `Concat` of both directions'
//! last states) on the first held-out row, and an honest challenger that plays the game to
//! the one-step check and wins, the liar slashed. The one-step's `gasUsed` is printed
//! (`cargo test -p vouch-chain --test rnn_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_chain::graph::op;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_each_unrolled_recurrent_node_is_caught() {
    // one liar loses once per node kind: keep it staked
    let chain = common::dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    let mut table = Vec::new();
    for model_name in ["vad_lstm", "vad_bigru"] {
        let (bytes, pkg) = vouch_testkit::fixture(model_name, None);
        vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
        let model = common::publish(&chain, &bytes, &pkg).await;
        chain.stake(2, model, 1_500).await;
        let (ic, honest, _output, evidence) = common::run_fixture(&pkg, model_name, 1);
        let n = evidence.nodes.len();
        let first = |code: u8, after: usize| {
            evidence
                .nodes
                .iter()
                .enumerate()
                .skip(after)
                .find(|(_, node)| node.op == code)
                .map(|(j, _)| j)
                .unwrap_or_else(|| panic!("{model_name}: no node of op {code} after {after}"))
        };
        let last = |code: u8| {
            (0..n)
                .rev()
                .find(|&j| evidence.nodes[j].op == code)
                .unwrap_or_else(|| panic!("{model_name}: no node of op {code}"))
        };
        // the step slices come after every gate's input product; the recurrent Linear of the
        // state first appears at step 1
        let select = first(op::SELECT, 0);
        let targets: Vec<(&str, usize)> = if model_name == "vad_lstm" {
            vec![
                ("Linear (input product)", first(op::LINEAR, 0)),
                ("Select (step slice)", select),
                ("Linear (recurrent)", first(op::LINEAR, select)),
                ("Add (gate sum)", first(op::ADD, select)),
                ("Rescale (to gate table)", first(op::RESCALE, select)),
                ("Lut (gate)", first(op::LUT, select)),
                ("Mul (gate product)", first(op::MUL, select)),
                ("Linear (head)", last(op::LINEAR)),
                ("Lut (head sigmoid)", last(op::LUT)),
            ]
        } else {
            let recurrent = first(op::LINEAR, select);
            vec![
                ("Add (GRU update)", last(op::ADD)),
                ("Concat (directions)", first(op::CONCAT, recurrent)),
                ("Lut (reverse gate)", first(op::LUT, n / 2)),
            ]
        };
        for (what, j) in targets {
            let mut lie = honest.clone();
            let e = lie.tensors()[j].len() / 2;
            lie.set(j, e, lie.tensors()[j][e] + 1).unwrap();
            let case = format!("{model_name} {what}");
            let (moves, gas) = common::liar_loses(
                (&carol, &honest, &evidence),
                (&bob, &lie),
                model,
                ic,
                0,
                &case,
            )
            .await;
            table.push((model_name, what, j, moves, gas));
        }
    }
    println!("model      lying node               index  moves  one-step gasUsed");
    for (m, what, j, moves, gas) in table {
        println!("{m:<10} {what:<24} {j:>5}  {moves:>5}  {gas:>16}");
    }
}
