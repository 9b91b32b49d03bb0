//! Disputes over `Gather` by a computed index on a real anvil: a provider lies in one element
//! of each `Gather` node of `testdata/models/gather_embed` (the embedding lookup whose indices
//! are the token-id graph input, and a constant row picked by an `ArgMax` node's output) and
//! `gather_argmax` (a computed row picked by an `ArgMax`); an honest challenger plays to the
//! one-step check, which proves the one index element, then the one data element that index
//! names (a window placed by the value, docs/semantics.md section 8.1), and wins; the liar is
//! slashed. The one-step's `gasUsed` is printed
//! (`cargo test -p vouch-chain --test gather_dispute -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_chain::graph::op;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_at_each_gather_node_is_caught() {
    let chain = common::dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    let mut table = Vec::new();
    for name in ["gather_embed", "gather_argmax"] {
        let (bytes, pkg) = vouch_testkit::fixture(name, None);
        vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
        let model = common::publish(&chain, &bytes, &pkg).await;
        chain.stake(2, model, 1_500).await;
        let (ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 1);
        // an element of the last row read, moved by one
        let lies = (evidence.nodes.iter().enumerate())
            .filter(|(_, node)| node.op == op::GATHER)
            .map(|(j, node)| {
                let what = format!("{name} node {j} (Gather, {} consts)", node.consts.len());
                (j, honest.tensors()[j].len() - 1, what)
            })
            .collect();
        table.extend(
            common::nudged_liars_lose((&carol, &honest, &evidence), &bob, model, ic, lies).await,
        );
    }
    common::print_one_steps("lying node", &table);
    // the lookup and the constant pick (one constant each), the computed pick (none)
    let consts: Vec<&str> = table.iter().map(|(w, _, _)| &w[w.len() - 9..]).collect();
    assert_eq!(consts, ["1 consts)", "1 consts)", "0 consts)"], "{table:?}");
}
