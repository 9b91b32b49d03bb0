//! `vouch task request --signed` on a real anvil (port 0) and a real gateway: the key in the
//! keystore signs the request (EIP-712) and a permit of the fee; with `--gateway` the gateway
//! submits it, with `--direct` the signer does; either way the signer is the task's requester
//! and pays the fee, and the gateway operator pays none. Without `--gateway` or `--direct` the
//! command is refused before anything is signed.

#![allow(clippy::unwrap_used, missing_docs)]

use clap::Parser;
use std::time::Duration;
use vouch_chain::TOKEN;
use vouch_chain::alloy::primitives::U256;
use vouch_chain::keyfile::ScryptCost;
use vouch_chain::{DeployConfig, Keystore};
use vouch_cli::opts::Cli;
use vouch_gateway::{ChainSinkConfig, GatewayConfig, chain_sink};
use vouch_store::Store;
use vouch_testkit::{Chain, DEV_KEYS, signer};

const PASSWORD: &str = "pw";

fn vouch(args: &[&str]) -> eyre::Result<()> {
    let mut all = vec!["vouch", "--json"];
    all.extend_from_slice(args);
    let cli = Cli::try_parse_from(all).map_err(|e| eyre::eyre!("{e}"))?;
    vouch_cli::run(cli)
}

#[test]
fn a_signed_request_is_paid_by_the_keystore_key_through_the_gateway_or_directly() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (bytes, pkg) = vouch_testkit::fixture("mlp_10_20_2", None);
    let pkg_path = tmp.path().join("mlp.vpkg");
    std::fs::write(&pkg_path, &bytes).unwrap();
    let input = vouch_testkit::model_dir("mlp_10_20_2").join("input.json");
    let row: serde_json::Value = serde_json::from_slice(&std::fs::read(&input).unwrap()).unwrap();
    let input_path = tmp.path().join("row.json");
    std::fs::write(
        &input_path,
        serde_json::to_vec(&serde_json::json!({ "input": [row["input"][0].clone()] })).unwrap(),
    )
    .unwrap();

    // the chain, the model, the client's tokens, its keystore and the gateway (dev key 3)
    let data = tmp.path().join("data");
    let (chain, model, gw) = rt.block_on(async {
        let chain = Chain::start(DeployConfig::default()).await;
        let model = chain.publish(&bytes, &pkg).await;
        chain.fund([2, 3], 100).await;
        chain.deployment.save(&data).unwrap();
        let store = Store::open(tmp.path().join("store")).unwrap();
        store.put(&bytes).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gw = chain_sink::serve(
            chain.system(3).await,
            store,
            &tmp.path().join("journal.sqlite"),
            listener,
            GatewayConfig::new("localhost", 31337),
            ChainSinkConfig {
                poll: Duration::from_millis(100),
                ..ChainSinkConfig::default()
            },
        )
        .await
        .unwrap();
        (chain, model, gw)
    });
    Keystore::new(data.join("keys"))
        .with_cost(ScryptCost {
            log_n: 10,
            r: 8,
            p: 1,
        })
        .import("client", DEV_KEYS[2], PASSWORD.as_bytes())
        .unwrap();
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();

    let (model_s, url, gw_url) = (model.to_string(), chain.url.clone(), gw.url());
    let (pkg_s, input_s) = (
        pkg_path.display().to_string(),
        input_path.display().to_string(),
    );
    let (data_s, pw_s) = (data.display().to_string(), pw.display().to_string());
    let request = |extra: &[&str]| {
        let mut args = vec![
            "task",
            "request",
            "-m",
            &model_s,
            "-p",
            &pkg_s,
            "-i",
            &input_s,
            "--fee",
            "2",
            "--rpc-url",
            &url,
            "--data-dir",
            &data_s,
            "--key",
            "client",
            "--password-file",
            &pw_s,
            "--signed",
        ];
        args.extend_from_slice(extra);
        vouch(&args)
    };
    let sys = rt.block_on(chain.system(0));
    let balance = |who| rt.block_on(sys.balance(who)).unwrap();
    let (client, operator) = (signer(2).address(), signer(3).address());
    let (c0, o0) = (balance(client), balance(operator));

    let err = request(&[]).unwrap_err().to_string();
    assert!(err.contains("--gateway"), "{err}");

    request(&["--gateway", &gw_url, "--nonce", "1"]).unwrap();
    let t1 = rt.block_on(sys.task(U256::from(1))).unwrap();
    assert_eq!(t1.requester, client, "the keystore key is the requester");
    assert_eq!(
        balance(client),
        c0 - U256::from(2 * TOKEN),
        "the client paid"
    );
    assert_eq!(balance(operator), o0, "the gateway paid no fee");

    // the same nonce again: the gateway refuses it before sending
    let err = request(&["--gateway", &gw_url, "--nonce", "1"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("nonce_used"), "{err}");

    request(&["--direct", "--nonce", "2"]).unwrap();
    let t2 = rt.block_on(sys.task(U256::from(2))).unwrap();
    assert_eq!(t2.requester, client);
    assert_eq!(balance(client), c0 - U256::from(4 * TOKEN));
    drop(gw);
}
