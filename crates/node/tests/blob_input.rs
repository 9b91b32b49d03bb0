//! A provider node serves a task whose input travels as EIP-4844 blobs, on a real anvil
//! (Prague): it reads the blobs back by the names in the task's `TaskRequested` event, checks
//! them against the input commitment and posts the honest result. A task whose blobs do not
//! open its input commitment is not served (counted in `executions_refused`, logged with the
//! reason) and is refunded after its deadline.

use std::sync::atomic::Ordering;
use std::time::Duration;
use vouch_chain::DevnetConfig;
use vouch_chain::system::Mode;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_node_serves_blob_inputs_and_refuses_blobs_not_opening_the_commitment() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let cfg = test_config();
    let devnet = DevnetConfig {
        hardfork: Some("prague".to_owned()),
        ..Default::default()
    };
    let chain = Chain::start_on(devnet, cfg.clone()).await;
    let model = chain.publish(&bytes, &pkg).await;
    chain.fund(1..3, 5_000).await;
    chain.stake(1, model, 1_500).await;
    let dir = tempfile::tempdir().unwrap();
    vouch_store::Store::open(dir.path().join("store"))
        .unwrap()
        .put(&bytes)
        .unwrap();
    let mut ncfg = NodeConfig::new("provider", dir.path());
    ncfg.roles = PROVIDER;
    ncfg.lie = Lie::Never;
    ncfg.poll = Duration::from_millis(100);
    ncfg.stagger = Duration::ZERO;
    let node = Node::start(chain.system(1).await, ncfg, None)
        .await
        .unwrap();
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
