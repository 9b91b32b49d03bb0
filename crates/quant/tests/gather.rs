//! `Gather` by a computed index end to end (`testdata/models/gather_embed`): token ids (an
//! `int64` graph input) index a constant embedding table, and an `ArgMax` output picks a row of
//! a constant table. Both lower to `Op::Gather`; the integer engine's outputs agree with
//! onnxruntime's, and the picked rows are the stored table's rows exactly.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use vouch_engine::{Engine, Options};
use vouch_model::{Op, Operand, Package};
use vouch_quant::Precision;
use vouch_task::codec;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/models/gather_embed")
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

fn import(precision: Precision) -> Package {
    let onnx = std::fs::read(dir().join("model.onnx")).unwrap();
    let graph = vouch_onnx::import(&onnx, &Default::default()).unwrap();
    let cal = codec::json::inputs_from_json(&read_json("calibration.json"), &["ids"]).unwrap();
    vouch_quant::import_at(&graph, cal, "gather_embed", [0; 32], precision, |_| {}).unwrap()
}

#[test]
fn embedding_and_argmax_gathers_agree_with_onnxruntime() {
    for (precision, bound) in [(Precision::Int16, 2e-3), (Precision::Int8, 6e-2)] {
        let pkg = import(precision);
        let gathers: Vec<_> = pkg
            .nodes
            .iter()
            .filter(|n| matches!(n.op, Op::Gather { axis: 0 }))
            .collect();
        assert_eq!(gathers.len(), 2, "{precision:?}: the lookup and the pick");
        assert!(
            gathers
                .iter()
                .all(|n| matches!(n.inputs[0], Operand::Const(_)))
        );
        assert_eq!(pkg.inputs[0].integer, Some((-128, 127)));
        assert!(
            pkg.row_separable(),
            "a constant table picked along axis 0 keeps rows apart"
        );
        let floats = codec::package_inputs_from_json(&pkg, &read_json("input.json")).unwrap();
        let q = codec::quantize_inputs(&pkg, &floats);
        let engine = Engine::new(&pkg, Options::default()).unwrap();
        let out = engine.run(q.clone()).unwrap().outputs;
        // batched shapes give each row's bits (the package is row-separable)
        for r in [0, 7, 15] {
            let one = vouch_engine::Tensor {
                shape: vec![1, 6],
                data: q[0].data[r * 6..r * 6 + 6].to_vec(),
            };
            let single = engine.run(vec![one]).unwrap().outputs;
            assert_eq!(
                single[0].data,
                out[0].data[r * 4..r * 4 + 4],
                "row {r} scores"
            );
            assert_eq!(
                single[1].data,
                out[1].data[r * 3..r * 3 + 3],
                "row {r} proto"
            );
        }
        let expected = read_json("expected.json");
        let want = |name: &str| {
            codec::json::nested_to_tensor(name, &expected[name])
                .unwrap()
                .data
        };
        let (scores, want_scores) = (codec::dequantize(&pkg, 0, &out[0]), want("scores"));
        let scale = want_scores
            .iter()
            .fold(0f64, |m, &w| m.max(f64::from(w).abs()));
        let err = scores
            .iter()
            .zip(&want_scores)
            .fold(0f64, |m, (&g, &w)| m.max((g - f64::from(w)).abs()));
        println!(
            "{precision:?}: largest score error {:.2e} of the largest",
            err / scale
        );
        assert!(err / scale < bound, "{precision:?}: {}", err / scale);
        // each row's proto is the stored table's row at the engine's ArgMax of its scores
        let table = match gathers[1].inputs[0] {
            Operand::Const(c) => &pkg.consts[c as usize],
            Operand::Value(_) => unreachable!(),
        };
        let (proto, want_proto) = (&out[1].data, want("proto"));
        let mut agree = 0;
        for (r, row) in out[0].data.chunks(4).enumerate() {
            let best = (0..4)
                .max_by_key(|&j| (row[j], std::cmp::Reverse(j)))
                .unwrap();
            assert_eq!(proto[r * 3..r * 3 + 3], table.data[best * 3..best * 3 + 3]);
            let want_best = (0..4)
                .max_by(|&a, &b| {
                    want_scores[r * 4 + a]
                        .total_cmp(&want_scores[r * 4 + b])
                        .then(b.cmp(&a))
                })
                .unwrap();
            if best == want_best {
                agree += 1;
                let got = codec::dequantize(&pkg, 1, &out[1]);
                for k in 0..3 {
                    let d = (got[r * 3 + k] - f64::from(want_proto[r * 3 + k])).abs();
                    assert!(d < 2e-2, "{precision:?} row {r}: proto off by {d}");
                }
            }
        }
        println!("{precision:?}: ArgMax agrees with onnxruntime on {agree} of 16 rows");
        assert!(agree >= 15, "{precision:?}: {agree} of 16");
    }
}

#[test]
fn a_token_id_past_the_table_picks_its_last_row() {
    let pkg = import(Precision::Int16);
    let ids = |v: i32| vouch_engine::Tensor {
        shape: vec![1, 6],
        data: vec![v, 0, 0, 0, 0, 0],
    };
    let run = |t| {
        let e = Engine::new(
            &pkg,
            Options {
                threads: 1,
                trace: true,
            },
        )
        .unwrap();
        e.run(vec![t]).unwrap().trace.remove(0)
    };
    // ids 19, 127 (past the 20 rows) and -1 (from the end) all read row 19
    let last = run(ids(19));
    assert_eq!(run(ids(127)), last);
    assert_eq!(run(ids(-1)), last);
    assert_ne!(run(ids(0)), last);
}

/// `testdata/models/gather_argmax`: a computed row picked by an `ArgMax` (a `Gather` whose
/// data is a computed tensor, one row per execution) agrees with onnxruntime.
#[test]
fn a_computed_row_picked_by_an_argmax_agrees_with_onnxruntime() {
    let dir = dir().with_file_name("gather_argmax");
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    let graph = vouch_onnx::import(&onnx, &Default::default()).unwrap();
    let cal = codec::json::inputs_from_json(&read("calibration.json"), &["x"]).unwrap();
    let pkg = vouch_quant::import_at(
        &graph,
        cal,
        "gather_argmax",
        [0; 32],
        Precision::Int16,
        |_| {},
    )
    .unwrap();
    let g = pkg
        .nodes
        .iter()
        .find(|n| matches!(n.op, Op::Gather { axis: 1 }))
        .unwrap();
    assert!(
        matches!(g.inputs[0], Operand::Value(_)),
        "the data is computed"
    );
    let floats = codec::package_inputs_from_json(&pkg, &read("input.json")).unwrap();
    let q = codec::quantize_inputs(&pkg, &floats);
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(q)
        .unwrap()
        .outputs;
    let got = codec::dequantize(&pkg, 1, &out[1]);
    let want = codec::json::nested_to_tensor("picked", &read("expected.json")["picked"])
        .unwrap()
        .data;
    assert_eq!(got.len(), 3);
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g - f64::from(*w)).abs() < 1e-2,
            "picked {got:?}, onnxruntime {want:?}"
        );
    }
}
