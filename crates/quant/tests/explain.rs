//! `vouch_quant::explain` on fixture models: the per-node error of the graph output is the
//! accuracy report's, the recurrent fixture's gate tables add less error at 16 bits than at 8,
//! and weight rounding alone costs less per output channel than per tensor on a model
//! whose channels differ in range.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use vouch_quant::Precision;
use vouch_quant::explain::{WeightGrid, explain, weight_error};

fn dir(model: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(model)
}

fn load(
    model: &str,
    precision: Precision,
) -> (
    vouch_onnx::FGraph,
    vouch_model::Package,
    Vec<vouch_quant::FTensor>,
) {
    let d = dir(model);
    let onnx = std::fs::read(d.join("model.onnx")).unwrap();
    let graph = vouch_onnx::import(&onnx, &Default::default()).unwrap();
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(f)).unwrap()).unwrap()
    };
    let cal = vouch_quant::calibration_from_json(&graph, &read("calibration.json")).unwrap();
    let pkg = vouch_quant::import_at(&graph, cal, model, [0; 32], precision, |_| {}).unwrap();
    let held = vouch_quant::calibration_from_json(&graph, &read("input.json")).unwrap();
    (graph, pkg, held)
}

/// The graph output's relative error equals what `measure` reports against the float model,
/// and every node compared has a finite error and clipped share in `[0, 1]`.
#[test]
fn the_output_error_is_the_accuracy_report() {
    for model in ["mlp_10_20_2", "cnn_ops"] {
        let (graph, pkg, held) = load(model, Precision::Int16);
        let errs = explain(&graph, &pkg, &held).unwrap();
        assert!(errs.len() >= 2, "{model}: {} nodes compared", errs.len());
        for e in &errs {
            assert!(
                e.rel_error.is_finite() && e.rel_error >= 0.0,
                "{model}: {e:?}"
            );
            assert!((0.0..=1.0).contains(&e.clipped), "{model}: {e:?}");
        }
        let floats = vouch_quant::float::run(&graph, held.clone()).unwrap();
        let outs: Vec<_> = graph.outputs.iter().map(|&v| floats[v].clone()).collect();
        let report = vouch_quant::measure(&pkg, &held, &outs).unwrap();
        for (o, acc) in graph.outputs.iter().zip(&report.outputs) {
            let name = &graph.values[*o].name;
            let Some(e) = errs.iter().find(|e| &e.value == name) else {
                continue;
            };
            let want = acc.max_abs_error / acc.max_abs_float;
            assert!(
                (e.rel_error - want).abs() <= 1e-12 * want.max(1.0),
                "{model} {name}: explain {} vs measure {want}",
                e.rel_error
            );
        }
    }
}

/// The LSTM's gate tables add less error at 16 bits (4096-entry `act16` tables) than at 8
/// (256-entry `act8` tables), summed over every gate `Sigmoid` and `Tanh`, and so does the
/// whole model.
#[test]
fn the_gate_tables_add_less_error_at_16_bits() {
    let gates = |precision| {
        let (graph, pkg, held) = load("vad_lstm", precision);
        let errs = explain(&graph, &pkg, &held).unwrap();
        let added: f64 = errs
            .iter()
            .filter(|e| e.op == "Sigmoid" || e.op == "Tanh")
            .map(|e| e.jump().max(0.0))
            .sum();
        (added, errs.last().unwrap().rel_error)
    };
    let (g8, out8) = gates(Precision::Int8);
    let (g16, out16) = gates(Precision::Int16);
    assert!(g16 < g8, "gate tables add {g16} at 16 bits, {g8} at 8");
    assert!(out16 < out8, "output {out16} at 16 bits, {out8} at 8");
}

/// Rounding only the weights changes the outputs a little, less at 16 than at 8 bits; and
/// per-channel rounding is never coarser than per-tensor on any channel, so on these fixtures
/// its error is at most the per-tensor one's.
#[test]
fn weight_rounding_alone_is_measured() {
    for model in ["mlp_10_20_2", "digits_mlp"] {
        let (graph, _, held) = load(model, Precision::Int16);
        let t16 = weight_error(&graph, &held, 32767, WeightGrid::PerTensor).unwrap();
        let t8 = weight_error(&graph, &held, 127, WeightGrid::PerTensor).unwrap();
        let c8 = weight_error(&graph, &held, 127, WeightGrid::PerChannel).unwrap();
        for ((a, b), c) in t16.iter().zip(&t8).zip(&c8) {
            assert!(*b > 0.0, "{model}: 8-bit weights change nothing");
            assert!(a < b, "{model}: 16-bit {a} vs 8-bit {b}");
            assert!(*c <= b * 1.5, "{model}: per channel {c} vs per tensor {b}");
        }
    }
}

/// A value whose batch axis is not its first (the pre-quantized LSTM's time-major `[T, N, H]`
/// after its `Transpose`) is compared as the engine's trace lays several rows out: each row's block
/// first. Compared in the float model's own layout, rows' blocks met other rows' values and
/// such values read 100% off while the output was within 1%.
#[test]
fn values_with_the_batch_axis_inside_are_compared_row_by_row() {
    let (graph, pkg, held) = load("pq_vad_lstm_dyn", Precision::Int16);
    let rows = held[0].shape[0];
    assert!(rows > 1, "the held-out inputs hold {rows} rows");
    let axes = pkg.batch_axes().unwrap();
    let errs = explain(&graph, &pkg, &held).unwrap();
    let inside: Vec<_> = errs
        .iter()
        .filter(|e| {
            let id = pkg.values.iter().rposition(|v| v.name == e.value).unwrap();
            axes[id] > 0
        })
        .collect();
    assert!(
        inside.len() >= 10,
        "{} values compared with the batch axis inside",
        inside.len()
    );
    for e in inside {
        assert!(e.rel_error < 0.05, "{e:?}");
    }
}
