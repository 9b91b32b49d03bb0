//! The fixture input the node tests request tasks on.

use vouch_chain::TOKEN;
use vouch_chain::alloy::primitives::B256;
use vouch_chain::system::{Mode, Request};
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

/// A request of version 1 of `model` in `mode` on `rows` rows, input commitment `ic`, the
/// input inline: fee 1 token, deadline 600 s, no callback.
pub(crate) fn request(model: u32, mode: Mode, rows: u16, ic: B256, inline: Vec<u8>) -> Request {
    Request {
        model_id: model,
        version: 1,
        mode,
        fee: TOKEN,
        deadline_secs: 600,
        input_commitment: ic,
        rows,
        input_cid: String::new(),
        inline_input: inline,
        callback: None,
    }
}
