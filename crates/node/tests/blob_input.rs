//! A provider node serves a task whose input travels as EIP-4844 blobs, on a real anvil
//! (Prague): it reads the blobs back by the names in the task's `TaskRequested` event through
//! the beacon REST API (`beacon_url`; anvil serves the routes on its RPC port), checks them
//! against the input commitment and posts the honest result. A task whose blobs do not open its
//! input commitment is not served (counted in `executions_refused`, logged with the reason) and
//! is refunded after its deadline. A lying provider's answer to a blob task is challenged by a
//! challenger node reading the blobs through the beacon API, and the liar is slashed. A beacon
//! API down when a blob task arrives is asked again with backoff, and the task is served once
//! it answers; a challenger's beacon API down past a whole round of retries is asked again
//! while the lie can still be challenged, and the liar still loses; a committee member's beacon
//! API down past a whole round of retries is asked again while the committee can commit, and
//! the member still commits.

use std::sync::atomic::Ordering;
use std::time::Duration;
use vouch_chain::system::Mode;
use vouch_chain::{DeployConfig, DevnetConfig};
use vouch_journal::TaskState;
use vouch_node::{Lie, Node, NodeConfig, Roles};
use vouch_testkit::{Chain, test_config};

#[path = "support/inputs.rs"]
mod inputs;
#[path = "support/until.rs"]
mod until;
use inputs::input_rows;
use until::until;

const PROVIDER: Roles = Roles {
    provider: true,
    challenger: false,
    committee: false,
    auditor: false,
};
const COMMITTEE: Roles = Roles {
    provider: false,
    challenger: false,
    committee: true,
    auditor: false,
};
const CHALLENGER: Roles = Roles {
    provider: false,
    challenger: true,
    committee: false,
    auditor: false,
};

/// A node for key `i` whose store holds the package, reading blobs from `beacon` if given.
async fn node(
    chain: &Chain,
    bytes: &[u8],
    dir: &std::path::Path,
    i: usize,
    roles: Roles,
    lie: Lie,
    beacon: Option<&str>,
) -> Node {
    let dir = dir.join(format!("node{i}"));
    vouch_store::Store::open(dir.join("store"))
        .unwrap()
        .put(bytes)
        .unwrap();
    let mut ncfg = NodeConfig::new(format!("node{i}"), &dir);
    ncfg.roles = roles;
    ncfg.lie = lie;
    ncfg.poll = Duration::from_millis(100);
    ncfg.stagger = Duration::ZERO;
    ncfg.beacon_url = beacon.map(str::to_owned);
    Node::start(chain.system(i).await, ncfg, None)
        .await
        .unwrap()
}

fn prague() -> DevnetConfig {
    DevnetConfig {
        hardfork: Some("prague".to_owned()),
        ..Default::default()
    }
}

/// A Prague devnet with the digits MLP published, signers `funded` given 5,000 and signer 1
/// staked on it: the package bytes, the package and the model id.
async fn published(funded: std::ops::Range<usize>) -> (Chain, Vec<u8>, vouch_model::Package, u32) {
    published_on(test_config(), funded).await
}

/// [`published`] with the deployment parameters `cfg`.
async fn published_on(
    cfg: DeployConfig,
    funded: std::ops::Range<usize>,
) -> (Chain, Vec<u8>, vouch_model::Package, u32) {
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let chain = Chain::start_on(prague(), cfg).await;
    let model = chain.publish(&bytes, &pkg).await;
    chain.fund(funded, 5_000).await;
    chain.stake(1, model, 1_500).await;
    (chain, bytes, pkg, model)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_node_serves_blob_inputs_and_refuses_blobs_not_opening_the_commitment() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let (chain, bytes, pkg, model) = published(1..3).await;
    let dir = tempfile::tempdir().unwrap();
    let node = node(
        &chain,
        &bytes,
        dir.path(),
        1,
        PROVIDER,
        Lie::Never,
        Some(&chain.url),
    )
    .await;
    let requester = chain.system(0).await;

    // row 0 as blobs: served with the honest output
    let (ic, canonical, out) = input_rows(&pkg, 0, 1);
    let req = inputs::request(model, Mode::Optimistic, 1, ic, Vec::new());
    let (good, cid, _) = requester
        .request_with_blobs(&req, &canonical)
        .await
        .unwrap();
    until(60, "the blob task is answered", || async {
        requester.task(good).await.unwrap().status == 2
    })
    .await;
    assert_eq!(requester.task(good).await.unwrap().output_commitment, out);
    let row = node.journal().task(&format!("provider:{good}")).unwrap();
    assert_eq!(row.map(|r| r.task.input_cid), Some(cid));

    // row 1's bytes as blobs under row 0's commitment: read back, refused, never answered
    let refused_before = node.metrics().executions_refused.load(Ordering::Relaxed);
    let (_, other, _) = input_rows(&pkg, 1, 1);
    let (bad, _, _) = requester.request_with_blobs(&req, &other).await.unwrap();
    until(60, "the mismatching blobs are refused", || async {
        node.metrics().executions_refused.load(Ordering::Relaxed) > refused_before
    })
    .await;
    assert_eq!(requester.task(bad).await.unwrap().status, 1, "not served");
    assert_eq!(
        node.journal()
            .task(&format!("provider:{bad}"))
            .unwrap()
            .map(|r| r.state),
        None::<TaskState>,
        "not claimed"
    );
    requester.client().warp(700).await.unwrap();
    requester.refund(bad).await.unwrap();
    assert_eq!(requester.task(bad).await.unwrap().status, 5, "refunded");
    node.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lie_on_a_blob_task_is_challenged_by_a_node_reading_the_beacon_api() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let (chain, bytes, pkg, model) = published(1..4).await;
    let cfg = test_config();
    let dir = tempfile::tempdir().unwrap();
    // the liar reads anvil's pool; the challenger reads only the beacon API
    let liar = node(&chain, &bytes, dir.path(), 1, PROVIDER, Lie::Always, None).await;
    let challenger = node(
        &chain,
        &bytes,
        dir.path(),
        3,
        CHALLENGER,
        Lie::Never,
        Some(&chain.url),
    )
    .await;
    let requester = chain.system(0).await;
    let liar_address = vouch_testkit::signer(1).address();
    let before = requester.provider_info(liar_address).await.unwrap().stake;

    let (task, _) = blob_task(&requester, &pkg, model, Mode::Optimistic, 2).await;
    the_liar_loses(&requester, &challenger, task, before, cfg.provider_bond, 60).await;
    liar.kill();
    challenger.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_beacon_node_down_when_the_task_arrives_is_asked_again_until_it_answers() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let (chain, bytes, pkg, model) = published(1..3).await;
    // the beacon URL is a loopback port nothing listens on yet
    let port = dead_port();
    let dir = tempfile::tempdir().unwrap();
    let beacon = format!("http://127.0.0.1:{port}");
    let node = node(
        &chain,
        &bytes,
        dir.path(),
        1,
        PROVIDER,
        Lie::Never,
        Some(&beacon),
    )
    .await;
    let requester = chain.system(0).await;
    let retries = node.metrics().rpc_retries.load(Ordering::Relaxed);
    let (task, out) = blob_task(&requester, &pkg, model, Mode::Optimistic, 3).await;
    until(30, "the node asks the dead beacon URL again", || async {
        node.metrics().rpc_retries.load(Ordering::Relaxed) > retries
    })
    .await;
    assert_eq!(
        requester.task(task).await.unwrap().status,
        1,
        "not served yet"
    );
    beacon_comes_up(port, &chain.url).await;
    until(
        60,
        "the blob task is answered once the beacon API answers",
        || async { requester.task(task).await.unwrap().status == 2 },
    )
    .await;
    assert_eq!(requester.task(task).await.unwrap().output_commitment, out);
    node.kill();
}

/// Requests row `row` of the fixture input of `model` in `mode`, the input as blobs: the task id
/// and the honest output commitment.
async fn blob_task(
    requester: &vouch_chain::System,
    pkg: &vouch_model::Package,
    model: u32,
    mode: Mode,
    row: usize,
) -> (
    vouch_chain::alloy::primitives::U256,
    vouch_chain::alloy::primitives::B256,
) {
    let (ic, canonical, out) = input_rows(pkg, row, 1);
    let req = inputs::request(model, mode, 1, ic, Vec::new());
    let (task, _, _) = requester
        .request_with_blobs(&req, &canonical)
        .await
        .unwrap();
    (task, out)
}

/// A loopback port nothing listens on yet.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The beacon API comes up on `port`: a plain TCP relay to anvil's beacon routes at `url`.
async fn beacon_comes_up(port: u16, url: &str) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let upstream = url.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut up) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut conn, &mut up).await;
                }
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenger_whose_beacon_node_stays_down_past_its_retries_still_wins_in_the_window() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let cfg = DeployConfig {
        challenge_window: 300,
        ..test_config()
    };
    let (chain, bytes, pkg, model) = published_on(cfg.clone(), 1..4).await;
    let dir = tempfile::tempdir().unwrap();
    let port = dead_port();
    let beacon = format!("http://127.0.0.1:{port}");
    let liar = node(&chain, &bytes, dir.path(), 1, PROVIDER, Lie::Always, None).await;
    let challenger = node(
        &chain,
        &bytes,
        dir.path(),
        3,
        CHALLENGER,
        Lie::Never,
        Some(&beacon),
    )
    .await;
    let requester = chain.system(0).await;
    let liar_address = vouch_testkit::signer(1).address();
    let before = requester.provider_info(liar_address).await.unwrap().stake;
    let (task, _) = blob_task(&requester, &pkg, model, Mode::Optimistic, 2).await;
    // one whole round of retries spent on the dead beacon URL, and the challenger asks again
    let budget = u64::from(vouch_node::chainview::RETRIES);
    until(
        120,
        "the challenger retries past one round of retries",
        || async { challenger.metrics().rpc_retries.load(Ordering::Relaxed) > budget + 1 },
    )
    .await;
    assert_eq!(
        requester.task(task).await.unwrap().status,
        2,
        "the lie stands, unchallenged yet"
    );
    beacon_comes_up(port, &chain.url).await;
    the_liar_loses(
        &requester,
        &challenger,
        task,
        before,
        cfg.provider_bond,
        120,
    )
    .await;
    liar.kill();
    challenger.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committee_member_whose_beacon_node_stays_down_past_its_retries_still_commits() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let (chain, bytes, pkg, model) = published(1..4).await;
    chain.stake(2, model, 1_500).await;
    chain.stake(3, model, 1_500).await;
    let dir = tempfile::tempdir().unwrap();
    let port = dead_port();
    let beacon = format!("http://127.0.0.1:{port}");
    let mut members = Vec::new();
    for i in 1..3 {
        let url = Some(chain.url.as_str());
        members.push(node(&chain, &bytes, dir.path(), i, COMMITTEE, Lie::Never, url).await);
    }
    let late = node(
        &chain,
        &bytes,
        dir.path(),
        3,
        COMMITTEE,
        Lie::Never,
        Some(&beacon),
    )
    .await;
    let requester = chain.system(0).await;
    let (task, out) = blob_task(&requester, &pkg, model, Mode::Committee, 4).await;
    // the draw reads a future block hash: keep blocks coming as other traffic would
    let miner = requester.client().clone();
    let mining = tokio::spawn(async move {
        loop {
            let _: Result<serde_json::Value, _> = miner.raw("evm_mine", ()).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let budget = u64::from(vouch_node::chainview::RETRIES);
    until(
        120,
        "the member retries past one round of retries",
        || async { late.metrics().rpc_retries.load(Ordering::Relaxed) > budget + 1 },
    )
    .await;
    let committed = |member: &Node| {
        let id = format!("committee:{task}");
        member.journal().task(&id).unwrap().is_some()
    };
    assert!(!committed(&late), "not committed yet");
    beacon_comes_up(port, &chain.url).await;
    // every member agreeing settles the task at the last reveal (finalized: 4); without the
    // late member's commitment the others would wait out the 600 s commit window
    until(
        120,
        "the late member commits and the task finalizes",
        || async { committed(&late) && requester.task(task).await.unwrap().status == 4 },
    )
    .await;
    mining.abort();
    assert_eq!(requester.task(task).await.unwrap().output_commitment, out);
    for m in members.into_iter().chain([late]) {
        m.kill();
    }
}

/// Waits (up to `secs`) until the liar's (signer 1's) `task` fails, checks its stake went from
/// `before` down by `bond`, and that `challenger` journals its win.
async fn the_liar_loses(
    requester: &vouch_chain::System,
    challenger: &Node,
    task: vouch_chain::alloy::primitives::U256,
    before: u128,
    bond: u128,
    secs: u64,
) {
    until(secs, "the liar's blob task fails", || async {
        requester.task(task).await.unwrap().status == 6
    })
    .await;
    let liar_address = vouch_testkit::signer(1).address();
    let after = requester.provider_info(liar_address).await.unwrap().stake;
    assert_eq!(before - after, bond, "the liar's bond is slashed");
    journals_its_win(challenger, task).await;
}

/// Waits until `challenger` journals its challenge of `task` as won, and counts one win.
async fn journals_its_win(challenger: &Node, task: vouch_chain::alloy::primitives::U256) {
    until(10, "the challenger journals its win", || async {
        challenger
            .journal()
            .task(&format!("challenger:{task}"))
            .unwrap()
            .map(|r| r.state)
            == Some(TaskState::Finalized)
    })
    .await;
    assert_eq!(challenger.metrics().disputes_won.load(Ordering::Relaxed), 1);
}
