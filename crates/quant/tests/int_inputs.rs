//! Exact integer inputs end to end (`testdata/models/int_inputs`): an `int64` and a `bool`
//! graph input are read at scale 1 in the smallest kind that holds their range, the sample-rate
//! input is bound at import (`ImportOptions::consts`) so its `If` folds, the integer engine's
//! outputs agree with onnxruntime's, and the request codec refuses a non-integer or an
//! out-of-range value naming the input, never rounding it.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use vouch_engine::{Engine, Options};
use vouch_model::{Kind, Package};
use vouch_quant::Precision;
use vouch_task::codec;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/models/int_inputs")
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

fn opts(sr: Option<f64>) -> vouch_onnx::ImportOptions {
    vouch_onnx::ImportOptions {
        consts: sr
            .map(|v| [("sr".to_owned(), vec![v])].into_iter().collect())
            .unwrap_or_default(),
        ..Default::default()
    }
}

fn import(precision: Precision) -> Package {
    let onnx = std::fs::read(dir().join("model.onnx")).unwrap();
    let graph = vouch_onnx::import(&onnx, &opts(Some(16000.0))).unwrap();
    let names: Vec<&str> = graph
        .inputs
        .iter()
        .map(|&v| graph.values[v].name.as_str())
        .collect();
    assert_eq!(names, ["pixels", "inverted"]);
    let cal = codec::json::inputs_from_json(&read_json("calibration.json"), &names).unwrap();
    vouch_quant::import_at(&graph, cal, "int_inputs", [0; 32], precision, |_| {}).unwrap()
}

/// The largest difference between the engine's dequantized outputs on `input.json` and
/// onnxruntime's (`expected.json`), over the largest expected magnitude.
fn relative_error(pkg: &Package) -> f64 {
    let floats = codec::package_inputs_from_json(pkg, &read_json("input.json")).unwrap();
    let q = codec::quantize_inputs(pkg, &floats);
    let out = Engine::new(pkg, Options::default())
        .unwrap()
        .run(q)
        .unwrap()
        .outputs;
    let got = codec::dequantize(pkg, 0, &out[0]);
    let want = codec::json::nested_to_tensor("logits", &read_json("expected.json")["logits"])
        .unwrap()
        .data;
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f64, |m, &w| m.max(f64::from(w).abs()));
    let err = got
        .iter()
        .zip(&want)
        .fold(0f64, |m, (&g, &w)| m.max((g - f64::from(w)).abs()));
    err / scale
}

#[test]
fn integer_inputs_are_read_exactly_and_agree_with_onnxruntime() {
    for (precision, kind, bound) in [
        (Precision::Int16, Kind::Act16, 1e-3),
        (Precision::Int8, Kind::Act8, 5e-2),
    ] {
        let pkg = import(precision);
        for spec in &pkg.inputs {
            let info = &pkg.values[spec.value as usize];
            assert_eq!(info.scale, 1.0, "{}", spec.name);
            assert_eq!(info.kind, kind, "{}", spec.name);
            assert!(spec.feature_scales.is_empty());
        }
        // int64 pixels: calibrated up to 16, so act8's range; bool: its type's range
        assert_eq!(pkg.inputs[0].integer, Some((-128, 127)));
        assert_eq!(pkg.inputs[1].integer, Some((0, 1)));
        let e = relative_error(&pkg);
        println!("{precision:?}: largest error {e:.2e} of the largest logit");
        assert!(e < bound, "{precision:?}: {e}");
        // the package round-trips through its bytes with the ranges
        let back = Package::from_bytes(&pkg.to_bytes()).unwrap();
        assert_eq!(back, pkg);
    }
}

#[test]
fn the_codec_refuses_non_integers_and_values_out_of_range_naming_the_input() {
    let pkg = import(Precision::Int16);
    let mut input = read_json("input.json");
    // the integers quantize to themselves
    let floats = codec::package_inputs_from_json(&pkg, &input).unwrap();
    let q = codec::quantize_inputs(&pkg, &floats);
    let want: Vec<i32> = floats[0].data.iter().map(|&v| v as i32).collect();
    assert_eq!(q[0].data, want);
    input["pixels"][0][3] = json!(2.5);
    let e = codec::package_inputs_from_json(&pkg, &input).unwrap_err();
    assert_eq!(
        e.to_string(),
        "input \"pixels\": element 3 (2.5) is not an integer: an integer input takes the \
         integers -128 to 127"
    );
    // a fraction f32 would round away is refused too (checked as written)
    input["pixels"][0][3] = json!(2.000_000_01);
    assert!(codec::package_inputs_from_json(&pkg, &input).is_err());
    input["pixels"][0][3] = json!(3);
    input["inverted"][1][0] = json!(2);
    let e = codec::package_inputs_from_json(&pkg, &input).unwrap_err();
    assert_eq!(
        e.to_string(),
        "input \"inverted\": element 1 (2) is outside the input's range: an integer input \
         takes the integers 0 to 1"
    );
    input["inverted"][1][0] = json!(1);
    input["pixels"][1][0] = json!(300);
    let e = codec::package_inputs_from_json(&pkg, &input).unwrap_err();
    assert!(e.to_string().contains("element 64 (300) is outside"), "{e}");
    // the same check on tensors built otherwise
    let mut floats = floats;
    floats[1].data[0] = 0.5;
    let e = codec::check_integer_inputs(&pkg, &floats).unwrap_err();
    assert!(
        e.to_string().starts_with("input \"inverted\": element 0"),
        "{e}"
    );
}

#[test]
fn calibration_values_must_be_integers_of_the_inputs_type() {
    let onnx = std::fs::read(dir().join("model.onnx")).unwrap();
    let graph = vouch_onnx::import(&onnx, &opts(Some(8000.0))).unwrap();
    let mut cal = read_json("calibration.json");
    cal["inverted"][2][0] = json!(3);
    let cal = codec::json::inputs_from_json(&cal, &["pixels", "inverted"]).unwrap();
    let e = vouch_quant::import_at(&graph, cal, "m", [0; 32], Precision::Int16, |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("inverted")
            && e.contains("calibration element 2 (3) is not an integer from 0 to 1"),
        "{e}"
    );
    // unbound, the sample rate decides an If from an input: refused at the If
    let e = vouch_onnx::import(&onnx, &opts(None))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("node `gain` (If)") && e.contains("data-dependent branch"),
        "{e}"
    );
}
