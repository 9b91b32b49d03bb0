//! The fetcher against real HTTP servers on 127.0.0.1: an honest peer, a lying peer, a missing
//! blob, and an over-limit blob.

use axum::Router;
use axum::routing::get;
use vouch_store::{Cid, Error, HttpFetcher, Store, router};

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn fetches_verifies_and_rejects_liars() {
    let peer_dir = tempfile::tempdir().unwrap();
    let peer = Store::open(peer_dir.path()).unwrap();
    let blob = vec![42u8; 300_000];
    let cid = peer.put(&blob).unwrap();
    let honest = serve(router(peer.clone())).await;

    // A peer that answers every CID with the same forged bytes.
    let liar =
        serve(Router::new().route("/blocks/{cid}", get(|| async { b"forged bytes".to_vec() })))
            .await;

    let dir = tempfile::tempdir().unwrap();
    let local = Store::open(dir.path()).unwrap();
    let fetcher = HttpFetcher::default();

    match fetcher.fetch(&local, &liar, &cid).await {
        Err(Error::HashMismatch {
            cid: want, actual, ..
        }) => {
            assert_eq!(want, cid);
            assert_eq!(actual, Cid::of(b"forged bytes"));
        }
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    assert!(!local.has(&cid));
    assert!(local.list().unwrap().is_empty());

    // Liar first, honest second: fetch_any recovers.
    fetcher
        .fetch_any(&local, &[liar.clone(), honest.clone()], &cid)
        .await
        .unwrap();
    assert_eq!(local.get(&cid).unwrap(), blob);

    // Missing blob: 404 reported.
    let absent = Cid::of(b"nobody has this");
    assert!(matches!(
        fetcher.fetch(&local, &honest, &absent).await,
        Err(Error::HttpStatus { status: 404, .. })
    ));

    // Over the limit: rejected, nothing stored.
    let small = HttpFetcher::new(1000);
    let dir2 = tempfile::tempdir().unwrap();
    let other = Store::open(dir2.path()).unwrap();
    assert!(matches!(
        small.fetch(&other, &honest, &cid).await,
        Err(Error::TooLarge { limit: 1000 })
    ));
    assert!(!other.has(&cid));

    // Malformed CID in the path: 400.
    let resp = reqwest::get(format!("{honest}/blocks/Qmnotacid"))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[test]
fn car_export_import_between_stores() {
    let a_dir = tempfile::tempdir().unwrap();
    let a = Store::open(a_dir.path()).unwrap();
    let c1 = a.put(b"model package bytes").unwrap();
    let c2 = a.put(b"input json").unwrap();
    let mut car = Vec::new();
    a.export_car(&[c1, c2], &mut car).unwrap();

    let b_dir = tempfile::tempdir().unwrap();
    let b = Store::open(b_dir.path()).unwrap();
    let report = b.import_car(car.as_slice(), 1 << 20).unwrap();
    assert_eq!(report.roots, vec![c1, c2]);
    assert_eq!(report.blocks, vec![c1, c2]);
    assert!(report.missing_roots.is_empty());
    assert_eq!(b.get(&c2).unwrap(), b"input json");

    // Exporting a CID the store lacks fails before writing a partial file.
    let mut out = Vec::new();
    assert!(matches!(
        a.export_car(&[Cid::of(b"absent")], &mut out),
        Err(Error::NotFound { .. })
    ));
    assert!(out.is_empty());
}

/// A file of several chunks travels block by block: an honest peer serves every block, a peer
/// that lies about one leaf is caught on that leaf, and the file reads back whole.
#[tokio::test]
async fn fetches_a_chunked_file_block_by_block() {
    let peer_dir = tempfile::tempdir().unwrap();
    let peer = Store::open(peer_dir.path()).unwrap();
    let blob: Vec<u8> = (0..3 * (1 << 20) + 7)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let cid = peer.put(&blob).unwrap();
    assert_eq!(cid, Cid::of_file(&blob));
    assert_eq!(peer.dag_blocks(&cid).unwrap().len(), 5, "root + 4 leaves");
    let honest = serve(router(peer.clone())).await;

    // Serves the root honestly and forges every other block.
    let root_bytes = peer.get_block(&cid).unwrap();
    let root_name = cid.to_string();
    let liar = serve(Router::new().route(
        "/blocks/{cid}",
        get(move |axum::extract::Path(c): axum::extract::Path<String>| {
            let (root_bytes, root_name) = (root_bytes.clone(), root_name.clone());
            async move {
                if c == root_name {
                    root_bytes
                } else {
                    b"forged leaf".to_vec()
                }
            }
        }),
    ))
    .await;

    let dir = tempfile::tempdir().unwrap();
    let local = Store::open(dir.path()).unwrap();
    let fetcher = HttpFetcher::default();
    assert!(matches!(
        fetcher.fetch(&local, &liar, &cid).await,
        Err(Error::HashMismatch { .. })
    ));
    assert!(local.get(&cid).is_err(), "incomplete after the liar");
    fetcher
        .fetch_any(&local, &[liar, honest], &cid)
        .await
        .unwrap();
    assert!(local.get(&cid).unwrap() == blob);
}

#[test]
fn import_rejects_malformed_dag_pb_and_oversized_cars() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path()).unwrap();
    // A dag-pb block that hashes to its CID but is not a PBNode.
    let junk = b"\xff\xff not protobuf".as_slice();
    let cid = Cid::of_block(vouch_primitives::Codec::DagPb, junk);
    let mut car = Vec::new();
    vouch_store::car::write_car(&mut car, &[cid], [(cid, junk)]).unwrap();
    let err = s.import_car(car.as_slice(), 1 << 20).unwrap_err();
    assert!(
        matches!(err, Error::Car(vouch_store::CarError::Dag { .. })),
        "{err}"
    );
    assert!(!s.has(&cid));
    // A CAR larger than the disk is refused before anything is written.
    let err = s.ensure_space(u64::MAX / 2).unwrap_err();
    assert!(matches!(err, Error::NoSpace { .. }), "{err}");
    assert!(err.to_string().contains("not enough disk space"), "{err}");
    s.ensure_space(1).unwrap();
}
