//! The generator of `testdata/proofs/v3/` (the on-chain verifier tests' inputs): for each MLP
//! it makes a local ptau, the keys with one contribution, a proof of row 0 of the model's
//! `input.json`, the proof file, the verifying key, the `vouch zk calldata` JSON and the
//! matching exported verifier (the contract tests import them from `contracts/src/verifiers/`;
//! regenerate both together, since the keys are fresh each time). The fixtures are `act8`
//! packages of semantics version 3 (the first whose zk statement is circomlib's Poseidon; the
//! folder is named after that version).
//!
//! `cargo test --release -p vouch-zk-prover --test fixtures -- --ignored regenerate_proof_fixtures`
//! writes into the repository; set `VOUCH_FIXTURES_OUT=DIR` to write everything under `DIR`.
//!
//! When only the Solidity template changes, `-- --ignored regenerate_verifiers` re-renders the
//! verifiers from the committed keys (`<name>.vk`), so the committed proofs stay valid;
//! `committed_verifiers_render_from_committed_keys` fails while they are stale.
#![allow(clippy::print_stderr)]

mod common;

use serde_json::json;
use std::path::PathBuf;
use vouch_primitives::hex0x;
use vouch_quant::Precision;
use vouch_zk::files::ProofFile;
use vouch_zk::groth16::VerifyingKey;
use vouch_zk::statement::{fr_to_be, input_hash_bits};
use vouch_zk_prover::{circuit, groth, phase2, ptau};

fn generate(name: &str, contract: &str, out: &(PathBuf, PathBuf)) {
    let (pkg, inputs) = common::fixture_at(name, 0, Precision::Int8);
    let c0 = circuit::build(&pkg, circuit::zero_inputs(&pkg)).unwrap();
    let log_n = groth::domain_log(&c0.cs);
    let ptau_bytes = ptau::insecure_new(log_n, &|_| {}).unwrap();
    let srs = ptau::Ptau::parse(&ptau_bytes).unwrap().srs(log_n).unwrap();
    let mut keys = phase2::Keys {
        package_cid: pkg.cid().to_bytes().to_vec(),
        pk: groth::setup(&c0.cs, &srs, &|_| {}).unwrap(),
        contributions: Vec::new(),
    };
    let initial = keys.pk.clone();
    let mut rng = rand::rngs::OsRng;
    phase2::contribute(&mut keys, &mut rng);
    phase2::verify(&keys, &initial).unwrap();
    let vk = keys.pk.vk.clone();

    let c = circuit::build(&pkg, inputs).unwrap();
    let proof = groth::prove(&keys.pk, &c.cs, &mut rng).unwrap();
    let file = ProofFile {
        vk_hash: vk.hash(),
        input_hash: input_hash_bits(pkg.input_bits(), &c.inputs).unwrap(),
        outputs: pkg
            .outputs
            .iter()
            .zip(&c.outputs)
            .map(|(o, t)| vouch_zk::TensorData {
                name: o.name.clone(),
                shape: t.shape.iter().map(|&d| d as u32).collect(),
                data: t.data.clone(),
            })
            .collect(),
        proof,
    };
    assert!(
        file.verify(&vk).unwrap(),
        "{name}: the fresh proof verifies"
    );
    let bytes = file.to_bytes();

    // As `vouch zk calldata`.
    let outs = file.flat_outputs();
    let members: Vec<_> = file
        .outputs
        .iter()
        .map(|t| vouch_primitives::tensor_commitment(&t.data))
        .collect();
    let (p, pubs) = vouch_zk::solidity::raw_args(&file.proof, &file.statement().public_inputs());
    let calldata = json!({
        "vk_hash": hex0x(&file.vk_hash),
        "input_commitment": hex0x(&fr_to_be(&file.input_hash)),
        "output_commitment": hex0x(&vouch_primitives::list_commitment(&members)),
        "outputs": outs,
        "proof": hex0x(&vouch_zk::solidity::calldata_blob(&file.proof, &outs)),
        "groth16": p,
        "publics": pubs,
    });
    let sol = render(&pkg, &vk, &file, contract);

    let (proofs, verifiers) = out;
    std::fs::create_dir_all(proofs).unwrap();
    std::fs::create_dir_all(verifiers).unwrap();
    std::fs::write(proofs.join(format!("{name}.proof")), &bytes).unwrap();
    std::fs::write(proofs.join(format!("{name}.vk")), vk.to_bytes()).unwrap();
    let text = serde_json::to_string_pretty(&calldata).unwrap() + "\n";
    std::fs::write(proofs.join(format!("{name}.calldata.json")), text).unwrap();
    std::fs::write(verifiers.join(format!("{contract}.sol")), sol).unwrap();
    eprintln!(
        "{name}: 2^{log_n}, {} constraints, proof file {} bytes -> {}",
        c.cs.num_constraints(),
        bytes.len(),
        proofs.display()
    );
}

/// As `vouch zk export-verifier`.
fn render(
    pkg: &vouch_model::Package,
    vk: &VerifyingKey,
    file: &ProofFile,
    contract: &str,
) -> String {
    let meta = vouch_zk::solidity::Meta {
        contract: contract.into(),
        model: pkg.name.clone(),
        weights_root: pkg.weights_root(),
        output_sizes: file.outputs.iter().map(|t| t.data.len()).collect(),
    };
    vouch_zk::solidity::render(vk, &meta)
}

/// The committed fixtures: (model, verifier contract).
const FIXTURES: [(&str, &str); 2] = [
    ("mlp_10_20_2", "VouchZkVerifierMlp10"),
    ("mlp_784_128_10", "VouchZkVerifierMlp784"),
];

/// Renders the verifier of a committed fixture from its committed key, after checking that
/// the committed proof verifies under that key.
fn render_committed(name: &str, contract: &str) -> String {
    let dir = common::root().join("testdata/proofs/v3");
    let vk_bytes = std::fs::read(dir.join(format!("{name}.vk"))).unwrap();
    let (vk, used) = VerifyingKey::from_bytes(&vk_bytes).unwrap();
    assert_eq!(used, vk_bytes.len(), "{name}.vk: nothing after the key");
    let file =
        ProofFile::from_bytes(&std::fs::read(dir.join(format!("{name}.proof"))).unwrap()).unwrap();
    assert_eq!(
        file.vk_hash,
        vk.hash(),
        "{name}: the proof names the committed key"
    );
    assert!(
        file.verify(&vk).unwrap(),
        "{name}: the committed proof verifies"
    );
    let (pkg, _) = common::fixture_at(name, 0, Precision::Int8);
    render(&pkg, &vk, &file, contract)
}

fn verifier_path(contract: &str) -> PathBuf {
    common::root().join(format!("contracts/src/verifiers/{contract}.sol"))
}

#[test]
fn committed_verifiers_render_from_committed_keys() {
    for (name, contract) in FIXTURES {
        let committed = std::fs::read_to_string(verifier_path(contract)).unwrap();
        assert!(
            render_committed(name, contract) == committed,
            "{contract}.sol is stale: run `cargo test --release -p vouch-zk-prover --test \
             fixtures -- --ignored regenerate_verifiers`"
        );
    }
}

#[test]
#[ignore = "re-renders contracts/src/verifiers from the committed keys (run explicitly)"]
fn regenerate_verifiers() {
    for (name, contract) in FIXTURES {
        std::fs::write(verifier_path(contract), render_committed(name, contract)).unwrap();
    }
}

#[test]
#[ignore = "regenerates testdata/proofs/v3 and contracts/src/verifiers (run explicitly)"]
fn regenerate_proof_fixtures() {
    let root = common::root();
    let out = match std::env::var_os("VOUCH_FIXTURES_OUT") {
        Some(d) => {
            let d = PathBuf::from(d);
            (d.join("proofs/v3"), d.join("verifiers"))
        }
        None => (
            root.join("testdata/proofs/v3"),
            root.join("contracts/src/verifiers"),
        ),
    };
    for (name, contract) in FIXTURES {
        generate(name, contract, &out);
    }
}
