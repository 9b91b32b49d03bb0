//! What the chain test binaries share: one honest run of a fixture model on its first input
//! rows.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use vouch_chain::alloy::primitives::B256;
use vouch_chain::dispute::{Evidence, HonestTrace};
use vouch_engine::{Engine, Options};
use vouch_model::Package;

/// `pkg` run on the first `rows` rows of fixture `model`'s input (a task of `rows` rows): the
/// input commitment, the honest trace, the output commitment and the one-step evidence.
pub fn run_fixture(pkg: &Package, model: &str, rows: usize) -> (B256, HonestTrace, B256, Evidence) {
    let dir = vouch_testkit::model_dir(model);
    let mut input: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    for (_, v) in input.as_object_mut().unwrap().iter_mut() {
        v.as_array_mut().unwrap().truncate(rows);
    }
    let floats = vouch_task::codec::package_inputs_from_json(pkg, &input).unwrap();
    let inputs = vouch_quant::quantize_inputs(pkg, &floats);
    let ic = B256::from(vouch_engine::exec::commit_list(&inputs));
    let evidence = Evidence::new(pkg, inputs.iter().map(|t| t.data.clone()).collect());
    let exec = Engine::new(
        pkg,
        Options {
            threads: 1,
            trace: true,
        },
    )
    .unwrap()
    .run(inputs)
    .unwrap();
    let trace = HonestTrace {
        tensors: exec.trace.iter().map(|t| t.data.clone()).collect(),
        header: vouch_chain::graph::header_of(pkg),
    };
    assert_eq!(trace.trace_root(), B256::from(exec.trace_root()));
    assert_eq!(
        trace.output_commitment(),
        B256::from(exec.output_commitment())
    );
    (ic, trace, B256::from(exec.output_commitment()), evidence)
}
