//! Nodes on a real anvil (a free port per test): an honest provider is paid; a lying provider
//! is caught by a challenger node and slashed; a committee with one liar settles to the honest
//! result and slashes the liar; a provider killed mid-task resumes it from its journal and
//! completes it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use vouch_chain::alloy::primitives::{B256, U256};
use vouch_chain::system::Mode;
use vouch_chain::{DeployConfig, System, TOKEN};
use vouch_journal::TaskState;
use vouch_model::Package;
use vouch_node::{Lie, Node, NodeConfig, Roles};

#[path = "support/inputs.rs"]
mod inputs;
#[path = "support/lossy_rpc.rs"]
mod lossy_rpc;
#[path = "support/until.rs"]
mod until;
use inputs::input_rows;

use until::until;
use vouch_testkit::{Chain, signer, test_config};

fn package() -> (Vec<u8>, Package) {
    vouch_testkit::digits_mlp()
}

struct World {
    chain: Chain,
    url: String,
    model: u32,
    bytes: Vec<u8>,
    pkg: Package,
    cfg: DeployConfig,
    dir: tempfile::TempDir,
}

impl World {
    async fn as_(&self, i: usize) -> System {
        self.chain.system(i).await
    }

    /// A node for key `i` whose store already holds the package (unless `peers` are given).
    async fn node(&self, i: usize, roles: Roles, lie: Lie, peers: Vec<String>) -> Node {
        self.node_via(&self.url, i, roles, lie, peers).await
    }

    /// [`Self::node`] reaching the chain through the endpoint `url`.
    async fn node_via(
        &self,
        url: &str,
        i: usize,
        roles: Roles,
        lie: Lie,
        peers: Vec<String>,
    ) -> Node {
        let dir = self.dir.path().join(format!("node{i}"));
        if peers.is_empty() {
            vouch_store::Store::open(dir.join("store"))
                .unwrap()
                .put(&self.bytes)
                .unwrap();
        }
        let mut cfg = NodeConfig::new(format!("node{i}"), &dir);
        cfg.roles = roles;
        cfg.lie = lie;
        cfg.peers = peers;
        cfg.poll = Duration::from_millis(100);
        cfg.stagger = Duration::ZERO;
        cfg.listen = Some("127.0.0.1:0".parse().unwrap());
        Node::start(self.chain.system_via(url, i).await, cfg, None)
            .await
            .unwrap()
    }

    async fn request(&self, requester: &System, row: usize, mode: Mode) -> (U256, B256) {
        self.request_rows(requester, row, 1, 1, mode).await
    }

    /// A task over `n` rows of the fixture input from `row`, declared as `declared` rows.
    async fn request_rows(
        &self,
        requester: &System,
        row: usize,
        n: usize,
        declared: u16,
        mode: Mode,
    ) -> (U256, B256) {
        let (ic, bytes, out) = input_rows(&self.pkg, row, n);
        let id = requester
            .request(&inputs::request(self.model, mode, declared, ic, bytes))
            .await
            .unwrap();
        (id, out)
    }
}

const PROVIDER: Roles = Roles {
    provider: true,
    challenger: false,
    committee: false,
    auditor: false,
};
const CHALLENGER: Roles = Roles {
    provider: false,
    challenger: true,
    committee: false,
    auditor: false,
};
const AUDITOR: Roles = Roles {
    provider: false,
    challenger: false,
    committee: false,
    auditor: true,
};
const COMMITTEE: Roles = Roles {
    provider: false,
    challenger: false,
    committee: true,
    auditor: false,
};

/// Devnet, deployment (100 s challenge window), the digits MLP published by key 0, keys
/// 1..=`stakers` staked and opted in, tokens for everyone.
async fn world(stakers: usize) -> World {
    world_with(stakers, |_| {}).await
}

/// [`world`] with deployment parameters changed by `tune`.
async fn world_with(stakers: usize, tune: impl FnOnce(&mut DeployConfig)) -> World {
    // node logs on stderr (shown for failing tests)
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let (bytes, pkg) = package();
    let mut cfg = test_config();
    tune(&mut cfg);
    let chain = Chain::start(cfg.clone()).await;
    let model = chain.publish(&bytes, &pkg).await;
    chain.fund(1..5, 5_000).await;
    let w = World {
        url: chain.url.clone(),
        chain,
        model,
        bytes,
        pkg,
        cfg,
        dir: tempfile::tempdir().unwrap(),
    };
    for i in 1..=stakers {
        w.chain.stake(i, w.model, 1_500).await;
    }
    w
}

async fn status(sys: &System, task: U256) -> u8 {
    sys.task(task).await.unwrap().status
}

fn journal_state(node: &Node, id: &str) -> Option<TaskState> {
    node.journal().task(id).unwrap().map(|r| r.state)
}

/// Key 1's stake.
async fn liar_stake(sys: &System) -> u128 {
    sys.provider_info(signer(1).address()).await.unwrap().stake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lies_on_batched_and_misfit_tasks_are_caught_by_a_challenger_node() {
    let w = world(2).await;
    let requester = w.as_(0).await;
    let liar = w.node(1, PROVIDER, Lie::Always, vec![]).await;
    let challenger = w.node(3, CHALLENGER, Lie::Never, vec![]).await;
    let before = liar_stake(&requester).await;

    // an 8-row task: the liar changes the last row's last output; the challenger node
    // re-executes all 8 rows, disputes and wins the one-step check of that row
    let (t1, _) = w.request_rows(&requester, 10, 8, 8, Mode::Optimistic).await;
    until(90, "the liar's 8-row task fails", || async {
        status(&requester, t1).await == 6
    })
    .await;
    assert_eq!(before - liar_stake(&requester).await, w.cfg.provider_bond);
    let g = requester
        .client()
        .call(
            "DisputeGame.game",
            requester.dispute_game().game(U256::from(1)),
        )
        .await
        .unwrap();
    assert_eq!(g.rows, 8);
    assert!(
        g.element >= U256::from(g.numel - g.numel / U256::from(8)),
        "the lie is in the last row"
    );
    liar.kill();

    // a task declaring 2 rows over a 1-row input has no answer: the provider node refuses it;
    // a result posted anyway is challenged with "no answer" and loses
    let honest_provider = w.node(2, PROVIDER, Lie::Never, vec![]).await;
    let (t2, out) = w.request_rows(&requester, 20, 1, 2, Mode::Optimistic).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        status(&requester, t2).await,
        1,
        "nobody answers a misfit input"
    );
    let bob = w.as_(1).await;
    let before = liar_stake(&requester).await;
    bob.submit(t2, out, B256::repeat_byte(7)).await.unwrap();
    until(60, "the misfit answer fails", || async {
        status(&requester, t2).await == 6
    })
    .await;
    assert_eq!(before - liar_stake(&requester).await, w.cfg.provider_bond);
    until(10, "the challenger journals its win", || async {
        journal_state(&challenger, &format!("challenger:{t2}")) == Some(TaskState::Finalized)
    })
    .await;
    honest_provider.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_to_an_input_out_of_range_is_challenged_by_a_node_and_loses() {
    // a committed input element one past its kind's range: the engine refuses the task, so the
    // provider node does not answer; a result posted anyway is challenged with "no answer" and
    // `resolveInputRange` (docs/semantics.md 8.7)
    let w = world(2).await;
    let requester = w.as_(0).await;
    let challenger = w.node(3, CHALLENGER, Lie::Never, vec![]).await;
    let honest_provider = w.node(2, PROVIDER, Lie::Never, vec![]).await;
    let dir = vouch_testkit::model_dir("digits_mlp");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    let names: Vec<&str> = w.pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let mut v1 = v.clone();
    v1["input"] = serde_json::Value::Array(v["input"].as_array().unwrap()[30..31].to_vec());
    let floats = vouch_quant::json::inputs_from_json(&v1, &names).unwrap();
    let mut inputs = vouch_quant::quantize_inputs(&w.pkg, &floats);
    let kind = w.pkg.values[w.pkg.inputs[0].value as usize].kind;
    inputs[0].data[5] = kind.act_range().unwrap().1 + 1;
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
    let t = requester
        .request(&inputs::request(
            w.model,
            Mode::Optimistic,
            1,
            ic,
            vouch_node::work::encode_inputs(&inputs),
        ))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(status(&requester, t).await, 1, "nobody answers it");
    let bob = w.as_(1).await;
    let before = liar_stake(&requester).await;
    bob.submit(t, B256::repeat_byte(5), B256::repeat_byte(7))
        .await
        .unwrap();
    until(60, "the answer fails", || async {
        status(&requester, t).await == 6
    })
    .await;
    assert_eq!(before - liar_stake(&requester).await, w.cfg.provider_bond);
    until(10, "the challenger journals its win", || async {
        journal_state(&challenger, &format!("challenger:{t}")) == Some(TaskState::Finalized)
    })
    .await;
    honest_provider.kill();
    challenger.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_an_endpoint_that_loses_a_fifth_of_requests_a_lie_is_slashed_and_honest_work_paid()
{
    let w = world(2).await;
    let requester = w.as_(0).await;
    // the nodes reach anvil only through the lossy proxy; the test's own reads go direct
    let upstream = w.url.trim_start_matches("http://").to_owned();
    let (proxy, counts) = lossy_rpc::start(upstream, 11).await;
    let liar = w.node_via(&proxy, 1, PROVIDER, Lie::Always, vec![]).await;
    let challenger = w.node_via(&proxy, 3, CHALLENGER, Lie::Never, vec![]).await;
    let before = liar_stake(&requester).await;
    let (t1, _) = w.request(&requester, 0, Mode::Optimistic).await;
    until(240, "the lie is challenged and slashed", || async {
        status(&requester, t1).await == 6
    })
    .await;
    assert_eq!(before - liar_stake(&requester).await, w.cfg.provider_bond);
    until(30, "the challenger journals its win", || async {
        journal_state(&challenger, &format!("challenger:{t1}")) == Some(TaskState::Finalized)
    })
    .await;
    liar.kill();

    let honest = w.node_via(&proxy, 2, PROVIDER, Lie::Never, vec![]).await;
    let (t2, out2) = w.request(&requester, 1, Mode::Optimistic).await;
    until(60, "the honest result is posted", || async {
        status(&requester, t2).await == 2
    })
    .await;
    assert_eq!(requester.task(t2).await.unwrap().output_commitment, out2);
    requester
        .client()
        .warp(u64::from(w.cfg.challenge_window) + 1)
        .await
        .unwrap();
    until(90, "the provider finalizes and is paid", || async {
        status(&requester, t2).await == 4
    })
    .await;
    until(30, "the provider journals it", || async {
        journal_state(&honest, &format!("provider:{t2}")) == Some(TaskState::Finalized)
    })
    .await;
    let (faults, total) = (counts.faults(), counts.total());
    assert!(
        total > 50 && faults * 20 >= total * 3,
        "the proxy lost or delayed {faults} of {total} requests"
    );
    honest.kill();
    challenger.kill();
}

/// Key `i`'s locked stake.
async fn locked(sys: &System, i: usize) -> u128 {
    sys.provider_info(signer(i).address()).await.unwrap().locked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_catches_a_lie_no_challenger_watched_and_pays_for_a_confirmation() {
    // every finalized task is audited; nobody runs the challenger role
    let w = world_with(2, |c| {
        c.audit_bps = 10_000;
        c.audit_window = 300;
    })
    .await;
    let requester = w.as_(0).await;
    requester.fund_audit_pool(100 * TOKEN).await.unwrap();
    let liar = w.node(1, PROVIDER, Lie::Always, vec![]).await;
    let auditor = w.node(3, AUDITOR, Lie::Never, vec![]).await;
    let before = liar_stake(&requester).await;

    // the lie is posted and, unwatched, finalizes: the liar is paid its fee
    let (t1, honest_out) = w.request(&requester, 0, Mode::Optimistic).await;
    until(30, "the lie is posted", || async {
        status(&requester, t1).await == 2
    })
    .await;
    assert_ne!(
        requester.task(t1).await.unwrap().output_commitment,
        honest_out
    );
    // a provider re-reads a long window every 30 s (roles::until_after), so after the warp
    // it finalizes within about that
    requester
        .client()
        .warp(u64::from(w.cfg.challenge_window) + 1)
        .await
        .unwrap();
    until(60, "the lie finalizes", || async {
        status(&requester, t1).await == 4
    })
    .await;
    // the audit re-executes it, challenges, and wins the dispute: the liar's bond (still
    // locked for the audit) is slashed and the finalized task marked as a failed audit
    until(90, "the audit fails the lie", || async {
        requester.task(t1).await.unwrap().flags & 4 == 4
    })
    .await;
    assert_eq!(before - liar_stake(&requester).await, w.cfg.provider_bond);
    until(10, "the auditor journals its win", || async {
        journal_state(&auditor, &format!("auditor:{t1}")) == Some(TaskState::Finalized)
    })
    .await;
    let won = requester.credits(signer(3).address()).await.unwrap();
    assert_eq!(
        won,
        U256::from(w.cfg.challenger_bond + w.cfg.provider_bond + w.cfg.audit_reward),
        "bond back, the liar's bond and the audit reward"
    );
    liar.kill();

    // an honest result: the auditor confirms it, and is paid when the window ends
    let honest = w.node(2, PROVIDER, Lie::Never, vec![]).await;
    let (t2, out2) = w.request(&requester, 1, Mode::Optimistic).await;
    until(30, "the honest result is posted", || async {
        status(&requester, t2).await == 2
    })
    .await;
    assert_eq!(requester.task(t2).await.unwrap().output_commitment, out2);
    requester
        .client()
        .warp(u64::from(w.cfg.challenge_window) + 1)
        .await
        .unwrap();
    until(60, "the honest task finalizes", || async {
        status(&requester, t2).await == 4
    })
    .await;
    until(30, "the auditor confirms", || async {
        requester.auditor_of(t2).await.unwrap() == signer(3).address()
    })
    .await;
    assert_eq!(
        locked(&requester, 2).await,
        w.cfg.provider_bond,
        "bond held while audited"
    );
    requester
        .client()
        .warp(u64::from(w.cfg.audit_window) + 1)
        .await
        .unwrap();
    until(60, "the audit is closed", || async {
        requester.task(t2).await.unwrap().flags & 2 == 2
    })
    .await;
    assert_eq!(locked(&requester, 2).await, 0, "bond released");
    assert_eq!(
        requester.credits(signer(3).address()).await.unwrap() - won,
        U256::from(w.cfg.audit_reward),
        "the confirmer is paid the audit reward"
    );
    until(
        10,
        "the auditor journals the confirmation as settled",
        || async {
            journal_state(&auditor, &format!("auditor:{t2}")) == Some(TaskState::Finalized)
        },
    )
    .await;
    honest.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_provider_is_challenged_and_slashed_and_an_honest_one_is_paid() {
    let w = world(2).await;
    let requester = w.as_(0).await;
    // the liar (key 1) alone first; a challenger node (key 3) fetches the package from the
    // liar's store over HTTP
    let liar = w.node(1, PROVIDER, Lie::Always, vec![]).await;
    let peer = format!("http://{}", liar.http_addr().unwrap());
    let challenger = w.node(3, CHALLENGER, Lie::Never, vec![peer]).await;
    let liar_before = requester
        .provider_info(signer(1).address())
        .await
        .unwrap()
        .stake;

    let (t1, honest_out) = w.request(&requester, 0, Mode::Optimistic).await;
    until(60, "the liar's task fails", || async {
        status(&requester, t1).await == 6
    })
    .await;
    let liar_after = requester
        .provider_info(signer(1).address())
        .await
        .unwrap()
        .stake;
    assert_eq!(
        liar_before - liar_after,
        w.cfg.provider_bond,
        "the liar's bond is slashed"
    );
    until(10, "journals settle", || async {
        journal_state(&liar, &format!("provider:{t1}")) == Some(TaskState::Slashed)
            && journal_state(&challenger, &format!("challenger:{t1}")) == Some(TaskState::Finalized)
    })
    .await;
    assert_eq!(
        challenger
            .metrics()
            .mismatches_found
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(
        challenger
            .metrics()
            .disputes_won
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // challenger credited: its bond back + the liar's bond
    let credits = requester.credits(signer(3).address()).await.unwrap();
    assert_eq!(
        credits,
        U256::from(w.cfg.challenger_bond + w.cfg.provider_bond)
    );
    liar.kill();

    // an honest provider (key 2): the challenger re-checks and agrees; paid after the window
    let honest = w.node(2, PROVIDER, Lie::Never, vec![]).await;
    let (t2, out2) = w.request(&requester, 1, Mode::Optimistic).await;
    until(30, "the honest result is posted", || async {
        status(&requester, t2).await == 2
    })
    .await;
    let t = requester.task(t2).await.unwrap();
    assert_eq!(t.output_commitment, out2);
    assert_ne!(out2, honest_out, "two different inputs");
    until(30, "the challenger re-checked it", || async {
        challenger
            .metrics()
            .results_rechecked
            .load(std::sync::atomic::Ordering::Relaxed)
            == 2
    })
    .await;
    requester
        .client()
        .warp(u64::from(w.cfg.challenge_window) + 1)
        .await
        .unwrap();
    until(60, "the provider finalizes", || async {
        status(&requester, t2).await == 4
    })
    .await;
    until(10, "journal finalized", || async {
        journal_state(&honest, &format!("provider:{t2}")) == Some(TaskState::Finalized)
    })
    .await;
    let paid = requester.credits(signer(2).address()).await.unwrap();
    assert_eq!(
        paid,
        U256::from(TOKEN - TOKEN * u128::from(w.cfg.audit_fee_bps) / 10_000)
    );
    let body = reqwest_get(&format!("http://{}/metrics", honest.http_addr().unwrap())).await;
    assert!(
        body.contains("vouch_node_tasks_finalized_total{node=\"node2\"} 1"),
        "{body}"
    );
}

async fn reqwest_get(url: &str) -> String {
    // a tiny HTTP/1.0 GET over a TCP stream (keeps the test free of an HTTP client crate)
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    s.write_all(format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committee_with_one_liar_settles_to_the_honest_result_and_slashes_the_liar() {
    let w = world(3).await;
    let requester = w.as_(0).await;
    let nodes = [
        w.node(1, COMMITTEE, Lie::Never, vec![]).await,
        w.node(2, COMMITTEE, Lie::Always, vec![]).await,
        w.node(3, COMMITTEE, Lie::Never, vec![]).await,
    ];
    let before: Vec<u128> = futures_stakes(&requester).await;
    let (task, _) = w.request(&requester, 2, Mode::Committee).await;
    // the draw reads a future block hash: keep blocks coming as other traffic would
    let miner = requester.client().clone();
    let mining = tokio::spawn(async move {
        loop {
            let _: Result<serde_json::Value, _> = miner.raw("evm_mine", ()).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    until(
        120,
        "the task settles after the committee dispute",
        || async { status(&requester, task).await == 4 },
    )
    .await;
    let t = requester.task(task).await.unwrap();
    let d = requester.dispute_of(task).await.unwrap();
    let g = requester
        .client()
        .call("DisputeGame.game", requester.dispute_game().game(d))
        .await
        .unwrap();
    let info = format!(
        "dispute {d}: defender {} challenger {} outcome {} phase {}; provider {}",
        g.p.defender, g.p.challenger, g.outcome, g.phase, t.provider
    );
    assert!(!d.is_zero(), "the disagreement went to the dispute game");
    let honest = journal_commitment(&nodes[0], &format!("committee:{task}"))
        .expect("the honest member executed the task");
    assert_eq!(
        format!("{:#x}", t.output_commitment),
        honest,
        "the task settles to the honest output: {info}"
    );
    assert_ne!(
        t.provider,
        signer(2).address(),
        "the liar is not paid: {info}"
    );
    until(
        30,
        "the bystander releases the honest members' bonds",
        || async {
            let mut locked = 0;
            for i in [1, 3] {
                locked += requester
                    .provider_info(signer(i).address())
                    .await
                    .unwrap()
                    .locked;
            }
            locked == 0
        },
    )
    .await;
    mining.abort();
    let after = futures_stakes(&requester).await;
    assert_eq!(
        before[1] - after[1],
        w.cfg.committee_bond,
        "the liar's committee bond is slashed: {info}"
    );
    assert_eq!(
        before[0], after[0],
        "honest member 1 keeps its stake: {info}"
    );
    assert_eq!(
        before[2], after[2],
        "honest member 3 keeps its stake: {info}"
    );
    until(10, "the journals say slashed / finalized", || async {
        journal_state(&nodes[1], &format!("committee:{task}")) == Some(TaskState::Slashed)
            && journal_state(&nodes[0], &format!("committee:{task}")) == Some(TaskState::Finalized)
            && journal_state(&nodes[2], &format!("committee:{task}")) == Some(TaskState::Finalized)
    })
    .await;
    for n in nodes {
        n.kill();
    }
}

fn journal_commitment(node: &Node, id: &str) -> Option<String> {
    node.journal()
        .task(id)
        .unwrap()
        .and_then(|r| r.commitment)
        .map(|c| c.to_lowercase())
}

async fn futures_stakes(sys: &System) -> Vec<u128> {
    let mut v = Vec::new();
    for i in 1..=3 {
        v.push(sys.provider_info(signer(i).address()).await.unwrap().stake);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_killed_mid_task_resumes_and_completes_it() {
    let w = world(1).await;
    let requester = w.as_(0).await;
    let node = w.node(1, PROVIDER, Lie::Never, vec![]).await;
    let (task, out) = w.request(&requester, 3, Mode::Optimistic).await;
    let id = format!("provider:{task}");
    until(30, "submitted", || async {
        journal_state(&node, &id) == Some(TaskState::Submitted)
    })
    .await;
    node.kill(); // crash while waiting for the challenge window
    requester
        .client()
        .warp(u64::from(w.cfg.challenge_window) + 1)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        status(&requester, task).await,
        2,
        "nobody finalized while the node was down"
    );
    let node = w.node(1, PROVIDER, Lie::Never, vec![]).await;
    until(30, "the restarted node finalizes", || async {
        status(&requester, task).await == 4
    })
    .await;
    until(10, "journal finalized", || async {
        journal_state(&node, &id) == Some(TaskState::Finalized)
    })
    .await;
    assert_eq!(requester.task(task).await.unwrap().output_commitment, out);
    assert!(
        node.metrics()
            .tasks_resumed
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    let rec = node.journal().task(&id).unwrap().unwrap();
    assert!(rec.resumes <= 1, "{rec:?}");
    let _ = Arc::new(());
    let _ = Path::new("");
}
