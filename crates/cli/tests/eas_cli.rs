//! `vouch deploy --eas ADDRESS` and `vouch receipt verify`'s provenance checks on a real anvil
//! (free port): EAS is deployed once; two `vouch deploy --eas` runs (two data directories, one
//! key in each keystore) both succeed on it; a task of the first deployment, attested in a
//! batch, verifies with its package (provenance included) and fails the provenance check with a
//! package whose weights differ; `--eas` at a contract that is not an EAS fails clearly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use std::path::Path;
use vouch_chain::alloy::primitives::{Address, B256, U256};
use vouch_chain::bindings::eas::EAS;
use vouch_chain::bindings::schema_registry::SchemaRegistry;
use vouch_chain::keyfile::ScryptCost;
use vouch_chain::system::{Mode, Request};
use vouch_chain::{Client, Deployment, Devnet, DevnetConfig, Keystore, System, TOKEN};
use vouch_cli::chain_args::{ChainArgs, DataDirArgs};
use vouch_cli::cmd::deploy::{self, DeployArgs};
use vouch_cli::cmd::receipt::{self, VerifyArgs};
use vouch_testkit::{DEV_KEYS, signer};

/// `vouch deploy` as the command line parses it.
#[derive(Debug, Parser)]
struct Deploy {
    #[command(flatten)]
    args: DeployArgs,
}

const PASSWORD: &str = "pw";

/// A data directory whose keystore holds dev key 0 as `dev` (cheap scrypt), and its password
/// file.
fn data_dir(root: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = root.join(name);
    Keystore::new(dir.join("keys"))
        .with_cost(ScryptCost {
            log_n: 10,
            r: 8,
            p: 1,
        })
        .import("dev", DEV_KEYS[0], PASSWORD.as_bytes())
        .unwrap();
    let pw = root.join(format!("{name}.pw"));
    std::fs::write(&pw, PASSWORD).unwrap();
    (dir, pw)
}

fn vouch_deploy(url: &str, dir: &Path, pw: &Path, eas: Address) -> eyre::Result<()> {
    let d = Deploy::try_parse_from([
        "deploy",
        "--data-dir",
        dir.to_str().unwrap(),
        "--rpc-url",
        url,
        "--key",
        "dev",
        "--password-file",
        pw.to_str().unwrap(),
        "--challenge-window",
        "100",
        "--eas",
        &eas.to_string(),
    ])
    .unwrap();
    deploy::run(&d.args)
}

#[test]
fn vouch_deploy_on_an_existing_eas_and_receipt_verify_checks_provenance() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let devnet = rt
        .block_on(Devnet::spawn(&DevnetConfig::default()))
        .unwrap();
    let url = devnet.url();
    let c0 = rt.block_on(Client::connect(&url, Some(signer(0)))).unwrap();
    let (registry, eas) = rt.block_on(async {
        let r = *SchemaRegistry::deploy(c0.provider())
            .await
            .unwrap()
            .address();
        let e = *EAS::deploy(c0.provider(), r).await.unwrap().address();
        (r, e)
    });
    let tmp = tempfile::tempdir().unwrap();
    let (a, pw_a) = data_dir(tmp.path(), "a");
    let (b, pw_b) = data_dir(tmp.path(), "b");
    vouch_deploy(&url, &a, &pw_a, eas).unwrap();
    vouch_deploy(&url, &b, &pw_b, eas).unwrap();
    let chain_id = c0.chain_id();
    let da = Deployment::load(&a, chain_id).unwrap();
    let db = Deployment::load(&b, chain_id).unwrap();
    for d in [&da, &db] {
        assert_eq!(
            (d.contracts.eas, d.contracts.schema_registry),
            (eas, registry)
        );
    }
    assert_ne!(da.contracts.registry, db.contracts.registry);

    // --eas at a contract that is not an EAS (the token): a clear error
    let (c, pw_c) = data_dir(tmp.path(), "c");
    let e = vouch_deploy(&url, &c, &pw_c, da.contracts.token).unwrap_err();
    assert!(format!("{e:#}").contains("is not an EAS contract"), "{e:#}");

    // a task on deployment a, finalized and attested in a batch
    let (bytes, pkg) = vouch_testkit::digits_mlp();
    let task =
        rt.block_on(async {
            let as_ = |i: usize| {
                let d = da.clone();
                let url = url.clone();
                async move {
                    System::new(Client::connect(&url, Some(signer(i))).await.unwrap(), d).unwrap()
                }
            };
            let owner = as_(0).await;
            let model = owner
                .publish(&vouch_chain::graph::commitments_of(&bytes, &pkg))
                .await
                .unwrap()
                .model_id;
            owner
                .transfer(signer(1).address(), U256::from(5_000 * TOKEN))
                .await
                .unwrap();
            let provider = as_(1).await;
            provider.join(model, 1_500 * TOKEN).await.unwrap();
            let zero = vouch_zk_prover::circuit::zero_inputs(&pkg);
            let inputs = vouch_engine::Engine::new(&pkg, Default::default())
                .unwrap()
                .run(zero.clone())
                .unwrap();
            let ic = B256::from(
                vouch_task::codec::input_commitment(vouch_task::Mode::Optimistic, &pkg, &zero)
                    .unwrap(),
            );
            let t = owner
                .request(&Request {
                    model_id: model,
                    version: 1,
                    mode: Mode::Optimistic,
                    fee: TOKEN,
                    deadline_secs: 600,
                    input_commitment: ic,
                    rows: 1,
                    input_cid: String::new(),
                    inline_input: vouch_node::work::encode_inputs(&zero),
                    callback: None,
                })
                .await
                .unwrap();
            let out = B256::from(inputs.output_commitment());
            provider.submit(t, out, B256::repeat_byte(7)).await.unwrap();
            owner.client().warp(101).await.unwrap();
            owner.finalize(t).await.unwrap();
            owner.attest_receipts(&[t]).await.unwrap();
            t
        });

    let verify = |package: &Path| {
        let args = VerifyArgs {
            task,
            package: Some(package.to_path_buf()),
            keys: None,
            chain: ChainArgs {
                dirs: DataDirArgs {
                    data_dir: a.clone(),
                },
                rpc_url: url.clone(),
                key: None,
                password_file: None,
            },
        };
        let sys = System::new(
            rt.block_on(Client::connect(&url, None)).unwrap(),
            da.clone(),
        )
        .unwrap();
        let facts = rt.block_on(sys.receipt_facts(task)).unwrap();
        receipt::offchain_checks(&args, facts, None)
    };
    let good = tmp.path().join("good.vpkg");
    std::fs::write(&good, &bytes).unwrap();
    let checks = verify(&good);
    let failed: Vec<_> = checks.iter().filter(|c| !c.passed()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    for name in [
        "provenance attestation",
        "provenance data",
        "package matches provenance",
    ] {
        assert!(checks.iter().any(|c| c.what == name), "{name}: {checks:?}");
    }

    // a package with other weights is not the attested one
    let mut bad = pkg.clone();
    for c in &mut bad.consts {
        for v in &mut c.data {
            *v = v.wrapping_add(1);
        }
    }
    let bad_path = tmp.path().join("bad.vpkg");
    std::fs::write(&bad_path, bad.to_bytes()).unwrap();
    let checks = verify(&bad_path);
    let prov = checks
        .iter()
        .find(|c| c.what == "package matches provenance")
        .unwrap();
    let why = prov.result.as_ref().unwrap_err();
    assert!(why.contains("weights root"), "{why}");
    assert!(why.contains("cid"), "{why}");
}
