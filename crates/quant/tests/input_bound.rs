//! A declared input range bounds the first layer that reads the input and the elementwise ops
//! after it (`crates/quant/src/quantize/input_bound.rs`): such a value is held at its interval
//! bound, so a held-out row whose sum reaches far past the calibration rows' is represented
//! (PP-OCRv6 tiny rec: its first `Conv` at 100.9 on one held-out image, 38.4 over the
//! calibration images), and clips where the input's range is only calibrated.

#![allow(clippy::unwrap_used, missing_docs)]

mod one_node;

use prost::Message as _;
use vouch_engine::{Engine, Options};
use vouch_onnx::ImportOptions;
use vouch_onnx::proto::{GraphProto, ModelProto, OperatorSetIdProto};
use vouch_quant::FTensor;

/// `y = 0.5 · (x · W)` over `x` of `[N, 2]`, `W = [[1], [1]]`: a first layer (`MatMul` by a
/// constant) and an elementwise op after it.
fn model() -> Vec<u8> {
    let dims = [-1, 2];
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(GraphProto {
            node: vec![
                one_node::node("MatMul", &["x", "w"], "h", vec![]),
                one_node::node("Mul", &["h", "half"], "y", vec![]),
            ],
            name: "g".into(),
            initializer: vec![
                one_node::init("w", &[2, 1], &[1.0, 1.0]),
                one_node::init("half", &[], &[0.5]),
            ],
            input: vec![one_node::value_info("x", 1, Some(&dims))],
            output: vec![one_node::value_info("y", 1, None)],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn rows(v: &[f32]) -> FTensor {
    FTensor {
        shape: vec![v.len() / 2, 2],
        data: v.to_vec(),
    }
}

/// The largest error of `y` on held-out rows whose sums reach 2 (`y` = 1), the package
/// imported with `range` declared for `x` (or none) from calibration rows that reach both
/// ends of `[-1, 1]` but whose sums reach only 0.3.
fn held_out_error(range: Option<(f32, f32)>) -> f64 {
    let opts = ImportOptions {
        input_ranges: range.map(|r| ("x".to_owned(), r)).into_iter().collect(),
        ..Default::default()
    };
    let g = vouch_onnx::import(&model(), &opts).unwrap();
    let cal = vec![rows(&[1.0, -1.0, 0.2, 0.1, -0.1, -0.2])];
    let pkg = vouch_quant::import(&g, cal, "bound", [0; 32], |_| {}).unwrap();
    let held = [1.0, 1.0, -1.0, -1.0, 0.9, 0.7, 0.05, -0.3];
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(vouch_quant::quantize_inputs(&pkg, &[rows(&held)]))
        .unwrap();
    let got = vouch_quant::dequantize(&pkg, 0, &out.outputs[0]);
    held.chunks(2)
        .zip(&got)
        .map(|(x, &y)| (y - 0.5 * f64::from(x[0] + x[1])).abs())
        .fold(0.0, f64::max)
}

#[test]
fn a_first_layer_over_a_declared_input_is_held_at_its_bound() {
    let declared = held_out_error(Some((-1.0, 1.0)));
    assert!(declared < 1e-3, "declared range, bounded layer: {declared}");
}

#[test]
fn without_a_declared_range_the_first_layer_keeps_its_calibrated_range() {
    // the calibrated sums reach 0.3 (0.6 with the headroom, `y` 0.3): a sum of 2 clips
    let calibrated = held_out_error(None);
    assert!(
        calibrated > 0.5,
        "calibrated range clips y = 1: {calibrated}"
    );
}
