//! Every converter fixture (`testdata/models/{tree,linear,svm}_*`: the models skl2onnx,
//! onnxmltools and CatBoost export) disputed on one real anvil: each published, a provider
//! lying in the output of its main node (the tree ensemble, else the first `Linear`) on the
//! first held-out row, and an honest challenger that re-executes, plays the game to its end
//! and wins by the one-step check, the liar slashed. The one-step's `gasUsed` is printed
//! (`cargo test -p vouch-chain --test converters -- --nocapture`).

#![allow(clippy::print_stdout)]

use vouch_chain::dispute::HonestTrace;
use vouch_chain::graph::op;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_every_converter_fixture_is_caught() {
    let names = vouch_testkit::converter_fixtures();
    assert!(names.len() >= 24, "{names:?}");
    // one liar loses once per fixture: keep it staked
    let chain = common::dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    let mut table = Vec::new();
    for name in &names {
        let (bytes, pkg) = vouch_testkit::fixture(name, None);
        let model = common::publish(&chain, &bytes, &pkg).await;
        chain.stake(2, model, 1_500).await;
        let (ic, honest, _output, evidence) = common::run_fixture(&pkg, name, 1);
        let main = |code: u8| evidence.nodes.iter().position(|n| n.op == code);
        let j = main(op::TREE_ENSEMBLE)
            .or_else(|| main(op::LINEAR))
            .unwrap_or(0);
        let trees = (evidence.nodes[j].op == op::TREE_ENSEMBLE)
            .then(|| evidence.consts[usize::try_from(evidence.nodes[j].consts[2]).unwrap()].len());
        let mut lie: HonestTrace = honest.clone();
        lie.set(j, 0, lie.tensors()[j][0] + 1).unwrap();

        // the liar's partial sums deviate from the middle tree on
        let dev = trees.map_or(0, |n| n / 2);
        let (moves, gas) = common::liar_loses(
            (&carol, &honest, &evidence),
            (&bob, &lie),
            model,
            ic,
            dev,
            name,
        )
        .await;
        table.push((name.clone(), j, trees, moves, gas));
    }
    println!("fixture                   lying node  trees  moves  one-step gasUsed");
    for (name, j, trees, moves, gas) in table {
        let trees = trees.map_or("-".to_owned(), |n| n.to_string());
        println!("{name:<25} {j:>10}  {trees:>5}  {moves:>5}  {gas:>16}");
    }
}
