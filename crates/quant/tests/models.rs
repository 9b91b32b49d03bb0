//! Every fixture model under `testdata/models/`: imported from its ONNX file with its
//! calibration samples, run by the integer engine on the held-out `input.json`, and compared
//! with onnxruntime's float outputs in `expected.json` — within the accuracy bound of
//! `docs/semantics.md` section 5. Also: results do not depend on thread count or batching, and
//! a second import gives the same content id.
#![allow(clippy::print_stdout)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Kind, Package};
use vouch_quant::Precision;
use vouch_quant::json::inputs_from_json;

fn dir(model: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(model)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

fn import(
    model: &str,
    outputs: Option<&[&str]>,
    precision: Precision,
) -> (Package, vouch_onnx::FGraph) {
    let d = dir(model);
    let onnx = std::fs::read(d.join("model.onnx")).unwrap();
    let opts = vouch_onnx::ImportOptions {
        outputs: outputs.map(|o| o.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    let graph = vouch_onnx::import(&onnx, &opts).unwrap_or_else(|e| panic!("{model}: {e}"));
    let names: Vec<&str> = graph
        .inputs
        .iter()
        .map(|&v| graph.values[v].name.as_str())
        .collect();
    let cal = inputs_from_json(&read_json(&d.join("calibration.json")), &names).unwrap();
    let sha = *vouch_primitives::Cid::of(&onnx).digest();
    let pkg = vouch_quant::import_at(&graph, cal, model, sha, precision, |_| {})
        .unwrap_or_else(|e| panic!("{model}: {e}"));
    (pkg, graph)
}

fn run(pkg: &Package, inputs: Vec<Tensor>, threads: usize) -> Vec<Tensor> {
    Engine::new(
        pkg,
        Options {
            threads,
            trace: false,
        },
    )
    .unwrap()
    .run(inputs)
    .unwrap()
    .outputs
}

fn argmax(row: &[f64]) -> usize {
    row.iter()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |b, (i, &v)| if v > b.1 { (i, v) } else { b },
        )
        .0
}

/// The accuracy bound of one precision: the least argmax agreement, the largest error of
/// real-valued outputs as a share of their float range, and of probabilities.
#[derive(Clone, Copy)]
struct Bound {
    precision: Precision,
    agreement: f64,
    share: f64,
    probability: f64,
}

struct Row {
    model: &'static str,
    output: String,
    rows: usize,
    max_abs_err: f64,
    max_abs_float: f64,
    agreement: Option<f64>,
}

fn check_model(model: &'static str, outputs: Option<&[&str]>, b: Bound, table: &mut Vec<Row>) {
    let Bound {
        precision,
        agreement: min_agreement,
        share,
        probability,
    } = b;
    let (pkg, _) = import(model, outputs, precision);
    let d = dir(model);
    let input = read_json(&d.join("input.json"));
    let expected = read_json(&d.join("expected.json"));
    let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
    let floats = inputs_from_json(&input, &names).unwrap();
    let q = vouch_quant::quantize_inputs(&pkg, &floats);
    let out2 = run(&pkg, q.clone(), 2);
    // Thread count and batching never change a bit. Every fixture model is row-separable, so
    // the batched run below takes the batched kernels, and must equal the rows one by one
    // (docs/semantics.md section 8.5).
    assert!(pkg.row_separable(), "{model}: row-separable");
    assert_eq!(out2, run(&pkg, q.clone(), 1), "{model}: 1 vs 2 threads");
    let batch = q[0].shape[0];
    for row in [0, batch / 2, batch - 1] {
        let single: Vec<Tensor> = q
            .iter()
            .map(|t| {
                let per = t.data.len() / batch;
                let mut shape = t.shape.clone();
                shape[0] = 1;
                Tensor {
                    shape,
                    data: t.data[row * per..(row + 1) * per].to_vec(),
                }
            })
            .collect();
        let got = run(&pkg, single, 1);
        for (o, full) in got.iter().zip(&out2) {
            let per = full.data.len() / batch;
            assert_eq!(
                o.data,
                full.data[row * per..(row + 1) * per],
                "{model}: row {row} alone vs batched"
            );
        }
    }
    for (i, spec) in pkg.outputs.iter().enumerate() {
        let Some(exp) = expected.get(&spec.name) else {
            continue;
        };
        let exp = vouch_quant::json::nested_to_tensor(&spec.name, exp).unwrap();
        let deq = vouch_quant::dequantize(&pkg, i, &out2[i]);
        assert_eq!(
            deq.len(),
            exp.data.len(),
            "{model}/{}: element count",
            spec.name
        );
        let fl: Vec<f64> = exp.data.iter().map(|&v| f64::from(v)).collect();
        let max_abs_err = deq
            .iter()
            .zip(&fl)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        let max_abs_float = fl.iter().fold(0f64, |m, v| m.max(v.abs()));
        let kind = pkg.values[spec.value as usize].kind;
        let rows = exp.shape[0];
        let agreement = if kind == Kind::Index {
            Some(deq.iter().zip(&fl).filter(|(a, b)| a == b).count() as f64 / fl.len() as f64)
        } else if exp.shape.len() == 2 && exp.shape[1] > 1 {
            let c = exp.shape[1];
            let same = deq
                .chunks(c)
                .zip(fl.chunks(c))
                .filter(|(a, b)| argmax(a) == argmax(b))
                .count();
            Some(same as f64 / rows as f64)
        } else {
            None
        };
        if let Some(a) = agreement {
            assert!(
                a >= min_agreement,
                "{model}/{}: argmax agreement {a} < {min_agreement}",
                spec.name
            );
        }
        // docs/semantics.md section 5: the outputs of a Softmax op or a Lut (8-bit steps of
        // 1/127) within `probability`; everything else, the fine softmax's probabilities (a
        // Mul output) too, within `share` of the output's float range.
        let producer = pkg
            .nodes
            .iter()
            .find(|n| n.output == spec.value)
            .map(|n| n.op.name());
        let bound = match producer {
            Some("Softmax" | "Lut") => probability,
            _ => share * max_abs_float,
        };
        if kind != Kind::Index {
            assert!(
                max_abs_err <= bound,
                "{model}/{}: max abs error {max_abs_err} > {bound}",
                spec.name
            );
        }
        table.push(Row {
            model,
            output: spec.name.clone(),
            rows,
            max_abs_err,
            max_abs_float,
            agreement,
        });
    }
    let (again, _) = import(model, outputs, precision);
    assert_eq!(
        again.cid(),
        pkg.cid(),
        "{model}: re-import changes the content id"
    );
}

fn check_all(b: Bound, random_weights: Bound) {
    let mut table = Vec::new();
    check_model("digits_logreg", None, b, &mut table);
    check_model(
        "digits_logreg_zipmap",
        Some(&["output_label"]),
        b,
        &mut table,
    );
    check_model("digits_logreg_mlops", None, b, &mut table);
    check_model("digits_mlp", None, b, &mut table);
    check_model("mlp_784_128_10", None, b, &mut table);
    check_model("mlp_10_20_2", None, b, &mut table);
    check_model("lenet", None, b, &mut table);
    // Op coverage with random weights: 20 chained layers, a Tanh on the steep part, and
    // logits crowded under a Clip at 6 (docs/semantics.md section 5).
    check_model("cnn_ops", None, random_weights, &mut table);
    // ConvTranspose and Resize (nearest and bilinear) decoders, random weights
    check_model("upsample_net", None, random_weights, &mut table);
    // output channels 1000x apart (per-channel weight scales, docs/semantics.md section 5)
    check_model("per_channel_cnn", None, b, &mut table);
    // a softmax over 1,200 classes on the last axis (at 16 bits the long fine form in stages)
    check_model("crnn_softmax", None, b, &mut table);
    print_table(&table);
}

fn print_table(table: &[Row]) {
    println!(
        "{:<22} {:<22} {:>5} {:>13} {:>13} {:>9}",
        "model", "output", "rows", "max abs err", "max |float|", "argmax"
    );
    for r in table {
        let a = r
            .agreement
            .map_or("-".to_owned(), |a| format!("{:.2}%", 100.0 * a));
        println!(
            "{:<22} {:<22} {:>5} {:>13.6} {:>13.6} {:>9}",
            r.model, r.output, r.rows, r.max_abs_err, r.max_abs_float, a
        );
    }
}

/// The default 16-bit import (semantics version 2).
#[test]
fn fixture_models_match_the_float_model() {
    let b = Bound {
        precision: Precision::Int16,
        agreement: 0.99,
        share: 0.001,
        probability: 0.02,
    };
    check_all(
        b,
        Bound {
            agreement: 0.93,
            share: 0.02,
            probability: 0.03,
            ..b
        },
    );
}

/// The recurrent fixtures (an LSTM and a bidirectional GRU, unrolled by the importer, and an
/// LSTM whose head reads all 64 steps' states), at 16 and at 8 bits. At 16 bits their gate
/// `Sigmoid`/`Tanh` are 4096-entry tables on an `act16` window (docs/semantics.md section 5;
/// measured 0.0023, 0.0018 and 0.0014 where the 256-entry `act8` tables of before gave 0.042
/// and 0.018), so the speech probability is held to 0.005; at 8 bits they are 256-entry
/// tables, held to 0.10 (measured 0.085, 0.088 and 0.061). The errors are printed
/// by `cargo test -p vouch-quant --test models recurrent -- --nocapture`.
#[test]
fn recurrent_fixtures_match_the_float_model() {
    let mut table = Vec::new();
    for precision in [Precision::Int16, Precision::Int8] {
        let b = Bound {
            precision,
            agreement: 0.95,
            share: 0.02,
            probability: if precision == Precision::Int16 {
                0.005
            } else {
                0.10
            },
        };
        check_model("vad_lstm", None, b, &mut table);
        check_model("vad_bigru", None, b, &mut table);
        // the head on all 64 steps' states: their `Concat` is a tree of `Concat`s of 8
        check_model("vad_lstm_seq", None, b, &mut table);
    }
    print_table(&table);
}

/// The `--bits 8` import (`act8`/`i8`).
#[test]
fn fixture_models_match_the_float_model_at_8_bits() {
    let b = Bound {
        precision: Precision::Int8,
        agreement: 0.99,
        share: 0.05,
        probability: 0.15,
    };
    check_all(
        b,
        Bound {
            agreement: 0.90,
            share: 0.15,
            ..b
        },
    );
}

/// skl2onnx's default output (label and ZipMap probabilities) imports whole: the ZipMap
/// output is the probabilities tensor, equal to the Softmax output it formats.
#[test]
fn the_zipmap_output_is_the_probabilities_tensor() {
    let onnx = std::fs::read(dir("digits_logreg_zipmap").join("model.onnx")).unwrap();
    let g = vouch_onnx::import(&onnx, &Default::default()).unwrap();
    let names: Vec<&str> = g
        .outputs
        .iter()
        .map(|&v| g.values[v].name.as_str())
        .collect();
    assert_eq!(names, ["output_label", "output_probability"]);
    let sub = vouch_onnx::import(
        &onnx,
        &vouch_onnx::ImportOptions {
            outputs: Some(vec!["output_probability".into()]),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        matches!(
            sub.nodes.last().map(|n| &n.op),
            Some(vouch_onnx::FOp::Softmax { .. })
        ),
        "ZipMap adds no node"
    );
}
