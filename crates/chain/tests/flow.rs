//! End-to-end flows on a real anvil (started on a free port per test): deploy, publish the
//! digits MLP, stake, request, submit the Rust engine's real output and trace root, finalize;
//! and a lie that a challenger catches and gets slashed.

use vouch_chain::alloy::primitives::{Address, B256, U256};
use vouch_chain::dispute::{self, Evidence, HonestTrace, Move};
use vouch_chain::{Client, DeployConfig, Devnet, DevnetConfig, Error, System, TOKEN};
use vouch_engine::{Engine, Options};
use vouch_model::Package;

use vouch_testkit::{Chain, signer};

mod common;

/// The digits MLP, imported from the committed ONNX file.
fn package() -> (Vec<u8>, Package) {
    vouch_testkit::digits_mlp()
}

/// One run of the package on the first row of the fixture input: input commitment, the honest trace, the
/// output commitment and the one-step evidence.
fn run(pkg: &Package) -> (B256, HonestTrace, B256, Evidence) {
    run_rows(pkg, 1)
}

/// [`run`] on the first `rows` rows of the fixture input (a task of `rows` rows).
fn run_rows(pkg: &Package, rows: usize) -> (B256, HonestTrace, B256, Evidence) {
    common::run_fixture(pkg, "digits_mlp", rows)
}

struct World {
    chain: Chain,
    deployment: vouch_chain::Deployment,
    model: u32,
    pkg: Package,
    cfg: DeployConfig,
}

impl World {
    async fn as_(&self, i: usize) -> System {
        self.chain.system(i).await
    }
}

/// Devnet, deployment, published model, two staked providers (1 honest, 2 liar), tokens for
/// the requester/challenger (3).
async fn world() -> World {
    let (bytes, pkg) = package();
    world_with(bytes, pkg).await
}

async fn world_with(bytes: Vec<u8>, pkg: Package) -> World {
    let cfg = DeployConfig {
        challenge_window: 100,
        step_timeout: 50,
        audit_bps: 0,
        ..DeployConfig::default()
    };
    let chain = Chain::start(cfg.clone()).await;
    let published = chain
        .system(0)
        .await
        .publish(&vouch_chain::graph::commitments_of(&bytes, &pkg))
        .await
        .unwrap();
    assert_eq!((published.model_id, published.version), (1, 1));
    assert_ne!(published.provenance_uid, B256::ZERO);
    chain.fund(1..4, 5_000).await;
    for i in [1, 2] {
        chain.stake(i, published.model_id, 1_500).await;
    }
    World {
        deployment: chain.deployment.clone(),
        chain,
        model: published.model_id,
        pkg,
        cfg,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimistic_task_is_paid_and_a_liar_is_slashed() {
    let w = world().await;
    let (ic, honest, output, evidence) = run(&w.pkg);
    let alice = w.as_(1).await;
    let bob = w.as_(2).await;
    let carol = w.as_(3).await;

    // 1. honest provider: request, submit, finalize after the window
    let t1 = carol.request(&common::request(w.model, ic)).await.unwrap();
    alice.submit(t1, output, honest.trace_root()).await.unwrap();
    let early = carol.finalize(t1).await.unwrap_err();
    assert!(
        matches!(&early, Error::Reverted { reason, .. } if reason == "TooEarly()"),
        "{early}"
    );
    carol
        .client()
        .warp(u64::from(w.cfg.challenge_window) + 1)
        .await
        .unwrap();
    carol.finalize(t1).await.unwrap();
    assert_eq!(carol.task(t1).await.unwrap().status, 4); // finalized
    let paid = alice.credits(signer(1).address()).await.unwrap();
    assert_eq!(
        paid,
        U256::from(TOKEN - TOKEN * u128::from(w.cfg.audit_fee_bps) / 10_000)
    );
    // receipts: one EAS attestation for the task, and one for the batch
    let uid = carol.attest_receipt(t1).await.unwrap();
    let eas =
        vouch_chain::bindings::eas::EAS::new(w.deployment.contracts.eas, carol.client().provider());
    let att = carol
        .client()
        .call("EAS.getAttestation", eas.getAttestation(uid))
        .await
        .unwrap();
    assert_eq!(att.recipient, signer(3).address());
    assert_eq!(att.attester, w.deployment.contracts.receipts);
    let (_, from, to) = carol.flush_receipts().await.unwrap();
    assert_eq!((from, to), (0, 1));
    // a finalized task cannot be submitted again; the revert comes back by name with args
    let again = alice
        .submit(t1, output, honest.trace_root())
        .await
        .unwrap_err();
    assert_eq!(
        again.to_string(),
        "TaskManager.submit reverted: BadStatus(status: 4)"
    );

    // 2. a liar: bob posts a changed output; carol re-executes, challenges and plays; bob keeps
    // answering with his lie, and the one-step check on the changed element decides
    let mut lie = honest.clone();
    lie.perturb_last();
    let t2 = carol.request(&common::request(w.model, ic)).await.unwrap();
    bob.submit(t2, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();
    let bob_before = bob.provider_info(signer(2).address()).await.unwrap();
    let game = carol
        .challenge(t2, output, honest.trace_root())
        .await
        .unwrap();
    assert_eq!(carol.dispute_of(t2).await.unwrap(), game);
    assert_eq!(
        dispute::step_with(&carol, game, &honest, Some(&evidence))
            .await
            .unwrap(),
        Move::Posted("graph")
    );
    let mut moves = Vec::new();
    let outcome = loop {
        assert!(moves.len() < 200, "the game does not end: {moves:?}");
        let a = dispute::step_with(&carol, game, &honest, Some(&evidence))
            .await
            .unwrap();
        if let Move::Done { outcome } = a {
            break outcome;
        }
        let b = dispute::step(&bob, game, &lie).await.unwrap();
        assert_ne!(a, Move::ClaimedTimeout);
        assert_ne!(b, Move::ClaimedTimeout);
        moves.push((a, b));
    };
    assert_eq!(outcome, "challenger wins");
    // the game ended by carol's one-step check, bob answering every step before it
    let (last, _) = moves.last().unwrap();
    assert_eq!(*last, Move::Posted("one-step"), "{moves:?}");
    assert!(moves.iter().any(|(_, b)| *b == Move::Posted("word")));
    let bob_after = bob.provider_info(signer(2).address()).await.unwrap();
    assert_eq!(
        bob_before.stake - bob_after.stake,
        w.cfg.provider_bond,
        "the liar's bond is slashed"
    );
    assert_eq!(carol.task(t2).await.unwrap().status, 6); // failed, fee refunded
    let carol_credits = carol.credits(signer(3).address()).await.unwrap();
    // her challenger bond back + the liar's bond + the refunded fee
    assert_eq!(
        carol_credits,
        U256::from(w.cfg.challenger_bond + w.cfg.provider_bond + TOKEN)
    );
    let before = carol.balance(signer(3).address()).await.unwrap();
    carol.withdraw().await.unwrap();
    assert_eq!(
        carol.balance(signer(3).address()).await.unwrap() - before,
        carol_credits
    );

    // 3. the honest provider leaves: opted out, its whole stake unbonding
    let free = alice.leave(w.model, true).await.unwrap();
    assert_eq!(free, U256::from(1_500 * TOKEN));
    let info = alice.provider_info(signer(1).address()).await.unwrap();
    assert_eq!((info.stake, info.unbonding), (0, 1_500 * TOKEN));
    let not_in = alice.leave(w.model, false).await.unwrap_err();
    assert_eq!(
        not_in.to_string(),
        "ProviderStaking.optOut reverted: NotOptedIn()"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_parties_narrow_the_dispute_to_the_changed_element() {
    let w = world().await;
    let (ic, honest, output, _) = run(&w.pkg);
    let bob = w.as_(2).await;
    let carol = w.as_(3).await;
    let mut lie = honest.clone();
    let last_node = lie.tensors().len() - 1;
    let last_elem = lie.tensors()[last_node].len() - 1;
    lie.set(
        last_node,
        last_elem,
        lie.tensors()[last_node][last_elem] + 1,
    )
    .unwrap();

    let t = carol.request(&common::request(w.model, ic)).await.unwrap();
    bob.submit(t, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();
    let game = carol
        .challenge(t, output, honest.trace_root())
        .await
        .unwrap();
    // alternate until the game needs the one-step check
    for _ in 0..200 {
        let a = dispute::step(&carol, game, &honest).await.unwrap();
        let b = dispute::step(&bob, game, &lie).await.unwrap();
        if a == Move::NeedsOneStep && b == Move::NeedsOneStep {
            break;
        }
    }
    let g = carol
        .client()
        .call("DisputeGame.game", carol.dispute_game().game(game))
        .await
        .unwrap();
    assert_eq!(g.phase, 7, "one-step phase");
    assert_eq!(g.node, U256::from(last_node));
    assert_eq!(g.element, U256::from(last_elem));
    assert_eq!(
        g.chaValue,
        vouch_chain::alloy::primitives::I256::try_from(honest.tensors()[last_node][last_elem])
            .unwrap()
    );
    // nobody plays the one-step check: at the deadline it goes to the defender
    carol.client().warp(w.cfg.step_timeout + 1).await.unwrap();
    assert_eq!(
        dispute::step(&carol, game, &honest).await.unwrap(),
        Move::ClaimedTimeout
    );
    assert_eq!(
        dispute::step(&bob, game, &lie).await.unwrap(),
        Move::Done {
            outcome: "defender wins"
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_step_settles_a_hidden_layer_lie_either_way() {
    let w = world().await;
    let (ic, honest, output, evidence) = run(&w.pkg);
    let alice = w.as_(1).await;
    let bob = w.as_(2).await;
    let carol = w.as_(3).await;
    // a lie in the hidden Linear layer (node 1): its input is node 0 (a trace leaf proven
    // against the defender's root), its weights a row of W
    let mut lie = honest.clone();
    lie.set(1, 3, lie.tensors()[1][3] + 1).unwrap();

    // the defender lies: the honest challenger proves node 0 against the liar's trace root
    let t = carol.request(&common::request(w.model, ic)).await.unwrap();
    bob.submit(t, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();
    let game = carol
        .challenge(t, output, honest.trace_root())
        .await
        .unwrap();
    let (outcome, last) = common::play_out((&carol, &honest, &evidence), (&bob, &lie), game).await;
    assert_eq!(
        (outcome, last),
        ("challenger wins", Move::Posted("one-step"))
    );
    let g = carol
        .client()
        .call("DisputeGame.game", carol.dispute_game().game(game))
        .await
        .unwrap();
    assert_eq!((g.node, g.element), (U256::from(1), U256::from(3)));

    // the challenger lies: the honest defender answers from its own trace
    let t = carol.request(&common::request(w.model, ic)).await.unwrap();
    alice.submit(t, output, honest.trace_root()).await.unwrap();
    let game = carol
        .challenge(t, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();
    let (outcome, last) =
        common::play_out((&alice, &honest, &evidence), (&carol, &lie), game).await;
    assert_eq!((outcome, last), ("defender wins", Move::Posted("one-step")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lies_in_the_first_and_last_row_of_an_8_row_task_are_slashed() {
    // a task of 8 rows is judged one element of one row at a time against the batch-1 graph
    // (docs/semantics.md section 8.5)
    const ROWS: usize = 8;
    let w = world().await;
    let (ic, honest, output, evidence) = run_rows(&w.pkg, ROWS);
    let bob = w.as_(2).await;
    let carol = w.as_(3).await;
    let last = honest.tensors().len() - 1;
    let out_per_row = honest.tensors()[last].len() / ROWS;
    let hidden_per_row = honest.tensors()[0].len() / ROWS;
    // row 0 of the output node, and the last row of the first (hidden) node
    for (node, element) in [
        (last, 0),
        (0, (ROWS - 1) * hidden_per_row + hidden_per_row / 2),
    ] {
        let mut lie = honest.clone();
        lie.set(node, element, lie.tensors()[node][element] + 1)
            .unwrap();
        let t = carol
            .request(&common::request_rows(w.model, ic, ROWS as u16))
            .await
            .unwrap();
        assert_eq!(carol.task_rows(t).await.unwrap(), ROWS as u16);
        bob.submit(t, lie.output_commitment(), lie.trace_root())
            .await
            .unwrap();
        let before = bob.provider_info(signer(2).address()).await.unwrap();
        let game = carol
            .challenge(t, output, honest.trace_root())
            .await
            .unwrap();
        let (outcome, last_move) =
            common::play_out((&carol, &honest, &evidence), (&bob, &lie), game).await;
        assert_eq!(
            (outcome, last_move),
            ("challenger wins", Move::Posted("one-step")),
            "node {node} element {element}"
        );
        let g = carol
            .client()
            .call("DisputeGame.game", carol.dispute_game().game(game))
            .await
            .unwrap();
        assert_eq!((g.node, g.element), (U256::from(node), U256::from(element)));
        assert_eq!(usize::from(g.rows), ROWS);
        let after = bob.provider_info(signer(2).address()).await.unwrap();
        assert_eq!(
            before.stake - after.stake,
            w.cfg.provider_bond,
            "the liar's bond is slashed"
        );
        assert_eq!(carol.task(t).await.unwrap().status, 6); // failed, fee refunded
    }
    assert!(out_per_row > 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_to_an_input_that_cannot_hold_its_rows_loses() {
    // the requester committed one row but asked for two: no answer exists; the provider that
    // answers anyway is beaten by a challenger claiming "no answer" (output 0)
    let w = world().await;
    let (ic, honest, output, evidence) = run_rows(&w.pkg, 1);
    let bob = w.as_(2).await;
    let carol = w.as_(3).await;
    let t = carol
        .request(&common::request_rows(w.model, ic, 2))
        .await
        .unwrap();
    bob.submit(t, output, honest.trace_root()).await.unwrap();
    let before = bob.provider_info(signer(2).address()).await.unwrap();
    let game = carol.challenge(t, B256::ZERO, B256::ZERO).await.unwrap();
    let (outcome, moves, _) = common::resolve_no_answer(&carol, game, &honest, &evidence).await;
    assert_eq!(outcome, "challenger wins");
    assert_eq!(moves, vec![Move::Posted("graph"), Move::Posted("input")]);
    let after = bob.provider_info(signer(2).address()).await.unwrap();
    assert_eq!(before.stake - after.stake, w.cfg.provider_bond);
    assert_eq!(carol.task(t).await.unwrap().status, 6); // failed, fee refunded

    // a well-formed input cannot be called malformed
    let t = carol.request(&common::request(w.model, ic)).await.unwrap();
    let mut lie = honest.clone();
    lie.set(0, 0, lie.tensors()[0][0] + 1).unwrap();
    bob.submit(t, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();
    let game = carol.challenge(t, B256::ZERO, B256::ZERO).await.unwrap();
    let first = dispute::resolve_input(
        &carol,
        game,
        honest.header(),
        &evidence.nodes,
        &evidence.inputs,
        &evidence.consts,
    )
    .await
    .unwrap();
    assert_eq!(first, Move::Posted("graph"));
    let err = dispute::resolve_input(
        &carol,
        game,
        honest.header(),
        &evidence.nodes,
        &evidence.inputs,
        &evidence.consts,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("well formed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_to_an_input_outside_its_kind_loses() {
    // the requester committed an input holding one past its kind's range: the engine refuses
    // it, so no answer exists; a provider answers anyway (the one-step computes with any
    // integer) and is beaten by a challenger claiming "no answer" with `resolveInputRange`
    // (docs/semantics.md 8.7)
    let w = world().await;
    let (_, honest, output, mut evidence) = run(&w.pkg);
    let kind = w.pkg.values[w.pkg.inputs[0].value as usize].kind;
    let (_, hi) = kind.act_range().unwrap();
    evidence.inputs[0][5] = hi + 1;
    let inputs: Vec<vouch_engine::Tensor> = w
        .pkg
        .inputs
        .iter()
        .zip(&evidence.inputs)
        .map(|(spec, data)| vouch_engine::Tensor {
            shape: vouch_engine::tensor::resolve(&w.pkg.values[spec.value as usize].shape, 1),
            data: data.clone(),
        })
        .collect();
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
    let refused = Engine::new(&w.pkg, Options::default()).unwrap().run(inputs);
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains(&format!("{} outside", hi + 1))
    );
    let bob = w.as_(2).await;
    let carol = w.as_(3).await;
    let t = carol.request(&common::request(w.model, ic)).await.unwrap();
    bob.submit(t, output, honest.trace_root()).await.unwrap();
    let before = bob.provider_info(signer(2).address()).await.unwrap();
    let game = carol.challenge(t, B256::ZERO, B256::ZERO).await.unwrap();
    let (outcome, moves, gas) = common::resolve_no_answer(&carol, game, &honest, &evidence).await;
    #[expect(clippy::print_stdout, reason = "the measured gas (-- --nocapture)")]
    {
        println!("resolveInputRange gasUsed: {gas}");
    }
    assert!(gas < 1_000_000, "resolveInputRange gasUsed {gas}");
    assert_eq!(outcome, "challenger wins");
    assert_eq!(
        moves,
        vec![Move::Posted("graph"), Move::Posted("input range")]
    );
    let after = bob.provider_info(signer(2).address()).await.unwrap();
    assert_eq!(before.stake - after.stake, w.cfg.provider_bond);
    assert_eq!(carol.task(t).await.unwrap().status, 6); // failed, fee refunded
}

/// One wide `Linear` of fan-in 100 (two chunks of the partial-sum game): `[1, 100] -> [1, 2]`.
fn wide_linear() -> Package {
    use vouch_model::{Const, Dim, IoSpec, Kind, Node, Op, Operand, Requant, TensorInfo};
    let k = 100usize;
    let value = |name: &str, kind, n| TensorInfo {
        name: name.to_owned(),
        kind,
        scale: 1.0,
        shape: vec![Dim::Batch, Dim::Fixed(n)],
    };
    let w: Vec<i32> = (0..2 * k).map(|i| (i as i32 * 37 % 255) - 127).collect();
    let pkg = Package {
        semantics_version: package().1.semantics_version,
        name: "wide_linear".to_owned(),
        source_sha256: [0; 32],
        inputs: vec![IoSpec::new("x", 0)],
        outputs: vec![IoSpec::new("y", 1)],
        values: vec![value("x", Kind::Act8, 100), value("y", Kind::Wide, 2)],
        consts: vec![
            Const {
                name: "W".to_owned(),
                scale: 1.0,
                shape: vec![2, k as u32],
                data: w,
            },
            Const {
                name: "B".to_owned(),
                scale: 1.0,
                shape: vec![2],
                data: vec![1000, -1000],
            },
        ],
        nodes: vec![Node {
            name: "fc".to_owned(),
            op: Op::Linear {
                weight: 0,
                bias: Some(1),
                rq: Requant::IDENTITY,
                wide: true,
            },
            inputs: vec![Operand::Value(0)],
            output: 1,
        }],
        accuracy: Default::default(),
    };
    Package::from_bytes(&pkg.to_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partial_sum_game_ends_by_the_one_step_check_of_one_chunk() {
    let pkg = wide_linear();
    let w = world_with(pkg.to_bytes(), pkg.clone()).await;
    let x: Vec<i32> = (0..100).map(|i| (i * 53 % 256) - 128).collect();
    let inputs = vec![vouch_engine::Tensor::new(vec![1, 100], x.clone()).unwrap()];
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
    let exec = Engine::new(
        &pkg,
        Options {
            threads: 1,
            trace: true,
        },
    )
    .unwrap()
    .run(inputs)
    .unwrap();
    let honest = HonestTrace::of_package(exec.trace.iter().map(|t| t.data.clone()).collect(), &pkg);
    let evidence = Evidence::new(&pkg, vec![x]);
    assert_eq!(honest.trace_root(), B256::from(exec.trace_root()));
    assert_eq!(
        i64::from(honest.tensors()[0][1]),
        dispute::partial_sum(&honest, &evidence, 0, 1, 2).unwrap()
    );
    let bob = w.as_(2).await;
    let carol = w.as_(3).await;
    let mut lie = honest.clone();
    lie.set(0, 1, lie.tensors()[0][1] + 5).unwrap();
    let t = carol.request(&common::request(w.model, ic)).await.unwrap();
    bob.submit(t, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();
    let game = carol
        .challenge(t, B256::from(exec.output_commitment()), honest.trace_root())
        .await
        .unwrap();
    for _ in 0..50 {
        let a = dispute::step_with(&carol, game, &honest, Some(&evidence))
            .await
            .unwrap();
        let b = dispute::step(&bob, game, &lie).await.unwrap();
        if a == Move::NeedsOneStep || b == Move::NeedsOneStep {
            break;
        }
    }
    // carol started nothing yet: bob opens the partial-sum game with his (wide) claim
    let dg = bob.dispute_game();
    let g = bob
        .client()
        .call("DisputeGame.game", dg.game(game))
        .await
        .unwrap();
    assert_eq!((g.phase, g.node, g.element), (7, U256::ZERO, U256::from(1)));
    let nodes = vouch_chain::graph::descriptors(&pkg);
    let i256 = |v: i64| vouch_chain::alloy::primitives::I256::try_from(v).unwrap();
    bob.client()
        .send(
            "DisputeGame.startPartialSums",
            dg.startPartialSums(
                game,
                nodes[0].clone(),
                Vec::new(),
                i256(i64::from(lie.tensors()[0][1])),
                Vec::new(),
            ),
        )
        .await
        .unwrap();
    let mut moves = Vec::new();
    let outcome = loop {
        assert!(moves.len() < 20, "{moves:?}");
        let a = dispute::step_with(&carol, game, &honest, Some(&evidence))
            .await
            .unwrap();
        if let Move::Done { outcome } = a {
            break outcome;
        }
        let g = bob
            .client()
            .call("DisputeGame.game", dg.game(game))
            .await
            .unwrap();
        if g.phase == 11 && g.posted & 1 == 0 {
            // bob agrees on the midpoint prefix sums: the lie is in the last chunk
            let ps = bob
                .client()
                .call("DisputeGame.partialSums", dg.partialSums(game))
                .await
                .unwrap();
            let mid = (ps.lo as usize + ps.hi as usize) / 2;
            let p = dispute::partial_sum(&honest, &evidence, 0, 1, mid).unwrap();
            bob.client()
                .send("DisputeGame.postPartial", dg.postPartial(game, i256(p)))
                .await
                .unwrap();
        }
        assert_ne!(a, Move::ClaimedTimeout);
        moves.push(a);
    };
    assert_eq!(outcome, "challenger wins");
    assert_eq!(
        moves,
        vec![
            Move::Posted("partial accumulator"),
            Move::Posted("partial sum"),
            Move::Posted("one-step")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_endpoint_is_a_clear_error() {
    let err = Client::connect("http://127.0.0.1:9", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("vouch devnet up"));
    let bad = Client::connect("not a url", None).await.unwrap_err();
    assert!(matches!(bad, Error::BadUrl { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_state_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = DevnetConfig {
        state: Some(dir.path().join("devnet/state.json")),
        ..DevnetConfig::default()
    };
    let to = Address::repeat_byte(0x42);
    {
        let mut dn = Devnet::spawn(&cfg).await.unwrap();
        let c = Client::connect(&dn.url(), None).await.unwrap();
        let _: serde_json::Value = c
            .raw("anvil_setBalance", (to, U256::from(12345)))
            .await
            .unwrap();
        dn.stop();
    }
    assert!(dir.path().join("devnet/state.json").exists());
    let dn = Devnet::spawn(&cfg).await.unwrap();
    let c = Client::connect(&dn.url(), None).await.unwrap();
    use vouch_chain::alloy::providers::Provider;
    assert_eq!(
        c.provider().get_balance(to).await.unwrap(),
        U256::from(12345)
    );
}

/// One staked liar loses dispute after dispute: the model version is never frozen (its strikes
/// count once), the liar is ejected at `max_faults`, its next submit is refused with a decoded
/// `Ejected(provider)`, and an honest provider serves the same model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_liar_that_keeps_losing_is_ejected_and_the_model_stays_open() {
    let w = world().await;
    let (ic, honest, output, evidence) = run(&w.pkg);
    let alice = w.as_(1).await;
    let bob = w.as_(2).await;
    let carol = w.as_(3).await;
    let mut lie = honest.clone();
    lie.perturb_last();
    let reg = carol.registry();
    for _ in 0..w.cfg.max_faults {
        let t = carol.request(&common::request(w.model, ic)).await.unwrap();
        bob.submit(t, lie.output_commitment(), lie.trace_root())
            .await
            .unwrap();
        let game = carol
            .challenge(t, output, honest.trace_root())
            .await
            .unwrap();
        let (outcome, _) = common::play_out((&carol, &honest, &evidence), (&bob, &lie), game).await;
        assert_eq!(outcome, "challenger wins");
        let status = carol
            .client()
            .call("ModelRegistry.status", reg.status(w.model, 1))
            .await
            .unwrap();
        assert_eq!(status, 1, "one liar never freezes the model");
    }
    let v = carol
        .client()
        .call("ModelRegistry.getVersion", reg.getVersion(w.model, 1))
        .await
        .unwrap();
    assert_eq!(v.strikes, 1, "the liar's strikes count once");
    let info = bob.provider_info(signer(2).address()).await.unwrap();
    assert_eq!(info.faults, w.cfg.max_faults);
    assert!(info.ejected, "ejected at max_faults");

    let t = carol.request(&common::request(w.model, ic)).await.unwrap();
    let refused = bob
        .submit(t, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap_err();
    let why = refused.to_string();
    assert!(
        why.starts_with("TaskManager.submit reverted: Ejected(provider: ")
            && why
                .to_lowercase()
                .contains(&format!("{:x}", signer(2).address())),
        "{why}"
    );
    alice.submit(t, output, honest.trace_root()).await.unwrap();
    carol
        .client()
        .warp(u64::from(w.cfg.challenge_window) + 1)
        .await
        .unwrap();
    carol.finalize(t).await.unwrap();
    assert_eq!(carol.task(t).await.unwrap().status, 4, "honest use goes on");
}

/// A finalize is drawn for audit from the including block's randomness, which eth_estimateGas
/// (run against the pending block) does not see: with half of all tasks audited, the estimate
/// and the inclusion disagree on about a quarter of finalizes. Each one must still settle —
/// sent with the estimate alone, the costlier audit branch ran out of gas on-chain. Also counts
/// both branches, so the test cannot pass without exercising them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalize_settles_whichever_way_the_audit_draw_falls() {
    let (bytes, pkg) = package();
    let cfg = DeployConfig {
        audit_bps: 5_000,
        ..vouch_testkit::test_config()
    };
    let chain = Chain::start(cfg.clone()).await;
    let model = chain.publish(&bytes, &pkg).await;
    chain.fund(1..4, 5_000).await;
    chain.stake(1, model, 1_500).await;
    let (ic, honest, output, _) = run(&pkg);
    let alice = chain.system(1).await;
    let carol = chain.system(3).await;
    let mut audited = 0;
    let rounds = 16;
    for round in 0..rounds {
        let t = carol.request(&common::request(model, ic)).await.unwrap();
        alice.submit(t, output, honest.trace_root()).await.unwrap();
        carol
            .client()
            .warp(u64::from(cfg.challenge_window) + 1)
            .await
            .unwrap();
        carol
            .finalize(t)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let task = carol.task(t).await.unwrap();
        assert_eq!(task.status, 4, "round {round}: finalized");
        audited += usize::from(task.flags & 1 != 0); // FLAG_AUDIT
    }
    assert!(
        0 < audited && audited < rounds,
        "{audited} of {rounds} audited: both branches should run"
    );
}
