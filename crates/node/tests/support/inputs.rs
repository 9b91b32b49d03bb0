//! The fixture input the node tests request tasks on.

use vouch_chain::alloy::primitives::B256;
use vouch_model::Package;

/// Rows `row..row + n` of the fixture input: (input commitment, inline bytes, output
/// commitment).
pub(crate) fn input_rows(pkg: &Package, row: usize, n: usize) -> (B256, Vec<u8>, B256) {
    let dir = vouch_testkit::model_dir("digits_mlp");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("input.json")).unwrap()).unwrap();
    let r = v["input"].as_array().unwrap()[row..row + n].to_vec();
    v["input"] = serde_json::Value::Array(r);
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let floats = vouch_quant::json::inputs_from_json(&v, &names).unwrap();
    let inputs = vouch_quant::quantize_inputs(pkg, &floats);
    let bytes = vouch_node::work::encode_inputs(&inputs);
    let ic = vouch_engine::exec::commit_list(&inputs);
    let out = vouch_engine::Engine::new(
        pkg,
        vouch_engine::Options {
            threads: 1,
            trace: false,
        },
    )
    .unwrap()
    .run(inputs)
    .unwrap()
    .output_commitment();
    (B256::from(ic), bytes, B256::from(out))
}
