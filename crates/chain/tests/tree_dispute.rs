//! Tree-ensemble disputes on a real anvil (docs/semantics.md section 8.6): the gradient-boosted
//! fixture `tree_gb_bc` (60 trees), a lie in its scores caught by an honest challenger through
//! the partial-sum game over trees and the one-step walk of one tree's path, and an honest
//! provider that wins against a lying challenger the same way.

#![allow(clippy::print_stdout)] // prints the measured gas (`cargo test -- --nocapture`)

use vouch_chain::DeployConfig;
use vouch_chain::alloy::primitives::B256;
use vouch_chain::dispute::{Evidence, HonestTrace, Move};
use vouch_chain::graph::op;
use vouch_model::Package;
use vouch_testkit::{Chain, signer};

mod common;

/// The fixture run on its first input row: input commitment, trace, output commitment,
/// evidence.
fn run(pkg: &Package) -> (B256, HonestTrace, B256, Evidence) {
    common::run_fixture(pkg, "tree_gb_bc", 1)
}

async fn world() -> (Chain, u32, Package) {
    let (bytes, pkg) = vouch_testkit::fixture("tree_gb_bc", None);
    vouch_task::modes::check_mode(&pkg, vouch_task::Mode::Optimistic).unwrap();
    let chain = common::dispute_chain(DeployConfig::default().max_faults).await;
    let model = common::publish(&chain, &bytes, &pkg).await;
    chain.fund(1..4, 5_000).await;
    for i in [1, 2] {
        chain.stake(i, model, 1_500).await;
    }
    (chain, model, pkg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_in_a_tree_score_is_caught_either_way_by_one_trees_walk() {
    let (chain, model, pkg) = world().await;
    let (ic, honest, output, evidence) = run(&pkg);
    let j = evidence
        .nodes
        .iter()
        .position(|n| n.op == op::TREE_ENSEMBLE)
        .unwrap();
    let trees = evidence.consts[usize::try_from(evidence.nodes[j].consts[2]).unwrap()].len();
    assert_eq!(trees, 60, "tree_gb_bc: 60 trees");
    let mut lie = honest.clone();
    lie.set(j, 0, lie.tensors()[j][0] + 1).unwrap();
    let alice = chain.system(1).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;

    // (a) the provider lies about the score: the honest challenger wins and bob is slashed
    let (t, game) = common::lie_and_challenge(&carol, &bob, model, ic, &honest, &lie).await;
    // bob's stake once his bond is locked: the slash is what lowers it further
    let before = bob.provider_info(signer(2).address()).await.unwrap();
    let (outcome, moves, gas) =
        common::play((&carol, &honest, &evidence), (&bob, &lie), game, 41).await;
    assert_eq!(outcome, "challenger wins", "{moves:?}");
    assert!(
        moves.contains(&Move::Posted("tree partial sums")),
        "{moves:?}"
    );
    assert_eq!(moves.last(), Some(&Move::Posted("one-step")), "{moves:?}");
    let ps = carol
        .client()
        .call("ps", carol.dispute_game().partialSums(game))
        .await
        .unwrap();
    assert_eq!((ps.lo, ps.hi), (41, 42), "narrowed to the first lying tree");
    assert!(gas < 1_000_000, "tree one-step gasUsed {gas}");
    println!("tree_gb_bc tree one-step gasUsed: {gas}");
    let after = bob.provider_info(signer(2).address()).await.unwrap();
    assert!(after.stake < before.stake, "the liar is slashed");
    assert_eq!(carol.task(t).await.unwrap().status, 6); // failed

    // (b) an honest provider challenged by a liar wins the same game
    let t = carol.request(&common::request(model, ic)).await.unwrap();
    alice.submit(t, output, honest.trace_root()).await.unwrap();
    let game = carol
        .challenge(t, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();
    let (outcome, moves, _) =
        common::play((&alice, &honest, &evidence), (&carol, &lie), game, 0).await;
    assert_eq!(outcome, "defender wins", "{moves:?}");
    assert_eq!(moves.last(), Some(&Move::Posted("one-step")), "{moves:?}");
    assert_eq!(carol.task(t).await.unwrap().status, 2); // submitted: the window restarts
}

/// The dispute bounds (SUM, paths of at most 6 branches, leaves of at most 16 weight rows)
/// admit every converter fixture (`testdata/models/{tree,linear,svm}_*`: scikit-learn,
/// XGBoost, LightGBM, CatBoost, opset 5): each takes the optimistic and committee modes.
#[test]
fn every_converter_fixture_is_disputable() {
    let names = vouch_testkit::converter_fixtures();
    assert!(names.len() >= 24, "{names:?}");
    for name in &names {
        let (_, pkg) = vouch_testkit::fixture(name, None);
        for mode in [vouch_task::Mode::Optimistic, vouch_task::Mode::Committee] {
            vouch_task::modes::check_mode(&pkg, mode).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_to_a_feature_code_outside_its_range_loses() {
    // a committed feature code one past its feature's range `[-1, 2 |T_f|]` (still an act16
    // value): the engine refuses the task, so no answer exists; a provider answers anyway and
    // the challenger claiming "no answer" wins with `resolveInputRange` (docs/semantics.md 8.7)
    let (chain, model, pkg) = world().await;
    let (_, honest, output, mut evidence) = run(&pkg);
    let j = evidence
        .nodes
        .iter()
        .position(|n| n.op == op::TREE_ENSEMBLE)
        .unwrap();
    let node = &evidence.nodes[j];
    let i = vouch_chain::graph::input_index(node.inputs[0]).expect("the codes are graph input");
    let bounds = &evidence.consts[usize::try_from(node.consts[4]).unwrap()];
    let f = 3;
    let code = 2 * (bounds[f + 1] - bounds[f]) + 1;
    assert!(
        code <= 32767,
        "in the act16 range: only the code range refuses it"
    );
    evidence.inputs[i][f] = code;
    let inputs: Vec<vouch_engine::Tensor> = pkg
        .inputs
        .iter()
        .zip(&evidence.inputs)
        .map(|(spec, data)| vouch_engine::Tensor {
            shape: vouch_engine::tensor::resolve(&pkg.values[spec.value as usize].shape, 1),
            data: data.clone(),
        })
        .collect();
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
    let engine = vouch_engine::Engine::new(&pkg, vouch_engine::Options::default()).unwrap();
    let refused = engine.run(inputs).unwrap_err().to_string();
    assert!(refused.contains("feature code outside"), "{refused}");
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    let t = carol.request(&common::request(model, ic)).await.unwrap();
    bob.submit(t, output, honest.trace_root()).await.unwrap();
    let before = bob.provider_info(signer(2).address()).await.unwrap();
    let game = carol.challenge(t, B256::ZERO, B256::ZERO).await.unwrap();
    let (outcome, moves, _) = common::resolve_no_answer(&carol, game, &honest, &evidence).await;
    assert_eq!(outcome, "challenger wins");
    assert_eq!(
        moves,
        vec![Move::Posted("graph"), Move::Posted("input range")]
    );
    let after = bob.provider_info(signer(2).address()).await.unwrap();
    assert!(after.stake < before.stake, "the provider is slashed");
    assert_eq!(carol.task(t).await.unwrap().status, 6); // failed, fee refunded
}
