//! Full optimistic fraud-proof disputes on a real imported package (first NudeNet's
//! YOLOv8n-class `320n.onnx`, 16-bit; `bench/production/gas.sh` runs it on every package of the
//! production survey), on a fresh anvil pinned to cancun, every figure read from receipts with
//! status 1.
//!
//! The deployer publishes the package, one provider stakes, a requester asks for one
//! optimistic task whose input travels by commitment (the input commitment on-chain, the
//! 307,200-value tensor off-chain under its CID, as a request by CID does), the provider
//! submits a result that lies about one element of one node, and an honest challenger plays
//! the whole game with `vouch_chain::dispute` down to the one-step check; the liar must lose
//! (the task reads `failed`, the provider's stake is slashed). One task per lie: by default
//! one element of the final output and one of the Conv in the middle of the network.
//!
//! Per dispute it prints each party's transactions and gasUsed, the rounds (moves by name),
//! the one-step check's gasUsed with the op it checked, and the largest single transaction;
//! then the largest one-step across the disputes. `bench/dispute/run.sh` makes the package and
//! the input and runs this.
//!
//! ```text
//! detector_dispute --package 320n.vpkg --input input.json --work DIR [--nodes output,mid-conv]
//!                  [--json SUMMARY.json] [--measure]
//! ```
//!
//! `--nodes` takes `output`, `mid-conv`, `ops` (the first node of every op and the Conv of the
//! largest fan-in), `heaviest[:K]` (per op, the K nodes, default 1, whose one-step check
//! sends the most calldata gas, plus the two heaviest nodes overall; see [`heaviest`]), node
//! indices or `all` (every node, one task each). The input JSON may hold several rows: the
//! task disputes the first (a package's batch axis cut to 1). `--measure` prints every node's
//! predicted one-step calldata and stops before the chain; `--json` writes the disputes'
//! figures (or the package's refusal of optimistic mode) as one JSON object. `DDET_TIMING=1`
//! prints every move with the seconds since its task started to stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a measurement program: its output is the report

#[path = "../tests/common/mod.rs"]
mod common;

use eyre::{Result, WrapErr, bail, ensure, eyre};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use vouch_chain::alloy::consensus::Transaction as _;
use vouch_chain::alloy::primitives::{B256, U256};
use vouch_chain::alloy::providers::Provider;
use vouch_chain::alloy::rpc::types::TransactionReceipt;
use vouch_chain::alloy::signers::local::PrivateKeySigner;
use vouch_chain::dispute::{self, Evidence, HonestTrace, Move};
use vouch_chain::system::{Mode, Request};
use vouch_chain::{Client, DeployConfig, Devnet, DevnetConfig, System, TOKEN};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::Package;
use vouch_model::ir::Dim;

/// anvil's well-known dev accounts (public test keys): 0 deployer, 1 provider (the liar),
/// 3 challenger, 4 requester.
const KEYS: [&str; 5] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
];
const PROVIDER: usize = 1;
const CHALLENGER: usize = 3;
const REQUESTER: usize = 4;

/// `TaskManager.Status.Failed`: the provider lost a dispute.
const FAILED: u8 = 6;

fn signer(i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_str(KEYS[i]).expect("a dev key")
}

/// Command-line arguments.
struct Args {
    package: PathBuf,
    input: PathBuf,
    work: PathBuf,
    nodes: String,
    json: Option<PathBuf>,
    measure: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        package: PathBuf::new(),
        input: PathBuf::new(),
        work: std::env::temp_dir(),
        nodes: "output,mid-conv".to_owned(),
        json: None,
        measure: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().ok_or_else(|| eyre!("{k} needs a value"));
        match k.as_str() {
            "--package" => a.package = v()?.into(),
            "--input" => a.input = v()?.into(),
            "--work" => a.work = v()?.into(),
            "--nodes" => a.nodes = v()?,
            "--json" => a.json = Some(v()?.into()),
            "--measure" => a.measure = true,
            _ => bail!(
                "unknown argument {k} (--package, --input, --work, --nodes, --json, --measure)"
            ),
        }
    }
    ensure!(
        !a.package.as_os_str().is_empty() && !a.input.as_os_str().is_empty(),
        "usage: detector_dispute --package PKG --input INPUT.json [--work DIR] [--nodes LIST]"
    );
    Ok(a)
}

/// The package and its quantized one-row input: an input given with several rows along the
/// package's batch axis (axis 0 as `Batch`, or as 1 in a package run row by row) keeps its
/// first row; an input without one (a recurrent state) is kept whole.
fn load(a: &Args) -> Result<(Package, Vec<Tensor>)> {
    let bytes = std::fs::read(&a.package).wrap_err_with(|| a.package.display().to_string())?;
    let pkg = Package::from_bytes(&bytes).wrap_err("reading the package")?;
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&a.input).wrap_err_with(|| a.input.display().to_string())?,
    )
    .wrap_err("input JSON")?;
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let floats = vouch_quant::json::inputs_from_json(&json, &names).wrap_err("input tensors")?;
    let mut inputs = vouch_quant::quantize_inputs(&pkg, &floats);
    for (t, io) in inputs.iter_mut().zip(&pkg.inputs) {
        let shape = &pkg.values[io.value as usize].shape;
        let first = shape.first();
        let batched =
            first == Some(&Dim::Batch) || (first == Some(&Dim::Fixed(1)) && pkg.runs_row_by_row());
        let row: usize = t.shape.iter().skip(1).product();
        if batched && t.shape.first().is_some_and(|&r| r > 1) && row > 0 {
            t.data.truncate(row);
            t.shape[0] = 1;
        }
    }
    Ok((pkg.clone(), inputs))
}

/// The operator's name (`Conv`, `Concat`, ...).
fn op_name(op: &vouch_model::Op) -> String {
    let s = format!("{op:?}");
    s.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A node's predicted one-step workload: the `oneStep` calldata that settles a lie in element
/// `n / 3` (in chunk `m / 2` of a partial-sum game, where this program's liar leaves the honest
/// prefix sums), [`dispute::one_step_calldata`]: the windows, proofs and descriptor the
/// verifier reads and hashes, priced as the EVM prices calldata (16 gas a nonzero byte, 4 a
/// zero byte).
fn predict(honest: &HonestTrace, ev: &Evidence, j: usize) -> Result<u64> {
    let e = honest.tensors().get(j).map_or(0, Vec::len) / 3;
    let chunk = dispute::chunks(ev, j).map_or(0, |m| m / 2);
    Ok(calldata_gas(&dispute::one_step_calldata(
        honest, ev, j, e, chunk,
    )?))
}

/// Calldata priced as the EVM prices it: 16 gas a nonzero byte, 4 a zero byte.
fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum()
}

/// Every node's [`predict`]ion (`None` where the node has no element or the arguments
/// cannot be made, said on stderr).
fn predictions(pkg: &Package, honest: &HonestTrace, ev: &Evidence) -> Vec<Option<u64>> {
    (0..pkg.nodes.len())
        .map(|j| {
            if honest.tensors().get(j).is_none_or(Vec::is_empty) {
                return None;
            }
            predict(honest, ev, j)
                .inspect_err(|e| eprintln!("node {j}: no one-step prediction: {e}"))
                .ok()
        })
        .collect()
}

/// `heaviest:K`: per op (the package op's name), the `k` nodes of the largest predicted
/// one-step calldata gas, and the two largest overall if not among them; in increasing
/// prediction, so the chain's first dispute (whose state writes start from zero, ~40k gas
/// more) is the lightest.
fn heaviest(pkg: &Package, predicted: &[Option<u64>], k: usize) -> Vec<usize> {
    let mut by_op: BTreeMap<String, Vec<(u64, usize)>> = BTreeMap::new();
    for (j, p) in predicted.iter().enumerate() {
        if let Some(g) = p {
            by_op
                .entry(op_name(&pkg.nodes[j].op))
                .or_default()
                .push((*g, j));
        }
    }
    let mut out: Vec<(u64, usize)> = Vec::new();
    for v in by_op.values_mut() {
        v.sort_by(|a, b| b.cmp(a));
        out.extend(v.iter().take(k));
    }
    let mut all: Vec<(u64, usize)> = by_op.into_values().flatten().collect();
    all.sort_by(|a, b| b.cmp(a));
    for x in all.into_iter().take(2) {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out.sort();
    out.into_iter().map(|(_, j)| j).collect()
}

/// The nodes to lie about, by `--nodes`.
fn targets(
    pkg: &Package,
    ev: &Evidence,
    header_outputs: &[u64],
    predicted: &[Option<u64>],
    spec: &str,
) -> Result<Vec<usize>> {
    let convs: Vec<usize> = (0..pkg.nodes.len())
        .filter(|&j| op_name(&pkg.nodes[j].op) == "Conv")
        .collect();
    let mut out = Vec::new();
    for s in spec.split(',') {
        match s {
            "output" => {
                let o = *header_outputs
                    .first()
                    .ok_or_else(|| eyre!("no output node"))?;
                out.push(usize::try_from(o)?);
            }
            "mid-conv" => out.push(
                *convs
                    .get(convs.len() / 2)
                    .ok_or_else(|| eyre!("the package has no Conv"))?,
            ),
            "all" => out.extend(0..pkg.nodes.len()),
            h if h == "heaviest" || h.starts_with("heaviest:") => {
                let k = match h.strip_prefix("heaviest:") {
                    Some(k) => k.parse().wrap_err_with(|| format!("--nodes {h}"))?,
                    None => 1,
                };
                out.extend(heaviest(pkg, predicted, k));
            }
            "ops" => {
                // the first node of every op, and the Conv of the largest fan-in
                let mut seen = std::collections::BTreeSet::new();
                for (j, n) in pkg.nodes.iter().enumerate() {
                    if seen.insert(op_name(&n.op)) {
                        out.push(j);
                    }
                }
                if let Some(&j) = convs
                    .iter()
                    .max_by_key(|&&j| ev.nodes.get(j).and_then(dispute::fan_in))
                {
                    out.push(j);
                }
            }
            n => {
                let j: usize = n.parse().wrap_err_with(|| format!("--nodes entry {n}"))?;
                ensure!(j < pkg.nodes.len(), "node {j} of {}", pkg.nodes.len());
                out.push(j);
            }
        }
    }
    Ok(out)
}

/// Transactions and gasUsed of one party.
#[derive(Debug, Clone, Copy, Default)]
struct Party {
    txs: u64,
    gas: u64,
}

/// What one dispute cost, from its receipts.
#[derive(Debug, Default)]
struct Report {
    node: usize,
    what: String,
    op: String,
    elements: usize,
    /// The predicted one-step calldata gas ([`predict`]).
    predicted: Option<u64>,
    challenger: Party,
    defender: Party,
    /// (party, move) -> transactions.
    moves: BTreeMap<(&'static str, &'static str), u64>,
    one_step: u64,
    /// The calldata gas of the one-step transaction sent.
    sent_calldata: u64,
    one_step_op: String,
    largest: (u64, String),
    status: String,
    slashed: u128,
    seconds: f64,
}

/// Receipts of every block since the last call; errors on a failed transaction (a figure
/// counts only when its transaction succeeded).
struct Meter {
    next: u64,
}

impl Meter {
    async fn new(s: &System) -> Result<Self> {
        Ok(Self {
            next: s.client().provider().get_block_number().await? + 1,
        })
    }

    async fn take(&mut self, s: &System) -> Result<Vec<TransactionReceipt>> {
        let p = s.client().provider();
        let head = p.get_block_number().await?;
        let mut out = Vec::new();
        for b in self.next..=head {
            for r in p.get_block_receipts(b.into()).await?.unwrap_or_default() {
                ensure!(
                    r.status(),
                    "transaction {} failed: not a figure",
                    r.transaction_hash
                );
                out.push(r);
            }
        }
        self.next = head + 1;
        Ok(out)
    }
}

/// The chain: a fresh anvil (cancun), the protocol deployed, the package published and one
/// provider staked and opted in.
struct World {
    _devnet: Devnet,
    url: String,
    deployment: vouch_chain::Deployment,
    model: u32,
}

impl World {
    async fn new(pkg: &Package) -> Result<Self> {
        let devnet = Devnet::spawn(&DevnetConfig {
            hardfork: Some("cancun".to_owned()),
            ..DevnetConfig::default()
        })
        .await?;
        let url = devnet.url();
        let cfg = DeployConfig {
            audit_bps: 0,
            challenge_window: 100,
            step_timeout: 600,
            // each lost dispute is a strike: keep the model active and the liar in throughout
            freeze_threshold: 1_000,
            max_faults: 0,
            ..DeployConfig::default()
        };
        let c0 = Client::connect(&url, Some(signer(0))).await?;
        let deployment = vouch_chain::deploy(&c0, &cfg).await?;
        let owner = System::new(c0, deployment.clone())?;
        let published = owner
            .publish(&vouch_chain::graph::commitments_of(&pkg.to_bytes(), pkg))
            .await?;
        for i in [PROVIDER, CHALLENGER, REQUESTER] {
            owner
                .transfer(signer(i).address(), U256::from(1_000_000 * TOKEN))
                .await?;
        }
        let w = Self {
            _devnet: devnet,
            url,
            deployment,
            model: published.model_id,
        };
        w.as_(PROVIDER)
            .await?
            .join(w.model, 100_000 * TOKEN)
            .await?;
        // allowances for every later fee and challenger bond, sent once and not counted
        let tm = w.deployment.contracts.task_manager;
        for i in [CHALLENGER, REQUESTER] {
            let s = w.as_(i).await?;
            s.client()
                .send(
                    "VouchToken.approve",
                    s.token().approve(tm, U256::from(500_000 * TOKEN)),
                )
                .await?;
        }
        Ok(w)
    }

    async fn as_(&self, i: usize) -> Result<System> {
        let c = Client::connect(&self.url, Some(signer(i))).await?;
        Ok(System::new(c, self.deployment.clone())?)
    }
}

/// The honest execution: trace and one-step evidence.
fn honest_run(pkg: &Package, inputs: &[Tensor]) -> Result<(HonestTrace, Evidence)> {
    let evidence = Evidence::new(pkg, inputs.iter().map(|t| t.data.clone()).collect());
    let exec = Engine::new(
        pkg,
        Options {
            threads: 2,
            trace: true,
        },
    )?
    .run(inputs.to_vec())?;
    let trace = HonestTrace::of_package(exec.trace.iter().map(|t| t.data.clone()).collect(), pkg);
    Ok((trace, evidence))
}

/// Adds a step's receipts (all sent by `party`, as `what`) to the report.
fn count(r: &mut Report, party: &'static str, what: &'static str, rs: &[TransactionReceipt]) {
    for x in rs {
        let p = if party == "challenger" {
            &mut r.challenger
        } else {
            &mut r.defender
        };
        p.txs += 1;
        p.gas += x.gas_used;
        *r.moves.entry((party, what)).or_default() += 1;
        if x.gas_used > r.largest.0 {
            r.largest = (x.gas_used, format!("{party} {what}"));
        }
    }
}

/// One task whose provider lies about element `n / 3` of node `j`, disputed to the end.
async fn dispute_one(
    w: &World,
    pkg: &Package,
    honest: &HonestTrace,
    evidence: &Evidence,
    request: &Request,
    j: usize,
) -> Result<Report> {
    let started = std::time::Instant::now();
    let requester = w.as_(REQUESTER).await?;
    let defender = w.as_(PROVIDER).await?;
    let challenger = w.as_(CHALLENGER).await?;
    let liar = defender.client().sender("provider")?;
    let n = honest.tensors()[j].len();
    let e = n / 3;
    let node = &pkg.nodes[j];
    let mut r = Report {
        node: j,
        op: op_name(&node.op),
        elements: n,
        what: format!(
            "{} `{}` ({n} elements, element {e})",
            op_name(&node.op),
            node.name
        ),
        ..Report::default()
    };
    let mut lie = honest.clone();
    // one more, unless that is past the top of the node's requantized range (a value no
    // accumulator gives): then one less
    let v = lie.tensors()[j][e];
    let top = evidence.nodes[j]
        .attrs
        .get(3)
        .filter(|_| {
            dispute::chunks(evidence, j).is_ok() && dispute::fan_in(&evidence.nodes[j]).is_some()
        })
        .map(|q| q.as_i64());
    lie.set(
        j,
        e,
        if top.is_some_and(|t| i64::from(v) >= t) {
            v - 1
        } else {
            v + 1
        },
    )
    .unwrap();
    // the chunk the liar's prefix sums leave the honest ones at (a node with a partial-sum game)
    let dev = dispute::chunks(evidence, j).map_or(0, |m| m / 2);
    let t = requester.request(request).await?;
    defender
        .submit(t, lie.output_commitment(), lie.trace_root())
        .await?;
    let before = defender.provider_info(liar).await?;
    let mut meter = Meter::new(&challenger).await?;
    let game = challenger
        .challenge(t, honest.output_commitment(), honest.trace_root())
        .await?;
    let rs = meter.take(&challenger).await?;
    count(&mut r, "challenger", "challenge", &rs);
    let mut outcome = "";
    for _ in 0..1_000 {
        let a = dispute::step_with(&challenger, game, honest, Some(evidence))
            .await
            .map_err(|e| eyre!("challenger step: {e} ({e:?})"))?;
        let rs = meter.take(&challenger).await?;
        if std::env::var_os("DDET_TIMING").is_some() {
            eprintln!("{:.2} challenger {a:?}", started.elapsed().as_secs_f64());
        }
        match a {
            Move::Done { outcome: o } => {
                outcome = o;
                break;
            }
            Move::Posted("one-step") => {
                ensure!(rs.len() == 1, "one-step: {} transactions", rs.len());
                r.one_step = rs[0].gas_used;
                // the prediction's calldata is the one sent, but for the game id and the
                // defender's side of the trace proofs: the same length
                let sent = challenger
                    .client()
                    .provider()
                    .get_transaction_by_hash(rs[0].transaction_hash)
                    .await?
                    .ok_or_else(|| eyre!("the one-step transaction is not found"))?;
                let sent = sent.input().clone();
                let want = dispute::one_step_calldata(honest, evidence, j, e, dev)?;
                ensure!(
                    sent.len() == want.len(),
                    "node {j}: the one-step sent {} bytes of calldata, the prediction has {}",
                    sent.len(),
                    want.len()
                );
                r.sent_calldata = calldata_gas(&sent);
                count(&mut r, "challenger", "one-step", &rs);
            }
            Move::Posted(what) => count(&mut r, "challenger", what, &rs),
            Move::ClaimedTimeout | Move::NeedsOneStep => bail!("challenger: {a:?}"),
            Move::Waiting { .. } => ensure!(rs.is_empty(), "a wait sent a transaction"),
        }
        // the liar answers from its lying trace, and in a partial-sum game with the honest
        // prefix sums up to chunk `dev`, moved from there on to reach the value it claimed
        let b = common::liar_step(&defender, game, &lie, (honest, evidence), dev).await;
        ensure!(b != Move::ClaimedTimeout, "the challenger timed out");
        let rs = meter.take(&defender).await?;
        if std::env::var_os("DDET_TIMING").is_some() {
            eprintln!("{:.2} defender {b:?}", started.elapsed().as_secs_f64());
        }
        match b {
            Move::Posted(what) => count(&mut r, "defender", what, &rs),
            // NeedsOneStep: the liar leaves the one-step check (and starting the partial-sum
            // game) to the challenger
            Move::Waiting { .. } | Move::Done { .. } | Move::NeedsOneStep => {
                ensure!(rs.is_empty(), "defender {b:?} sent a transaction");
                ensure!(
                    matches!(a, Move::Posted(_)) || matches!(b, Move::Done { .. }),
                    "the game stalls: challenger {a:?}, defender {b:?}"
                );
            }
            _ => bail!("defender: {b:?}"),
        }
    }
    ensure!(
        outcome == "challenger wins",
        "node {j}: the game ended {outcome:?}"
    );
    ensure!(r.one_step > 0, "node {j}: not settled by a one-step check");
    let g = challenger
        .client()
        .call("DisputeGame.game", challenger.dispute_game().game(game))
        .await?;
    let checked = usize::try_from(g.node)?;
    ensure!(
        checked == j,
        "the game checked node {checked}, the lie is in node {j}"
    );
    r.one_step_op = op_name(&pkg.nodes[checked].op);
    let task = requester.task(t).await?;
    ensure!(task.status == FAILED, "task status {}", task.status);
    r.status = vouch_chain::system::status_name(task.status).to_owned();
    let after = defender.provider_info(liar).await?;
    ensure!(after.stake < before.stake, "the liar was not slashed");
    r.slashed = before.stake - after.stake;
    r.seconds = started.elapsed().as_secs_f64();
    Ok(r)
}

fn print(r: &Report) {
    println!("### node {}: {}", r.node, r.what);
    println!(
        "- outcome: challenger wins; task `{}`; liar slashed {} tokens; {:.1} s",
        r.status,
        r.slashed / TOKEN,
        r.seconds
    );
    for (name, p) in [("challenger", r.challenger), ("defender", r.defender)] {
        println!("- {name}: {} transactions, {} gas", p.txs, p.gas);
    }
    let moves: Vec<String> = r
        .moves
        .iter()
        .map(|((p, m), c)| format!("{p} {m} x{c}"))
        .collect();
    println!("- rounds: {}", moves.join(", "));
    println!("- one-step check ({}): {} gas", r.one_step_op, r.one_step);
    println!(
        "- largest transaction: {} gas ({})",
        r.largest.0, r.largest.1
    );
}

/// The table of every dispute, the largest one-step check and those over 1M gas.
fn summary(reports: &[Report]) {
    println!();
    println!(
        "| lie in (node, op, elements) | challenger txs / gas | defender txs / gas | \
         bisections (trace, tensor, partial) | one-step (op): gasUsed | predicted calldata gas | \
         largest tx | total gas |"
    );
    println!("|---|---:|---:|---|---:|---:|---:|---:|");
    for r in reports {
        let n = |m: &str| r.moves.get(&("challenger", m)).copied().unwrap_or(0);
        println!(
            "| {} {} | {} / {} | {} / {} | {}, {}, {} | {}: {} | {} | {} ({}) | {} |",
            r.node,
            r.what,
            r.challenger.txs,
            r.challenger.gas,
            r.defender.txs,
            r.defender.gas,
            n("trace bisect"),
            n("tensor bisect"),
            n("partial sum"),
            r.one_step_op,
            r.one_step,
            r.predicted.map_or("-".to_owned(), |g| g.to_string()),
            r.largest.0,
            r.largest.1,
            r.challenger.gas + r.defender.gas
        );
    }
    if let Some(r) = reports.iter().max_by_key(|r| r.one_step) {
        println!();
        println!(
            "largest one-step check: {} gas (node {}, {})",
            r.one_step, r.node, r.what
        );
    }
    let over: Vec<&Report> = reports.iter().filter(|r| r.one_step > 1_000_000).collect();
    println!("one-step checks over 1,000,000 gas: {}", over.len());
    for r in over {
        println!("- node {} {}: {} gas", r.node, r.what, r.one_step);
    }
}

/// The `--json` summary: the package, every dispute's figures (or its error), the largest
/// one-step check; or the package's refusal of optimistic mode.
fn json_summary(
    pkg: &Package,
    refused: Option<String>,
    reports: &[Report],
    errors: &[(usize, String)],
) -> serde_json::Value {
    let one = |r: &Report| {
        serde_json::json!({
            "node": r.node,
            "name": pkg.nodes[r.node].name,
            "op": r.op,
            "elements": r.elements,
            "predicted_calldata_gas": r.predicted,
            "sent_calldata_gas": r.sent_calldata,
            "one_step_gas": r.one_step,
            "one_step_op": r.one_step_op,
            "txs": r.challenger.txs + r.defender.txs,
            "total_gas": r.challenger.gas + r.defender.gas,
            "largest_tx": r.largest.0,
            "seconds": r.seconds,
        })
    };
    serde_json::json!({
        "package": pkg.name,
        "nodes": pkg.nodes.len(),
        "refused": refused,
        "disputes": reports.iter().map(one).collect::<Vec<_>>(),
        "errors": errors.iter().map(|(j, e)| serde_json::json!({"node": j, "error": e}))
            .collect::<Vec<_>>(),
        "largest": reports.iter().max_by_key(|r| r.one_step).map(one),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let a = args()?;
    let t0 = std::time::Instant::now();
    let (pkg, inputs) = load(&a)?;
    let write_json = |v: &serde_json::Value| -> Result<()> {
        if let Some(p) = &a.json {
            std::fs::write(p, serde_json::to_vec_pretty(v)?)
                .wrap_err_with(|| p.display().to_string())?;
        }
        Ok(())
    };
    // a package the protocol cannot judge in optimistic mode is refused before any task
    if let Err(e) = vouch_task::modes::check_mode(&pkg, Mode::Optimistic) {
        println!("refused for optimistic mode: {e}");
        return write_json(&json_summary(&pkg, Some(e.to_string()), &[], &[]));
    }
    let (honest, evidence) = honest_run(&pkg, &inputs)?;
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
    // the input off-chain: its canonical tensor bytes under their CID
    let bytes = vouch_task::codec::inline_bytes(&inputs);
    let cid = vouch_primitives::cid::Cid::of_file(&bytes);
    std::fs::create_dir_all(&a.work)?;
    std::fs::write(a.work.join(format!("{cid}.bin")), &bytes)?;
    eprintln!(
        "package {} ({} nodes), input {} values ({cid}), executed in {:.1} s",
        pkg.name,
        pkg.nodes.len(),
        bytes.len() / 4,
        t0.elapsed().as_secs_f64()
    );
    let predicted = predictions(&pkg, &honest, &evidence);
    if a.measure {
        println!("| node | op | name | elements | predicted one-step calldata gas |");
        println!("|---:|---|---|---:|---:|");
        for (j, p) in predicted.iter().enumerate() {
            let n = &pkg.nodes[j];
            println!(
                "| {j} | {} | {} | {} | {} |",
                op_name(&n.op),
                n.name,
                honest.tensors()[j].len(),
                p.map_or("-".to_owned(), |g| g.to_string())
            );
        }
        return Ok(());
    }
    let mut nodes = targets(
        &pkg,
        &evidence,
        &honest.header().output_nodes,
        &predicted,
        &a.nodes,
    )?;
    let mut seen = std::collections::BTreeSet::new();
    nodes.retain(|&j| seen.insert(j));
    eprintln!("disputing nodes {nodes:?}");
    let w = World::new(&pkg).await?;
    let request = Request {
        model_id: w.model,
        version: 1,
        mode: Mode::Optimistic,
        fee: TOKEN,
        deadline_secs: 3600,
        input_commitment: ic,
        rows: 1,
        input_cid: cid.to_string(),
        inline_input: Vec::new(),
        callback: None,
    };
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for j in nodes {
        // a dispute that does not end with the liar losing is a finding: said, and the
        // others still run (each on its own task)
        match dispute_one(&w, &pkg, &honest, &evidence, &request, j).await {
            Ok(mut r) => {
                r.predicted = predicted.get(j).copied().flatten();
                print(&r);
                reports.push(r);
            }
            Err(e) => {
                let e = format!("{e:#}");
                println!("### node {j}: the dispute failed: {e}");
                errors.push((j, e));
            }
        }
        write_json(&json_summary(&pkg, None, &reports, &errors))?;
    }
    summary(&reports);
    eprintln!("wall time {:.1} s", t0.elapsed().as_secs_f64());
    ensure!(errors.is_empty(), "{} disputes failed", errors.len());
    Ok(())
}
