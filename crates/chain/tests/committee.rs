//! A committee task nobody could serve is refused before it is requested, on a real anvil: the
//! client asks `ProviderStaking.sample` as the draw would, and the fee never leaves the
//! requester.

use vouch_chain::alloy::primitives::U256;
use vouch_chain::system::Mode;
use vouch_chain::{Error, TOKEN};
use vouch_testkit::{Chain, signer, test_config};

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committee_task_is_refused_until_enough_providers_qualify() {
    let chain = Chain::start(test_config()).await;
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let model = chain.publish(&bytes, &pkg).await;
    chain.fund(1..5, 5_000).await;
    for i in [1, 2] {
        chain.stake(i, model, 1_500).await;
    }
    let requester = chain.system(4).await;
    let before = requester.balance(signer(4).address()).await.unwrap();
    let req = vouch_chain::system::Request {
        mode: Mode::Committee,
        ..common::request(model, [7u8; 32].into())
    };

    // two of three: refused with the numbers, and nothing escrowed
    let cap = requester.committee_capacity(model).await.unwrap();
    assert_eq!((cap.eligible, cap.needed), (2, 3));
    assert_eq!(cap.bond, U256::from(chain.cfg.committee_bond));
    let err = requester.request(&req).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NoCommittee {
                model_id,
                needed: 3,
                eligible: 2,
                ..
            } if model_id == model
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("use optimistic or zk mode"),
        "{err}"
    );
    assert_eq!(
        requester.balance(signer(4).address()).await.unwrap(),
        before
    );
    // optimistic requests of the same model are not affected
    requester
        .request(&common::request(model, [7u8; 32].into()))
        .await
        .unwrap();

    // a third provider opts in; it counts once its block is final (the draw's snapshot)
    chain.stake(3, model, 1_500).await;
    chain.system(0).await.client().warp(0).await.unwrap();
    let cap = requester.committee_capacity(model).await.unwrap();
    assert_eq!((cap.eligible, cap.needed), (3, 3));
    let task = requester.request(&req).await.unwrap();
    assert_eq!(
        requester.task(task).await.unwrap().mode,
        Mode::Committee.code()
    );
    assert_eq!(
        requester.balance(signer(4).address()).await.unwrap(),
        before - U256::from(2 * TOKEN)
    );
}
