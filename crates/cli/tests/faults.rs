//! Faults under a running local network (`vouch up` in-process): the gateway restarted while
//! its tasks are in flight, then anvil killed (SIGTERM, as `kill` sends) and started again from
//! the state it saved. The gateway's `/health` says the chain is gone while it is, the nodes and
//! the gateway retry and resume, and every accepted task settles on-chain with its output.

use std::time::{Duration, Instant};
use vouch_gateway::client::GatewayClient;
use vouch_localnet::{self as up, CLIENT_KEY, INPUT, UpOptions};

async fn health(base: &str) -> (u16, serde_json::Value) {
    let r = reqwest::get(format!("{base}/health")).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

async fn until_health(base: &str, want: u16, secs: u64) -> serde_json::Value {
    let t = Instant::now();
    loop {
        let (st, v) = health(base).await;
        if st == want {
            return v;
        }
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "/health stayed {st} ({v}), expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_restart_and_an_anvil_restart_mid_run_lose_no_accepted_task() {
    vouch_cli::logging::init_quiet();
    let dir = std::env::temp_dir().join(format!("vouch-faults-{}", std::process::id()));
    let mut net = up::start(&UpOptions {
        providers: 2,
        liars: 0,
        rpc_port: 0,
        gateway: "127.0.0.1:0".parse().unwrap(),
        dir: dir.clone(),
        window: 3,
        zk: false,
        block_time: None,
        resume: false,
        progress: vouch_localnet::Progress::SILENT,
    })
    .await
    .unwrap();
    let sign_in = |net: &up::Network| {
        let (url, addr, chain) = (
            net.gateway.url(),
            net.gateway.addr.to_string(),
            net.deployment.chain_id,
        );
        async move {
            GatewayClient::sign_in(
                &url,
                &addr,
                chain,
                &up::dev_signing_key(CLIENT_KEY).unwrap(),
            )
            .await
            .unwrap()
        }
    };
    let client = sign_in(&net).await;
    let input: serde_json::Value = serde_json::from_str(INPUT).unwrap();
    let rows = input["input"].as_array().unwrap().clone();
    let mut ids = Vec::new();
    for row in rows.iter().take(6) {
        let body = serde_json::json!({ "input": [row] });
        let id = client
            .create(&net.cid, &body, "optimistic", vouch_chain::TOKEN / 100)
            .await
            .unwrap();
        ids.push(id);
    }

    // 1. the gateway goes down and comes back while the tasks are in flight
    net.restart_gateway().await.unwrap();
    let base = net.gateway.url();
    until_health(&base, 200, 30).await;

    // 2. anvil is killed: the gateway says so; it comes back from its saved state
    net.stop_devnet();
    let down = until_health(&base, 503, 30).await;
    assert_eq!(down["status"], "unavailable", "{down}");
    assert!(down["reason"].is_string(), "{down}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    net.start_devnet().await.unwrap();
    until_health(&base, 200, 60).await;

    // 3. every accepted task settles, on-chain and in the gateway, with its output
    let client = sign_in(&net).await;
    let sys = net.system(0).await.unwrap();
    for id in &ids {
        let v = client.wait(id, Duration::from_secs(240)).await.unwrap();
        assert_eq!(v["status"], "finalized", "task {id}: {v}");
        assert!(v["output_cid"].is_string(), "task {id} has its output: {v}");
        let task: vouch_chain::alloy::primitives::U256 = id.parse().unwrap();
        assert_eq!(
            sys.task(task).await.unwrap().status,
            4,
            "task {id} on-chain"
        );
    }
    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
