//! The ModelRegistry's semantics limit follows this build's `SEMANTICS_VERSION`, on a real
//! anvil: a package of the current version registers, one of the next version is refused with
//! the decoded revert. A semantics bump that forgets the contract fails here.

use vouch_chain::Error;
use vouch_semantics::SEMANTICS_VERSION;
use vouch_testkit::{Chain, test_config};

/// The digits fixture at semantics version `v`: its bytes re-encoded, so the CID and hash the
/// registry records are of a real package of that version.
fn package_at(v: u32) -> (Vec<u8>, vouch_model::Package) {
    let (_, mut pkg) = vouch_testkit::digits_mlp();
    pkg.semantics_version = v;
    (pkg.to_bytes(), pkg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_takes_the_current_semantics_version_and_refuses_the_next() {
    let chain = Chain::start(test_config()).await;
    let owner = chain.system(0).await;

    let (bytes, pkg) = package_at(SEMANTICS_VERSION);
    let published = owner
        .publish(&vouch_chain::graph::commitments_of(&bytes, &pkg))
        .await
        .unwrap_or_else(|e| {
            panic!("ModelRegistry refuses SEMANTICS_VERSION {SEMANTICS_VERSION}: {e}")
        });
    let v = owner
        .client()
        .call(
            "ModelRegistry.getVersion",
            owner
                .registry()
                .getVersion(published.model_id, published.version),
        )
        .await
        .unwrap();
    assert_eq!(v.semanticsVersion, SEMANTICS_VERSION);

    let next = SEMANTICS_VERSION + 1;
    let (bytes, pkg) = package_at(next);
    let err = owner
        .publish(&vouch_chain::graph::commitments_of(&bytes, &pkg))
        .await
        .expect_err("a package newer than this build registered");
    match &err {
        Error::Reverted { call, reason } => {
            assert_eq!(call, "ModelRegistry.register");
            assert_eq!(
                reason,
                &format!("BadSemanticsVersion(semanticsVersion: {next})"),
                "{err}"
            );
        }
        other => panic!("expected a decoded revert, got {other}"),
    }
}
