//! End to end: local ptau -> setup -> contributions -> verify-setup -> prove -> verify, and
//! rejections: changed output, changed input, flipped proof byte, another model's key.
#![allow(clippy::print_stderr)]

mod common;

use vouch_zk::files::ProofFile;
use vouch_zk::statement::input_hash_bits;
use vouch_zk::{Proof, files};
use vouch_zk_prover::{circuit, groth, phase2, ptau};

fn keys_for(pkg: &vouch_model::Package, ptau_bytes: &[u8]) -> phase2::Keys {
    let c0 = circuit::build(pkg, circuit::zero_inputs(pkg)).unwrap();
    let p = ptau::Ptau::parse(ptau_bytes).unwrap();
    let srs = p.srs(groth::domain_log(&c0.cs)).unwrap();
    let pk = groth::setup(&c0.cs, &srs, &|_| {}).unwrap();
    phase2::Keys {
        package_cid: pkg.cid().to_bytes().to_vec(),
        pk,
        contributions: Vec::new(),
    }
}

#[test]
fn prove_verify_and_reject_tampering() {
    let ptau_bytes = ptau::insecure_new(12, &|_| {}).unwrap();
    let (pkg, inputs) = common::fixture("mlp_10_20_2", 0);
    let c = circuit::build(&pkg, inputs.clone()).unwrap();
    eprintln!("mlp_10_20_2: {} constraints", c.cs.num_constraints());
    let mut keys = keys_for(&pkg, &ptau_bytes);
    let initial = keys.pk.clone();
    assert!(
        phase2::verify(&keys, &initial).is_err(),
        "zero contributions refused"
    );
    let mut rng = rand::rngs::OsRng;
    phase2::contribute(&mut keys, &mut rng);
    phase2::contribute(&mut keys, &mut rng);
    phase2::verify(&keys, &initial).unwrap();
    // Round trip through bytes.
    let bytes = phase2::to_bytes(&keys);
    let keys = phase2::from_bytes(&bytes).unwrap();
    phase2::verify(&keys, &initial).unwrap();
    let (vk, _) = files::read_keys_vk(&bytes).unwrap();
    // Truncated or garbled keys files are errors, never panics or huge allocations.
    for cut in [0usize, 10, 500, bytes.len() / 2, bytes.len() - 1] {
        assert!(phase2::from_bytes(&bytes[..cut]).is_err());
    }
    let mut garbled = bytes.clone();
    let at = garbled.len() / 3;
    garbled[at..at + 8].copy_from_slice(&[0xff; 8]);
    let _ = phase2::from_bytes(&garbled);
    for cut in [0usize, 9, 100, 300] {
        let _ = ProofFile::from_bytes(&vec![7u8; cut]);
    }

    // task::prove checks its own proof: keys whose proving half does not match the verifying
    // key are refused instead of yielding a proof that fails on-chain.
    let s = vouch_zk_prover::task::prove(&pkg, &bytes, inputs.clone()).unwrap();
    assert!(s.file.verify(&vk).unwrap());
    let mut mismatched = keys.clone();
    mismatched.pk.h_query.swap(0, 1);
    match vouch_zk_prover::task::prove(&pkg, &phase2::to_bytes(&mismatched), inputs.clone()) {
        Err(vouch_zk_prover::Error::SelfCheck) => {}
        other => panic!("a mismatched proving key was not caught: {other:?}"),
    }

    let proof = groth::prove(&keys.pk, &c.cs, &mut rng).unwrap();
    let file = ProofFile {
        vk_hash: vk.hash(),
        input_hash: input_hash_bits(pkg.input_bits(), &c.inputs).unwrap(),
        outputs: c
            .outputs
            .iter()
            .map(|t| vouch_zk::TensorData {
                name: "logits".into(),
                shape: t.shape.iter().map(|&d| d as u32).collect(),
                data: t.data.clone(),
            })
            .collect(),
        proof,
    };
    let enc = file.to_bytes();
    let file = ProofFile::from_bytes(&enc).unwrap();
    assert!(file.verify(&vk).unwrap(), "valid proof verifies");
    assert!(enc.len() < 512 + 200);

    // Changed output.
    let mut bad = file.clone();
    bad.outputs[0].data[0] += 1;
    assert!(!bad.verify(&vk).unwrap());
    // Changed input.
    let mut other = c.inputs.clone();
    other[0] = if other[0] == 0 { 1 } else { 0 };
    let mut bad = file.clone();
    bad.input_hash = input_hash_bits(pkg.input_bits(), &other).unwrap();
    assert!(!bad.verify(&vk).unwrap());
    // Flipped proof bytes: either undecodable or rejected.
    for i in [0usize, 40, 70, 130, 200, 250] {
        let mut b = file.proof.to_bytes();
        b[i] ^= 1;
        match Proof::from_bytes(&b) {
            Err(_) => {}
            Ok(p) => {
                let mut bad = file.clone();
                bad.proof = p;
                assert!(!bad.verify(&vk).unwrap(), "byte {i}");
            }
        }
    }
    // A wrong witness cannot be proven.
    let mut cs = c.cs.clone();
    let last = cs.z.len() - 1;
    cs.z[last] += ark_bn254::Fr::from(1u8);
    let want = cs
        .first_unsatisfied()
        .expect("the changed witness breaks a row");
    match groth::prove(&keys.pk, &cs, &mut rng) {
        Err(vouch_zk_prover::Error::Unsatisfied { row }) => assert_eq!(row, want),
        other => panic!("a wrong witness was not refused as unsatisfied: {other:?}"),
    }

    // Another model's key (same shapes, different weights) rejects the proof.
    let mut pkg2 = pkg.clone();
    let w = pkg2.consts.iter_mut().find(|c| c.data.len() > 10).unwrap();
    w.data[0] = if w.data[0] == 5 { 6 } else { 5 };
    let mut keys2 = keys_for(&pkg2, &ptau_bytes);
    phase2::contribute(&mut keys2, &mut rng);
    let vk2 = keys2.pk.vk.clone();
    assert!(file.verify(&vk2).is_err(), "the file names another key");
    let mut renamed = file.clone();
    renamed.vk_hash = vk2.hash();
    assert!(!renamed.verify(&vk2).unwrap());

    // A tampered contribution fails verify-setup.
    let mut forged = keys.clone();
    forged.pk.l_query[0] = forged.pk.l_query[1];
    assert!(phase2::verify(&forged, &initial).is_err());
}

/// A tree ensemble end to end, as `vouch zk setup`/`prove`/`verify` run it: the boosted
/// breast-cancer trees imported from ONNX, keys from a local ptau with one contribution, a
/// proof per row that verifies, and a changed score (a wrong leaf) or input (a wrong branch)
/// rejected.
#[test]
fn a_tree_ensemble_proves_and_verifies() {
    let (pkg, inputs) = common::fixture("tree_gb_bc", 0);
    let c0 = circuit::build(&pkg, circuit::zero_inputs(&pkg)).unwrap();
    let power = groth::domain_log(&c0.cs);
    eprintln!("tree_gb_bc: {} constraints", c0.cs.num_constraints());
    let ptau_bytes = ptau::insecure_new(power, &|_| {}).unwrap();
    let mut keys = keys_for(&pkg, &ptau_bytes);
    phase2::contribute(&mut keys, &mut rand::rngs::OsRng);
    let bytes = phase2::to_bytes(&keys);
    let (vk, _) = files::read_keys_vk(&bytes).unwrap();
    for row in [0, 1, 2] {
        let (_, inputs) = common::fixture("tree_gb_bc", row);
        let s = vouch_zk_prover::task::prove(&pkg, &bytes, inputs.clone()).unwrap();
        assert!(s.file.verify(&vk).unwrap(), "row {row}");
        // the proof's outputs are the engine's
        let exec = vouch_engine::Engine::new(&pkg, Default::default())
            .unwrap()
            .run(inputs)
            .unwrap();
        let scores: Vec<i32> = s.file.outputs.iter().flat_map(|t| t.data.clone()).collect();
        let want: Vec<i32> = exec.outputs.iter().flat_map(|t| t.data.clone()).collect();
        assert_eq!(scores, want, "row {row}");
        for o in 0..s.file.outputs.len() {
            let mut bad = s.file.clone();
            bad.outputs[o].data[0] += 1;
            assert!(!bad.verify(&vk).unwrap(), "row {row}, output {o} changed");
        }
    }
    // another input's commitment with this proof
    let s = vouch_zk_prover::task::prove(&pkg, &bytes, inputs.clone()).unwrap();
    let mut other = inputs[0].data.clone();
    other[0] = if other[0] == 0 { 1 } else { 0 };
    let mut bad = s.file.clone();
    bad.input_hash = input_hash_bits(pkg.input_bits(), &other).unwrap();
    assert!(!bad.verify(&vk).unwrap());
}

/// A kernel SVM end to end (`svm_sigmoid_bc`: the sigmoid kernel in two bands, each a clipped
/// `Linear` and a `2^16`-entry table, side by side in a `Concat` before the dual coefficients):
/// keys from a local ptau, a proof of a held-out row that verifies with the engine's outputs,
/// and a changed output rejected.
#[test]
fn a_kernel_svm_proves_and_verifies() {
    let (pkg, inputs) = common::fixture("svm_sigmoid_bc", 0);
    let c0 = circuit::build(&pkg, circuit::zero_inputs(&pkg)).unwrap();
    let power = groth::domain_log(&c0.cs);
    eprintln!("svm_sigmoid_bc: {} constraints", c0.cs.num_constraints());
    let ptau_bytes = ptau::insecure_new(power, &|_| {}).unwrap();
    let keys = keys_for(&pkg, &ptau_bytes);
    let bytes = phase2::to_bytes(&keys);
    let (vk, _) = files::read_keys_vk(&bytes).unwrap();
    let s = vouch_zk_prover::task::prove(&pkg, &bytes, inputs.clone()).unwrap();
    assert!(s.file.verify(&vk).unwrap());
    let exec = vouch_engine::Engine::new(&pkg, Default::default())
        .unwrap()
        .run(inputs)
        .unwrap();
    let got: Vec<i32> = s.file.outputs.iter().flat_map(|t| t.data.clone()).collect();
    let want: Vec<i32> = exec.outputs.iter().flat_map(|t| t.data.clone()).collect();
    assert_eq!(got, want);
    let mut bad = s.file.clone();
    bad.outputs[0].data[0] += 1;
    assert!(!bad.verify(&vk).unwrap());
}
