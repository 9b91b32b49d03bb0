//! Engine/circuit equivalence over the shared vectors and the fixture models, and negative
//! tests: a changed witness value leaves the system unsatisfied.
#![allow(clippy::print_stderr)]

mod common;

use vouch_engine::vectors::all_cases;
use vouch_zk_prover::circuit;

/// Ops with engine vectors whose circuit is a later slice: the circuit must refuse them
/// (packages holding them are refused for zk mode before a task is accepted).
const PENDING: &[&str] = &[];

#[test]
fn every_vector_case_is_satisfied_and_matches_the_committed_output() {
    let dir = common::root().join("testdata/vectors");
    let mut n = 0;
    let mut skipped = Vec::new();
    for (op, cases) in all_cases() {
        if PENDING.contains(&op) {
            for case in &cases {
                let err = circuit::build(&case.package(), case.inputs.clone()).unwrap_err();
                assert!(
                    matches!(&err, vouch_zk_prover::Error::Unsupported(m) if m.contains(op)),
                    "{}: {err}",
                    case.name
                );
            }
            continue;
        }
        let file = dir.join(format!("{}.json", op.to_lowercase()));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for case in cases {
            let pkg = case.package();
            let c = match circuit::build(&pkg, case.inputs.clone()) {
                Ok(c) => c,
                Err(vouch_zk_prover::Error::Engine(e)) => {
                    skipped.push(format!("{}: {e}", case.name));
                    continue;
                }
                Err(e) => panic!("{}: {e}", case.name),
            };
            assert_eq!(c.cs.first_unsatisfied(), None, "{}", case.name);
            let want = json["cases"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == case.name.as_str())
                .unwrap_or_else(|| panic!("{} not in {}", case.name, file.display()));
            let data: Vec<i32> = want["output"]["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap() as i32)
                .collect();
            assert_eq!(c.outputs[0].data, data, "{}", case.name);
            n += 1;
        }
    }
    assert!(n >= 30, "only {n} cases ran; skipped {skipped:?}");
    assert!(skipped.is_empty(), "engine refused: {skipped:?}");
}

#[test]
fn fixture_models_are_satisfied() {
    for name in [
        "mlp_10_20_2",
        "cnn_ops",
        "digits_mlp",
        "upsample_net",
        "gather_embed",
        "gather_argmax",
        "per_channel_cnn",
    ] {
        let (pkg, inputs) = common::fixture(name, 0);
        let c = circuit::build(&pkg, inputs).unwrap();
        assert_eq!(c.cs.first_unsatisfied(), None, "{name}");
        eprintln!(
            "{name}: {} constraints, {} variables",
            c.cs.num_constraints(),
            c.cs.num_vars()
        );
    }
}

/// Pre-quantized fixtures on the model's own grid (`vouch_quant`'s `quantize/pin.rs`):
/// requantizations with multipliers near `2^31`, per-channel weights of the model's integers,
/// `act16` tensors in an 8-bit package, `Add`s of shifts near 30.
#[test]
fn pinned_prequantized_models_are_satisfied() {
    use vouch_quant::Precision::{Int8, Int16};
    for (name, precision) in [
        ("pq_lenet_qdq", Int16),
        ("pq_lenet_qdq_sym", Int8),
        ("pq_lenet_qop_matmul", Int16),
        ("pq_lenet_qop_matmul", Int8),
    ] {
        let (pkg, inputs) = common::fixture_at(name, 0, precision);
        let c = circuit::build(&pkg, inputs).unwrap();
        assert_eq!(c.cs.first_unsatisfied(), None, "{name} at {precision:?}");
    }
}

/// The recurrent fixtures: an LSTM and a bidirectional GRU unrolled by the importer (every
/// step's `Select`, `Linear`s, gate tables, products) satisfy the circuit built from their
/// trace.
#[test]
fn recurrent_fixture_models_are_satisfied() {
    for name in ["vad_lstm", "vad_bigru"] {
        let (pkg, inputs) = common::fixture(name, 0);
        let c = circuit::build(&pkg, inputs).unwrap();
        assert_eq!(c.cs.first_unsatisfied(), None, "{name}");
        eprintln!(
            "{name}: {} nodes, {} constraints, {} variables",
            pkg.nodes.len(),
            c.cs.num_constraints(),
            c.cs.num_vars()
        );
    }
}

#[test]
#[ignore = "big models: run with --ignored (used by bench/zk)"]
fn big_fixture_models_are_satisfied() {
    for name in ["mlp_784_128_10", "lenet"] {
        let (pkg, inputs) = common::fixture(name, 0);
        let c = circuit::build(&pkg, inputs).unwrap();
        assert_eq!(c.cs.first_unsatisfied(), None, "{name}");
        eprintln!("{name}: {} constraints", c.cs.num_constraints());
    }
}

#[test]
fn a_changed_witness_value_is_rejected() {
    let (pkg, inputs) = common::fixture("mlp_10_20_2", 0);
    let c = circuit::build(&pkg, inputs).unwrap();
    let nv = c.cs.num_vars();
    // Every 7th private variable, nudged by one: some row must fail.
    let mut caught = 0;
    let mut tried = 0;
    for v in (c.cs.num_public + 1..nv).step_by(7) {
        let mut bad = c.cs.clone();
        bad.z[v] += ark_bn254::Fr::from(1u8);
        tried += 1;
        if !bad.is_satisfied() {
            caught += 1;
        }
    }
    assert_eq!(
        caught, tried,
        "every nudged variable must break a constraint"
    );
    // A changed public output limb.
    let mut bad = c.cs.clone();
    bad.z[2] += ark_bn254::Fr::from(1u8);
    assert!(!bad.is_satisfied());
}

/// The in-circuit sponge equals the native one for both widths, for messages that end before,
/// on and after a permutation boundary; changing the claimed hash breaks the system.
#[test]
fn the_poseidon_gadget_matches_the_native_sponge() {
    use ark_ff::{One, UniformRand};
    use ark_std::rand::{SeedableRng, rngs::StdRng};
    use vouch_zk::poseidon::{Width, sponge};
    use vouch_zk_prover::cs::{Cs, Lc};
    let mut rng = StdRng::seed_from_u64(3);
    for w in [Width::T3, Width::T9] {
        for len in [0, 1, w.rate() - 1, w.rate(), w.rate() + 1, 3 * w.rate() + 2] {
            let msg: Vec<vouch_zk::Fr> = (0..len).map(|_| vouch_zk::Fr::rand(&mut rng)).collect();
            let mut cs = Cs::new(1);
            let limbs: Vec<(Lc, vouch_zk::Fr)> =
                msg.iter().map(|m| (Lc::var(cs.alloc(*m)), *m)).collect();
            let tag = len as u64 | 1 << 62;
            let (lc, v) = circuit::poseidon_gadget(&mut cs, w, &limbs, tag);
            let want = sponge(w, &msg, tag);
            assert_eq!(v, want, "{w:?}, {len} elements");
            cs.set_public(0, v);
            cs.enforce_zero(lc.plus(&Lc::var(cs.public_var(0)), -1));
            assert_eq!(cs.first_unsatisfied(), None, "{w:?}, {len} elements");
            cs.set_public(0, want + vouch_zk::Fr::one());
            assert!(cs.first_unsatisfied().is_some(), "{w:?}, {len} elements");
        }
    }
}

/// Packages of semantics versions 1 and 2 committed zk inputs with vouch's earlier Poseidon:
/// neither the circuit nor the zk input commitment (what a zk task request carries) accepts
/// them, and both say to re-import; the same package at version 3 is accepted by both.
#[test]
fn zk_refuses_packages_older_than_the_standard_poseidon() {
    let (mut pkg, inputs) = common::fixture("mlp_10_20_2", 0);
    // a package without a wide bias or a per-channel node is imported at version 4 (versions 5
    // and 6 add only wide biases and per-channel multipliers)
    assert_eq!(
        pkg.semantics_version,
        vouch_semantics::WIDE_BIAS_VERSION - 1
    );
    assert!(vouch_zk_prover::task::input_commitment(&pkg, &inputs).is_ok());
    assert!(circuit::build(&pkg, inputs.clone()).is_ok());
    for old in [1, 2] {
        pkg.semantics_version = old;
        let e = vouch_zk_prover::task::input_commitment(&pkg, &inputs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("re-import"), "{e}");
        let e = circuit::build(&pkg, inputs.clone())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("re-import") && e.contains(&format!("version {old}")),
            "{e}"
        );
    }
}

/// The tree fixtures (skl2onnx exports of scikit-learn trees, forests and boosting, and the
/// unfolded categorical and set-membership splits) are satisfied on several rows; their
/// per-node constraint counts are printed.
#[test]
fn tree_fixture_models_are_satisfied() {
    for name in [
        "tree_rf_iris",
        "tree_dt_bc",
        "tree_gb_iris",
        "tree_lgb_cat_bc",
        "tree_v5_member_bc",
    ] {
        for row in [0, 1, 2] {
            let (pkg, inputs) = common::fixture(name, row);
            let c = circuit::build(&pkg, inputs).unwrap();
            assert_eq!(c.cs.first_unsatisfied(), None, "{name} row {row}");
            if row == 0 {
                eprintln!(
                    "{name}: {} constraints, {} variables, nodes {:?}",
                    c.cs.num_constraints(),
                    c.cs.num_vars(),
                    c.per_node
                );
            }
        }
    }
}

/// Every converter fixture (`testdata/models/{tree,linear,svm}_*`) builds a satisfied circuit
/// on its first held-out row whose outputs are the engine's: each one a user exports can be
/// proven. Their constraint counts are printed.
#[test]
fn every_converter_fixture_is_satisfied() {
    let names = vouch_testkit::converter_fixtures();
    assert!(names.len() >= 24, "{names:?}");
    for name in &names {
        let (pkg, inputs) = common::fixture(name, 0);
        let want = vouch_engine::Engine::new(&pkg, Default::default())
            .unwrap()
            .run(inputs.clone())
            .unwrap()
            .outputs;
        let c = circuit::build(&pkg, inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(c.cs.first_unsatisfied(), None, "{name}");
        assert_eq!(c.outputs, want, "{name}");
        eprintln!("{name}: {} constraints", c.cs.num_constraints());
    }
}

/// Soundness of the tree circuit on the shared vector cases (every mode, missing codes, each
/// aggregate): every private variable of the system nudged by one breaks a row (the segment
/// of a code, a reach flag, a leaf sum, a range bit), and so does a changed output: a wrong
/// branch, a wrong leaf or a wrong score has no satisfying witness.
#[test]
fn a_changed_tree_witness_or_output_is_rejected() {
    let groups = all_cases();
    every_nudge_breaks(&groups, "TreeEnsemble");
}

/// Soundness of the `Gather` one-hot selection on the shared cases (a constant table, a
/// computed tensor, indices past both ends and negative): every private variable nudged by one
/// breaks a row (a flag, the flags' sum or position, a clamp bit, a product), and so does a
/// changed output: no witness picks another element than the index rule names.
#[test]
fn a_changed_gather_witness_or_output_is_rejected() {
    let groups = all_cases();
    every_nudge_breaks(&groups, "Gather");
}

/// For every shared case of `op`: the honest witness satisfies the system, and each private
/// variable or output limb nudged by one breaks it.
fn every_nudge_breaks(groups: &[(&str, Vec<vouch_engine::vectors::Case>)], op: &str) {
    let (_, cases) = groups.iter().find(|(o, _)| *o == op).unwrap();
    for case in cases {
        let c = circuit::build(&case.package(), case.inputs.clone()).unwrap();
        assert!(c.cs.is_satisfied(), "{}", case.name);
        for v in c.cs.num_public + 1..c.cs.num_vars() {
            let mut bad = c.cs.clone();
            bad.z[v] += ark_bn254::Fr::from(1u8);
            assert!(!bad.is_satisfied(), "{}: variable {v}", case.name);
        }
        for limb in 1..=c.cs.num_public {
            let mut bad = c.cs.clone();
            bad.z[limb] += ark_bn254::Fr::from(1u8);
            assert!(!bad.is_satisfied(), "{}: output limb {limb}", case.name);
        }
    }
}

/// A feature code outside `[-1, 2 |T_f|]` is refused by the circuit builder as by the engine
/// (the rows that make it unprovable are tested in `circuit::tree`'s unit tests).
#[test]
fn a_tree_code_out_of_range_is_refused() {
    let groups = all_cases();
    let (_, cases) = groups.iter().find(|(op, _)| *op == "TreeEnsemble").unwrap();
    let case = &cases[0];
    let pkg = case.package();
    // feature 0 has two thresholds: codes -1..=4
    for bad in [-2, 5] {
        let mut inputs = case.inputs.clone();
        inputs[0].data[0] = bad;
        let engine = vouch_engine::Engine::new(&pkg, Default::default()).unwrap();
        assert!(engine.run(inputs.clone()).is_err(), "engine accepted {bad}");
        // a forged trace claiming the honest output for the bad code
        let exec = engine.run(case.inputs.clone()).unwrap();
        let err = circuit::build_from_trace(&pkg, &inputs, &exec.outputs, &exec.outputs)
            .unwrap_err()
            .to_string();
        assert!(err.contains("range"), "{bad}: {err}");
    }
}
