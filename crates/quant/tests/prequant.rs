//! Models quantized by onnxruntime's own tools (`testdata/models/pq_*`, written by
//! `testdata/models/prequant.py`): each is imported, quantized at 16 and 8 bits, run by the
//! integer engine on 1 and 2 threads (bit for bit the same), and every output compared with
//! onnxruntime's output of the *quantized* model on the held-out rows.
//!
//! The bounds are the measured errors with headroom (the largest `|vouch - onnxruntime| /
//! max(1, |onnxruntime|)`), for the float reference of the imported graph and for the integer
//! engine; what they hold is `docs/semantics.md`, "Pre-quantized models":
//! - the float reference of the static forms is onnxruntime's quantized model to `f32`
//!   rounding (measured 4.7e-8 to 5.6e-8; bound 1e-6);
//! - QDQ and QOperator (`quantize_static`): every tensor the model quantizes is pinned to the
//!   model's grid (its scale, the zero point an offset, the type's clamp), the weights and
//!   biases are the model's integers, and each requantization between two grids is one
//!   `requant` with a multiplier below `2^31`: LeNet's logits (a grid of 0.143) land on
//!   onnxruntime's step in every element at 16 and 8 bits (measured error 7.9e-8, the `f32`
//!   rounding of the dequantized output; 0.29 and 0.89 before pinning). With `QLinearMatMul`
//!   each bias is a float `Add` after the product's `DequantizeLinear`: every grid is still
//!   onnxruntime's at 16 bits, and the last `Add` (a graph output) is at vouch's own scale;
//!   at 8 bits that `Add`'s constant is an `act8` tensor (section 3), whose rounding moves a
//!   few elements one step. Every quantized tensor of the QOperator fixtures is compared with
//!   onnxruntime's integers (`grids.json`, 8 rows);
//! - dynamic (`quantize_dynamic`): the float `Conv`/`Linear`/`LSTM` by the dequantized
//!   weights; onnxruntime's 8-bit rounding of each activation is not reproduced, so the error
//!   is about that rounding's.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

mod common;
mod one_node;

use prost::Message as _;
use serde_json::Value;
use vouch_onnx::proto::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto};
use vouch_quant::FTensor;

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

/// `model` at `precision` lands on onnxruntime's output step in every element (its output is
/// a `DequantizeLinear` of a pinned grid, so the package's output scale is the model's).
fn on_the_models_grid(model: &str, precision: vouch_quant::Precision) {
    let m = common::measure_at(model, precision);
    println!(
        "{model} at {precision:?}: {} of {} output elements a step or more from onnxruntime's",
        m.steps_off, m.elements
    );
    assert!(m.elements > 0, "{model}: no real-valued output");
    assert_eq!(
        m.steps_off, 0,
        "{model} at {precision:?}: {} of {} output elements off onnxruntime's step (at most {})",
        m.steps_off, m.elements, m.max_steps
    );
}

#[test]
fn qdq_lenet_matches_onnxruntime() {
    check("pq_lenet_qdq", 1e-6, 1e-6);
    on_the_models_grid("pq_lenet_qdq", vouch_quant::Precision::Int16);
}

#[test]
fn symmetric_qdq_lenet_matches_onnxruntime() {
    // zero point 0: every quantized tensor fits act8, so the 8-bit package keeps them act8
    check("pq_lenet_qdq_sym", 1e-6, 1e-6);
    on_the_models_grid("pq_lenet_qdq_sym", vouch_quant::Precision::Int16);
    let d = common::dir("pq_lenet_qdq_sym");
    let graph = vouch_onnx::import(
        &std::fs::read(d.join("model.onnx")).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let cal: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("calibration.json")).unwrap())
            .unwrap();
    let cal = vouch_quant::calibration_from_json(&graph, &cal).unwrap();
    let pkg = vouch_quant::import_at(
        &graph,
        cal,
        "sym",
        [0; 32],
        vouch_quant::Precision::Int8,
        |_| {},
    )
    .unwrap();
    for v in &pkg.values {
        assert_eq!(v.kind, vouch_model::Kind::Act8, "{}", v.name);
    }
}

#[test]
fn qoperator_lenet_matches_onnxruntime() {
    check("pq_lenet_qop", 1e-6, 1e-6);
    on_the_models_grid("pq_lenet_qop", vouch_quant::Precision::Int16);
}

#[test]
fn qoperator_matmul_lenet_matches_onnxruntime() {
    // the last bias `Add` is a graph output at vouch's scale (0.0014): half a step of it
    check("pq_lenet_qop_matmul", 1e-6, 2e-3);
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
    // the static forms keep the model's grids (act16 where a zero point puts a type's range
    // off act8's); the dynamic forms' 256-entry tables and 8-bit activations are about as
    // coarse as the model's own steps, so a rounding step lost is a larger share of the output
    for (model, bound) in [
        ("pq_lenet_qdq", 1e-6),
        ("pq_lenet_qdq_sym", 1e-6),
        ("pq_lenet_qop", 1e-6),
        ("pq_lenet_qop_matmul", 0.2),
        ("pq_lenet_dyn", 1.0),
        ("pq_vad_lstm_dyn", 0.25),
    ] {
        let m = common::measure_at(model, vouch_quant::Precision::Int8);
        // in steps of the output's scale: the model's (0.143) for the first two, vouch's own
        // for the last `Add` of the third
        let steps = if model.ends_with("_dyn") {
            String::new()
        } else {
            format!(
                "; {} of {} output elements a step or more from onnxruntime's (at most {})",
                m.steps_off, m.elements, m.max_steps
            )
        };
        println!(
            "{model} at 8 bits: max error {:.3e} (bound {bound}){steps}",
            m.rel_err
        );
        assert!(
            m.rel_err <= bound,
            "{model}: error {} above {bound}",
            m.rel_err
        );
    }
    on_the_models_grid("pq_lenet_qdq", vouch_quant::Precision::Int8);
    on_the_models_grid("pq_lenet_qdq_sym", vouch_quant::Precision::Int8);
    on_the_models_grid("pq_lenet_qop", vouch_quant::Precision::Int8);
}

/// Every quantized tensor of a QOperator fixture against onnxruntime's (`grids.json`: its
/// integers on the first rows of `input.json`, written by `testdata/models/pq_grids.py`): for
/// each, vouch's tensor of that name in the package at `precision`, run on those rows, must
/// exist and sit at the model's zero point; returns `(name, elements, differing, largest
/// difference in steps)`.
fn grid_differences(
    model: &str,
    precision: vouch_quant::Precision,
) -> Vec<(String, usize, usize, i64)> {
    let d = common::dir(model);
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(f)).unwrap()).unwrap()
    };
    let graph = vouch_onnx::import(
        &std::fs::read(d.join("model.onnx")).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let cal = vouch_quant::calibration_from_json(&graph, &read("calibration.json")).unwrap();
    let pkg = vouch_quant::import_at(&graph, cal, model, [0; 32], precision, |_| {}).unwrap();
    let grids = read("grids.json");
    let rows = grids["rows"].as_u64().unwrap() as usize;
    let mut floats =
        vouch_task::codec::package_inputs_from_json(&pkg, &read("input.json")).unwrap();
    for t in &mut floats {
        let per_row = t.data.len() / t.shape[0];
        t.shape[0] = rows;
        t.data.truncate(rows * per_row);
    }
    let q = vouch_quant::quantize_inputs(&pkg, &floats);
    let options = vouch_engine::Options {
        threads: 1,
        trace: true,
    };
    let trace = vouch_engine::Engine::new(&pkg, options)
        .unwrap()
        .run(q)
        .unwrap()
        .trace;
    let mut out = Vec::new();
    for (name, t) in grids["tensors"].as_object().unwrap() {
        // a tensor dequantized as a graph output has that output's name
        let wanted = t["graph_output"].as_str().unwrap_or(name);
        let i = pkg
            .nodes
            .iter()
            .position(|n| pkg.values[n.output as usize].name == wanted)
            .unwrap_or_else(|| panic!("{model}: no tensor {wanted} in the package"));
        let zp = t["zero_point"].as_f64().unwrap();
        let mut want = Vec::new();
        flat(&t["data"], &mut want);
        let got = &trace[i].data;
        assert_eq!(got.len(), want.len(), "{model} {name}");
        let diffs: Vec<i64> = got
            .iter()
            .zip(&want)
            .map(|(&a, &b)| (f64::from(a) - (b - zp)).abs() as i64)
            .collect();
        let differing = diffs.iter().filter(|&&x| x != 0).count();
        let largest = diffs.iter().copied().max().unwrap_or(0);
        out.push((name.clone(), want.len(), differing, largest));
    }
    out
}

#[test]
fn every_quantized_tensor_is_onnxruntimes() {
    use vouch_quant::Precision::{Int8, Int16};
    for (model, precision) in [
        ("pq_lenet_qop", Int16),
        ("pq_lenet_qop", Int8),
        ("pq_lenet_qop_matmul", Int16),
        ("pq_lenet_qop_matmul", Int8),
    ] {
        let diffs = grid_differences(model, precision);
        let differing: usize = diffs.iter().map(|d| d.2).sum();
        let elements: usize = diffs.iter().map(|d| d.1).sum();
        println!(
            "{model} at {precision:?}: {} quantized tensors, {differing} of {elements} elements \
             off onnxruntime's integers",
            diffs.len()
        );
        for (name, n, k, largest) in diffs.iter().filter(|d| d.2 > 0) {
            println!("  {name}: {k} of {n} off, by at most {largest}");
        }
        assert!(diffs.len() >= 9, "{model}: {} tensors", diffs.len());
        // at 8 bits the bias `Add`s between a `QLinearMatMul` and the next quantization read an
        // `act8` constant (docs/semantics.md, "Pre-quantized models"): a step at most
        if model == "pq_lenet_qop_matmul" && precision == Int8 {
            assert!(diffs.iter().all(|d| d.3 <= 1), "{model}: {diffs:?}");
        } else {
            assert_eq!(differing, 0, "{model} at {precision:?}: {diffs:?}");
        }
    }
}

/// A uint8 tensor (`int32_data`).
fn u8s(name: &str, dims: &[i64], data: &[i32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 2,
        int32_data: data.to_vec(),
        ..Default::default()
    }
}

#[test]
fn integer_products_of_an_integer_input_are_exact_in_the_float_reference() {
    // MatMulInteger of a uint8 graph input by uint8 weights with per-column zero points, then
    // QLinearMatMul of the same input (its dequantized value) by the same weights
    let b = [3, 250, 128, 0, 7, 200, 255, 1, 90, 128, 64, 17];
    let bz = [128, 0, 100];
    let node = |op: &str, ins: &[&str], out: &str| NodeProto {
        input: ins.iter().map(|s| (*s).into()).collect(),
        output: vec![out.into()],
        name: format!("n_{out}"),
        op_type: op.into(),
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(GraphProto {
            node: vec![
                node("MatMulInteger", &["x", "b", "xz", "bz"], "acc"),
                node("Cast", &["acc"], "accf"),
                node(
                    "QLinearMatMul",
                    &["x", "xs", "xz", "b", "bs", "bz1", "ys", "yz"],
                    "q",
                ),
                node("DequantizeLinear", &["q", "ys", "yz"], "y"),
            ],
            name: "g".into(),
            initializer: vec![
                u8s("b", &[4, 3], &b),
                u8s("xz", &[], &[128]),
                u8s("bz", &[3], &bz),
                u8s("bz1", &[], &[128]),
                one_node::init("xs", &[], &[0.5]),
                one_node::init("bs", &[], &[0.25]),
                one_node::init("ys", &[], &[4.0]),
                u8s("yz", &[], &[10]),
            ],
            input: vec![one_node::value_info("x", 2, Some(&[-1, 4]))],
            output: vec![
                one_node::value_info("accf", 6, None),
                one_node::value_info("y", 1, None),
            ],
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut g = model.encode_to_vec();
    // `Cast` to float of the int32 accumulator
    let mut m = ModelProto::decode(g.as_slice()).unwrap();
    if let Some(gr) = m.graph.as_mut() {
        gr.node[1].attribute.push(one_node::int("to", 1));
    }
    g = m.encode_to_vec();
    let graph = vouch_onnx::import(&g, &Default::default()).unwrap();
    let x = [0.0f32, 255.0, 128.0, 17.0, 200.0, 3.0, 99.0, 250.0];
    let values = vouch_quant::float::run(
        &graph,
        vec![FTensor {
            shape: vec![2, 4],
            data: x.to_vec(),
        }],
    )
    .unwrap();
    let acc = &values[graph.outputs[0]].data;
    let y = &values[graph.outputs[1]].data;
    for r in 0..2 {
        for c in 0..3 {
            let want: i64 = (0..4)
                .map(|k| (x[r * 4 + k] as i64 - 128) * (b[k * 3 + c] as i64 - bz[c] as i64))
                .sum();
            assert_eq!(acc[r * 3 + c], want as f32, "row {r} column {c}");
            // QLinearMatMul: round(Σ (x - 128)·0.5 · (b - 128)·0.25 / 4) + 10, clamped, as real
            let real: f64 = (0..4)
                .map(|k| (x[r * 4 + k] as f64 - 128.0) * 0.5 * (b[k * 3 + c] as f64 - 128.0) * 0.25)
                .sum();
            let q = ((real / 4.0).round_ties_even() + 10.0).clamp(0.0, 255.0);
            assert_eq!(
                f64::from(y[r * 3 + c]),
                (q - 10.0) * 4.0,
                "row {r} column {c}"
            );
        }
    }
}

#[test]
fn conv_integer_of_an_integer_input_is_exact_in_the_float_reference() {
    // ConvInteger of a uint8 [N, 1, 3, 3] input by a uint8 2x2 kernel, zero points 128 and 3
    let w = [3, 250, 7, 0];
    let mut cast = NodeProto {
        input: vec!["acc".into()],
        output: vec!["y".into()],
        name: "n_y".into(),
        op_type: "Cast".into(),
        ..Default::default()
    };
    cast.attribute.push(one_node::int("to", 1));
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(GraphProto {
            node: vec![
                NodeProto {
                    input: ["x", "w", "xz", "wz"].map(String::from).to_vec(),
                    output: vec!["acc".into()],
                    name: "n_acc".into(),
                    op_type: "ConvInteger".into(),
                    ..Default::default()
                },
                cast,
            ],
            name: "g".into(),
            initializer: vec![
                u8s("w", &[1, 1, 2, 2], &w),
                u8s("xz", &[], &[128]),
                u8s("wz", &[], &[3]),
            ],
            input: vec![one_node::value_info("x", 2, Some(&[-1, 1, 3, 3]))],
            output: vec![one_node::value_info("y", 1, None)],
            ..Default::default()
        }),
        ..Default::default()
    };
    let graph = vouch_onnx::import(&model.encode_to_vec(), &Default::default()).unwrap();
    let x: Vec<f32> = [0, 255, 128, 17, 200, 3, 99, 250, 64]
        .iter()
        .map(|&v| v as f32)
        .collect();
    let values = vouch_quant::float::run(
        &graph,
        vec![FTensor {
            shape: vec![1, 1, 3, 3],
            data: x.clone(),
        }],
    )
    .unwrap();
    let y = &values[graph.outputs[0]];
    assert_eq!(y.shape, [1, 1, 2, 2]);
    for (o, &got) in y.data.iter().enumerate() {
        let (r, c) = (o / 2, o % 2);
        let want: i64 = (0..4)
            .map(|k| {
                let xi = x[(r + k / 2) * 3 + c + k % 2] as i64 - 128;
                xi * (w[k] as i64 - 3)
            })
            .sum();
        assert_eq!(got, want as f32, "output {o}");
    }
}
