//! Shared helpers: fixture models imported from ONNX, first input row quantized.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::path::PathBuf;
use vouch_engine::Tensor;
use vouch_model::Package;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Imports `testdata/models/<name>` and quantizes row `row` of its `input.json`.
pub fn fixture(name: &str, row: usize) -> (Package, Vec<Tensor>) {
    fixture_at(name, row, vouch_quant::Precision::default())
}

/// [`fixture`] at a chosen precision.
pub fn fixture_at(
    name: &str,
    row: usize,
    precision: vouch_quant::Precision,
) -> (Package, Vec<Tensor>) {
    let dir = root().join("testdata/models").join(name);
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let graph = vouch_onnx::import(&onnx, &vouch_onnx::ImportOptions::default()).unwrap();
    let cal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("calibration.json")).unwrap())
            .unwrap();
    // `null` is a missing value where the model handles them (an Imputer, tree ensembles)
    let samples = vouch_quant::calibration_from_json(&graph, &cal).unwrap();
    let pkg = vouch_quant::import_at(&graph, samples, name, [0; 32], precision, |_| {}).unwrap();
    let inp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("input.json")).unwrap()).unwrap();
    let floats = vouch_task::codec::package_inputs_from_json(&pkg, &inp).unwrap();
    let q = vouch_quant::quantize_inputs(&pkg, &floats);
    let rows = q.into_iter().map(|t| one_row(&t, row)).collect();
    (pkg, rows)
}

pub fn one_row(t: &Tensor, row: usize) -> Tensor {
    let per = t.data.len() / t.shape[0].max(1);
    let mut shape = t.shape.clone();
    shape[0] = 1;
    Tensor {
        shape,
        data: t.data[row * per..(row + 1) * per].to_vec(),
    }
}
