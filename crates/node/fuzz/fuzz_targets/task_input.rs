//! Any inline input a task can carry on-chain (the first two bytes are the task's row count,
//! the rest its input bytes): a provider decodes and runs it or refuses it without panicking,
//! and refuses an input of the task's size exactly when `misfit_inputs` finds the evidence the
//! chain needs to rule that the task has no answer (`docs/semantics.md` section 8.7).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vouch_node::work::{decode_inputs, execute, misfit_inputs};

fn package() -> &'static vouch_model::Package {
    static PKG: OnceLock<vouch_model::Package> = OnceLock::new();
    PKG.get_or_init(|| {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../testdata/models/mlp_10_20_2"
        );
        let onnx = std::fs::read(format!("{dir}/model.onnx")).expect("the fixture model");
        let cal: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!("{dir}/calibration.json")).expect("its calibration rows"),
        )
        .expect("calibration JSON");
        let g = vouch_onnx::import(&onnx, &Default::default()).expect("import");
        let samples = vouch_quant::calibration_from_json(&g, &cal).expect("calibration");
        vouch_quant::import(&g, samples, "fuzz", [0; 32], |_| {}).expect("quantize")
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let rows = u16::from_be_bytes([data[0], data[1]]) % 8;
    let bytes = &data[2..];
    let pkg = package();
    let Ok(inputs) = decode_inputs(pkg, bytes, rows) else {
        return;
    };
    let leaves: Vec<[u8; 32]> = inputs
        .iter()
        .map(|t| vouch_primitives::tensor_commitment(&t.data))
        .collect();
    let c = vouch_primitives::list_commitment(&leaves).into();
    let evidence = misfit_inputs(pkg, bytes, rows, c);
    match execute("fuzz", pkg, bytes, rows, Some(c)) {
        Ok(_) => assert!(evidence.is_none()),
        Err(_) => assert!(evidence.is_some()),
    }
});
