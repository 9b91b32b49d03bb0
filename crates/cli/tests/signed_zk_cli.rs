//! The one-transaction zk decision from the command line, on a real anvil (port 0): the
//! client's keystore key signs a zk request with a callback (`vouch task request --mode zk
//! --signed --out FILE`: an EIP-712 request and a permit of the fee, the input by CID, nothing
//! sent), and a staked provider proves it and creates, settles and delivers the task in one
//! transaction (`vouch task submit-zk --signed FILE`, `FeeVault.requestSignedZk`). The task's
//! id is the digest the client printed, the client is its requester and paid the fee, the
//! provider was paid, the consumer (the example `LendingRiskGate`) acted in that transaction;
//! the same request again, an optimistic request and another input are refused.

#![allow(clippy::unwrap_used, missing_docs)]

use clap::Parser;
use vouch_chain::TOKEN;
use vouch_chain::alloy::primitives::{I256, U256};
use vouch_chain::bindings::lending_risk_gate::LendingRiskGate;
use vouch_chain::keyfile::ScryptCost;
use vouch_chain::{DeployConfig, Keystore};
use vouch_cli::opts::Cli;
use vouch_testkit::{Chain, DEV_KEYS, signer};

const PASSWORD: &str = "pw";

fn vouch(args: &[&str]) -> eyre::Result<()> {
    let mut all = vec!["vouch", "--json"];
    all.extend_from_slice(args);
    let cli = Cli::try_parse_from(all).map_err(|e| eyre::eyre!("{e}"))?;
    vouch_cli::run(cli)
}

fn row_file(dir: &std::path::Path, name: &str, row: usize) -> std::path::PathBuf {
    let input = vouch_testkit::model_dir("mlp_10_20_2").join("input.json");
    let all: serde_json::Value = serde_json::from_slice(&std::fs::read(input).unwrap()).unwrap();
    let path = dir.join(name);
    let one = serde_json::json!({ "input": [all["input"][row].clone()] });
    std::fs::write(&path, serde_json::to_vec(&one).unwrap()).unwrap();
    path
}

#[test]
fn a_signed_zk_request_is_proved_settled_and_consumed_in_one_transaction() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (bytes, pkg) = vouch_testkit::fixture("mlp_10_20_2", None);
    let pkg_path = tmp.path().join("mlp.vpkg");
    std::fs::write(&pkg_path, &bytes).unwrap();
    let (row0, row1) = (
        row_file(tmp.path(), "row0.json", 0),
        row_file(tmp.path(), "row1.json", 1),
    );

    // the chain, the model with its verifier (local insecure setup), a staked provider (key 1),
    // the client's tokens (key 2), and the consumer: a gate that grants any verified score
    let data = tmp.path().join("data");
    let line = U256::from(1_000 * TOKEN);
    let (chain, model, keys, gate) = rt.block_on(async {
        let chain = Chain::start(DeployConfig::default()).await;
        let owner = chain.system(0).await;
        let (verifier, keys) = vouch_localnet::zk_setup::setup_and_deploy_zk(
            &owner,
            &pkg,
            &tmp.path().join("zk"),
            |_| {},
        )
        .await
        .unwrap();
        let m = vouch_chain::graph::commitments_of(&bytes, &pkg);
        let model = owner
            .publish_with_verifier(&m, verifier, None)
            .await
            .unwrap()
            .0
            .model_id;
        chain.fund([1, 2], 2_000).await;
        chain.stake(1, model, 1_500).await;
        chain.deployment.save(&data).unwrap();
        let gate = LendingRiskGate::deploy(
            owner.client().provider().clone(),
            chain.deployment.contracts.task_manager,
            model,
            1,
            U256::ZERO,
            U256::ZERO,
            I256::MAX,
            line,
        )
        .await
        .unwrap();
        (chain, model, keys, *gate.address())
    });
    let keystore = Keystore::new(data.join("keys")).with_cost(ScryptCost {
        log_n: 10,
        r: 8,
        p: 1,
    });
    keystore
        .import("client", DEV_KEYS[2], PASSWORD.as_bytes())
        .unwrap();
    keystore
        .import("provider", DEV_KEYS[1], PASSWORD.as_bytes())
        .unwrap();
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, PASSWORD).unwrap();

    let s = |p: &std::path::Path| p.display().to_string();
    let (model_s, gate_s) = (model.to_string(), gate.to_string());
    let (url, data_s, pw_s, pkg_s, keys_s) =
        (chain.url.clone(), s(&data), s(&pw), s(&pkg_path), s(&keys));
    let common = |key: &'static str| {
        vec![
            "--rpc-url".to_owned(),
            url.clone(),
            "--data-dir".to_owned(),
            data_s.clone(),
            "--key".to_owned(),
            key.to_owned(),
            "--password-file".to_owned(),
            pw_s.clone(),
        ]
    };
    let run = |args: Vec<String>| vouch(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let request = |mode: &str, out: &std::path::Path, nonce: &str| {
        let mut a: Vec<String> = [
            "task",
            "request",
            "-m",
            &model_s,
            "-p",
            &pkg_s,
            "-i",
            &s(&row0),
            "--fee",
            "2",
            "--mode",
            mode,
            "--callback",
            &gate_s,
            "--signed",
            "--out",
            &s(out),
            "--nonce",
            nonce,
        ]
        .map(str::to_owned)
        .to_vec();
        a.extend(common("client"));
        run(a)
    };
    let submit = |file: &std::path::Path, input: &std::path::Path| {
        let mut a: Vec<String> = [
            "task",
            "submit-zk",
            "--signed",
            &s(file),
            "-p",
            &pkg_s,
            "-i",
            &s(input),
            "--keys",
            &keys_s,
        ]
        .map(str::to_owned)
        .to_vec();
        a.extend(common("provider"));
        run(a)
    };

    let sys = rt.block_on(chain.system(0));
    let (client, provider) = (signer(2).address(), signer(1).address());
    let c0 = rt.block_on(sys.balance(client)).unwrap();
    let p0 = rt.block_on(sys.credits(provider)).unwrap();

    // the client signs; nothing is sent, and the file holds the request with its input by CID
    let file = tmp.path().join("request.json");
    request("zk", &file, "5").unwrap();
    let signed: vouch_chain::signed::SignedRequest =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(signed.input.inline_input.is_empty() && !signed.input.input_cid.is_empty());
    assert_eq!(signed.input.callback, gate);
    assert_eq!(
        rt.block_on(sys.balance(client)).unwrap(),
        c0,
        "nothing paid yet"
    );
    let vault = *sys.fee_vault().unwrap().address();
    let id = U256::from_be_bytes(signed.digest(sys.client().chain_id(), vault).unwrap().0);

    // another input than the one signed for: refused before proving
    let err = submit(&file, &row1).unwrap_err().to_string();
    assert!(err.contains("input commitment"), "{err}");

    // the provider proves and sends the one transaction
    submit(&file, &row0).unwrap();
    let t = rt.block_on(sys.task(id)).unwrap();
    assert_eq!(t.status, 4, "finalized");
    assert_eq!(t.requester, client, "the signer is the requester");
    assert_eq!(t.provider, provider, "the sender is the provider");
    assert_eq!(
        rt.block_on(sys.balance(client)).unwrap(),
        c0 - U256::from(2 * TOKEN),
        "the client paid the fee"
    );
    assert!(
        rt.block_on(sys.credits(provider)).unwrap() > p0,
        "provider paid"
    );
    let granted = rt
        .block_on(async {
            LendingRiskGate::new(gate, sys.client().provider())
                .creditLineOf(client)
                .call()
                .await
        })
        .unwrap();
    assert_eq!(granted, line, "the gate acted on the verified score");

    // the same request again: its task exists
    let err = submit(&file, &row0).unwrap_err().to_string();
    assert!(err.contains("TaskExists"), "{err}");

    // an optimistic signed request is not filled by a proof
    let opt = tmp.path().join("optimistic.json");
    request("optimistic", &opt, "6").unwrap();
    let err = submit(&opt, &row0).unwrap_err().to_string();
    assert!(err.contains("only a zk request"), "{err}");
}
