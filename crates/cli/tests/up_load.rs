//! A bounded load run on loopback through the whole local network (`vouch up` in-process):
//! 40 optimistic tasks and 4 committee tasks created at once through the gateway all settle, and
//! none is lost; the gateway's journal and the chain agree.

use std::time::Duration;
use vouch_gateway::client::GatewayClient;
use vouch_localnet::{self as up, CLIENT_KEY, INPUT, UpOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_tasks_through_the_gateway_all_settle() {
    vouch_cli::logging::init_quiet();
    let dir = std::env::temp_dir().join(format!("vouch-up-load-{}", std::process::id()));
    let net = up::start(&UpOptions {
        providers: 3,
        liars: 0,
        rpc_port: 0,
        gateway: "127.0.0.1:0".parse().unwrap(),
        dir: dir.clone(),
        window: 2,
        zk: false,
        block_time: None,
        resume: false,
        progress: vouch_localnet::Progress::SILENT,
    })
    .await
    .unwrap();
    let client = std::sync::Arc::new(
        GatewayClient::sign_in(
            &net.gateway.url(),
            &net.gateway.addr.to_string(),
            net.deployment.chain_id,
            &up::dev_signing_key(CLIENT_KEY).unwrap(),
        )
        .await
        .unwrap(),
    );
    let input: serde_json::Value = serde_json::from_str(INPUT).unwrap();
    let rows = input["input"].as_array().unwrap().clone();
    let mut handles = Vec::new();
    for i in 0..44 {
        let c = client.clone();
        let body = serde_json::json!({ "input": [rows[i % rows.len()]] });
        let cid = net.cid;
        let mode = if i % 11 == 10 {
            "committee"
        } else {
            "optimistic"
        };
        handles.push(tokio::spawn(async move {
            let id = c
                .create(&cid, &body, mode, vouch_chain::TOKEN / 100)
                .await
                .unwrap();
            let v = c.wait(&id, Duration::from_secs(240)).await.unwrap();
            (id, v)
        }));
    }
    let sys = net.system(0).await.unwrap();
    let mut ids = std::collections::HashSet::new();
    for h in handles {
        let (id, v) = h.await.unwrap();
        assert_eq!(v["status"], "finalized", "task {id}: {v}");
        assert!(v["output_cid"].is_string(), "task {id} has its output: {v}");
        let task: vouch_chain::alloy::primitives::U256 = id.parse().unwrap();
        assert_eq!(
            sys.task(task).await.unwrap().status,
            4,
            "task {id} is finalized on-chain"
        );
        assert!(ids.insert(id), "task ids are unique");
    }
    assert_eq!(ids.len(), 44);
    // each optimistic task pays one provider; each committee task pays its 3 members. A node
    // counts a finalization when its own worker sees it, which may be a poll after the gateway
    // reported the task finalized: the count is awaited, not read once.
    let finalized = || -> u64 {
        net.providers
            .iter()
            .map(|p| {
                p.node
                    .metrics()
                    .tasks_finalized
                    .load(std::sync::atomic::Ordering::Relaxed)
            })
            .sum()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while finalized() < 40 + 4 * 3 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(finalized(), 40 + 4 * 3);
    net.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
