//! Clients paying for themselves through the gateway, on a real anvil (port 0) and a real
//! gateway: a model version takes fees in a 6-decimal EIP-2612 token (`PermitToken`); the
//! client asks `POST /tasks/signed/draft` for the request of its input, signs it (EIP-712) with
//! a permit of the fee, and `POST /tasks/signed` forwards it. The fee moves from the client,
//! not the gateway operator, and reaches the provider once the task settles. Forged, expired,
//! tampered, wrong-token and replayed requests are refused with a 4xx before anything is sent
//! (nothing escrowed, no nonce spent).

mod common;

use common::{Api, CHAIN, DOMAIN, code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use vouch_chain::alloy::primitives::{Address, B256, U256};
use vouch_chain::bindings::permit_token::PermitToken;
use vouch_chain::signed::SignedRequest;
use vouch_chain::{DeployConfig, System};
use vouch_gateway::siwe;
use vouch_gateway::{ChainSinkConfig, GatewayConfig, Served, chain_sink};
use vouch_model::Package;
use vouch_store::Store;
use vouch_testkit::{Chain, signer};

/// 2.50 at 6 decimals.
const FEE: u128 = 2_500_000;

/// Row `row` of the 10-20-2 MLP's fixture input.
fn input_row(row: usize) -> Value {
    let dir: PathBuf = vouch_testkit::model_dir("mlp_10_20_2");
    let v: Value = serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    json!({ "input": [v["input"][row].clone()] })
}

/// Output commitment and trace root an honest provider posts for `input`.
fn honest(pkg: &Package, input: &Value) -> (B256, B256) {
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let floats = vouch_task::codec::json::inputs_from_json(input, &names).unwrap();
    let inputs = vouch_task::codec::quantize_inputs(pkg, &floats);
    let exec = vouch_engine::Engine::new(
        pkg,
        vouch_engine::Options {
            threads: 1,
            trace: true,
        },
    )
    .unwrap()
    .run(inputs)
    .unwrap();
    (
        B256::from(exec.output_commitment()),
        B256::from(exec.trace_root()),
    )
}

/// The vault's escrow of unsettled fees in `token`.
async fn escrow(c: &System, token: Address) -> U256 {
    let v = c.fee_vault().unwrap();
    c.client()
        .call("FeeVault.totalEscrow", v.totalEscrow(token))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_pays_for_itself_in_a_permit_token_through_the_gateway() {
    let (bytes, pkg) = vouch_testkit::fixture("mlp_10_20_2", None);
    let cfg = DeployConfig {
        challenge_window: 100,
        step_timeout: 50,
        audit_bps: 0,
        ..DeployConfig::default()
    };
    let chain = Chain::start(cfg.clone()).await;
    let model = chain.publish(&bytes, &pkg).await;
    chain.fund([1, 3], 5_000).await;
    chain.stake(1, model, 1_500).await;
    let owner = chain.system(0).await;
    let provider = chain.system(1).await;
    let client_sys = chain.system(2).await;
    let key = signer(2);
    let client = key.address();
    let operator = signer(3).address();

    // a 6-decimal permit token, the version's fee token; the client holds 10.00 of it
    let usd = PermitToken::deploy(owner.client().provider())
        .await
        .unwrap();
    let usd_addr = *usd.address();
    owner
        .client()
        .send("PermitToken.mint", usd.mint(client, U256::from(10_000_000)))
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

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let cid = store.put(&bytes).unwrap();
    let mut gcfg = GatewayConfig::new(DOMAIN, CHAIN);
    gcfg.sse_poll = Duration::from_millis(20);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gw: Served = chain_sink::serve(
        chain.system(3).await,
        store,
        &dir.path().join("gateway/journal.sqlite"),
        listener,
        gcfg,
        ChainSinkConfig {
            poll: Duration::from_millis(100),
            ..ChainSinkConfig::default()
        },
    )
    .await
    .unwrap();
    let api = Api::new(gw.url());

    // 1. the draft: the request of this input, in the version's token
    let input = input_row(0);
    // the draft of this input for the client at `nonce`
    let draft_of = |nonce: u64| {
        let body = json!({
            "model": cid.to_string(),
            "input": input,
            "mode": "optimistic",
            "fee": FEE.to_string(),
            "client": client.to_string(),
            "nonce": nonce.to_string(),
        });
        let api = &api;
        async move { api.post("/tasks/signed/draft", None, &body).await }
    };
    let (st, d) = draft_of(7).await;
    assert_eq!(st, StatusCode::OK, "{d}");
    let vault = *client_sys.fee_vault().unwrap().address();
    assert_eq!(
        d["permit_spender"],
        json!(vault),
        "a custom token's spender is the vault"
    );
    assert_eq!(d["domain"]["verifyingContract"], json!(vault));
    assert_eq!(d["domain"]["chainId"], CHAIN);
    let draft: SignedRequest = serde_json::from_value(d["request"].clone()).unwrap();
    assert_eq!(draft.fee_token, usd_addr);
    assert_eq!(draft.client, client);
    assert_eq!(draft.nonce, U256::from(7));
    assert_eq!(draft.input.fee, FEE);

    let mut with_permit = draft.clone();
    with_permit.permit = Some(client_sys.sign_fee_permit(&key, &draft).await.unwrap());
    let good = with_permit.clone().sign(&key, CHAIN, vault).unwrap();

    // 2. refusals, before anything is sent
    let post = |request: &SignedRequest, input: &Value| {
        let body = json!({ "request": request, "input": input });
        let api = &api;
        async move { api.post("/tasks/signed", None, &body).await }
    };
    let forged = with_permit.clone().sign(&signer(4), CHAIN, vault).unwrap();
    let mut forged = forged;
    forged.client = client; // signed by another key, naming the client
    let (st, v) = post(&forged, &input).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNAUTHORIZED, "bad_signature"),
        "{v}"
    );

    let mut expired = with_permit.clone();
    expired.expiry = U256::from(1);
    let expired = expired.sign(&key, CHAIN, vault).unwrap();
    let (st, v) = post(&expired, &input).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "signature_expired"),
        "{v}"
    );

    let (st, v) = post(&good, &input_row(1)).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "input_mismatch"),
        "{v}"
    );

    let mut vouch_fee = with_permit.clone();
    vouch_fee.fee_token = client_sys.deployment().contracts.token;
    let vouch_fee = vouch_fee.sign(&key, CHAIN, vault).unwrap();
    let (st, v) = post(&vouch_fee, &input).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "wrong_fee_token"),
        "{v}"
    );

    // a fee above the client's balance: the contract's refusal, decoded, nothing sent
    let mut too_much = draft.clone();
    too_much.input.fee = 20_000_000;
    too_much.nonce = U256::from(8);
    let too_much = too_much.sign(&key, CHAIN, vault).unwrap();
    let (st, v) = post(&too_much, &input).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "task_rejected"),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ERC20InsufficientAllowance"),
        "{v}"
    );

    let (st, v) = api
        .post(
            "/tasks/signed",
            None,
            &json!({ "request": {"client": 1}, "input": input }),
        )
        .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{v}"
    );

    assert_eq!(
        escrow(&client_sys, usd_addr).await,
        U256::ZERO,
        "nothing escrowed"
    );
    assert_eq!(
        client_sys.token_balance(usd_addr, client).await.unwrap(),
        U256::from(10_000_000)
    );
    assert!(
        !client_sys.nonce_used(client, U256::from(7)).await.unwrap(),
        "no nonce spent"
    );

    // 3. the good request: the client pays, the operator pays gas only
    let op_vouch = client_sys.balance(operator).await.unwrap();
    let (st, t) = post(&good, &input).await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    assert_eq!(t["status"], "executed");
    assert_eq!(t["max_fee"], FEE.to_string());
    let addr = siwe::checksum_address(&client.0.0);
    assert_eq!(t["requester"], format!("did:pkh:eip155:{CHAIN}:{addr}"));
    let id = t["id"].as_str().unwrap().to_owned();
    let task_id: U256 = id.parse().unwrap();
    let on = provider.task(task_id).await.unwrap();
    assert_eq!(on.requester, client, "the client is the requester");
    assert_eq!(
        escrow(&client_sys, usd_addr).await,
        U256::from(FEE),
        "the fee is escrowed"
    );
    assert_eq!(
        client_sys.token_balance(usd_addr, client).await.unwrap(),
        U256::from(10_000_000 - FEE),
        "the fee came from the client"
    );
    assert_eq!(
        client_sys.token_balance(usd_addr, operator).await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        client_sys.balance(operator).await.unwrap(),
        op_vouch,
        "the operator paid no fee"
    );

    // the same request again: the nonce is spent
    let (st, v) = post(&good, &input).await;
    assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "nonce_used"), "{v}");

    // 4. settlement: the client follows its task; the provider is paid in the token
    let token = api.login(key.credential()).await;
    let (output, trace_root) = honest(&pkg, &input);
    provider.submit(task_id, output, trace_root).await.unwrap();
    provider
        .client()
        .warp(u64::from(cfg.challenge_window) + 1)
        .await
        .unwrap();
    provider.finalize(task_id).await.unwrap();
    let mut done = Value::Null;
    for _ in 0..200 {
        let (st, v) = api.get(&format!("/tasks/{id}"), Some(&token)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        if v["status"] == "finalized" {
            done = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        done["commitment"],
        vouch_primitives::hex0x(output.as_slice()),
        "{done}"
    );
    // the client claims (anyone may): the fee goes to the provider
    client_sys.claim_fee(task_id, &[]).await.unwrap();
    let pv = provider.fee_vault().unwrap();
    provider
        .client()
        .send("FeeVault.withdraw", pv.withdraw(usd_addr))
        .await
        .unwrap();
    assert_eq!(
        provider
            .token_balance(usd_addr, signer(1).address())
            .await
            .unwrap(),
        U256::from(FEE),
        "the provider holds the client's fee"
    );
    assert_eq!(escrow(&client_sys, usd_addr).await, U256::ZERO);

    // 5. a signed request nobody serves: after its deadline the gateway refunds it and claims
    // the fee, which the FeeVault credits to the client (not the operator), in the token paid
    let (st, d) = draft_of(11).await;
    assert_eq!(st, StatusCode::OK, "{d}");
    let mut unserved: SignedRequest = serde_json::from_value(d["request"].clone()).unwrap();
    unserved.permit = Some(client_sys.sign_fee_permit(&key, &unserved).await.unwrap());
    let unserved = unserved.sign(&key, CHAIN, vault).unwrap();
    let (st, t) = post(&unserved, &input).await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    let id = t["id"].as_str().unwrap().to_owned();
    let now = client_sys.latest_timestamp().await.unwrap();
    client_sys
        .client()
        .warp(u64::from(unserved.input.deadline) - now + 1)
        .await
        .unwrap();
    let mut last = Value::Null;
    for _ in 0..200 {
        let (st, v) = api.get(&format!("/tasks/{id}"), Some(&token)).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        last = v;
        if last["status"] == "cancelled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["status"], "cancelled", "{last}");
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains("credited the fee to the requester"),
        "{last}"
    );
    assert_eq!(
        client_sys.vault_credits(usd_addr, client).await.unwrap(),
        U256::from(FEE),
        "credited to the client"
    );
    assert_eq!(
        client_sys.vault_credits(usd_addr, operator).await.unwrap(),
        U256::ZERO,
        "not to the operator"
    );
    assert_eq!(escrow(&client_sys, usd_addr).await, U256::ZERO);
    assert_eq!(
        client_sys.withdraw_vault(usd_addr).await.unwrap(),
        U256::from(FEE)
    );
    assert_eq!(
        client_sys.token_balance(usd_addr, client).await.unwrap(),
        U256::from(10_000_000 - FEE),
        "only the served task's fee left the client"
    );
    assert_eq!(
        client_sys.token_balance(usd_addr, operator).await.unwrap(),
        U256::ZERO
    );
}
