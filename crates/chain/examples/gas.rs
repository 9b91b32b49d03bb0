//! The protocol's gas, as receipts: every figure is the gasUsed of transactions the Rust
//! client sent to a real anvil (pinned to cancun), read from their receipts, each with status 1,
//! and each call's effect is checked on-chain (the task finalized, the batch attested its
//! tasks, the committee finalized, the liar lost the dispute). Models are the real fixtures of
//! `testdata/models` imported as users import them (16-bit packages).
//!
//! - settlement: register, stake, opt in, the optimistic request/submit/finalize in steady
//!   state (each provider has been paid before), one batched EAS receipt attestation for every
//!   task finalized since the last, one per-task attestation, a committee of 3;
//! - disputes: a defender that lied about one element of one layer, challenged and played
//!   down to the one-step check by both parties (`vouch_chain::dispute`), for every layer of
//!   the 784-128-10 MLP and of LeNet.
//!
//! ```text
//! cargo run --release -p vouch-chain --example gas              # settlement and disputes
//! cargo run --release -p vouch-chain --example gas -- settlement # settlement only
//! ```
#![allow(clippy::print_stdout)] // a measurement program: its output is the report

use std::path::PathBuf;
use std::str::FromStr;
use vouch_chain::alloy::primitives::{Address, B256, U256};
use vouch_chain::alloy::providers::Provider;
use vouch_chain::alloy::rpc::types::TransactionReceipt;
use vouch_chain::alloy::signers::local::PrivateKeySigner;
use vouch_chain::dispute::{self, Evidence, HonestTrace, Move};
use vouch_chain::system::{Claim, Mode, Request};
use vouch_chain::{Client, DeployConfig, Devnet, DevnetConfig, Error, System, TOKEN};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::Package;

/// anvil's well-known dev accounts (public test keys): 0 deployer, 1–3 providers, 4 requester
/// and challenger.
const KEYS: [&str; 5] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
];

fn signer(i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_str(KEYS[i]).expect("a dev key")
}

/// Collects the receipts of every transaction mined since the last [`Meter::take`] (anvil
/// mines each transaction as it arrives, and only this program sends any).
struct Meter {
    next: u64,
}

/// The receipts of one step: total gasUsed and the number of transactions.
#[derive(Debug, Clone, Copy, Default)]
struct Gas {
    gas: u64,
    txs: u64,
}

impl std::ops::AddAssign for Gas {
    fn add_assign(&mut self, o: Self) {
        self.gas += o.gas;
        self.txs += o.txs;
    }
}

impl Meter {
    async fn new(s: &System) -> Self {
        let head = s
            .client()
            .provider()
            .get_block_number()
            .await
            .expect("head");
        Self { next: head + 1 }
    }

    /// Every receipt since the last take; panics on a failed transaction (a figure counts
    /// only when its transaction succeeded).
    async fn receipts(&mut self, s: &System) -> Vec<TransactionReceipt> {
        let p = s.client().provider();
        let head = p.get_block_number().await.expect("head");
        let mut out = Vec::new();
        for b in self.next..=head {
            let rs = p
                .get_block_receipts(b.into())
                .await
                .expect("eth_getBlockReceipts")
                .unwrap_or_default();
            for r in rs {
                assert!(
                    r.status(),
                    "transaction {} failed: not a figure",
                    r.transaction_hash
                );
                out.push(r);
            }
        }
        self.next = head + 1;
        out
    }

    /// [`Meter::receipts`] summed, expecting exactly `txs` transactions, all to `to`.
    async fn take(&mut self, s: &System, to: Address, txs: u64) -> Gas {
        let rs = self.receipts(s).await;
        let g = sum(&rs);
        assert_eq!(g.txs, txs, "expected {txs} transaction(s), mined {}", g.txs);
        for r in &rs {
            assert_eq!(
                r.to,
                Some(to),
                "transaction {} went elsewhere",
                r.transaction_hash
            );
        }
        g
    }
}

fn sum(rs: &[TransactionReceipt]) -> Gas {
    Gas {
        gas: rs.iter().map(|r| r.gas_used).sum(),
        txs: rs.len() as u64,
    }
}

/// A fixture model of `testdata/models`, imported as `vouch model import` does (16-bit).
fn fixture(name: &str) -> (Package, Vec<Tensor>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(name);
    let read_json = |f: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(dir.join(f)).expect(f)).expect(f)
    };
    let onnx = std::fs::read(dir.join("model.onnx")).expect("model.onnx");
    let graph = vouch_onnx::import(&onnx, &vouch_onnx::ImportOptions::default()).expect("ONNX");
    let names: Vec<&str> = graph
        .inputs
        .iter()
        .map(|&v| graph.values[v].name.as_str())
        .collect();
    let samples =
        vouch_quant::json::inputs_from_json(&read_json("calibration.json"), &names).expect("cal");
    let pkg = vouch_quant::import(&graph, samples, name, [0; 32], |_| {}).expect("import");
    let mut input = read_json("input.json");
    // one row: disputes judge single-row tasks
    for v in input.as_object_mut().expect("input object").values_mut() {
        v.as_array_mut().expect("batch").truncate(1);
    }
    let in_names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let inputs = vouch_quant::quantize_inputs(
        &pkg,
        &vouch_quant::json::inputs_from_json(&input, &in_names).expect("input"),
    );
    (pkg, inputs)
}

/// The honest run of a fixture: input commitment, trace and one-step evidence.
fn honest_run(pkg: &Package, inputs: &[Tensor]) -> (B256, HonestTrace, Evidence) {
    let ic = B256::from(vouch_engine::exec::commit_list(inputs));
    let evidence = Evidence::new(pkg, inputs.iter().map(|t| t.data.clone()).collect());
    let exec = Engine::new(
        pkg,
        Options {
            threads: 1,
            trace: true,
        },
    )
    .expect("engine")
    .run(inputs.to_vec())
    .expect("run");
    let trace = HonestTrace::of_package(exec.trace.iter().map(|t| t.data.clone()).collect(), pkg);
    (ic, trace, evidence)
}

/// A fresh devnet with the protocol deployed, the model published (its gas returned) and
/// three providers staked and opted in (the first provider's stake and opt-in gas returned).
struct World {
    _devnet: Devnet,
    url: String,
    deployment: vouch_chain::Deployment,
    cfg: DeployConfig,
    model: u32,
}

impl World {
    async fn new(pkg: &Package, rows: &mut Vec<(String, Gas)>) -> Self {
        let devnet = Devnet::spawn(&DevnetConfig {
            hardfork: Some("cancun".to_owned()),
            ..DevnetConfig::default()
        })
        .await
        .expect("anvil");
        let url = devnet.url();
        let cfg = DeployConfig {
            audit_bps: 0,
            challenge_window: 100,
            step_timeout: 600,
            // one lost dispute per layer is a strike each: keep the model active and the lying
            // provider in (it would be ejected after three lost disputes) throughout
            freeze_threshold: 1_000,
            max_faults: 0,
            ..DeployConfig::default()
        };
        let c0 = Client::connect(&url, Some(signer(0))).await.expect("rpc");
        let deployment = vouch_chain::deploy(&c0, &cfg).await.expect("deploy");
        let owner = System::new(c0, deployment.clone()).expect("system");
        let mut meter = Meter::new(&owner).await;
        let published = owner
            .publish(&vouch_chain::graph::commitments_of(&pkg.to_bytes(), pkg))
            .await
            .expect("publish");
        assert_ne!(published.provenance_uid, B256::ZERO, "provenance attested");
        let registry = deployment.contracts.registry;
        rows.push((
            "register model version (+ EAS provenance attestation)".to_owned(),
            meter.take(&owner, registry, 1).await,
        ));
        for i in 1..KEYS.len() {
            owner
                .transfer(signer(i).address(), U256::from(1_000_000 * TOKEN))
                .await
                .expect("transfer");
        }
        meter.receipts(&owner).await;
        let w = Self {
            _devnet: devnet,
            url,
            deployment,
            cfg,
            model: published.model_id,
        };
        for i in 1..=3 {
            let p = w.as_(i).await;
            let staking = w.deployment.contracts.staking;
            // approve (the token) then stake and opt in: measured one by one
            p.join(w.model, 100_000 * TOKEN).await.expect("join");
            let rs = meter.receipts(&p).await;
            assert_eq!(rs.len(), 3, "approve, stake, opt in");
            assert!(rs[1..].iter().all(|r| r.to == Some(staking)));
            if i == 1 {
                rows.push(("stake".to_owned(), sum(&rs[1..2])));
                rows.push(("opt in to a model".to_owned(), sum(&rs[2..3])));
            }
        }
        w
    }

    async fn as_(&self, i: usize) -> System {
        let c = Client::connect(&self.url, Some(signer(i)))
            .await
            .expect("rpc");
        System::new(c, self.deployment.clone()).expect("system")
    }

    fn request(&self, mode: Mode, ic: B256) -> Request {
        Request {
            model_id: self.model,
            version: 1,
            mode,
            fee: TOKEN,
            deadline_secs: 3600,
            input_commitment: ic,
            rows: 1,
            input_cid: String::new(),
            inline_input: Vec::new(),
            callback: None,
        }
    }
}

/// Approves the TaskManager for all the requester's later fees (one transaction, not counted
/// per task: `System::request` approves only when the allowance is short).
async fn approve_fees(w: &World, requester: &System) {
    let tm = w.deployment.contracts.task_manager;
    requester
        .client()
        .send(
            "VouchToken.approve",
            requester.token().approve(tm, U256::from(500_000 * TOKEN)),
        )
        .await
        .expect("approve");
}

const FINALIZED: u8 = 4;

async fn settlement(rows: &mut Vec<(String, Gas)>) {
    let (pkg, inputs) = fixture("mlp_784_128_10");
    let (ic, honest, _) = honest_run(&pkg, &inputs);
    let w = World::new(&pkg, rows).await;
    let tm = w.deployment.contracts.task_manager;
    let requester = w.as_(4).await;
    approve_fees(&w, &requester).await;
    let providers = [w.as_(1).await, w.as_(2).await, w.as_(3).await];
    let mut meter = Meter::new(&requester).await;
    let output = honest.output_commitment();
    let trace = honest.trace_root();

    // one optimistic task by `p`: request, submit, finalize, each measured
    let optimistic = async |p: &System, meter: &mut Meter| -> [Gas; 3] {
        meter.receipts(p).await;
        let t = requester
            .request(&w.request(Mode::Optimistic, ic))
            .await
            .expect("request");
        let req = meter.take(&requester, tm, 1).await;
        p.submit(t, output, trace).await.expect("submit");
        let sub = meter.take(p, tm, 1).await;
        requester
            .client()
            .warp(u64::from(w.cfg.challenge_window) + 1)
            .await
            .expect("warp");
        meter.receipts(p).await;
        requester.finalize(t).await.expect("finalize");
        let fin = meter.take(&requester, tm, 1).await;
        let task = requester.task(t).await.expect("task");
        assert_eq!(task.status, FINALIZED, "task {t} finalized");
        [req, sub, fin]
    };
    // steady state: every provider has been paid before
    for p in &providers {
        optimistic(p, &mut meter).await;
    }
    let [req, sub, fin] = optimistic(&providers[0], &mut meter).await;
    rows.push(("optimistic: request".to_owned(), req));
    rows.push(("optimistic: submit".to_owned(), sub));
    rows.push((
        "optimistic: finalize (pays, appends receipt to hash chain)".to_owned(),
        fin,
    ));
    for _ in 0..60 {
        optimistic(&providers[0], &mut meter).await;
    }
    meter.receipts(&requester).await;
    let (_, from, to) = requester.flush_receipts().await.expect("flush");
    let batch = to - from;
    let receipts = w.deployment.contracts.receipts;
    let flush = meter.take(&requester, receipts, 1).await;
    assert_eq!(batch, 64, "the batch attests 64 finalized tasks");
    rows.push((
        format!("receipt batch: one EAS attestation for {batch} tasks"),
        flush,
    ));
    let per_task = Gas {
        gas: flush.gas / batch,
        txs: 0,
    };
    rows.push(("receipt batch: per task".to_owned(), per_task));
    requester
        .attest_receipt(U256::from(64))
        .await
        .expect("attest");
    let single = meter.take(&requester, receipts, 1).await;
    rows.push((
        "receipt: single per-task EAS attestation".to_owned(),
        single,
    ));
    let mut total = req;
    total += sub;
    total += fin;
    total += per_task;
    rows.push((
        "optimistic request+submit+finalize+receipt (batched, 64/batch) [target <= 300000]"
            .to_owned(),
        total,
    ));
    let mut with_single = req;
    with_single += sub;
    with_single += fin;
    with_single += single;
    rows.push((
        "optimistic request+submit+finalize+single attestation".to_owned(),
        with_single,
    ));

    // a committee of 3: request, 3 commits (the first draws), 3 reveals (the last finalizes)
    let t = requester
        .request(&w.request(Mode::Committee, ic))
        .await
        .expect("request");
    let mut committee = meter.take(&requester, tm, 1).await;
    rows.push(("committee: request".to_owned(), committee));
    // the draw reads the hash of a block after the request
    for _ in 0..2 {
        requester
            .client()
            .raw::<_, serde_json::Value>("evm_mine", ())
            .await
            .expect("mine");
    }
    meter.receipts(&requester).await;
    let salt = |i: usize| B256::from(U256::from(i + 1));
    let commitment = |who: Address, i: usize| {
        use vouch_chain::alloy::sol_types::SolValue;
        vouch_chain::alloy::primitives::keccak256((t, who, output, trace, salt(i)).abi_encode())
    };
    // the first commit draws the committee: only the drawn first member's call succeeds
    // (the others fail estimation with NotMember and send nothing)
    let mut first = None;
    for p in &providers {
        let me = p.client().from().expect("signer");
        let tm = p.task_manager();
        let call = tm.commit(t, U256::ZERO, commitment(me, 0), Vec::new());
        match p.client().send("TaskManager.commit", call).await {
            Ok(r) => {
                first = Some(r);
                break;
            }
            Err(Error::Reverted { reason, .. }) if reason.starts_with("NotMember") => {}
            Err(e) => panic!("commit: {e}"),
        }
    }
    let first = first.expect("one provider is the first drawn member");
    let drawn: vouch_chain::bindings::task_manager::TaskManager::CommitteeDrawn =
        vouch_chain::system::event(&first, "TaskManager.commit", "CommitteeDrawn")
            .expect("CommitteeDrawn");
    let members = drawn.members;
    let g = meter.take(&requester, tm, 1).await;
    rows.push((
        "committee: first commit (draws, locks 3 bonds)".to_owned(),
        g,
    ));
    committee += g;
    let by = |a: Address| {
        providers
            .iter()
            .find(|p| p.client().from() == Some(a))
            .expect("a drawn member is one of ours")
    };
    let mut commits = vec![commitment(members[0], 0)];
    for (i, &m) in members.iter().enumerate().skip(1) {
        let c = commitment(m, i);
        let p = by(m);
        p.client()
            .send(
                "TaskManager.commit",
                p.task_manager()
                    .commit(t, U256::from(i), c, members.clone()),
            )
            .await
            .expect("commit");
        commits.push(c);
        let g = meter.take(p, tm, 1).await;
        rows.push(("committee: commit".to_owned(), g));
        committee += g;
    }
    for (i, &m) in members.iter().enumerate() {
        let p = by(m);
        // the record, and the standing result the first reveal set
        let task = requester.task(t).await.expect("task");
        p.client()
            .send(
                "TaskManager.reveal",
                p.task_manager().reveal(
                    t,
                    task.record.clone(),
                    task.result.clone(),
                    U256::from(i),
                    Claim {
                        output,
                        traceRoot: trace,
                    },
                    salt(i),
                    members.clone(),
                    commits.clone(),
                ),
            )
            .await
            .expect("reveal");
        let g = meter.take(p, tm, 1).await;
        let what = if i + 1 == members.len() {
            "committee: last reveal (finalizes, pays 3)"
        } else {
            "committee: reveal"
        };
        rows.push((what.to_owned(), g));
        committee += g;
    }
    assert_eq!(
        requester.task(t).await.expect("task").status,
        FINALIZED,
        "the committee task finalized"
    );
    rows.push((
        "committee of 3: request+3 commits+3 reveals (finalizes) [target <= 600000]".to_owned(),
        committee,
    ));
}

/// The operator's name (`Linear`, `Conv`, ...).
fn op_name(op: &vouch_model::Op) -> String {
    let s = format!("{op:?}");
    s.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// One dispute per layer: provider 1 posts a lie (the honest trace with one element of node
/// `j` + 1), the challenger (4) challenges with the honest result, both play to the end.
async fn dispute_rows(name: &str, model: &str, rows: &mut Vec<(String, Gas)>) {
    let (pkg, inputs) = fixture(model);
    let (ic, honest, evidence) = honest_run(&pkg, &inputs);
    let mut ignored = Vec::new();
    let w = World::new(&pkg, &mut ignored).await;
    let defender = w.as_(1).await;
    let challenger = w.as_(4).await;
    approve_fees(&w, &challenger).await;
    let mut meter = Meter::new(&challenger).await;
    for (j, node) in pkg.nodes.iter().enumerate() {
        let n = honest.tensors()[j].len();
        let e = n / 3;
        let layer = format!(
            "{} `{}` ({n} elements, element {e})",
            op_name(&node.op),
            node.name
        );
        let mut lie = honest.clone();
        lie.set(j, e, lie.tensors()[j][e] + 1).unwrap();
        let t = challenger
            .request(&w.request(Mode::Optimistic, ic))
            .await
            .expect("request");
        defender
            .submit(t, lie.output_commitment(), lie.trace_root())
            .await
            .expect("submit");
        meter.receipts(&challenger).await;
        let game = challenger
            .challenge(t, honest.output_commitment(), honest.trace_root())
            .await
            .expect("challenge");
        let challenge = sum(&meter.receipts(&challenger).await);
        let mut total = challenge;
        let mut one_step = Gas::default();
        let mut outcome = "";
        for _ in 0..400 {
            let a = dispute::step_with(&challenger, game, &honest, Some(&evidence))
                .await
                .expect("challenger step");
            let g = sum(&meter.receipts(&challenger).await);
            total += g;
            match a {
                Move::Done { outcome: o } => {
                    outcome = o;
                    break;
                }
                Move::Posted("one-step") => one_step = g,
                Move::ClaimedTimeout | Move::NeedsOneStep => panic!("{name}: {a:?}"),
                _ => {}
            }
            let b = dispute::step(&defender, game, &lie)
                .await
                .expect("defender step");
            assert_ne!(b, Move::ClaimedTimeout, "{name}: the defender timed out");
            total += sum(&meter.receipts(&defender).await);
        }
        assert_eq!(outcome, "challenger wins", "{name} {layer}: the liar loses");
        assert!(
            one_step.txs > 0,
            "{name} {layer}: settled by the one-step check"
        );
        let at = format!("node {j}, {layer}");
        rows.push((
            format!("{name}, {at}: challenge (bond, opens game)"),
            challenge,
        ));
        rows.push((
            format!("{name}, {at}: one-step check [target < 10000000]"),
            one_step,
        ));
        rows.push((format!("{name}, {at}: full dispute total"), total));
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let only_settlement = std::env::args().nth(1).as_deref() == Some("settlement");
    let mut rows: Vec<(String, Gas)> = Vec::new();
    settlement(&mut rows).await;
    if !only_settlement {
        dispute_rows("MLP 784-128-10", "mlp_784_128_10", &mut rows).await;
        dispute_rows("LeNet", "lenet", &mut rows).await;
    }
    println!("| transaction (receipts on anvil, cancun) | gasUsed | transactions |");
    println!("|---|---:|---:|");
    for (what, g) in rows {
        let txs = if g.txs == 0 {
            "-".to_owned()
        } else {
            g.txs.to_string()
        };
        println!("| {what} | {} | {txs} |", g.gas);
    }
}
