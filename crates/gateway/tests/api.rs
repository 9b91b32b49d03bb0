//! The gateway over real HTTP on 127.0.0.1 (port 0): sign-in, task creation, rejections,
//! events, metrics, OpenAPI coverage, a bounded load run, spend caps across a restart, and a
//! disk that fills up under the journal and the store.

use k256::ecdsa::SigningKey;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vouch_gateway::siwe::{self, SiweMessage};
use vouch_gateway::{
    Gateway, GatewayConfig, JournalSink, ModelInfo, OPENAPI, ProviderInfo, ROUTES, StaticDirectory,
};
use vouch_journal::{Journal, StepData, TaskState};
use vouch_primitives::Cid;
use vouch_store::Store;

const DOMAIN: &str = "localhost:8080";
const CHAIN: u64 = 31337;

struct Net {
    base: String,
    journal: Arc<Journal>,
    model: Cid,
    http: Client,
    server: tokio::task::JoinHandle<()>,
    dir: Option<tempfile::TempDir>,
}

async fn start(tweak: impl FnOnce(&mut GatewayConfig)) -> Net {
    let dir = tempfile::tempdir().unwrap();
    let mut net = start_at(dir.path(), tweak).await;
    net.dir = Some(dir);
    net
}

/// A gateway over the journal and store in `dir` (a restart reuses them).
async fn start_at(dir: &std::path::Path, tweak: impl FnOnce(&mut GatewayConfig)) -> Net {
    let journal = Arc::new(Journal::open(&dir.join("journal.sqlite")).unwrap());
    let store = Store::open(dir.join("store")).unwrap();
    let model = Cid::of(b"a model package");
    let directory = StaticDirectory::new();
    directory.add_model(ModelInfo {
        cid: model.to_string(),
        name: "mlp".into(),
        inputs: vec!["x".into()],
        modes: vec!["zk".into(), "optimistic".into(), "committee".into()],
        frozen: false,
        integer_inputs: Vec::new(),
    });
    directory.add_provider(ProviderInfo {
        address: "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf".into(),
        stake: "1000".into(),
        models: vec![model.to_string()],
        store_url: None,
    });
    let mut cfg = GatewayConfig::new(DOMAIN, CHAIN);
    cfg.limits.spend_cap = 10_000;
    cfg.limits.burst = 1000.0;
    cfg.limits.per_sec = 1000.0;
    cfg.sse_poll = Duration::from_millis(20);
    tweak(&mut cfg);
    let gw = Gateway::new(
        cfg,
        Arc::new(JournalSink::new(journal.clone(), store)),
        Arc::new(directory),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let _ = gw.serve(listener).await;
    });
    Net {
        base,
        journal,
        model,
        http: Client::new(),
        server,
        dir: None,
    }
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_slice(&[n; 32]).unwrap()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn message(k: &SigningKey, nonce: &str) -> SiweMessage {
    SiweMessage {
        scheme: None,
        domain: DOMAIN.into(),
        address: siwe::address_of(k.verifying_key()),
        statement: Some("Sign in to vouch.".into()),
        uri: format!("http://{DOMAIN}"),
        version: "1".into(),
        chain_id: CHAIN,
        nonce: nonce.into(),
        issued_at: now(),
        expiration_time: Some(now() + 600),
        not_before: None,
        request_id: None,
        resources: vec![],
    }
}

impl Net {
    async fn nonce(&self) -> String {
        let v: Value = self
            .http
            .get(format!("{}/auth/nonce", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["nonce"].as_str().unwrap().to_owned()
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn login_with(&self, text: &str, sig: &str) -> (StatusCode, Value) {
        self.post(
            "/auth/login",
            None,
            &json!({ "message": text, "signature": sig }),
        )
        .await
    }

    async fn login(&self, k: &SigningKey) -> String {
        let text = message(k, &self.nonce().await).to_text();
        let sig = siwe::sign_personal(k, text.as_bytes()).unwrap();
        let (st, v) = self.login_with(&text, &sig).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        v["token"].as_str().unwrap().to_owned()
    }

    fn task_body(&self, fee: u64) -> Value {
        json!({
            "model": self.model.to_string(),
            "input": { "x": [[0.5, -1.0, 2.0]] },
            "mode": "optimistic",
            "max_fee": fee.to_string(),
        })
    }
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no code>")
}

#[tokio::test]
async fn siwe_login_accepts_valid_and_rejects_the_rest() {
    let net = start(|_| {}).await;
    let alice = key(7);

    // Valid.
    let text = message(&alice, &net.nonce().await).to_text();
    let sig = siwe::sign_personal(&alice, text.as_bytes()).unwrap();
    let (st, v) = net.login_with(&text, &sig).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let addr = siwe::checksum_address(&siwe::address_of(alice.verifying_key()));
    assert_eq!(v["did"], format!("did:pkh:eip155:{CHAIN}:{addr}"));

    // Replayed: same message and signature again.
    let (st, v) = net.login_with(&text, &sig).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "nonce_used"));

    // Bad signature: signed by someone else, then a corrupted one, then garbage.
    let text = message(&alice, &net.nonce().await).to_text();
    let mallory_sig = siwe::sign_personal(&key(9), text.as_bytes()).unwrap();
    let (st, v) = net.login_with(&text, &mallory_sig).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "bad_signature"));
    let (st, v) = net.login_with(&text, "0x1234").await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "bad_signature"));
    // The failed attempts did not burn the nonce: the real owner can still use it.
    let good = siwe::sign_personal(&alice, text.as_bytes()).unwrap();
    assert_eq!(net.login_with(&text, &good).await.0, StatusCode::OK);

    // Wrong domain, wrong chain, expired, unknown nonce.
    type Edit = Box<dyn Fn(&mut SiweMessage)>;
    let cases: [(&str, Edit); 4] = [
        (
            "wrong_domain",
            Box::new(|m| m.domain = "evil.example".into()),
        ),
        ("wrong_chain", Box::new(|m| m.chain_id = 1)),
        (
            "message_expired",
            Box::new(|m| {
                m.issued_at = now() - 1000;
                m.expiration_time = Some(now() - 10);
            }),
        ),
        (
            "nonce_unknown",
            Box::new(|m| m.nonce = "neverIssued123".into()),
        ),
    ];
    for (want, edit) in cases {
        let mut m = message(&alice, &net.nonce().await);
        edit(&mut m);
        let text = m.to_text();
        let sig = siwe::sign_personal(&alice, text.as_bytes()).unwrap();
        let (st, v) = net.login_with(&text, &sig).await;
        assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, want), "{v}");
    }

    // Not EIP-4361 at all; not JSON at all.
    let (st, v) = net.login_with("hello", &sig).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "invalid_message"));
    let resp = net
        .http
        .post(format!("{}/auth/login", net.base))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(&resp.json().await.unwrap()), "bad_json");
}

#[tokio::test]
async fn tasks_valid_malformed_overcap_and_foreign() {
    let net = start(|_| {}).await;
    let alice = net.login(&key(1)).await;
    let bob = net.login(&key(2)).await;

    // No token.
    let (st, v) = net.post("/tasks", None, &net.task_body(10)).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (st, _) = net
        .post("/tasks", Some("not-a-token"), &net.task_body(10))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // Valid.
    let (st, t) = net.post("/tasks", Some(&alice), &net.task_body(4000)).await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    assert_eq!(t["status"], "accepted");
    let id = t["id"].as_str().unwrap().to_owned();
    let (st, t2) = net.get(&format!("/tasks/{id}"), Some(&alice)).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(t2["input_cid"], t["input_cid"]);
    assert_eq!(
        net.journal.task(&id).unwrap().unwrap().state,
        TaskState::Accepted
    );

    // Someone else's task is not visible.
    let (st, v) = net.get(&format!("/tasks/{id}"), Some(&bob)).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"));

    // Malformed inputs and fields.
    let mut cases = Vec::new();
    for (input, want) in [
        (json!({ "y": [[1.0]] }), "invalid_input"),
        (json!({ "x": [[1.0, 2.0], [3.0]] }), "invalid_input"),
        (json!({ "x": "zero" }), "invalid_input"),
        (json!([1, 2]), "invalid_input"),
        (json!({ "x": [[1.0]], "extra": [[1.0]] }), "invalid_input"),
    ] {
        let mut b = net.task_body(1);
        b["input"] = input;
        cases.push((b, want));
    }
    let mut b = net.task_body(1);
    b["model"] = json!(Cid::of(b"unregistered").to_string());
    cases.push((b, "unknown_model"));
    let mut b = net.task_body(1);
    b["model"] = json!("QmNotACid");
    cases.push((b, "invalid_model"));
    let mut b = net.task_body(1);
    b["mode"] = json!("trust-me");
    cases.push((b, "invalid_mode"));
    for fee in [json!("0"), json!("-5"), json!(1.5), json!("1e9")] {
        let mut b = net.task_body(1);
        b["max_fee"] = fee;
        cases.push((b, "invalid_fee"));
    }
    for (body, want) in cases {
        let (st, v) = net.post("/tasks", Some(&alice), &body).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, want),
            "{body}"
        );
    }
    let mut b = net.task_body(1);
    b.as_object_mut().unwrap().remove("input");
    let (st, v) = net.post("/tasks", Some(&alice), &b).await;
    assert_eq!((st, code(&v)), (StatusCode::BAD_REQUEST, "missing_field"));

    // Over the spend cap (10_000): 4000 reserved, 6001 more is too much, 6000 fits.
    let (st, v) = net.post("/tasks", Some(&alice), &net.task_body(6001)).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::PAYMENT_REQUIRED, "spend_cap_exceeded")
    );
    let (st, _) = net.post("/tasks", Some(&alice), &net.task_body(6000)).await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = net.post("/tasks", Some(&alice), &net.task_body(1)).await;
    assert_eq!(st, StatusCode::PAYMENT_REQUIRED);
    // Caps are per identity.
    let (st, _) = net.post("/tasks", Some(&bob), &net.task_body(9000)).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(net.journal.tasks(None, 100).unwrap().len(), 3);

    // Lists and metrics.
    let (_, m) = net.get("/models", None).await;
    assert_eq!(m["models"][0]["inputs"], json!(["x"]));
    let (_, p) = net.get("/providers", None).await;
    assert_eq!(p["providers"].as_array().unwrap().len(), 1);
    let text = net
        .http
        .get(format!("{}/metrics", net.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("vouch_gateway_tasks_created_total 3"),
        "{text}"
    );
    assert!(text.contains("vouch_gateway_rejections_total{code=\"spend_cap_exceeded\"} 2"));
    assert!(text.contains("vouch_tasks{status=\"accepted\"} 3"));
    assert!(text.contains("route=\"/tasks\",method=\"POST\",status=\"201\""));
}

#[tokio::test]
async fn spend_caps_hold_across_a_gateway_restart() {
    let net = start(|c| c.limits.spend_cap = 3_000).await;
    let alice = net.login(&key(1)).await;
    for _ in 0..3 {
        let (st, v) = net.post("/tasks", Some(&alice), &net.task_body(1000)).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    let (st, _) = net.post("/tasks", Some(&alice), &net.task_body(1000)).await;
    assert_eq!(st, StatusCode::PAYMENT_REQUIRED);
    // the gateway stops and starts again over the same directory
    net.server.abort();
    let dir = net.dir.as_ref().unwrap().path();
    let again = start_at(dir, |c| c.limits.spend_cap = 3_000).await;
    let alice = again.login(&key(1)).await;
    let (st, v) = again
        .post("/tasks", Some(&alice), &again.task_body(1000))
        .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::PAYMENT_REQUIRED, "spend_cap_exceeded"),
        "{v}"
    );
    assert_eq!(again.journal.tasks(None, 100).unwrap().len(), 3);
    // another identity still has its whole cap
    let bob = again.login(&key(2)).await;
    let (st, _) = again
        .post("/tasks", Some(&bob), &again.task_body(3000))
        .await;
    assert_eq!(st, StatusCode::CREATED);
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop: a disk that fills up.
/// Mounting needs root, which the test machines (and CI) run as.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let st = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            st.success(),
            "mounting a {size} tmpfs failed: this test needs root (the test machines run as root)"
        );
        Self { dir }
    }

    /// Writes a file until the disk is full; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).and_then(|()| f.sync_all()).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_new_tasks_clearly_loses_nothing_and_recovers() {
    let disk = SmallDisk::mount("4m");
    let net = start_at(disk.dir.path(), |c| c.limits.spend_cap = 10_000).await;
    let alice = net.login(&key(1)).await;
    // a different input each time, so each task writes a new blob to the store
    let body = |i: u32| {
        let mut b = net.task_body(1000);
        b["input"] = json!({ "x": [[f64::from(i), 0.5, -1.0]] });
        b
    };
    let (st, first) = net.post("/tasks", Some(&alice), &body(0)).await;
    assert_eq!(st, StatusCode::CREATED, "{first}");
    let filler = disk.fill();

    // refused with a clear error, nothing accepted and nothing reserved
    for i in 1..4 {
        let (st, v) = net.post("/tasks", Some(&alice), &body(i)).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::SERVICE_UNAVAILABLE, "backend_unavailable"),
            "{v}"
        );
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains("full") || msg.contains("space"),
            "the error names the full disk: {msg}"
        );
    }
    // what was accepted is still there
    let id = first["id"].as_str().unwrap();
    let (st, again) = net.get(&format!("/tasks/{id}"), Some(&alice)).await;
    assert_eq!(
        (st, &again["input_cid"]),
        (StatusCode::OK, &first["input_cid"])
    );

    // space returns: tasks are accepted again, and the refused ones reserved nothing (the cap
    // of 10 tasks of 1000 is exactly reached)
    std::fs::remove_file(filler).unwrap();
    for i in 4..13 {
        let (st, v) = net.post("/tasks", Some(&alice), &body(i)).await;
        assert_eq!(st, StatusCode::CREATED, "task {i}: {v}");
    }
    let (st, v) = net.post("/tasks", Some(&alice), &body(13)).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::PAYMENT_REQUIRED, "spend_cap_exceeded")
    );
    assert_eq!(net.journal.tasks(None, 100).unwrap().len(), 10);
    net.server.abort();
}

#[tokio::test]
async fn events_stream_to_the_terminal_state() {
    let net = start(|_| {}).await;
    let alice = net.login(&key(3)).await;
    let (_, t) = net.post("/tasks", Some(&alice), &net.task_body(5)).await;
    let id = t["id"].as_str().unwrap().to_owned();

    let j = net.journal.clone();
    let id2 = id.clone();
    tokio::spawn(async move {
        for s in [
            TaskState::Executed,
            TaskState::Submitted,
            TaskState::Finalized,
        ] {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let data = StepData {
                detail: Some(format!("step {s}")),
                ..StepData::default()
            };
            j.transition(&id2, s, &data).unwrap();
        }
    });
    let resp = net
        .http
        .get(format!("{}/tasks/{id}/events", net.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let body = tokio::time::timeout(Duration::from_secs(10), resp.text())
        .await
        .expect("stream ends after the terminal state")
        .unwrap();
    let statuses: Vec<String> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| {
            serde_json::from_str::<Value>(d).unwrap()["status"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(statuses, ["accepted", "executed", "submitted", "finalized"]);
    assert!(body.contains("event: status"));

    // Resuming after event 2 replays only what follows.
    let body = net
        .http
        .get(format!("{}/tasks/{id}/events", net.base))
        .bearer_auth(&alice)
        .header("Last-Event-ID", "2")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body.matches("data: ").count(), 2);
}

#[tokio::test]
async fn the_output_is_served_once_settled_and_only_to_its_requester() {
    let net = start(|_| {}).await;
    let alice = net.login(&key(3)).await;
    let bob = net.login(&key(4)).await;
    let (_, t) = net.post("/tasks", Some(&alice), &net.task_body(5)).await;
    let id = t["id"].as_str().unwrap().to_owned();
    let path = format!("/tasks/{id}/output");
    let (st, v) = net.get(&path, Some(&alice)).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "no_output"));

    // the output JSON goes into the gateway's store, its CID into the settled task
    let out = json!({ "outputs": { "y": [[0.25, 0.75]] }, "commitment": "0x01" });
    let store = Store::open(net.dir.as_ref().unwrap().path().join("store")).unwrap();
    let cid = store.put(&serde_json::to_vec(&out).unwrap()).unwrap();
    for s in [
        TaskState::Executed,
        TaskState::Submitted,
        TaskState::Finalized,
    ] {
        let data = StepData {
            output_cid: (s == TaskState::Finalized).then(|| cid.to_string()),
            ..StepData::default()
        };
        net.journal.transition(&id, s, &data).unwrap();
    }
    let (st, v) = net.get(&path, Some(&alice)).await;
    assert_eq!((st, v), (StatusCode::OK, out));
    let (st, v) = net.get(&path, Some(&bob)).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
    let (st, v) = net.get(&path, None).await;
    assert_eq!((st, code(&v)), (StatusCode::UNAUTHORIZED, "unauthorized"));
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let net = start(|c| {
        c.limits.burst = 3.0;
        c.limits.per_sec = 0.01;
    })
    .await;
    let alice = net.login(&key(4)).await;
    for _ in 0..3 {
        assert_eq!(
            net.get("/tasks/0x00", Some(&alice)).await.0,
            StatusCode::NOT_FOUND
        );
    }
    let resp = net
        .http
        .get(format!("{}/tasks/0x00", net.base))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key(reqwest::header::RETRY_AFTER));
    assert_eq!(code(&resp.json().await.unwrap()), "rate_limited");
    // Another identity is unaffected.
    let bob = net.login(&key(5)).await;
    assert_eq!(
        net.get("/tasks/0x00", Some(&bob)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_route_is_served_and_documented() {
    let doc: Value = serde_json::from_str(OPENAPI).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} missing from openapi.json"
        );
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "openapi.json documents a route the gateway lacks"
    );

    let net = start(|_| {}).await;
    let (_, served) = net.get("/openapi.json", None).await;
    assert_eq!(served, doc);
    for (method, path) in ROUTES {
        let url = format!("{}{}", net.base, path.replace("{id}", "0x00"));
        let resp = match *method {
            "get" => net.http.get(url),
            _ => net.http.post(url).body("{}"),
        }
        .send()
        .await
        .unwrap();
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert_ne!(
            code(&v),
            "no_route",
            "{method} {path} not routed ({status})"
        );
    }
    let (st, v) = net.get("/nope", None).await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "no_route"));
}

/// Bounded load on loopback: 4 identities x 50 tasks, 16 in flight; none may be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_load_loses_no_task() {
    let net = Arc::new(start(|c| c.limits.spend_cap = 1_000_000).await);
    let mut tokens = Vec::new();
    for i in 0..4 {
        tokens.push(net.login(&key(20 + i)).await);
    }
    let started = std::time::Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let mut handles = Vec::new();
    for n in 0..200u64 {
        let (net, token, sem) = (net.clone(), tokens[(n % 4) as usize].clone(), sem.clone());
        handles.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            let mut body = net.task_body(1 + n);
            body["input"]["x"] = json!([[n as f64, 1.0, 2.0]]);
            let (st, v) = net.post("/tasks", Some(&token), &body).await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
            v["id"].as_str().unwrap().to_owned()
        }));
    }
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap());
    }
    let elapsed = started.elapsed();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200);
    assert_eq!(net.journal.tasks(None, 1000).unwrap().len(), 200);
    assert_eq!(net.journal.resumable().unwrap().len(), 200);
    #[expect(
        clippy::print_stderr,
        reason = "the load figure is the point of this test"
    )]
    {
        eprintln!(
            "200 tasks in {elapsed:?} ({:.0}/s)",
            200.0 / elapsed.as_secs_f64()
        );
    }
}
