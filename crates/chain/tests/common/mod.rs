//! What the chain test binaries share: one honest run of a fixture model on its first input
//! rows, and a dispute game played to its end between an honest party and a liar.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use vouch_chain::alloy::primitives::{B256, I256, U256};
use vouch_chain::alloy::providers::Provider as _;
use vouch_chain::dispute::{self, Evidence, HonestTrace, Move};
use vouch_chain::system::{Mode, Request};
use vouch_chain::{System, TOKEN};
use vouch_engine::{Engine, Options};
use vouch_model::Package;
use vouch_testkit::Chain;

/// A chain for dispute tests: windows short enough to play out (challenge 100 s, steps 50 s),
/// no audits, and a liar ejected after `max_faults` lost games (0: never).
pub async fn dispute_chain(max_faults: u8) -> Chain {
    Chain::start(vouch_chain::deploy::DeployConfig {
        challenge_window: 100,
        step_timeout: 50,
        audit_bps: 0,
        max_faults,
        ..Default::default()
    })
    .await
}

/// A [`dispute_chain`] with no faults allowed, signers 2 (the provider) and 3 (the challenger)
/// funded, `pkg` (its `bytes`) published and signer 2 staked `stake` tokens on it: the chain
/// (anvil stops when it drops), the provider's and the challenger's systems, and the model id.
pub async fn staked_dispute(
    bytes: &[u8],
    pkg: &Package,
    stake: u128,
) -> (Chain, System, System, u32) {
    let chain = dispute_chain(0).await;
    chain.fund(2..4, 200_000).await;
    let model = publish(&chain, bytes, pkg).await;
    chain.stake(2, model, stake).await;
    let bob = chain.system(2).await;
    let carol = chain.system(3).await;
    (chain, bob, carol, model)
}

/// Publishes package `pkg` (its `bytes`) from the deployer; its model id.
pub async fn publish(chain: &Chain, bytes: &[u8], pkg: &Package) -> u32 {
    chain
        .system(0)
        .await
        .publish(&vouch_chain::graph::commitments_of(bytes, pkg))
        .await
        .unwrap()
        .model_id
}

/// An optimistic request of one row to version 1 of `model`, for input commitment `ic`.
pub fn request(model: u32, ic: B256) -> Request {
    request_rows(model, ic, 1)
}

/// [`request`] for a task of `rows` rows.
pub fn request_rows(model: u32, ic: B256, rows: u16) -> Request {
    Request {
        model_id: model,
        version: 1,
        mode: Mode::Optimistic,
        fee: TOKEN,
        deadline_secs: 3600,
        input_commitment: ic,
        rows,
        input_cid: String::new(),
        inline_input: Vec::new(),
        callback: None,
    }
}

/// `pkg` run on the first `rows` rows of fixture `model`'s input (a task of `rows` rows): the
/// input commitment, the honest trace, the output commitment and the one-step evidence.
pub fn run_fixture(pkg: &Package, model: &str, rows: usize) -> (B256, HonestTrace, B256, Evidence) {
    let dir = vouch_testkit::model_dir(model);
    let mut input: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    for (_, v) in input.as_object_mut().unwrap().iter_mut() {
        v.as_array_mut().unwrap().truncate(rows);
    }
    let floats = vouch_task::codec::package_inputs_from_json(pkg, &input).unwrap();
    traced(pkg, vouch_quant::quantize_inputs(pkg, &floats))
}

/// `pkg` run on the integer `inputs` (a task's rows): the input commitment, the honest trace
/// (checked against the engine's trace root and output commitment), the output commitment and
/// the one-step evidence.
pub fn traced(
    pkg: &Package,
    inputs: Vec<vouch_engine::Tensor>,
) -> (B256, HonestTrace, B256, Evidence) {
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
    let evidence = Evidence::new(pkg, inputs.iter().map(|t| t.data.clone()).collect());
    let exec = Engine::new(
        pkg,
        Options {
            threads: 1,
            trace: true,
        },
    )
    .unwrap()
    .run(inputs)
    .unwrap();
    let trace = HonestTrace::of_package(exec.trace.iter().map(|t| t.data.clone()).collect(), pkg);
    assert_eq!(trace.trace_root(), B256::from(exec.trace_root()));
    assert_eq!(
        trace.output_commitment(),
        B256::from(exec.output_commitment())
    );
    (ic, trace, B256::from(exec.output_commitment()), evidence)
}

/// The liar's moves: the ordinary ones from its (lying) trace, and in the partial-sum game the
/// honest prefix sums from chunk (or tree) `dev` on moved by one amount, so that its
/// accumulator is the smallest one giving the value it claimed (that value itself when wide).
pub async fn liar_step(
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
    let m = dispute::chunks(honest.1, j).unwrap();
    let acc = dispute::partial_sum(honest.0, honest.1, j, e, m).unwrap();
    let claimed = i64::from(lie.tensors()[j][e]);
    let delta = accumulator_for(honest.1, j, e, claimed) - acc;
    let p = dispute::partial_sum(honest.0, honest.1, j, e, c).unwrap()
        + if c > dev { delta } else { 0 };
    sys.client()
        .send(
            "postPartial",
            dg.postPartial(game, I256::try_from(p).unwrap()),
        )
        .await
        .unwrap();
    Move::Posted("partial sum")
}

/// The smallest accumulator whose output under the requantization of element `e` of node `j`
/// (attrs `[M, s, lo, hi, wide]`; `M = 0`: its channel's `M[n]`, the third column of the
/// `[N, 3]` bias) is `value`; `value` itself for a wide output or a tree ensemble.
pub fn accumulator_for(ev: &Evidence, j: usize, e: usize, value: i64) -> i64 {
    let node = &ev.nodes[j];
    let a = |i: usize| node.attrs[i].as_i64();
    if node.op == vouch_chain::graph::op::TREE_ENSEMBLE || a(4) != 0 {
        return value;
    }
    let dims = |s: &[U256]| s.iter().map(|d| d.to::<usize>()).collect::<Vec<_>>();
    let m = if a(0) != 0 {
        a(0)
    } else {
        let os = dims(&node.outShape);
        let e = e % os.iter().product::<usize>();
        let n = if node.op == vouch_chain::graph::op::CONV {
            (e / os[2..].iter().product::<usize>()) % os[1]
        } else {
            e % dims(&node.constShapes[0])[0]
        };
        let bias = &ev.consts[node.consts[1].to::<usize>()];
        i64::from(bias[3 * n + 2])
    };
    let s = u32::try_from(a(1)).unwrap();
    let half = if s == 0 { 0 } else { 1i64 << (s - 1) };
    let num = i128::from(value) * (1i128 << s) - i128::from(half);
    let mut x = i64::try_from(num.div_euclid(i128::from(m))).unwrap();
    let q = |x: i64| {
        vouch_semantics::requant(
            x,
            m,
            s,
            i32::try_from(a(2)).unwrap(),
            i32::try_from(a(3)).unwrap(),
        )
        .map(i64::from)
    };
    while q(x).is_ok_and(|v| v < value) {
        x += 1;
    }
    assert_eq!(q(x).unwrap(), value, "no accumulator gives {value}");
    x
}

/// Plays the game to its end with the honest party moving first; returns the outcome, the
/// honest party's moves and the gas of its last transaction (the tree one-step).
pub async fn play(
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
            gas = last_gas(honest.0).await;
        }
        moves.push(a);
        let b = liar_step(liar.0, game, liar.1, (honest.1, honest.2), dev).await;
        assert_ne!(b, Move::ClaimedTimeout);
    }
    panic!("the game does not end: {moves:?}");
}

/// Both parties answer every step until the game ends; returns the outcome and the honest
/// party's last move.
pub async fn play_out(
    honest: (&System, &HonestTrace, &Evidence),
    liar: (&System, &HonestTrace),
    game: U256,
) -> (&'static str, Move) {
    let mut last = None;
    for _ in 0..200 {
        let a = dispute::step_with(honest.0, game, honest.1, Some(honest.2))
            .await
            .unwrap();
        if let Move::Done { outcome } = a {
            return (outcome, last.unwrap());
        }
        assert_ne!(a, Move::ClaimedTimeout);
        let b = liar_step(liar.0, game, liar.1, (honest.1, honest.2), 0).await;
        assert_ne!(b, Move::ClaimedTimeout);
        last = Some(a);
    }
    panic!("the game does not end");
}

/// A one-row task of `model` that `challenger` requests, `liar` answers with `lie`, and
/// `challenger` challenges with the `honest` answer: the task id and the game id.
pub async fn lie_and_challenge(
    challenger: &System,
    liar: &System,
    model: u32,
    ic: B256,
    honest: &HonestTrace,
    lie: &HonestTrace,
) -> (U256, U256) {
    lie_and_challenge_rows(challenger, liar, (model, 1), ic, honest, lie).await
}

/// [`lie_and_challenge`] for a task of `rows` rows (`(model, rows)`).
pub async fn lie_and_challenge_rows(
    challenger: &System,
    liar: &System,
    (model, rows): (u32, u16),
    ic: B256,
    honest: &HonestTrace,
    lie: &HonestTrace,
) -> (U256, U256) {
    let t = challenger
        .request(&request_rows(model, ic, rows))
        .await
        .unwrap();
    liar.submit(t, lie.output_commitment(), lie.trace_root())
        .await
        .unwrap();
    let game = challenger
        .challenge(t, honest.output_commitment(), honest.trace_root())
        .await
        .unwrap();
    (t, game)
}

/// `honest` with element `e` of node `j` moved one step toward zero (`0` to `1`): a lie that
/// stays inside the node's kind range (an `ArgMax` index becomes another index).
pub fn nudged(honest: &HonestTrace, j: usize, e: usize) -> HonestTrace {
    let mut lie = honest.clone();
    let v = lie.tensors()[j][e];
    lie.set(j, e, if v > 0 { v - 1 } else { v + 1 }).unwrap();
    lie
}

/// A one-row task of `model` answered by `liar` (signer 2) with its lie and challenged by
/// `honest`, played to the end (the liar's partial sums deviating from `dev` on): the
/// challenger must win with the one-step check under 1M gas, the liar be slashed and the task
/// fail (`what` names the case in failures). Returns the moves played and the one-step
/// check's gasUsed.
pub async fn liar_loses(
    honest: (&System, &HonestTrace, &Evidence),
    liar: (&System, &HonestTrace),
    model: u32,
    ic: B256,
    dev: usize,
    what: &str,
) -> (usize, u64) {
    liar_loses_rows(honest, liar, (model, 1), ic, dev, what).await
}

/// One lie per `(node, element, what)` of `lies`, each [`nudged`] from the honest trace and
/// played by [`liar_loses`] as a task of its own: every one must lose. Returns
/// `(what, moves, one-step gasUsed)` per lie, in order (for [`print_one_steps`]).
pub async fn nudged_liars_lose(
    honest: (&System, &HonestTrace, &Evidence),
    liar: &System,
    model: u32,
    ic: B256,
    lies: Vec<(usize, usize, String)>,
) -> Vec<(String, usize, u64)> {
    let mut rows = Vec::with_capacity(lies.len());
    for (j, e, what) in lies {
        let lie = nudged(honest.1, j, e);
        let (moves, gas) = liar_loses(honest, (liar, &lie), model, ic, 0, &what).await;
        rows.push((what, moves, gas));
    }
    rows
}

/// Prints the rows of [`nudged_liars_lose`] as a table, `title` heading the first column.
#[allow(clippy::print_stdout)] // the tests' report (`-- --nocapture`)
pub fn print_one_steps(title: &str, rows: &[(String, usize, u64)]) {
    let w = rows.iter().map(|r| r.0.len()).fold(title.len(), usize::max);
    println!("{title:<w$}  moves  one-step gasUsed");
    for (what, moves, gas) in rows {
        println!("{what:<w$}  {moves:>5}  {gas:>16}");
    }
}

/// [`liar_loses`] for a task of `rows` rows (`(model, rows)`).
pub async fn liar_loses_rows(
    honest: (&System, &HonestTrace, &Evidence),
    liar: (&System, &HonestTrace),
    model: (u32, u16),
    ic: B256,
    dev: usize,
    what: &str,
) -> (usize, u64) {
    let (carol, bob) = (honest.0, liar.0);
    let (t, game) = lie_and_challenge_rows(carol, bob, model, ic, honest.1, liar.1).await;
    // the liar's stake once its bond is locked: the slash is what lowers it further
    let liar_address = vouch_testkit::signer(2).address();
    let before = bob.provider_info(liar_address).await.unwrap();
    let (outcome, moves, gas) = play(honest, liar, game, dev).await;
    assert_eq!(outcome, "challenger wins", "{what}: {moves:?}");
    assert_eq!(
        moves.last(),
        Some(&Move::Posted("one-step")),
        "{what}: {moves:?}"
    );
    assert!(gas < 1_000_000, "{what}: one-step gasUsed {gas}");
    let after = bob.provider_info(liar_address).await.unwrap();
    assert!(after.stake < before.stake, "{what}: the liar is slashed");
    assert_eq!(carol.task(t).await.unwrap().status, 6, "{what}: failed");
    (moves.len(), gas)
}

/// Settles game `game` of a task without an answer for the challenger `sys` (who claimed "no
/// answer"): [`dispute::resolve_input`] until the game ends. Returns the outcome, the moves
/// and the gas of the last move's transaction (the resolution itself).
pub async fn resolve_no_answer(
    sys: &System,
    game: U256,
    me: &HonestTrace,
    ev: &Evidence,
) -> (&'static str, Vec<Move>, u64) {
    let mut moves = Vec::new();
    let mut gas = 0;
    loop {
        assert!(moves.len() < 5, "{moves:?}");
        let m = dispute::resolve_input(sys, game, me.header(), &ev.nodes, &ev.inputs, &ev.consts)
            .await
            .unwrap();
        if let Move::Done { outcome } = m {
            return (outcome, moves, gas);
        }
        gas = last_gas(sys).await;
        moves.push(m);
    }
}

/// `gasUsed` from the receipt of the last transaction of the latest block (anvil mines each
/// transaction `sys` sends in a block of its own).
pub async fn last_gas(sys: &System) -> u64 {
    let block = sys
        .client()
        .provider()
        .get_block_receipts(vouch_chain::alloy::eips::BlockId::latest())
        .await
        .unwrap()
        .unwrap();
    block.last().unwrap().gas_used
}

/// Fixture rows of `symbolic_size_cnn` (8x8 digits, three channels) from its `file` scaled up
/// to `side` x `side` by nearest neighbour: `{"image": [rows][3][side][side]}`.
pub fn symbolic_cnn_rows(file: &str, rows: usize, side: usize) -> serde_json::Value {
    let dir = vouch_testkit::model_dir("symbolic_size_cnn");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap();
    let k = side / 8;
    let scale = |plane: &serde_json::Value| -> serde_json::Value {
        let p = plane.as_array().unwrap();
        (0..side)
            .map(|y| {
                let line = p[y / k].as_array().unwrap();
                (0..side)
                    .map(|x| line[x / k].clone())
                    .collect::<serde_json::Value>()
            })
            .collect()
    };
    let rows: Vec<serde_json::Value> = v["image"].as_array().unwrap()[..rows]
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(scale).collect())
        .collect();
    serde_json::json!({ "image": rows })
}

/// `symbolic_size_cnn` bound at 1x3x`side`x`side`, calibrated on `cal_rows` of its calibration
/// rows scaled up ([`symbolic_cnn_rows`]): the package bytes and the package.
pub fn symbolic_cnn_at(side: usize, cal_rows: usize) -> (Vec<u8>, Package) {
    let dir = vouch_testkit::model_dir("symbolic_size_cnn");
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let graph = vouch_onnx::import(
        &onnx,
        &vouch_onnx::ImportOptions {
            shapes: [("image".to_owned(), vec![1, 3, side, side])].into(),
            ..Default::default()
        },
    )
    .unwrap();
    let cal = symbolic_cnn_rows("calibration.json", cal_rows, side);
    let samples = vouch_quant::calibration_from_json(&graph, &cal).unwrap();
    let name = format!("symbolic_size_cnn_{side}");
    let pkg = vouch_quant::import(&graph, samples, &name, [0; 32], |_| {}).unwrap();
    (pkg.to_bytes(), pkg)
}
