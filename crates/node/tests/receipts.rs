//! Automatic receipt attestation by a node on a real anvil: the provider node that finalizes
//! two tasks journals their receipts as pending, is killed before its batch fills, and the
//! restarted node attests both in one batch (recipient: the requester), once each; a node that
//! finds already attested receipts in its journal (a crash after the batch was mined) drops
//! them without sending anything.

use std::time::Duration;
use until::until;
use vouch_chain::System;
use vouch_chain::alloy::primitives::{B256, U256};
use vouch_chain::alloy::providers::Provider as _;
use vouch_chain::alloy::rpc::types::Filter;
use vouch_chain::alloy::sol_types::SolEvent;
use vouch_chain::bindings::eas::EAS;
use vouch_chain::bindings::receipt_attester::ReceiptAttester;
use vouch_chain::system::Mode;
use vouch_journal::Journal;
use vouch_node::receipts::PENDING;
use vouch_node::{Node, NodeConfig, ReceiptBatching};
use vouch_testkit::{Chain, signer, test_config};

#[path = "support/inputs.rs"]
mod inputs;
#[path = "support/until.rs"]
mod until;

/// A provider node for key 1 on `dir` attesting receipts in batches of `max_batch`.
async fn node(chain: &Chain, dir: &std::path::Path, max_batch: usize) -> Node {
    let mut cfg = NodeConfig::new("attester", dir);
    cfg.poll = Duration::from_millis(100);
    cfg.stagger = Duration::ZERO;
    cfg.attest_receipts = Some(ReceiptBatching {
        max_batch,
        // never reached: batches are sent because they are full
        max_wait: Duration::from_secs(3600),
    });
    Node::start(chain.system(1).await, cfg, None).await.unwrap()
}

fn pending(dir: &std::path::Path) -> String {
    Journal::open(&dir.join("node.sqlite"))
        .unwrap()
        .meta(PENDING)
        .unwrap()
        .unwrap_or_default()
}

async fn receipt_uid(sys: &System, task: U256) -> B256 {
    sys.client()
        .call("receiptUid", sys.receipts().receiptUid(task))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_attests_finalized_receipts_in_journaled_batches_once_each() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let cfg = test_config();
    let chain = Chain::start(cfg.clone()).await;
    let model = chain.publish(&bytes, &pkg).await;
    chain.fund([1], 5_000).await;
    chain.stake(1, model, 1_500).await;
    let dir = tempfile::tempdir().unwrap();
    let ndir = dir.path().join("node1");
    vouch_store::Store::open(ndir.join("store"))
        .unwrap()
        .put(&bytes)
        .unwrap();
    let requester = chain.system(0).await;

    // two tasks finalized by the provider node; its batch of three does not fill
    let n = node(&chain, &ndir, 3).await;
    let mut tasks = Vec::new();
    for row in [0, 1] {
        let (ic, inline, _) = inputs::input_rows(&pkg, row, 1);
        let t = requester
            .request(&inputs::request(model, Mode::Optimistic, 1, ic, inline))
            .await
            .unwrap();
        tasks.push(t);
    }
    for &t in &tasks {
        until(60, "submitted", || async {
            requester.task(t).await.unwrap().status == 2
        })
        .await;
    }
    requester
        .client()
        .warp(u64::from(cfg.challenge_window) + 1)
        .await
        .unwrap();
    for &t in &tasks {
        until(60, "finalized by the node", || async {
            requester.task(t).await.unwrap().status == 4
        })
        .await;
    }
    // in the order the node finalized them
    let mut sorted: Vec<String> = tasks.iter().map(U256::to_string).collect();
    sorted.sort();
    until(30, "both receipts journaled as pending", || async {
        let mut got: Vec<String> = pending(&ndir).split(',').map(str::to_owned).collect();
        got.sort();
        got == sorted
    })
    .await;
    let want = pending(&ndir);
    n.kill(); // a crash before the batch is due
    for &t in &tasks {
        assert_eq!(receipt_uid(&requester, t).await, B256::ZERO);
    }

    // the restarted node (batches of two) attests both in one multiAttest
    let n = node(&chain, &ndir, 2).await;
    for &t in &tasks {
        until(60, "receipt attested", || async {
            receipt_uid(&requester, t).await != B256::ZERO
        })
        .await;
    }
    until(30, "the journal's pending set emptied", || async {
        n.journal()
            .meta(PENDING)
            .unwrap()
            .unwrap_or_default()
            .is_empty()
    })
    .await;
    assert_eq!(
        n.metrics()
            .receipts_attested
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    n.kill();
    let logs = requester
        .client()
        .provider()
        .get_logs(
            &Filter::new()
                .address(chain.deployment.contracts.receipts)
                .event_signature(ReceiptAttester::ReceiptAttested::SIGNATURE_HASH)
                .from_block(chain.deployment.block),
        )
        .await
        .unwrap();
    assert_eq!(logs.len(), 2, "one attestation per receipt");
    assert_eq!(
        logs[0].transaction_hash, logs[1].transaction_hash,
        "one batch"
    );
    let eas = EAS::new(
        chain.deployment.contracts.eas,
        requester.client().provider(),
    );
    for &t in &tasks {
        let uid = receipt_uid(&requester, t).await;
        let a = requester
            .client()
            .call("getAttestation", eas.getAttestation(uid))
            .await
            .unwrap();
        assert_eq!(a.recipient, signer(0).address(), "the requester");
        assert_eq!(a.attester, chain.deployment.contracts.receipts);
        let facts = requester.receipt_facts(t).await.unwrap();
        let failed: Vec<_> = facts.checks.iter().filter(|c| !c.passed()).collect();
        assert!(failed.is_empty(), "{failed:?}");
    }

    // a crash after the batch was mined but before the journal noted it: the receipts are
    // pending again; the next node finds them attested and sends nothing
    Journal::open(&ndir.join("node.sqlite"))
        .unwrap()
        .set_meta(PENDING, &want)
        .unwrap();
    let n = node(&chain, &ndir, 2).await;
    until(
        30,
        "the attested receipts dropped from the journal",
        || async { pending(&ndir).is_empty() },
    )
    .await;
    assert_eq!(
        n.metrics()
            .receipt_batches
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    n.kill();
}
