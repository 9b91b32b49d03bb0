//! A declared input range (`ImportOptions::input_ranges`, `vouch model import --input-range`):
//! the input's scale comes from the declared domain, so a held-out value past what the
//! calibration rows reached does not clip (ddddocr `common`: held-out pixels at 0.945, the
//! calibration images' brightest at 0.796, and the first `Conv` 11% off).

mod one_node;

use vouch_engine::{Engine, Options};
use vouch_onnx::ImportOptions;
use vouch_quant::FTensor;

/// `y = Relu(x)` over `x` of `[N, 2]` (opset 13).
fn model() -> Vec<u8> {
    let dims = [-1, 2];
    one_node::graph(
        vec![one_node::node("Relu", &["x"], "y", vec![])],
        vec![],
        vec![one_node::value_info("x", 1, Some(&dims))],
        vec![one_node::value_info("y", 1, None)],
    )
}

fn rows(v: &[f32]) -> FTensor {
    FTensor {
        shape: vec![v.len() / 2, 2],
        data: v.to_vec(),
    }
}

fn opts(range: Option<(f32, f32)>) -> ImportOptions {
    ImportOptions {
        input_ranges: range.map(|r| ("x".to_owned(), r)).into_iter().collect(),
        ..Default::default()
    }
}

/// The largest error of the package imported with `range` on held-out values up to 0.95, its
/// calibration rows reaching only 0.8.
fn held_out_error(range: Option<(f32, f32)>) -> f64 {
    let g = vouch_onnx::import(&model(), &opts(range)).unwrap();
    let cal = vec![rows(&[0.8, -0.8, 0.1, 0.5])];
    let pkg = vouch_quant::import(&g, cal, "range", [0; 32], |_| {}).unwrap();
    let held: Vec<f32> = (0..=38).map(|k| 0.025 * k as f32).collect();
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(vouch_quant::quantize_inputs(&pkg, &[rows(&held)]))
        .unwrap();
    let got = vouch_quant::dequantize(&pkg, 0, &out.outputs[0]);
    held.iter()
        .zip(&got)
        .map(|(&x, &y)| (y - f64::from(x)).abs())
        .fold(0.0, f64::max)
}

#[test]
fn a_declared_range_keeps_held_out_values_past_calibration() {
    let declared = held_out_error(Some((-1.0, 1.0)));
    let calibrated = held_out_error(None);
    assert!(declared < 1e-4, "declared range: {declared}");
    assert!(
        calibrated > 0.1,
        "calibrated range clips 0.95 to 0.8: {calibrated}"
    );
}

#[test]
fn a_calibration_value_outside_the_declared_range_is_refused() {
    let g = vouch_onnx::import(&model(), &opts(Some((-0.5, 0.5)))).unwrap();
    let err = vouch_quant::import(&g, vec![rows(&[0.8, 0.1])], "range", [0; 32], |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"x\"") && err.contains("declared range"),
        "{err}"
    );
}

#[test]
fn a_range_for_a_name_that_is_no_input_is_refused() {
    let o = ImportOptions {
        input_ranges: [("z".to_owned(), (-1.0, 1.0))].into_iter().collect(),
        ..Default::default()
    };
    let err = vouch_onnx::import(&model(), &o).unwrap_err().to_string();
    assert!(err.contains("`z`") && err.contains("x"), "{err}");
}
