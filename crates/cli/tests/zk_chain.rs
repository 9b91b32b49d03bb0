//! zk settlement and receipt verification on a real anvil (free port), on the
//! `mlp_10_20_2` fixture: local insecure ptau + setup, verifier exported, compiled with solcjs
//! and deployed, version published with it, a zk task requested with the Poseidon input
//! commitment, proved and settled with `submitZk`; a wrong output commitment and a tampered
//! proof are rejected on-chain (`ProofRejected`); the task's callback, the example
//! `LendingRiskGate`, acts on the values the proof carries in the settling transaction. Then `vouch receipt verify` on the task:
//! not attested yet (fails), batch-attested (passes), per-task attested (passes), and with a
//! package whose weights differ (re-execution disagrees: fails).
//!
//! The committed verifier of `testdata/proofs/v3` is also driven at the gas edge: the gas
//! `eth_estimateGas` gives a valid proof verifies, too little gas reverts, a wrong proof is false.
//!
//! Needs anvil and node + solcjs (`scripts/bootstrap-node.sh`).
#![allow(clippy::print_stderr)]

use std::path::PathBuf;
use std::str::FromStr;
use vouch_chain::alloy::contract::RawCallBuilder;
use vouch_chain::alloy::network::TransactionBuilder;
use vouch_chain::alloy::primitives::{Address, B256, Bytes, I256, U256};
use vouch_chain::alloy::providers::Provider;
use vouch_chain::alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use vouch_chain::alloy::signers::local::PrivateKeySigner;
use vouch_chain::alloy::sol_types::SolCall;
use vouch_chain::bindings::lending_risk_gate::LendingRiskGate;
use vouch_chain::system::{Callback, Mode, Request};
use vouch_chain::zk::IVouchZkVerifier;
use vouch_chain::{Client, DeployConfig, Devnet, DevnetConfig, Error, System, TOKEN};
use vouch_cli::chain_args::{ChainArgs, DataDirArgs};
use vouch_cli::cmd::receipt::{self, ReceiptCmd, VerifyArgs};
use vouch_engine::Tensor;
use vouch_model::Package;

/// anvil's well-known dev accounts (public test keys): 0 deployer/model owner, 1 provider,
/// 2 requester.
const DEV_KEYS: [&str; 3] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture() -> (Package, Vec<Tensor>) {
    let dir = repo().join("testdata/models/mlp_10_20_2");
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let cal: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("calibration.json")).unwrap()).unwrap();
    let pkg = vouch_cli::cmd::model_import::import_bytes(&onnx, &cal, None, "mlp_10_20_2").unwrap();
    let mut input: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    input["input"].as_array_mut().unwrap().truncate(1);
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let floats = vouch_quant::json::inputs_from_json(&input, &names).unwrap();
    let inputs = vouch_quant::quantize_inputs(&pkg, &floats);
    (pkg, inputs)
}

async fn as_(url: &str, dep: &vouch_chain::Deployment, i: usize) -> System {
    let c = Client::connect(url, Some(PrivateKeySigner::from_str(DEV_KEYS[i]).unwrap()))
        .await
        .unwrap();
    System::new(c, dep.clone()).unwrap()
}

/// A two-worker runtime for a test's chain calls.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// anvil (port 0) with the system deployed by dev key 0 with the default parameters: the
/// devnet (anvil stops when it drops), the key's client and the system it signs for.
async fn deployed() -> (Devnet, Client, System) {
    let devnet = Devnet::spawn(&DevnetConfig::default()).await.unwrap();
    let c = Client::connect(
        &devnet.url(),
        Some(PrivateKeySigner::from_str(DEV_KEYS[0]).unwrap()),
    )
    .await
    .unwrap();
    let dep = vouch_chain::deploy(&c, &DeployConfig::default())
        .await
        .unwrap();
    let sys = System::new(c.clone(), dep).unwrap();
    (devnet, c, sys)
}

fn rejected<T: std::fmt::Debug>(r: vouch_chain::Result<T>) -> String {
    match r {
        Err(Error::Reverted { reason, .. }) => reason,
        other => panic!("expected a revert, got {other:?}"),
    }
}

struct Done {
    _devnet: Devnet,
    url: String,
    task: U256,
    keys: PathBuf,
    dep: vouch_chain::Deployment,
}

async fn settle(pkg: &Package, inputs: &[Tensor], work: &std::path::Path) -> Done {
    let devnet = Devnet::spawn(&DevnetConfig::default()).await.unwrap();
    let url = devnet.url();
    let owner_client =
        Client::connect(&url, Some(PrivateKeySigner::from_str(DEV_KEYS[0]).unwrap()))
            .await
            .unwrap();
    let cfg = DeployConfig {
        audit_bps: 0,
        ..DeployConfig::default()
    };
    let dep = vouch_chain::deploy(&owner_client, &cfg).await.unwrap();
    let owner = System::new(owner_client, dep.clone()).unwrap();

    // setup, export, compile, deploy
    let t = std::time::Instant::now();
    let (verifier, keys) =
        vouch_localnet::zk_setup::setup_and_deploy_zk(&owner, pkg, work, |s| eprintln!("{s}"))
            .await
            .unwrap();
    eprintln!(
        "setup_and_deploy_zk(mlp_10_20_2): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let keys_bytes = std::fs::read(&keys).unwrap();
    let vk_hash = B256::from(vouch_zk::files::read_keys_vk(&keys_bytes).unwrap().0.hash());

    // publish with the verifier (checks weights root and vk hash)
    let m = vouch_chain::graph::commitments_of(&pkg.to_bytes(), pkg);
    let mut other = m.clone();
    other.weights_root = B256::repeat_byte(7);
    assert!(
        owner
            .publish_with_verifier(&other, verifier, Some(vk_hash))
            .await
            .is_err()
    );
    let (p, info) = owner
        .publish_with_verifier(&m, verifier, Some(vk_hash))
        .await
        .unwrap();
    assert_eq!(info.vk_hash, vk_hash);
    assert_eq!(
        owner.zk_verifier_of(p.model_id, p.version).await.unwrap(),
        verifier
    );

    // a zk request with the Poseidon input commitment
    let requester = as_(&url, &dep, 2).await;
    let provider = as_(&url, &dep, 1).await;
    owner
        .transfer(requester.client().from().unwrap(), U256::from(100 * TOKEN))
        .await
        .unwrap();
    // the consumer: a risk gate on the output element of largest magnitude, approving a
    // negative score, so that both the decision and the delivered score say which values came
    let expected = vouch_engine::Engine::new(pkg, vouch_engine::Options::default())
        .unwrap()
        .run(inputs.to_vec())
        .unwrap();
    let (idx, value) = expected.outputs[0]
        .data
        .iter()
        .copied()
        .enumerate()
        .max_by_key(|(_, v)| v.unsigned_abs())
        .unwrap();
    let score = f64::from(value) * m.outputs[0].scale();
    assert_ne!(value, 0, "a score that can tell the values apart");
    let line = U256::from(1_000 * TOKEN);
    let gate = LendingRiskGate::deploy(
        owner.client().provider().clone(),
        dep.contracts.task_manager,
        p.model_id,
        p.version as u16,
        U256::ZERO,
        U256::from(idx),
        I256::ZERO,
        line,
    )
    .await
    .unwrap();
    let ic = vouch_zk_prover::task::input_commitment(pkg, inputs).unwrap();
    let inline: Vec<u8> = inputs
        .iter()
        .flat_map(|t| t.data.iter().flat_map(|v| v.to_be_bytes()))
        .collect();
    let task = requester
        .request(&Request {
            model_id: p.model_id,
            version: p.version as u16,
            mode: Mode::Zk,
            fee: 2 * TOKEN,
            deadline_secs: 3600,
            input_commitment: B256::from(ic),
            rows: 1,
            input_cid: String::new(),
            inline_input: inline,
            callback: Some(Callback {
                target: *gate.address(),
                gas: 200_000,
            }),
        })
        .await
        .unwrap();

    // prove
    let t = std::time::Instant::now();
    let s = vouch_zk_prover::task::prove(pkg, &keys_bytes, inputs.to_vec()).unwrap();
    eprintln!("prove(mlp_10_20_2): {:.2} s", t.elapsed().as_secs_f64());
    assert_eq!(s.input_commitment, ic);
    let exec = vouch_engine::Engine::new(pkg, vouch_engine::Options::default())
        .unwrap()
        .run(inputs.to_vec())
        .unwrap();
    assert_eq!(s.output_commitment, exec.output_commitment());

    // a wrong output commitment and a tampered proof are rejected on-chain
    let mut wrong = s.output_commitment;
    wrong[31] ^= 1;
    let why = rejected(
        provider
            .submit_zk(task, B256::from(wrong), Bytes::from(s.calldata.clone()))
            .await,
    );
    assert!(why.contains("ProofRejected"), "{why}");
    let mut tampered = s.calldata.clone();
    tampered[40] ^= 1; // inside A.y
    let why = rejected(
        provider
            .submit_zk(task, B256::from(s.output_commitment), Bytes::from(tampered))
            .await,
    );
    assert!(why.contains("ProofRejected"), "{why}");
    let mut tampered = s.calldata.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1; // a claimed output
    let why = rejected(
        provider
            .submit_zk(task, B256::from(s.output_commitment), Bytes::from(tampered))
            .await,
    );
    assert!(why.contains("ProofRejected"), "{why}");

    // the honest proof settles: finalized and paid; the transaction paid for the pairing
    let receipt = provider
        .submit_zk(
            task,
            B256::from(s.output_commitment),
            Bytes::from(s.calldata.clone()),
        )
        .await
        .unwrap();
    assert!(
        receipt.gas_used > 21_000 + 181_000,
        "submitZk gasUsed {}",
        receipt.gas_used
    );
    eprintln!("submitZk(mlp_10_20_2): gasUsed {}", receipt.gas_used);
    let t = provider.task(task).await.unwrap();
    assert_eq!(t.status, 4, "finalized");
    assert_eq!(t.output_commitment, B256::from(s.output_commitment));
    assert_eq!(
        t.trace_root,
        vouch_chain::alloy::primitives::keccak256(&s.calldata)
    );
    // the proof's values reached the gate in the same transaction, which decided on them
    assert_eq!(t.flags & 16, 0, "the callback ran");
    let wad = receipt
        .decoded_log::<LendingRiskGate::CreditApproved>()
        .map(|l| l.data.scoreWad)
        .or_else(|| {
            receipt
                .decoded_log::<LendingRiskGate::CreditDenied>()
                .map(|l| l.data.scoreWad)
        })
        .expect("the gate decided in the settling transaction");
    let delivered: f64 = wad.to_string().parse::<f64>().unwrap() / 1e18;
    assert!(
        (delivered - score).abs() <= 1e-9 * score.abs().max(1.0),
        "the gate read {delivered}, the engine's score is {score}"
    );
    let granted = owner
        .client()
        .call(
            "creditLineOf",
            gate.creditLineOf(requester.client().from().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        granted,
        if score < 0.0 { line } else { U256::ZERO },
        "score {score}"
    );
    eprintln!("zk consumer: score {score}, credit line {granted}");
    let paid = provider
        .credits(provider.client().from().unwrap())
        .await
        .unwrap();
    assert!(paid > U256::ZERO, "provider credited");
    Done {
        _devnet: devnet,
        url,
        task,
        keys,
        dep,
    }
}

fn verify_args(d: &Done, data_dir: &std::path::Path, package: PathBuf) -> ReceiptCmd {
    ReceiptCmd::Verify(VerifyArgs {
        task: d.task,
        package: Some(package),
        keys: Some(d.keys.clone()),
        chain: ChainArgs {
            dirs: DataDirArgs {
                data_dir: data_dir.to_path_buf(),
            },
            rpc_url: d.url.clone(),
            key: None,
            password_file: None,
        },
    })
}

#[test]
fn zk_task_settles_and_its_receipt_verifies() {
    let (pkg, inputs) = fixture();
    let tmp = std::env::temp_dir().join(format!("vouch-zk-chain-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let rt = runtime();
    let d = rt.block_on(settle(&pkg, &inputs, &tmp.join("zk")));
    let data_dir = tmp.join("data");
    d.dep.save(&data_dir).unwrap();
    let pkg_path = tmp.join("mlp.vpkg");
    std::fs::write(&pkg_path, pkg.to_bytes()).unwrap();

    // not attested yet
    let e = receipt::run(&verify_args(&d, &data_dir, pkg_path.clone())).unwrap_err();
    assert!(e.to_string().contains("checks failed"), "{e}");

    // batch attestation
    rt.block_on(async {
        as_(&d.url, &d.dep, 2).await.flush_receipts().await.unwrap();
    });
    receipt::run(&verify_args(&d, &data_dir, pkg_path.clone())).unwrap();

    // a package with other weights: re-execution (and the CID) disagree
    let mut bad = pkg.clone();
    for c in &mut bad.consts {
        if c.name.contains("bias") || c.data.len() <= 2 {
            for v in &mut c.data {
                *v = v.wrapping_add(1000);
            }
        }
    }
    let bad_path = tmp.join("bad.vpkg");
    std::fs::write(&bad_path, bad.to_bytes()).unwrap();
    let e = receipt::run(&verify_args(&d, &data_dir, bad_path)).unwrap_err();
    assert!(e.to_string().contains("checks failed"), "{e}");

    // per-task attestation
    rt.block_on(async {
        as_(&d.url, &d.dep, 2)
            .await
            .attest_receipt(d.task)
            .await
            .unwrap();
    });
    receipt::run(&verify_args(&d, &data_dir, pkg_path)).unwrap();
    drop(d);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// A call of `data` on `to` from `c`'s account.
fn tx_to(c: &Client, to: Address, data: &[u8]) -> TransactionRequest {
    TransactionRequest::default()
        .with_from(c.from().unwrap())
        .with_to(to)
        .with_input(data.to_vec())
}

/// Sends `data` to `to` with gas limit `gas`; returns the receipt and the top call's return or
/// revert data in that transaction (anvil's `debug_traceTransaction`, `callTracer`).
async fn send_at(c: &Client, to: Address, data: &[u8], gas: u64) -> (TransactionReceipt, Bytes) {
    let receipt = c
        .provider()
        .send_transaction(tx_to(c, to, data).with_gas_limit(gas))
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let trace: serde_json::Value = c
        .provider()
        .raw_request(
            "debug_traceTransaction".into(),
            (
                receipt.transaction_hash,
                serde_json::json!({"tracer": "callTracer"}),
            ),
        )
        .await
        .unwrap();
    let output = trace["output"].as_str().unwrap_or("0x").parse().unwrap();
    (receipt, output)
}

/// `eth_call` of `data` at gas limit `gas`: the return data, or the revert decoded.
async fn call_at(c: &Client, to: Address, data: &[u8], gas: u64) -> Result<Bytes, String> {
    c.provider()
        .call(tx_to(c, to, data).with_gas_limit(gas))
        .await
        .map_err(|e| {
            e.as_error_resp()
                .and_then(|r| r.as_revert_data())
                .map_or_else(|| e.to_string(), |d| vouch_chain::revert::decode(&d))
        })
}

fn returned_true(out: &[u8]) -> bool {
    IVouchZkVerifier::verifyProofCall::abi_decode_returns(out).unwrap()
}

/// `eth_estimateGas` of `verifyProof` on a valid proof is a gas limit at which it verifies: the
/// transaction sent with exactly that limit succeeds and its call returned true. Too little gas
/// for the ecPairing precompile (45,000 + 34,000 per pair, 4 pairs: 181,000) reverts the
/// transaction with `PrecompileFailed(8)` instead of returning false, and a wrong proof with
/// ample gas returns false after paying for the pairing. On anvil pinned to cancun, with the
/// committed `mlp_10_20_2` verifier and proof.
#[test]
fn verifier_estimate_verifies_and_too_little_gas_reverts() {
    const PAIRING_GAS: u64 = 45_000 + 4 * 34_000;
    let rt = runtime();
    rt.block_on(async {
        let devnet = Devnet::spawn(&DevnetConfig {
            hardfork: Some("cancun".to_owned()),
            ..DevnetConfig::default()
        })
        .await
        .unwrap();
        let c = Client::connect(
            &devnet.url(),
            Some(PrivateKeySigner::from_str(DEV_KEYS[0]).unwrap()),
        )
        .await
        .unwrap();
        let src = std::fs::read_to_string(
            repo().join("contracts/src/verifiers/VouchZkVerifierMlp10.sol"),
        )
        .unwrap();
        let code = vouch_chain::zk::compile_solidity(&src, "VouchZkVerifierMlp10").unwrap();
        let deployment = RawCallBuilder::new_raw_deploy(c.provider(), code);
        let verifier = c
            .send("deploy verifier", deployment)
            .await
            .unwrap()
            .contract_address
            .unwrap();
        let weights_root = IVouchZkVerifier::new(verifier, c.provider())
            .WEIGHTS_ROOT()
            .call()
            .await
            .unwrap();
        let fx: serde_json::Value = serde_json::from_slice(
            &std::fs::read(repo().join("testdata/proofs/v3/mlp_10_20_2.calldata.json")).unwrap(),
        )
        .unwrap();
        let field = |k: &str| fx[k].as_str().unwrap().to_owned();
        let input = B256::from_str(&field("input_commitment")).unwrap();
        let encode = |input: B256| {
            IVouchZkVerifier::verifyProofCall {
                weightsRoot: weights_root,
                graphRoot: B256::ZERO,
                inputCommitment: input,
                outputCommitment: B256::from_str(&field("output_commitment")).unwrap(),
                proof: Bytes::from_str(&field("proof")).unwrap(),
            }
            .abi_encode()
        };
        let valid = encode(input);

        // the estimate is a limit at which the proof verifies
        let estimate = c
            .provider()
            .estimate_gas(tx_to(&c, verifier, &valid))
            .await
            .unwrap();
        let (receipt, out) = send_at(&c, verifier, &valid, estimate).await;
        assert!(receipt.status(), "a transaction at the estimate succeeds");
        assert!(returned_true(&out), "and its verifyProof returned true");
        assert!(
            receipt.gas_used > 21_000 + PAIRING_GAS,
            "gasUsed {} pays for the pairing",
            receipt.gas_used
        );
        let out = call_at(&c, verifier, &valid, estimate).await.unwrap();
        assert!(returned_true(&out), "eth_call at the estimate returns true");
        eprintln!(
            "verifyProof(mlp_10_20_2, v1 fixture): estimate {estimate}, gasUsed {}",
            receipt.gas_used
        );

        // too little gas for the pairing: a revert that says so, never false
        let short = 150_000;
        let (receipt, out) = send_at(&c, verifier, &valid, short).await;
        assert!(!receipt.status(), "too little gas reverts");
        let why = vouch_chain::revert::decode(&out);
        assert_eq!(
            why, "PrecompileFailed(precompile: 0x0000000000000000000000000000000000000008)",
            "the reverted transaction names the pairing precompile"
        );
        assert_eq!(call_at(&c, verifier, &valid, short).await, Err(why));

        // a wrong proof (another input commitment) with ample gas: false, after the pairing
        let other = B256::from(U256::from_be_bytes(input.0) ^ U256::from(1));
        let (receipt, out) = send_at(&c, verifier, &encode(other), 1_000_000).await;
        assert!(receipt.status(), "a wrong proof does not revert");
        assert!(!returned_true(&out), "a wrong proof returns false");
        assert!(
            receipt.gas_used > 21_000 + PAIRING_GAS,
            "the pairing ran: gasUsed {}",
            receipt.gas_used
        );
    });
}

/// The exported verifier of a model with two outputs, one longer than a commitment word (the
/// digits logistic regression: `label` 1 value, `probabilities` 10), set up locally, deployed on
/// anvil and called with `eth_call`: the proof's values open the output commitment the engine
/// computes (the assembly commitment agrees with `docs/semantics.md` section 6 across tensors
/// and words) and verify; a value changed with its commitment recomputed, a commitment that
/// the values do not open, and every non-canonical blob (one value fewer, a trailing byte,
/// another head offset, a value that is not a sign-extended `int32`) are false.
#[test]
fn a_two_output_verifier_opens_every_value() {
    let (_, pkg) = vouch_testkit::fixture("digits_logreg", None);
    let mut input: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("testdata/models/digits_logreg/input.json")).unwrap(),
    )
    .unwrap();
    input["input"].as_array_mut().unwrap().truncate(1);
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let floats = vouch_quant::json::inputs_from_json(&input, &names).unwrap();
    let inputs = vouch_quant::quantize_inputs(&pkg, &floats);
    let work = tempfile::tempdir().unwrap();
    let rt = runtime();
    rt.block_on(async {
        let (_devnet, c, owner) = deployed().await;
        let (verifier, keys) =
            vouch_localnet::zk_setup::setup_and_deploy_zk(&owner, &pkg, work.path(), |s| {
                eprintln!("{s}")
            })
            .await
            .unwrap();
        let s = vouch_zk_prover::task::prove(&pkg, &std::fs::read(keys).unwrap(), inputs).unwrap();
        let sizes: Vec<usize> = s.file.outputs.iter().map(|t| t.data.len()).collect();
        assert_eq!(sizes, [1, 10], "label and probabilities");
        let weights_root = B256::from(pkg.weights_root());
        let verify = |output: B256, proof: Vec<u8>| {
            let data = IVouchZkVerifier::verifyProofCall {
                weightsRoot: weights_root,
                graphRoot: B256::ZERO,
                inputCommitment: B256::from(s.input_commitment),
                outputCommitment: output,
                proof: Bytes::from(proof),
            }
            .abi_encode();
            let c = c.clone();
            async move { returned_true(&call_at(&c, verifier, &data, 5_000_000).await.unwrap()) }
        };
        let output = B256::from(s.output_commitment);
        assert!(
            verify(output, s.calldata.clone()).await,
            "the proof verifies"
        );

        // the last probability changed, its commitment recomputed: opens, does not verify
        let mut values: Vec<i32> = s.file.flat_outputs();
        values[10] += 1;
        let changed = vouch_primitives::list_commitment(&[
            vouch_primitives::tensor_commitment(&values[..1]),
            vouch_primitives::tensor_commitment(&values[1..]),
        ]);
        let blob = vouch_zk::solidity::calldata_blob(&s.file.proof.clone(), &values);
        assert!(!verify(B256::from(changed), blob).await, "changed value");
        assert!(
            !verify(B256::from(changed), s.calldata.clone()).await,
            "a commitment the values do not open"
        );

        // non-canonical blobs
        let n = s.calldata.len();
        let word = |b: &mut Vec<u8>, at: usize, v: u64| {
            b[at..at + 32].fill(0);
            b[at + 24..at + 32].copy_from_slice(&v.to_be_bytes());
        };
        let mut short = s.calldata[..n - 32].to_vec();
        word(&mut short, 288, 10);
        let mut trailing = s.calldata.clone();
        trailing.push(0);
        let mut moved = s.calldata[..288].to_vec();
        moved.extend_from_slice(&[0u8; 32]);
        moved.extend_from_slice(&s.calldata[288..]);
        word(&mut moved, 256, 320);
        let mut unextended = s.calldata.clone();
        let v = 320 + 32 * values.iter().position(|&v| v >= 0).unwrap();
        unextended[v..v + 28].fill(0xff);
        for (what, blob) in [
            ("one value fewer", short),
            ("a trailing byte", trailing),
            ("head offset 320", moved),
            ("a value not sign-extended", unextended),
        ] {
            assert!(!verify(output, blob).await, "{what}");
        }
    });
}

/// Times [`vouch_localnet::zk_setup::setup_and_deploy_zk`] on the demo model (digits MLP):
/// `cargo test -p vouch-cli --test zk_chain -- --ignored --nocapture`.
#[test]
#[ignore = "timing of the demo model's zk setup (run explicitly)"]
fn digits_setup_and_deploy_time() {
    let dir = repo().join("testdata/models/digits_mlp");
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let cal: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("calibration.json")).unwrap()).unwrap();
    let pkg = vouch_cli::cmd::model_import::import_bytes(
        &onnx,
        &cal,
        Some(vec!["probabilities".to_owned()]),
        "digits_mlp",
    )
    .unwrap();
    let tmp = std::env::temp_dir().join(format!("vouch-zk-digits-{}", std::process::id()));
    let rt = runtime();
    rt.block_on(async {
        let (_devnet, _, sys) = deployed().await;
        let t = std::time::Instant::now();
        vouch_localnet::zk_setup::setup_and_deploy_zk(&sys, &pkg, &tmp, |s| eprintln!("{s}"))
            .await
            .unwrap();
        eprintln!(
            "setup_and_deploy_zk(digits_mlp), fresh: {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let t = std::time::Instant::now();
        vouch_localnet::zk_setup::setup_and_deploy_zk(&sys, &pkg, &tmp, |s| eprintln!("{s}"))
            .await
            .unwrap();
        eprintln!(
            "setup_and_deploy_zk(digits_mlp), keys reused: {:.1} s",
            t.elapsed().as_secs_f64()
        );
    });
    let _ = std::fs::remove_dir_all(&tmp);
}
