//! Client-signed requests on a real anvil: a client signs a request (EIP-712) and a permit of
//! the fee for the TaskManager (EIP-2612), another account submits it through the FeeVault;
//! the client is the requester and pays the fee, the submitter pays only gas, and a replay is
//! refused. The signature must match `FeeVault.hashRequest` (the contract's own digest).

use vouch_chain::TOKEN;
use vouch_chain::alloy::primitives::{B256, U256};
use vouch_chain::bindings::permit_token::PermitToken;
use vouch_chain::signed::SignedRequest;
use vouch_chain::system::{Mode, Request};
use vouch_testkit::{Chain, signer};

fn request(model: u32) -> Request {
    Request {
        model_id: model,
        version: 1,
        mode: Mode::Optimistic,
        fee: 3 * TOKEN,
        deadline_secs: 3600,
        input_commitment: B256::repeat_byte(7),
        rows: 1,
        input_cid: "bafkreiinput".to_owned(),
        inline_input: Vec::new(),
        callback: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_request_is_paid_by_its_client_and_not_replayable() {
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let chain = Chain::start(vouch_testkit::test_config()).await;
    let owner = chain.system(0).await;
    let m = vouch_chain::graph::commitments_of(&bytes, &pkg);
    let model = owner.publish(&m).await.unwrap().model_id;
    chain.fund(2..3, 100).await;
    let client = chain.system(2).await;
    let gateway = chain.system(3).await;
    let key = signer(2);

    let signed = client
        .sign_request(&key, &request(model), U256::from(41), 600)
        .await
        .unwrap();
    // the client's digest is the contract's
    let vault = client.fee_vault().unwrap();
    let on_chain = client
        .client()
        .call(
            "FeeVault.hashRequest",
            vault.hashRequest(
                signed.input.to_sol().unwrap(),
                vouch_chain::bindings::fee_vault::FeeVault::Signed {
                    client: signed.client,
                    feeToken: signed.fee_token,
                    nonce: signed.nonce,
                    expiry: signed.expiry,
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        on_chain,
        signed
            .digest(client.client().chain_id(), *vault.address())
            .unwrap()
    );
    // through JSON, as a gateway receives it
    let wire: SignedRequest =
        serde_json::from_str(&serde_json::to_string(&signed).unwrap()).unwrap();

    let client_before = client.balance(key.address()).await.unwrap();
    let gw_addr = signer(3).address();
    let gw_before = gateway.balance(gw_addr).await.unwrap();
    let task = gateway.request_signed(&wire).await.unwrap();
    let t = gateway.task(task).await.unwrap();
    assert_eq!(t.requester, key.address(), "the client is the requester");
    assert_eq!(
        client.balance(key.address()).await.unwrap(),
        client_before - U256::from(3 * TOKEN),
        "the client paid the fee"
    );
    assert_eq!(
        gateway.balance(gw_addr).await.unwrap(),
        gw_before,
        "the submitter paid no tokens"
    );

    // the same signed request again: the nonce is spent
    let err = gateway.request_signed(&wire).await.unwrap_err();
    assert!(err.to_string().contains("NonceUsed"), "{err}");
    // a field changed after signing: the signature no longer matches
    let mut tampered = wire.clone();
    tampered.nonce = U256::from(42);
    let err = gateway.request_signed(&tampered).await.unwrap_err();
    assert!(err.to_string().contains("BadSignature"), "{err}");
}

/// A request a client signed and paid in a permit token, relayed by another account and never
/// answered: after the deadline the relayer refunds and claims it, and the fee goes back to the
/// client, in that token, once; the relayer gets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_signed_request_refunds_its_client_once_in_the_token_it_paid() {
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let chain = Chain::start(vouch_testkit::test_config()).await;
    let owner = chain.system(0).await;
    let model = chain.publish(&bytes, &pkg).await;
    let key = signer(2);
    let usd = PermitToken::deploy(owner.client().provider())
        .await
        .unwrap();
    let usd_addr = *usd.address();
    owner
        .client()
        .send(
            "PermitToken.mint",
            usd.mint(key.address(), U256::from(10_000_000)),
        )
        .await
        .unwrap();
    owner
        .client()
        .send(
            "ModelRegistry.setFeeToken",
            owner.registry().setFeeToken(model, 1, true, usd_addr),
        )
        .await
        .unwrap();
    let client = chain.system(2).await;
    let relayer = chain.system(3).await;
    let relayer_addr = signer(3).address();
    let fee = 2_500_000u128;
    let req = Request {
        fee,
        ..request(model)
    };
    let signed = client
        .sign_request(&key, &req, U256::from(5), 600)
        .await
        .unwrap();
    let task = relayer.request_signed(&signed).await.unwrap();
    let usd_of = |who| client.token_balance(usd_addr, who);
    assert_eq!(
        usd_of(key.address()).await.unwrap(),
        U256::from(10_000_000 - fee)
    );

    let err = relayer.refund(task).await.unwrap_err();
    assert!(err.to_string().contains("TooEarly"), "{err}");
    relayer
        .client()
        .warp(u64::from(req.deadline_secs) + 60)
        .await
        .unwrap();
    relayer.refund(task).await.unwrap();
    relayer.claim_fee(task, &[]).await.unwrap();
    assert_eq!(
        client.vault_credits(usd_addr, key.address()).await.unwrap(),
        U256::from(fee),
        "credited to the client"
    );
    assert_eq!(
        client.vault_credits(usd_addr, relayer_addr).await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        client.credits(key.address()).await.unwrap(),
        U256::ZERO,
        "not in the TaskManager's token"
    );

    // once: the task is refunded and its escrow spent
    let err = relayer.refund(task).await.unwrap_err();
    assert!(err.to_string().contains("BadStatus"), "{err}");
    let err = relayer.claim_fee(task, &[]).await.unwrap_err();
    assert!(err.to_string().contains("NothingToClaim"), "{err}");
    assert_eq!(relayer.withdraw_vault(usd_addr).await.unwrap(), U256::ZERO);

    assert_eq!(
        client.withdraw_vault(usd_addr).await.unwrap(),
        U256::from(fee)
    );
    assert_eq!(
        usd_of(key.address()).await.unwrap(),
        U256::from(10_000_000u64)
    );
    assert_eq!(usd_of(relayer_addr).await.unwrap(), U256::ZERO);
    assert_eq!(client.withdraw_vault(usd_addr).await.unwrap(), U256::ZERO);
}

/// A signed committee request for a model no provider serves is refused by the FeeVault
/// (`NoCommittee`, decoded at gas estimation): nothing is sent, the nonce stays unused and the
/// client keeps its tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_committee_request_nobody_can_serve_is_refused() {
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let chain = Chain::start(vouch_testkit::test_config()).await;
    let model = chain.publish(&bytes, &pkg).await;
    chain.fund(2..3, 100).await;
    let key = signer(2);
    let client = chain.system(2).await;
    let relayer = chain.system(3).await;
    let req = Request {
        mode: Mode::Committee,
        ..request(model)
    };
    let signed = client
        .sign_request(&key, &req, U256::from(9), 600)
        .await
        .unwrap();
    let before = client.balance(key.address()).await.unwrap();
    let err = relayer.request_signed(&signed).await.unwrap_err();
    match &err {
        vouch_chain::Error::Reverted { reason, .. } => {
            assert_eq!(reason, "NoCommittee(needed: 3, eligible: 0)", "{err}");
        }
        other => panic!("expected the decoded NoCommittee revert, got {other}"),
    }
    assert!(
        !client
            .nonce_used(key.address(), U256::from(9))
            .await
            .unwrap()
    );
    assert_eq!(client.balance(key.address()).await.unwrap(), before);
}
