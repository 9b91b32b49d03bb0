//! A recurrent model whose state inputs have a batch of 1 while its sequence input carries the
//! rows (silero VAD's `state` given once): the `LSTM`'s initial state of one row broadcasts to
//! every row, the package [`Package::shares_inputs`] (a task still holds one row), and the
//! engine runs several rows one by one, each with the whole state: bit for bit the single-row
//! executions end to end, on 1 and 2 threads. The float reference of the batched import equals
//! the float reference of each row imported alone (the ordinary `[1, 1, H]` state path that
//! `rnn_ops.rs` checks against ONNX's equations).

#![allow(clippy::unwrap_used, missing_docs)]

mod one_node;

use one_node::{data, init, int, ints, vi};
use prost::Message as _;
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::Package;
use vouch_onnx::proto::{GraphProto, ModelProto, NodeProto, OperatorSetIdProto};
use vouch_quant::FTensor;

const T: usize = 3;
const I: usize = 2;
const H: usize = 4;
const ROWS: usize = 5;

/// `LSTM` (layout 1) of `x` `[batch, T, I]` from the states `h0`, `c0` `[1, 1, H]`; outputs
/// `Y_h` and `Y_c`. `batch` is the symbolic row axis, or `Some(1)` for the one-row model.
fn model(batch: Option<usize>) -> Vec<u8> {
    let g = 4;
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 14,
        }],
        graph: Some(GraphProto {
            node: vec![NodeProto {
                input: ["x", "W", "R", "B", "", "h0", "c0"]
                    .map(Into::into)
                    .to_vec(),
                output: ["", "Y_h", "Y_c"].map(Into::into).to_vec(),
                name: "rec".into(),
                op_type: "LSTM".into(),
                attribute: vec![int("hidden_size", H as i64), int("layout", 1)],
                ..Default::default()
            }],
            name: "g".into(),
            initializer: vec![
                init("W", &[1, g * H, I], &data(g * H * I, 1, 0.6)),
                init("R", &[1, g * H, H], &data(g * H * H, 2, 0.5)),
                init("B", &[1, 2 * g * H], &data(2 * g * H, 3, 0.4)),
            ],
            input: vec![
                vi("x", &[batch, Some(T), Some(I)]),
                vi("h0", &[Some(1), Some(1), Some(H)]),
                vi("c0", &[Some(1), Some(1), Some(H)]),
            ],
            output: vec![
                vi("Y_h", &[batch, Some(1), Some(H)]),
                vi("Y_c", &[batch, Some(1), Some(H)]),
            ],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn feeds(rows: usize, row: Option<usize>) -> Vec<FTensor> {
    let x = data(ROWS * T * I, 6, 1.0);
    let x = match row {
        Some(r) => x[r * T * I..(r + 1) * T * I].to_vec(),
        None => x,
    };
    vec![
        FTensor {
            shape: vec![rows, T, I],
            data: x,
        },
        FTensor {
            shape: vec![1, 1, H],
            data: data(H, 4, 0.7),
        },
        FTensor {
            shape: vec![1, 1, H],
            data: data(H, 5, 0.9),
        },
    ]
}

fn run(pkg: &Package, inputs: Vec<Tensor>, threads: usize) -> Vec<Tensor> {
    Engine::new(
        pkg,
        Options {
            threads,
            trace: true,
        },
    )
    .unwrap()
    .run(inputs)
    .unwrap()
    .outputs
}

#[test]
fn a_one_row_state_serves_every_row() {
    let graph = vouch_onnx::import(&model(None), &Default::default()).unwrap();
    // the float reference: each row of the batched run is that row run alone
    let batched = vouch_quant::float::run(&graph, feeds(ROWS, None)).unwrap();
    let single = vouch_onnx::import(&model(Some(1)), &Default::default()).unwrap();
    for (k, &o) in graph.outputs.iter().enumerate() {
        let got = &batched[o];
        assert_eq!(got.shape, [ROWS, 1, H], "output {k}");
        for r in 0..ROWS {
            let one = vouch_quant::float::run(&single, feeds(1, Some(r))).unwrap();
            let want = &one[single.outputs[k]].data;
            assert_eq!(
                &got.data[r * H..(r + 1) * H],
                &want[..],
                "output {k} row {r}"
            );
        }
    }
    // the package shares the state inputs; the engine runs the rows one by one
    let pkg = vouch_quant::import(&graph, feeds(ROWS, None), "shared", [0; 32], |_| {}).unwrap();
    assert!(pkg.shares_inputs());
    assert!(!pkg.takes_rows(), "a task holds one row");
    let q = vouch_quant::quantize_inputs(&pkg, &feeds(ROWS, None));
    for threads in [1, 2] {
        let all = run(&pkg, q.clone(), threads);
        for (k, out) in all.iter().enumerate() {
            assert_eq!(out.shape, [ROWS, 1, H]);
            let mut expect = Vec::new();
            for r in 0..ROWS {
                let mut row = q.clone();
                row[0] = Tensor {
                    shape: vec![1, T, I],
                    data: q[0].data[r * T * I..(r + 1) * T * I].to_vec(),
                };
                expect.extend(run(&pkg, row, 1).remove(k).data);
            }
            assert_eq!(out.data, expect, "output {k}, {threads} threads");
        }
        // and close to the float reference
        for (k, &o) in graph.outputs.iter().enumerate() {
            let deq = vouch_quant::dequantize(&pkg, k, &all[k]);
            let err = deq
                .iter()
                .zip(&batched[o].data)
                .fold(0f64, |m, (a, b)| m.max((a - f64::from(*b)).abs()));
            assert!(err < 0.02, "output {k}: max error {err}");
        }
    }
    // the public row count for a task keeps the one-row rule, naming the engine's
    let e = vouch_engine::exec::rows_of(&pkg, &q)
        .unwrap_err()
        .to_string();
    assert!(e.contains("5 rows given") && e.contains("in a task"), "{e}");
}

/// [`model`] with one more output: the states stacked as silero VAD returns them, `[2, batch,
/// H]` (the batch dimension second), through `Transpose` and `Concat`.
fn stacked_model() -> Vec<u8> {
    let mut m = ModelProto::decode(model(None).as_slice()).unwrap();
    let g = m.graph.as_mut().unwrap();
    for (i, o) in [("Y_h", "th"), ("Y_c", "tc")] {
        g.node.push(NodeProto {
            input: vec![i.into()],
            output: vec![o.into()],
            name: o.into(),
            op_type: "Transpose".into(),
            attribute: vec![ints("perm", &[1, 0, 2])],
            ..Default::default()
        });
    }
    g.node.push(NodeProto {
        input: vec!["th".into(), "tc".into()],
        output: vec!["S".into()],
        name: "S".into(),
        op_type: "Concat".into(),
        attribute: vec![int("axis", 0)],
        ..Default::default()
    });
    g.output.push(vi("S", &[Some(2), None, Some(H)]));
    m.encode_to_vec()
}

#[test]
fn an_output_whose_batch_axis_is_not_first_holds_the_rows_end_to_end() {
    let graph = vouch_onnx::import(&stacked_model(), &Default::default()).unwrap();
    let pkg = vouch_quant::import(&graph, feeds(ROWS, None), "stacked", [0; 32], |_| {}).unwrap();
    assert!(pkg.shares_inputs());
    // the engine: the single-row outputs end to end (docs/semantics.md section 1)
    let q = vouch_quant::quantize_inputs(&pkg, &feeds(ROWS, None));
    let all = run(&pkg, q.clone(), 2);
    let mut expect = Vec::new();
    for r in 0..ROWS {
        let mut row = q.clone();
        row[0] = Tensor {
            shape: vec![1, T, I],
            data: q[0].data[r * T * I..(r + 1) * T * I].to_vec(),
        };
        expect.extend(run(&pkg, row, 1).remove(2).data);
    }
    assert_eq!(all[2].data, expect);
    // the import's accuracy report compares the float reference in that layout
    let s = &pkg.accuracy.outputs[2];
    assert!(s.max_abs_error < 0.02, "{s:?}");
}
