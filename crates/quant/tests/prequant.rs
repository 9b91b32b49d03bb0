//! Models quantized by onnxruntime's own tools (`testdata/models/pq_*`, written by
//! `testdata/models/prequant.py`): each is imported, quantized at 16 bits, run by the integer
//! engine on 1 and 2 threads (bit for bit the same), and every output compared with
//! onnxruntime's output of the *quantized* model on the held-out rows.
//!
//! The bounds are the measured errors with headroom (the largest `|vouch - onnxruntime| /
//! max(1, |onnxruntime|)`), for the float reference of the imported graph and for the integer
//! engine; what they hold is `docs/semantics.md`, "Pre-quantized models":
//! - the float reference of the static forms is onnxruntime's quantized model to `f32`
//!   rounding (measured 4.7e-8 to 5.6e-8; bound 1e-6);
//! - QDQ and QOperator (`quantize_static`): weights and biases folded exactly; each
//!   activation quantization is its float meaning (`round` to the model's grid, `clip`) carried
//!   at vouch's 16-bit scales, so a value near a rounding tie may land one model step away
//!   from onnxruntime's, and that step propagates;
//! - dynamic (`quantize_dynamic`): the float `Conv`/`Linear`/`LSTM` by the dequantized
//!   weights; onnxruntime's 8-bit rounding of each activation is not reproduced, so the error
//!   is about that rounding's.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

mod common;

use serde_json::Value;

fn flat(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        _ => panic!("not a number"),
    }
}

/// The largest error of the imported float graph (the float reference, before any integer)
/// against onnxruntime's outputs of the quantized model.
fn float_error(model: &str) -> f64 {
    let d = common::dir(model);
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(f)).unwrap()).unwrap()
    };
    let graph = vouch_onnx::import(
        &std::fs::read(d.join("model.onnx")).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let inputs = vouch_quant::calibration_from_json(&graph, &read("input.json")).unwrap();
    let values = vouch_quant::float::run(&graph, inputs).unwrap();
    let expected = read("expected.json");
    let mut err = 0.0f64;
    for &v in &graph.outputs {
        let o = &values[v];
        let mut want = Vec::new();
        flat(&expected[&graph.values[v].name], &mut want);
        assert_eq!(o.data.len(), want.len());
        for (a, b) in o.data.iter().zip(&want) {
            err = err.max((f64::from(*a) - b).abs() / b.abs().max(1.0));
        }
    }
    err
}

/// Imports, runs and compares `model`: the float reference's error must be at most `float`,
/// the integer engine's at most `bound`.
fn check(model: &str, float: f64, bound: f64) {
    let f = float_error(model);
    let m = common::measure(model);
    println!(
        "{model}: {} held-out rows, max error: float reference {f:.3e} (bound {float:.0e}), \
         integer engine {:.3e} (bound {bound:.0e})",
        m.rows, m.rel_err
    );
    assert!(
        f <= float,
        "{model}: float reference error {f} above {float}"
    );
    assert!(
        m.rel_err <= bound,
        "{model}: error {} above {bound}",
        m.rel_err
    );
}

#[test]
fn qdq_lenet_matches_onnxruntime() {
    check("pq_lenet_qdq", 1e-6, 0.5);
}

#[test]
fn qoperator_lenet_matches_onnxruntime() {
    check("pq_lenet_qop", 1e-6, 0.5);
}

#[test]
fn qoperator_matmul_lenet_matches_onnxruntime() {
    check("pq_lenet_qop_matmul", 1e-6, 0.5);
}

#[test]
fn dynamic_lenet_matches_onnxruntime() {
    check("pq_lenet_dyn", 0.5, 0.5);
}

#[test]
fn dynamic_lstm_matches_onnxruntime() {
    check("pq_vad_lstm_dyn", 0.02, 0.02);
}

#[test]
fn the_fixtures_at_8_bits() {
    // the 256-entry tables and 8-bit activations: the model's own grid is about as fine as
    // vouch's, so a rounding step lost is a larger share of the output
    for (model, bound) in [
        ("pq_lenet_qdq", 1.5),
        ("pq_lenet_qop", 1.0),
        ("pq_lenet_dyn", 1.0),
        ("pq_vad_lstm_dyn", 0.25),
    ] {
        let m = common::measure_at(model, vouch_quant::Precision::Int8);
        println!(
            "{model} at 8 bits: max error {:.3e} (bound {bound})",
            m.rel_err
        );
        assert!(
            m.rel_err <= bound,
            "{model}: error {} above {bound}",
            m.rel_err
        );
    }
}
