//! The gateway on a real anvil (port 0): a client signs in with SIWE and creates a task for a
//! published package; the task is requested on-chain (paid by the gateway operator) with the
//! right input commitment; a provider submits and the task finalizes; the gateway reports the
//! output only when the on-chain output matches its own run; the journal survives a restart;
//! and the rejections (unknown model, malformed input, fee above the spend cap).

mod common;

use common::{Api, CHAIN, DOMAIN, code};
use k256::ecdsa::SigningKey;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use vouch_chain::alloy::primitives::{B256, U256};
use vouch_chain::{DeployConfig, Devnet, DevnetConfig, System, TOKEN};
use vouch_gateway::siwe;
use vouch_gateway::{ChainSinkConfig, GatewayConfig, Served, chain_sink};
use vouch_model::Package;
use vouch_primitives::{Cid, hex0x};
use vouch_store::Store;
use vouch_testkit::{Chain, signer};

fn model_dir() -> PathBuf {
    vouch_testkit::model_dir("mlp_10_20_2")
}

/// The 10-20-2 MLP, imported from the committed ONNX file.
fn package() -> (Vec<u8>, Package) {
    vouch_testkit::fixture("mlp_10_20_2", None)
}

/// Row `row` of the fixture input, as a request's `input`.
fn input_row(row: usize) -> Value {
    let v: Value =
        serde_json::from_slice(&std::fs::read(model_dir().join("input.json")).unwrap()).unwrap();
    json!({ "input": [v["input"][row].clone()] })
}

/// What an honest provider computes: input commitment, output commitment, trace root.
fn honest(pkg: &Package, input: &Value) -> (B256, B256, B256) {
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let floats = vouch_task::codec::json::inputs_from_json(input, &names).unwrap();
    let inputs = vouch_task::codec::quantize_inputs(pkg, &floats);
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
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
        ic,
        B256::from(exec.output_commitment()),
        B256::from(exec.trace_root()),
    )
}

struct World {
    chain: Chain,
    _dir: tempfile::TempDir,
    pkg: Package,
    cid: Cid,
    cfg: DeployConfig,
    store: Store,
    journal: PathBuf,
}

impl World {
    async fn as_(&self, i: usize) -> System {
        self.chain.system(i).await
    }

    /// The gateway, signing (and paying) as dev account 3.
    async fn gateway(&self) -> Served {
        let mut cfg = GatewayConfig::new(DOMAIN, CHAIN);
        cfg.limits.spend_cap = 10 * TOKEN;
        cfg.sse_poll = Duration::from_millis(20);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        chain_sink::serve(
            self.as_(3).await,
            self.store.clone(),
            &self.journal,
            listener,
            cfg,
            ChainSinkConfig {
                poll: Duration::from_millis(100),
                ..ChainSinkConfig::default()
            },
        )
        .await
        .unwrap()
    }
}

async fn world() -> World {
    let (bytes, pkg) = package();
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
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    let cid = store.put(&bytes).unwrap();
    assert_eq!(cid, pkg.cid());
    World {
        chain,
        pkg,
        cid,
        cfg,
        store,
        journal: dir.path().join("gateway/journal.sqlite"),
        _dir: dir,
    }
}

impl Api {
    /// Polls the task until its status is `status` (20 s at most).
    async fn wait_for(&self, token: &str, id: &str, status: &str) -> Value {
        for _ in 0..200 {
            let (st, v) = self.get(&format!("/tasks/{id}"), Some(token)).await;
            assert_eq!(st, StatusCode::OK, "{v}");
            if v["status"] == status {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("task {id} never reached {status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_goes_on_chain_and_finalizes_through_the_gateway() {
    let w = world().await;
    let gw = w.gateway().await;
    let api = Api::new(gw.url());
    let client = SigningKey::from_slice(&[7; 32]).unwrap();
    let token = api.login(&client).await;
    let provider = w.as_(1).await;

    // the directory comes from the chain
    let (_, models) = api.get("/models", None).await;
    assert_eq!(
        models["models"],
        json!([{
            "cid": w.cid.to_string(),
            "name": "mlp_10_20_2",
            "inputs": ["input"],
            "modes": ["optimistic", "committee"],
            "frozen": false,
        }])
    );
    let (_, provs) = api.get("/providers", None).await;
    assert_eq!(
        provs["providers"],
        json!([{
            "address": signer(1).address().to_checksum(None),
            "stake": (1_500 * TOKEN).to_string(),
            "models": [w.cid.to_string()],
            "store_url": null,
        }])
    );

    // 1. an honest task
    let input = input_row(0);
    let (ic, output, trace_root) = honest(&w.pkg, &input);
    let gateway_balance = provider.balance(signer(3).address()).await.unwrap();
    let (st, t) = api
        .post(
            "/tasks",
            Some(&token),
            &json!({
                "model": w.cid.to_string(),
                "input": input,
                "mode": "optimistic",
                "max_fee": TOKEN.to_string(),
            }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    let id = t["id"].as_str().unwrap().to_owned();
    assert_eq!(id, "0x1");
    assert_eq!(t["status"], "executed");
    assert_eq!(t["output_cid"], Value::Null, "no output before settlement");
    assert_eq!(t["commitment"], Value::Null);
    let addr = siwe::checksum_address(&siwe::address_of(client.verifying_key()));
    assert_eq!(t["requester"], format!("did:pkh:eip155:{CHAIN}:{addr}"));

    // on-chain: requested by the gateway, paid by it, with the right input commitment
    let task_id = U256::from(1);
    let on = provider.task(task_id).await.unwrap();
    assert_eq!(on.status, 1);
    assert_eq!(on.requester, signer(3).address());
    assert_eq!(on.input_commitment, ic);
    assert_eq!(on.fee, TOKEN);
    assert_eq!(
        gateway_balance - provider.balance(signer(3).address()).await.unwrap(),
        U256::from(TOKEN),
        "the fee came from the gateway operator's balance"
    );

    // the provider submits, the window passes, anyone finalizes
    provider.submit(task_id, output, trace_root).await.unwrap();
    api.wait_for(&token, &id, "submitted").await;
    let early = api
        .http
        .get(format!("{}/tasks/{id}/output", api.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        early.status(),
        404,
        "no output before the task is finalized"
    );
    let early: Value = early.json().await.unwrap();
    assert_eq!(early["error"]["code"], "no_output");
    provider
        .client()
        .warp(u64::from(w.cfg.challenge_window) + 1)
        .await
        .unwrap();
    provider.finalize(task_id).await.unwrap();
    let done = api.wait_for(&token, &id, "finalized").await;
    assert_eq!(done["terminal"], true);
    assert_eq!(done["commitment"], hex0x(output.as_slice()));
    let out_cid: Cid = done["output_cid"].as_str().unwrap().parse().unwrap();
    let out: Value = serde_json::from_slice(&w.store.get(&out_cid).unwrap()).unwrap();
    assert_eq!(out["commitment"], hex0x(output.as_slice()));
    assert_eq!(out["outputs"]["logits"][0].as_array().unwrap().len(), 2);
    assert_eq!(out["names"], serde_json::json!(["logits"]));
    // `/tasks/{id}/output` serves that blob byte for byte (a client checks it against the CID)
    let served = api
        .http
        .get(format!("{}/tasks/{id}/output", api.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(
        served.bytes().await.unwrap().as_ref(),
        w.store.get(&out_cid).unwrap().as_slice()
    );

    // the event stream replays the whole history and ends at the terminal state
    let body = api
        .http
        .get(format!("{}/tasks/{id}/events", api.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let statuses: Vec<String> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| {
            serde_json::from_str::<Value>(d.trim()).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(statuses, ["accepted", "executed", "submitted", "finalized"]);

    // 2. a provider posting a different output: finalized, but the output is withheld
    let (st, t2) = api
        .post(
            "/tasks",
            Some(&token),
            &json!({
                "model": w.cid.to_string(),
                "input": input_row(1),
                "mode": "optimistic",
                "max_fee": TOKEN.to_string(),
            }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{t2}");
    let id2 = t2["id"].as_str().unwrap().to_owned();
    let lie = B256::repeat_byte(0x42);
    provider.submit(U256::from(2), lie, lie).await.unwrap();
    provider
        .client()
        .warp(u64::from(w.cfg.challenge_window) + 1)
        .await
        .unwrap();
    provider.finalize(U256::from(2)).await.unwrap();
    let bad = api.wait_for(&token, &id2, "finalized").await;
    assert_eq!(bad["output_cid"], Value::Null);
    assert_eq!(bad["commitment"], Value::Null);
    let detail = bad["detail"].as_str().unwrap();
    assert!(detail.starts_with(chain_sink::MISMATCH), "{detail}");
    assert!(detail.contains(&hex0x(lie.as_slice())), "{detail}");

    // 3. the journal survives a restart of the gateway
    drop(gw);
    let gw = w.gateway().await;
    let api = Api::new(gw.url());
    let token = api.login(&client).await;
    let (st, again) = api.get(&format!("/tasks/{id}"), Some(&token)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(again, done);
    // decimal ids are accepted too
    let (st, again) = api.get("/tasks/1", Some(&token)).await;
    assert_eq!((st, again["id"].as_str()), (StatusCode::OK, Some("0x1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_rejects_bad_tasks_before_paying() {
    let w = world().await;
    let gw = w.gateway().await;
    let api = Api::new(gw.url());
    let token = api.login(&SigningKey::from_slice(&[8; 32]).unwrap()).await;
    let body = |model: String, input: Value, fee: u128| json!({ "model": model, "input": input, "mode": "optimistic", "max_fee": fee.to_string() });

    // unknown model CID
    let unknown = Cid::of(b"not a published package").to_string();
    let (st, v) = api
        .post(
            "/tasks",
            Some(&token),
            &body(unknown.clone(), input_row(0), TOKEN),
        )
        .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_model"),
        "{v}"
    );
    assert!(v["error"]["message"].as_str().unwrap().contains(&unknown));

    // malformed inputs: an unknown tensor name; a row of the wrong width; not numbers
    let cid = w.cid.to_string();
    let (st, v) = api
        .post(
            "/tasks",
            Some(&token),
            &body(cid.clone(), json!({ "x": [[1.0]] }), TOKEN),
        )
        .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        "{v}"
    );
    let (st, v) = api
        .post(
            "/tasks",
            Some(&token),
            &body(cid.clone(), json!({ "input": [[1.0, 2.0, 3.0]] }), TOKEN),
        )
        .await;
    assert!(st.is_client_error(), "{st} {v}");
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v) = api
        .post(
            "/tasks",
            Some(&token),
            &body(cid.clone(), json!({ "input": "zero" }), TOKEN),
        )
        .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
        "{v}"
    );

    // max_fee above the spend cap (10 tokens)
    let (st, v) = api
        .post("/tasks", Some(&token), &body(cid, input_row(0), 11 * TOKEN))
        .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::PAYMENT_REQUIRED, "spend_cap_exceeded"),
        "{v}"
    );

    // nothing reached the chain
    let tm = w.as_(0).await;
    assert_eq!(tm.task(U256::from(1)).await.unwrap().status, 0);
}

/// A registered (`SUM`) tree-ensemble package: the dispute game judges its trees (docs/semantics.md
/// section 8.6), so optimistic and committee tasks pass the mode check; the zk circuit covers
/// trees too, so zk is refused here only because no zk verifier is registered for this model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_package_passes_the_mode_check_and_zk_needs_a_verifier() {
    let w = world().await;
    let (bytes, pkg) = vouch_testkit::fixture("tree_gb_bc", None);
    w.chain.publish(&bytes, &pkg).await;
    let cid = w.store.put(&bytes).unwrap().to_string();
    let gw = w.gateway().await;
    let api = Api::new(gw.url());
    let token = api.login(&SigningKey::from_slice(&[9; 32]).unwrap()).await;
    let input: Value = serde_json::from_slice(
        &std::fs::read(vouch_testkit::model_dir("tree_gb_bc").join("input.json")).unwrap(),
    )
    .unwrap();
    let input = json!({ "X": [input["X"][0].clone()] });
    // no zk verifier is registered for it, so zk is not offered at all
    let body = json!({ "model": cid, "input": input, "mode": "zk", "max_fee": TOKEN.to_string() });
    let (st, v) = api.post("/tasks", Some(&token), &body).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "mode_unavailable"),
        "{v}"
    );
    let tm = w.as_(0).await;
    assert_eq!(tm.task(U256::from(1)).await.unwrap().status, 0);
    for mode in ["optimistic", "committee"] {
        let body =
            json!({ "model": cid, "input": input, "mode": mode, "max_fee": TOKEN.to_string() });
        let (st, v) = api.post("/tasks", Some(&token), &body).await;
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !(st == StatusCode::UNPROCESSABLE_ENTITY && msg.contains("TreeEnsemble")),
            "{mode}: {v}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_a_dead_endpoint_and_a_chain_that_lost_the_deployment() {
    let mut w = world().await;
    let gw = w.gateway().await;
    let api = Api::new(gw.url());
    let (st, v) = api.get("/health", None).await;
    assert_eq!((st, &v["status"]), (StatusCode::OK, &json!("ok")));
    let wait_for = |want: StatusCode| {
        let api = &api;
        async move {
            for _ in 0..150 {
                let (st, v) = api.get("/health", None).await;
                if st == want {
                    return v;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("/health never answered {want}");
        }
    };
    // the endpoint dies
    let port = w.chain.devnet.port();
    w.chain.devnet.stop();
    let v = wait_for(StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(v["status"], "unavailable", "{v}");
    // a fresh chain comes up on the same port: it answers, but holds no deployment
    w.chain.devnet = Devnet::spawn(&DevnetConfig {
        port,
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let mut reason = String::new();
    for _ in 0..150 {
        let (st, v) = api.get("/health", None).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        reason = v["reason"].as_str().unwrap_or_default().to_owned();
        if reason.contains("chain lost") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reason.contains("chain lost"), "{reason}");
}
