//! Tree-ensemble disputes on a real anvil (docs/semantics.md section 8.6): the gradient-boosted
//! fixture `tree_gb_bc` (60 trees), a lie in its scores caught by an honest challenger through
//! the partial-sum game over trees and the one-step walk of one tree's path, and an honest
//! provider that wins against a lying challenger the same way.

#![allow(clippy::print_stdout)] // prints the measured gas (`cargo test -- --nocapture`)

use vouch_chain::alloy::primitives::{B256, I256, U256};
use vouch_chain::alloy::providers::Provider as _;
use vouch_chain::dispute::{self, Evidence, HonestTrace, Move};
use vouch_chain::graph::op;
use vouch_chain::system::{Mode, Request};
use vouch_chain::{DeployConfig, System, TOKEN};
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
    let cfg = DeployConfig {
        challenge_window: 100,
        step_timeout: 50,
        audit_bps: 0,
        ..DeployConfig::default()
    };
    let chain = Chain::start(cfg).await;
    let published = chain
        .system(0)
        .await
        .publish(&vouch_chain::graph::commitments_of(&bytes, &pkg))
        .await
        .unwrap();
    chain.fund(1..4, 5_000).await;
    for i in [1, 2] {
        chain.stake(i, published.model_id, 1_500).await;
    }
    (chain, published.model_id, pkg)
}

fn request(model: u32, ic: B256) -> Request {
    Request {
        model_id: model,
        version: 1,
        mode: Mode::Optimistic,
        fee: TOKEN,
        deadline_secs: 3600,
        input_commitment: ic,
        rows: 1,
        input_cid: String::new(),
        inline_input: Vec::new(),
    }
}

/// The liar's moves: the ordinary ones from its (lying) trace, and in the partial-sum game the
/// honest prefix sums plus 1 from tree `dev` on (so its last one is the value it claimed).
async fn liar_step(
    sys: &System,
    game: U256,
    lie: &HonestTrace,
    honest: (&HonestTrace, &Evidence),
    dev: usize,
) -> Move {
    let dg = sys.dispute_game();
    let g = sys.client().call("game", dg.game(game)).await.unwrap();
    let who = sys.client().sender("liar").unwrap();
    let bit = if who == g.p.defender { 1 } else { 2 };
    if !(g.phase == 10 || g.phase == 11) || g.posted & bit != 0 {
        return dispute::step(sys, game, lie).await.unwrap();
    }
    let ps = sys.client().call("ps", dg.partialSums(game)).await.unwrap();
    let c = if g.phase == 10 {
        ps.hi as usize
    } else {
        (ps.lo as usize + ps.hi as usize) / 2
    };
    let (j, e) = (g.node.to::<usize>(), g.element.to::<usize>());
    let p = dispute::tree_partial_sum(honest.0, honest.1, j, e, c).unwrap() + i64::from(c > dev);
    sys.client()
        .send(
            "postPartial",
            dg.postPartial(game, I256::try_from(p).unwrap()),
        )
        .await
        .unwrap();
    Move::Posted("partial sum")
}

/// Plays the game to its end with the honest party moving first; returns the outcome, the
/// honest party's moves and the gas of its last transaction (the tree one-step).
async fn play(
    honest: (&System, &HonestTrace, &Evidence),
    liar: (&System, &HonestTrace),
    game: U256,
    dev: usize,
) -> (&'static str, Vec<Move>, u64) {
    let mut moves = Vec::new();
    let mut gas = 0;
    for _ in 0..300 {
        let a = dispute::step_with(honest.0, game, honest.1, Some(honest.2))
            .await
            .unwrap();
        if let Move::Done { outcome } = a {
            return (outcome, moves, gas);
        }
        assert_ne!(a, Move::ClaimedTimeout);
        if matches!(a, Move::Posted(_)) {
            let block = honest
                .0
                .client()
                .provider()
                .get_block_receipts(vouch_chain::alloy::eips::BlockId::latest())
                .await
                .unwrap()
                .unwrap();
            gas = block.last().unwrap().gas_used;
        }
        moves.push(a);
        let b = liar_step(liar.0, game, liar.1, (honest.1, honest.2), dev).await;
        assert_ne!(b, Move::ClaimedTimeout);
    }
    panic!("the game does not end: {moves:?}");
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
    lie.tensors[j][0] += 1;
    let alice = chain.system(1).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;

    // (a) the provider lies about the score: the honest challenger wins and bob is slashed
    let t = carol.request(&request(model, ic)).await.unwrap();
    bob.submit(t, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();
    let before = bob.provider_info(signer(2).address()).await.unwrap();
    let game = carol
        .challenge(t, output, honest.trace_root())
        .await
        .unwrap();
    let (outcome, moves, gas) = play((&carol, &honest, &evidence), (&bob, &lie), game, 41).await;
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
    let t = carol.request(&request(model, ic)).await.unwrap();
    alice.submit(t, output, honest.trace_root()).await.unwrap();
    let game = carol
        .challenge(t, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();
    let (outcome, moves, _) = play((&alice, &honest, &evidence), (&carol, &lie), game, 0).await;
    assert_eq!(outcome, "defender wins", "{moves:?}");
    assert_eq!(moves.last(), Some(&Move::Posted("one-step")), "{moves:?}");
    assert_eq!(carol.task(t).await.unwrap().status, 2); // submitted: the window restarts
}

/// The dispute bounds (SUM, paths of at most 6 branches, leaves of at most 16 weight rows)
/// admit every tree fixture (`testdata/models/tree_*`: scikit-learn, XGBoost, LightGBM,
/// CatBoost, opset 5): each takes the optimistic and committee modes.
#[test]
fn every_tree_fixture_is_disputable() {
    let dir = vouch_testkit::model_dir("");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("model.onnx").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("tree_"))
        .collect();
    names.sort();
    assert!(names.len() >= 14, "{names:?}");
    for name in &names {
        let (_, pkg) = vouch_testkit::fixture(name, None);
        for mode in [vouch_task::Mode::Optimistic, vouch_task::Mode::Committee] {
            vouch_task::modes::check_mode(&pkg, mode).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
