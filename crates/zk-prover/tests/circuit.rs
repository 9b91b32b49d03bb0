//! Engine/circuit equivalence over the shared vectors and the fixture models, and negative
//! tests: a changed witness value leaves the system unsatisfied.
#![allow(clippy::print_stderr)]

mod common;

use vouch_engine::vectors::all_cases;
use vouch_zk_prover::circuit;

#[test]
fn every_vector_case_is_satisfied_and_matches_the_committed_output() {
    let dir = common::root().join("testdata/vectors");
    let mut n = 0;
    let mut skipped = Vec::new();
    for (op, cases) in all_cases() {
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
    for name in ["mlp_10_20_2", "cnn_ops", "digits_mlp"] {
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
