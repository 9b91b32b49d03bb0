//! A recurrent state given as a graph input (silero VAD's `state`, each call's the previous
//! call's `stateN`) is held with a computed activation's headroom: a longer stream's cell state
//! grows past what calibration saw, and a graph input without headroom clips it. Such an input
//! is read only by layout ops and has an output of its shape computed from it
//! (`quantize/state.rs`); other inputs keep their calibrated scale.

#![allow(clippy::unwrap_used, missing_docs)]

mod one_node;

use one_node::{data, init, int, node, vi};
use prost::Message as _;
use vouch_engine::{Engine, Options};
use vouch_onnx::proto::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto};
use vouch_quant::FTensor;

const T: usize = 3;
const I: usize = 2;
const H: usize = 4;
const ROWS: usize = 6;

/// An int64 constant.
fn index(name: &str, v: i64) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: vec![1],
        data_type: 7,
        int64_data: vec![v],
        ..Default::default()
    }
}

/// Silero's pattern: the state `s` `[batch, 2, H]` split by `Gather`s into `h0` and `c0`, an
/// `LSTM` (layout 1) over `x` `[batch, T, I]`, and its `Y_h`, `Y_c` stacked back into `S`
/// `[batch, 2, H]`; with `stack`, else `S` is `Y_c` alone (no output of the state's shape).
fn model(stack: bool) -> Vec<u8> {
    let g = 4;
    let mut nodes = vec![
        node("Gather", &["s", "i0"], "h0", vec![int("axis", 1)]),
        node("Gather", &["s", "i1"], "c0", vec![int("axis", 1)]),
        NodeProto {
            input: ["x", "W", "R", "B", "", "h0", "c0"]
                .map(Into::into)
                .to_vec(),
            output: ["", "Y_h", "Y_c"].map(Into::into).to_vec(),
            name: "rec".into(),
            op_type: "LSTM".into(),
            attribute: vec![int("hidden_size", H as i64), int("layout", 1)],
            ..Default::default()
        },
    ];
    let mut out = vi("S", &[None, Some(2), Some(H)]);
    if stack {
        nodes.push(node("Concat", &["Y_h", "Y_c"], "S", vec![int("axis", 1)]));
    } else {
        nodes.push(node("Identity", &["Y_c"], "S", vec![]));
        out = vi("S", &[None, Some(1), Some(H)]);
    }
    for (k, n) in nodes.iter_mut().enumerate() {
        n.name = format!("n{k}");
    }
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 14,
        }],
        graph: Some(GraphProto {
            node: nodes,
            name: "g".into(),
            initializer: vec![
                init("W", &[1, g * H, I], &data(g * H * I, 1, 0.6)),
                init("R", &[1, g * H, H], &data(g * H * H, 2, 0.5)),
                init("B", &[1, 2 * g * H], &data(2 * g * H, 3, 0.4)),
                index("i0", 0),
                index("i1", 1),
            ],
            input: vec![
                vi("x", &[None, Some(T), Some(I)]),
                vi("s", &[None, Some(2), Some(H)]),
            ],
            output: vec![out],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Rows of `x` and `s`, the state scaled by `state`.
fn feeds(state: f32) -> Vec<FTensor> {
    let h = data(ROWS * H, 4, 0.5 * state);
    let c = data(ROWS * H, 5, state);
    let mut s = Vec::new();
    for r in 0..ROWS {
        s.extend_from_slice(&h[r * H..(r + 1) * H]);
        s.extend_from_slice(&c[r * H..(r + 1) * H]);
    }
    vec![
        FTensor {
            shape: vec![ROWS, T, I],
            data: data(ROWS * T * I, 6, 1.0),
        },
        FTensor {
            shape: vec![ROWS, 2, H],
            data: s,
        },
    ]
}

/// The largest `max |int - float| / max |float|` over the outputs, on rows `held`.
fn held_error(graph: &vouch_onnx::FGraph, pkg: &vouch_model::Package, held: &[FTensor]) -> f64 {
    let floats = vouch_quant::float::run(graph, held.to_vec()).unwrap();
    let out = Engine::new(pkg, Options::default())
        .unwrap()
        .run(vouch_quant::quantize_inputs(pkg, held))
        .unwrap()
        .outputs;
    let mut worst = 0f64;
    for (k, &o) in graph.outputs.iter().enumerate() {
        let deq = vouch_quant::dequantize(pkg, k, &out[k]);
        let f = &floats[o].data;
        let top = f.iter().fold(0f64, |m, v| m.max(f64::from(v.abs())));
        let err = deq
            .iter()
            .zip(f)
            .fold(0f64, |m, (a, b)| m.max((a - f64::from(*b)).abs()));
        worst = worst.max(err / top);
    }
    worst
}

fn range(t: &FTensor) -> f64 {
    f64::from(t.data.iter().fold(0f32, |m, v| m.max(v.abs())))
}

#[test]
fn a_state_input_keeps_headroom_and_a_longer_streams_state_is_not_clipped() {
    let graph = vouch_onnx::import(&model(true), &Default::default()).unwrap();
    let cal = feeds(1.0);
    let pkg = vouch_quant::import(&graph, cal.clone(), "state", [0; 32], |_| {}).unwrap();
    let scale = |i: usize| pkg.values[pkg.inputs[i].value as usize].scale;
    // x: its calibrated range over the steps; the state: twice that (a computed activation's)
    let lim = 32767.0;
    assert!(
        (scale(0) - range(&cal[0]) / lim).abs() < 1e-12,
        "x {}",
        scale(0)
    );
    let want = 2.0 * range(&cal[1]) / lim;
    assert!((scale(1) - want).abs() < 1e-12, "s {} vs {want}", scale(1));
    // held-out states 1.6 times the calibrated ones (a longer stream): not clipped
    let err = held_error(&graph, &pkg, &feeds(1.6));
    assert!(err < 0.002, "held-out error {err}");
}

#[test]
fn an_input_without_an_output_of_its_shape_keeps_its_calibrated_scale() {
    let graph = vouch_onnx::import(&model(false), &Default::default()).unwrap();
    let cal = feeds(1.0);
    let pkg = vouch_quant::import(&graph, cal.clone(), "no-state", [0; 32], |_| {}).unwrap();
    let s = pkg.values[pkg.inputs[1].value as usize].scale;
    assert!((s - range(&cal[1]) / 32767.0).abs() < 1e-12, "s {s}");
    // and so clips a held-out state past the calibrated one
    let err = held_error(&graph, &pkg, &feeds(1.6));
    assert!(err > 0.05, "held-out error {err}");
}
