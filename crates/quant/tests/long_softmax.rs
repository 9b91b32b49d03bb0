//! A 16-bit `Softmax` over a slice longer than a `Reduce` spans (224 elements: a text
//! recognizer's character classes) is the fine form from ops the one-step verifier judges
//! (`docs/semantics.md` section 5, the long fine softmax): a tree of `Reduce max` stages, an
//! exact `Linear` sum and a reciprocal in pieces. The fixture `crnn_softmax` (1,200 classes)
//! matches onnxruntime to the fine form's accuracy, and the disputable modes accept it; at 8
//! bits it stays the `Softmax` op, which they refuse. The figures are printed by
//! `cargo test -p vouch-quant --test long_softmax -- --nocapture`.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

mod one_node;

use serde_json::Value;
use std::path::Path;
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Op, Package};
use vouch_quant::{FTensor, Precision};
use vouch_task::Mode;
use vouch_task::modes::check_mode;

const MODEL: &str = "crnn_softmax";

fn read_json(name: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(MODEL)
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn import(precision: Precision) -> Package {
    let onnx = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/models")
            .join(MODEL)
            .join("model.onnx"),
    )
    .unwrap();
    let graph = vouch_onnx::import(&onnx, &Default::default()).unwrap();
    let cal = vouch_quant::calibration_from_json(&graph, &read_json("calibration.json")).unwrap();
    vouch_quant::import_at(&graph, cal, MODEL, [0; 32], precision, |_| {}).unwrap()
}

fn run(pkg: &Package, threads: usize) -> Vec<Tensor> {
    let floats =
        vouch_task::codec::package_inputs_from_json(pkg, &read_json("input.json")).unwrap();
    let q = vouch_quant::quantize_inputs(pkg, &floats);
    let opts = Options {
        threads,
        trace: false,
    };
    Engine::new(pkg, opts).unwrap().run(q).unwrap().outputs
}

fn flat(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        _ => panic!("not a number"),
    }
}

/// The largest `|vouch - onnxruntime|` of the probabilities, and the argmax agreement of the
/// steps.
fn errors(pkg: &Package) -> (f64, f64) {
    let out = run(pkg, 2);
    assert_eq!(out, run(pkg, 1), "1 vs 2 threads");
    let got = vouch_quant::dequantize(pkg, 0, &out[0]);
    let mut want = Vec::new();
    flat(&read_json("expected.json")["probs"], &mut want);
    assert_eq!(got.len(), want.len());
    let max_err = got
        .iter()
        .zip(&want)
        .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
    let argmax = |v: &[f64]| {
        v.iter()
            .enumerate()
            .fold((0, f64::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b })
            .0
    };
    let steps: Vec<_> = got.chunks(1200).zip(want.chunks(1200)).collect();
    let same = steps.iter().filter(|(a, b)| argmax(a) == argmax(b)).count();
    (max_err, same as f64 / steps.len() as f64)
}

#[test]
fn a_long_16_bit_softmax_is_disputable_and_as_fine_as_a_short_one() {
    let pkg = import(Precision::Int16);
    assert!(
        !pkg.nodes.iter().any(|n| matches!(n.op, Op::Softmax { .. })),
        "the fine form, not the op"
    );
    let stages = pkg
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Reduce { .. }))
        .count();
    // 1200 = 200 x 6: a stage over groups of 200, then the six maxima
    assert_eq!(stages, 2, "the maximum's tree");
    assert!(
        pkg.nodes
            .iter()
            .any(|n| matches!(n.op, Op::Linear { wide: true, .. }) && n.name.ends_with("/sum_rest")),
        "the exact sum"
    );
    for mode in [Mode::Optimistic, Mode::Committee, Mode::Zk] {
        check_mode(&pkg, mode).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
    }
    let (err, agree) = errors(&pkg);
    println!(
        "{MODEL} 16-bit (fine form, 1200 classes): max |p - onnxruntime| {err:.2e}, \
         argmax agreement {:.2}%",
        100.0 * agree
    );
    // the 16-bit bound of every fixture (crates/quant/tests/models.rs: 0.001 of the output's
    // float range), here set by the scores' own quantization upstream of the softmax
    assert!(err <= 1e-3, "max abs error {err}");
    assert_eq!(agree, 1.0);
}

#[test]
fn a_long_8_bit_softmax_stays_the_op_and_is_refused_for_disputes() {
    let pkg = import(Precision::Int8);
    let node = pkg
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::Softmax { .. }))
        .expect("the Softmax op at 8 bits");
    for mode in [Mode::Optimistic, Mode::Committee] {
        let err = check_mode(&pkg, mode).unwrap_err();
        assert_eq!(err.node, node.name);
        assert!(err.to_string().contains("224"), "{err}");
    }
    check_mode(&pkg, Mode::Zk).unwrap();
    let (err, agree) = errors(&pkg);
    println!(
        "{MODEL} 8-bit (the Softmax op, zk only): max |p - onnxruntime| {err:.2e}, argmax \
         agreement {:.2}%",
        100.0 * agree
    );
}

/// The largest `|p - softmax(x)|` of `pkg`'s first output on `q`, with `x` the integer scores
/// the fine form reads (the first operand of its difference `x - max`, dequantized), over
/// slices of `n`; and the least and largest denominator `Σ e^(x - max)`.
fn form_error(pkg: &Package, q: Vec<Tensor>, n: usize) -> (f64, (f64, f64)) {
    let opts = Options {
        threads: 1,
        trace: true,
    };
    let ex = Engine::new(pkg, opts).unwrap().run(q.clone()).unwrap();
    let diff = pkg
        .nodes
        .iter()
        .find(|n| n.name.ends_with("/diff"))
        .unwrap();
    let Some(vouch_model::Operand::Value(xv)) = diff.inputs.first().cloned() else {
        panic!("the difference reads a value");
    };
    let xs = pkg.values[xv as usize].scale;
    // a node's output, or the graph input itself
    let x = match pkg.nodes.iter().position(|n| n.output == xv) {
        Some(xi) => &ex.trace[xi].data,
        None => &q[pkg.inputs.iter().position(|i| i.value == xv).unwrap()].data,
    };
    let x: Vec<f64> = x.iter().map(|&v| f64::from(v) * xs).collect();
    let got = vouch_quant::dequantize(pkg, 0, &ex.outputs[0]);
    let (mut worst, mut sums) = (0f64, (f64::MAX, 0f64));
    for (xr, g) in x.chunks(n).zip(got.chunks(n)) {
        let m = xr.iter().copied().fold(f64::MIN, f64::max);
        let s: f64 = xr.iter().map(|v| (v - m).exp()).sum();
        sums = (sums.0.min(s), sums.1.max(s));
        for (v, p) in xr.iter().zip(g) {
            worst = worst.max((p - (v - m).exp() / s).abs());
        }
    }
    (worst, sums)
}

/// The form's own error: the probabilities against the exact softmax of the integer logits it
/// reads, on every step of the fixture, whatever the denominator (from 1.0 on a confident step
/// to 342 on a flat one).
#[test]
fn the_long_form_is_within_1e_4_of_the_softmax_of_its_integer_input() {
    let pkg = import(Precision::Int16);
    let floats =
        vouch_task::codec::package_inputs_from_json(&pkg, &read_json("input.json")).unwrap();
    let (worst, sums) = form_error(&pkg, vouch_quant::quantize_inputs(&pkg, &floats), 1200);
    println!(
        "{MODEL}: max |p - softmax(integer scores)| {worst:.2e}, denominators {:.2} to {:.1}",
        sums.0, sums.1
    );
    assert!(
        sums.0 < 1.01 && sums.1 > 100.0,
        "the steps cover peaked and flat"
    );
    assert!(worst <= 1e-4, "form error {worst}");
}

/// The same at PP-OCR's class counts, on rows from flat (a denominator in the thousands) to
/// one class far ahead (a denominator of 1), a one-node `Softmax` model calibrated on its rows:
/// PP-OCRv4/v5's 6,625 (groups of 125 and 53 for the maximum; pieces at 2, 16, 1024 and 8192)
/// and PP-OCRv6's 18,710 (`2 · 5 · 1871`: no tree of groups of at most 224 splits it, so the
/// maximum reads the slice padded by its last element to 18,711 = `3^5 · 7 · 11`).
#[test]
fn at_ocr_class_counts_the_long_form_is_within_1e_4_whatever_the_denominator() {
    for n in [6625, 18_710] {
        let pkg = check_classes(n);
        let pads = pkg
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Pad { .. }))
            .count();
        assert_eq!(pads, usize::from(n == 18_710), "{n} classes: Pad nodes");
    }
}

/// Imports a one-node softmax over `n` classes at 16 bits, checks it takes optimistic mode and
/// its error against the exact softmax of its integer scores; returns the package.
fn check_classes(n: usize) -> Package {
    let mut data = Vec::new();
    let mut rows = 0;
    for spread in [0.5f32, 2.0, 5.0, 10.0] {
        for lead in [0.0f32, 3.0, 6.0, 9.0, 14.0] {
            data.extend((0..n).map(|k| {
                let u = ((k * 37 + rows * 13) % 101) as f32 / 50.0 - 1.0;
                spread * u + if k == 7 * rows { lead } else { 0.0 }
            }));
            rows += 1;
        }
    }
    let model = one_node::model(13, "Softmax", &["x"], vec![], vec![], &[rows, n]);
    let g = vouch_onnx::import(&model, &Default::default()).unwrap();
    let x = FTensor {
        shape: vec![rows, n],
        data,
    };
    let pkg = vouch_quant::import_at(
        &g,
        vec![x.clone()],
        &format!("softmax_{n}"),
        [0; 32],
        Precision::Int16,
        |_| {},
    )
    .unwrap();
    assert!(!pkg.nodes.iter().any(|n| matches!(n.op, Op::Softmax { .. })));
    check_mode(&pkg, Mode::Optimistic).unwrap();
    let q = vouch_task::codec::quantize_inputs(&pkg, std::slice::from_ref(&x));
    let (worst, sums) = form_error(&pkg, q, n);
    println!(
        "{n} classes, {rows} rows: max |p - softmax(integer scores)| {worst:.2e}, \
         denominators {:.2} to {:.0}",
        sums.0, sums.1
    );
    assert!(
        sums.0 < 1.05 && sums.1 > 1000.0,
        "{n}: the rows cover peaked and flat"
    );
    assert!(worst <= 1e-4, "{n}: form error {worst}");
    pkg
}
