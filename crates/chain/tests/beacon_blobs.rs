//! `BeaconBlobs` against a real anvil's beacon REST routes (port 0, Prague): the blobs of a
//! request read back by the block that carried it, and the failures a node must report
//! plainly: a versioned hash the block does not carry, a block the node does not have, a dead
//! URL, a URL that is not a beacon API, a URL that is neither `http://` nor `https://`.

#![allow(clippy::unwrap_used)]

use vouch_chain::alloy::primitives::B256;
use vouch_chain::alloy::providers::Provider as _;
use vouch_chain::blob::{self, AnvilBlobs, BeaconBlobs, BlobSource as _, Blobs, BlockIds};
use vouch_chain::{DeployConfig, DevnetConfig};
use vouch_testkit::Chain;

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beacon_blobs_read_a_requests_blobs_and_say_why_they_cannot() {
    let devnet = DevnetConfig {
        hardfork: Some("prague".to_owned()),
        ..Default::default()
    };
    let chain = Chain::start_on(devnet, DeployConfig::default()).await;
    let (bytes, pkg) = vouch_testkit::fixture("mlp_10_20_2", None);
    let model = chain.publish(&bytes, &pkg).await;
    let sys = chain.system(0).await;

    // two blobs' worth of 32-bit words (any words: the contract checks names, not contents)
    let words: Vec<i32> = (0..40_000i32).map(|i| i.wrapping_mul(65_537) - 7).collect();
    let canonical: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    let (_, cid, rc) = sys
        .request_with_blobs(&common::request(model, B256::repeat_byte(7)), &canonical)
        .await
        .unwrap();
    let block = rc.block_number.unwrap();
    let hashes = blob::parse_cid(&cid).unwrap().unwrap();
    assert_eq!(hashes.len(), 2);

    // read back through the beacon routes, by execution block number (anvil has no slots)
    let beacon = BeaconBlobs::new(&chain.url, sys.client().clone()).unwrap();
    assert_eq!(
        beacon.block_ids().await.unwrap(),
        BlockIds::ExecutionNumbers
    );
    assert_eq!(beacon.block_id(block).await.unwrap(), block.to_string());
    assert_eq!(
        blob::read_input(&beacon, &cid, block).await.unwrap(),
        canonical
    );
    let chosen = Blobs::new(sys.client(), Some(&format!("{}/", chain.url))).unwrap();
    assert!(matches!(chosen, Blobs::Beacon(_)));
    assert_eq!(
        blob::read_input(&chosen, &cid, block).await.unwrap(),
        canonical
    );
    assert!(matches!(
        Blobs::new(sys.client(), None).unwrap(),
        Blobs::Anvil(_)
    ));

    let pruned = "not available from the beacon node (pruned after ~18 days?)";
    // a versioned hash the block does not carry
    let mut other = hashes.clone();
    other[1] = B256::from([1u8; 32]);
    let e = blob::read_input(&beacon, &blob::cid_of(&other), block)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(pruned) && e.contains("answered no blob"), "{e}");
    assert!(e.contains(&format!("{:#x}", other[1])), "{e}");
    // the right hashes asked of another block
    let e = beacon
        .blobs(block - 1, &hashes)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(pruned), "{e}");
    // a block the node does not have: HTTP 404
    let head = sys.client().provider().get_block_number().await.unwrap();
    let e = beacon
        .blobs(head + 1_000, &hashes)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(pruned) && e.contains("HTTP 404"), "{e}");
    // anvil's pool agrees on the blobs and has no others
    let pool = AnvilBlobs(sys.client().clone());
    assert_eq!(
        blob::read_input(&pool, &cid, block).await.unwrap(),
        canonical
    );
    assert!(pool.blobs(block, &other).await.unwrap()[1].is_none());

    // a dead URL: a port bound and released, so nothing listens there
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = BeaconBlobs::new(&format!("http://127.0.0.1:{port}"), sys.client().clone()).unwrap();
    let e = blob::read_input(&dead, &cid, block).await.unwrap_err();
    assert!(
        matches!(e, vouch_chain::Error::BeaconUnreachable { .. }),
        "{e}"
    );
    let e = e.to_string();
    assert!(
        e.contains("is not answering (GET /eth/v1/beacon/genesis"),
        "{e}"
    );
    // an HTTP server that is not a beacon API (anvil under another path)
    let wrong = BeaconBlobs::new(&format!("{}/no-api", chain.url), sys.client().clone()).unwrap();
    let e = wrong.blobs(block, &hashes).await.unwrap_err().to_string();
    assert!(
        e.contains("GET /eth/v1/beacon/genesis answered HTTP 404"),
        "{e}"
    );
    // not an http(s) URL
    for bad in [
        "ftp://127.0.0.1/",
        "file:///etc/hosts",
        "localhost:5052",
        "",
    ] {
        let e = BeaconBlobs::new(bad, sys.client().clone())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(&format!("beacon node {bad}: not")), "{e}");
    }
}
