//! `vouch task request --input-blobs` on a real anvil (port 0, Prague): the input travels as
//! the request transaction's blobs, the task names them (`blob:0x...`) with no inline input,
//! and reading them back gives the canonical input bytes of the row. `--input-blobs` with
//! `--signed` is refused by the argument parser.

#![allow(clippy::unwrap_used, missing_docs)]

use clap::Parser;
use vouch_chain::alloy::primitives::U256;
use vouch_chain::alloy::providers::Provider as _;
use vouch_chain::alloy::rpc::types::Filter;
use vouch_chain::alloy::sol_types::SolEvent as _;
use vouch_chain::bindings::task_manager::TaskManager::TaskRequested;
use vouch_chain::blob::{AnvilBlobs, read_input};
use vouch_chain::keyfile::ScryptCost;
use vouch_chain::{DeployConfig, DevnetConfig, Keystore};
use vouch_cli::opts::Cli;
use vouch_testkit::{Chain, DEV_KEYS};

fn vouch(args: &[&str]) -> eyre::Result<()> {
    let mut all = vec!["vouch", "--json"];
    all.extend_from_slice(args);
    let cli = Cli::try_parse_from(all).map_err(|e| eyre::eyre!("{e}"))?;
    vouch_cli::run(cli)
}

#[test]
fn a_request_with_input_blobs_names_its_blobs_and_they_hold_the_input() {
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
    let rows: serde_json::Value = serde_json::from_slice(&std::fs::read(&input).unwrap()).unwrap();
    let row = serde_json::json!({ "input": [rows["input"][0].clone()] });
    let input_path = tmp.path().join("row.json");
    std::fs::write(&input_path, serde_json::to_vec(&row).unwrap()).unwrap();

    let data = tmp.path().join("data");
    let devnet = DevnetConfig {
        hardfork: Some("prague".to_owned()),
        ..Default::default()
    };
    let (chain, model) = rt.block_on(async {
        let chain = Chain::start_on(devnet, DeployConfig::default()).await;
        let model = chain.publish(&bytes, &pkg).await;
        chain.fund([2], 100).await;
        chain.deployment.save(&data).unwrap();
        (chain, model)
    });
    Keystore::new(data.join("keys"))
        .with_cost(ScryptCost {
            log_n: 10,
            r: 8,
            p: 1,
        })
        .import("client", DEV_KEYS[2], b"pw")
        .unwrap();
    let pw = tmp.path().join("pw");
    std::fs::write(&pw, "pw").unwrap();
    let (model_s, pkg_s, input_s) = (
        model.to_string(),
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
            "--rpc-url",
            &chain.url,
            "--data-dir",
            &data_s,
            "--key",
            "client",
            "--password-file",
            &pw_s,
        ];
        args.extend_from_slice(extra);
        vouch(&args)
    };
    let e = request(&["--input-blobs", "--signed"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("--input-blobs") && e.contains("--signed"), "{e}");
    request(&["--input-blobs"]).unwrap();

    let sys = rt.block_on(chain.system(0));
    let filter = Filter::new()
        .address(sys.deployment().contracts.task_manager)
        .event_signature(TaskRequested::SIGNATURE_HASH)
        .topic1(U256::from(1))
        .from_block(0);
    let logs = rt
        .block_on(sys.client().provider().get_logs(&filter))
        .unwrap();
    let ev = logs[0].log_decode::<TaskRequested>().unwrap().inner.data;
    assert!(ev.inlineInput.is_empty(), "nothing inline");
    assert!(ev.inputCid.starts_with("blob:0x"), "{}", ev.inputCid);
    let read = rt
        .block_on(read_input(
            &AnvilBlobs(sys.client().clone()),
            &ev.inputCid,
            logs[0].block_number.unwrap(),
        ))
        .unwrap();
    let floats = vouch_task::codec::package_inputs_from_json(&pkg, &row).unwrap();
    let inputs = vouch_quant::quantize_inputs(&pkg, &floats);
    assert_eq!(read, vouch_task::codec::inline_bytes(&inputs));
    assert_eq!(
        ev.inputCommitment.0,
        vouch_engine::exec::commit_list(&inputs)
    );
}
