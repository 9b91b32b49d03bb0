//! The recurrent fixture models run several rows as one batched run (`docs/semantics.md`
//! section 8.5: the importer unrolls an `LSTM`/`GRU` of layout 0 with the batch on axis 1, so
//! most values hold the rows interleaved) and give, bit for bit, the rows run one by one and
//! put end to end: outputs and traces, on 1 and 2 threads, with the fast paths and without
//! (`VOUCH_ENGINE_REFERENCE`).

#![allow(clippy::unwrap_used, missing_docs)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use vouch_engine::tensor::resolve;
use vouch_engine::vectors::Rng;
use vouch_engine::{Engine, Execution, Options, Tensor};
use vouch_model::{Dim, Package};
use vouch_quant::json::inputs_from_json;

/// The LSTM and GRU fixtures (`testdata/models/<name>`).
const MODELS: [&str; 5] = [
    "vad_lstm",
    "vad_lstm_seq",
    "vad_bigru",
    "pq_vad_lstm_dyn",
    "crnn_softmax",
];

/// Those of [`MODELS`] with the batch axis not first in some value (layout 0: the rows
/// interleaved in a batched run).
const INTERLEAVED: [&str; 1] = ["pq_vad_lstm_dyn"];

fn dir(model: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(model)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn import(model: &str) -> Package {
    let d = dir(model);
    let onnx = std::fs::read(d.join("model.onnx")).unwrap();
    let graph = vouch_onnx::import(&onnx, &Default::default()).unwrap();
    let names: Vec<&str> = graph
        .inputs
        .iter()
        .map(|&v| graph.values[v].name.as_str())
        .collect();
    let cal = inputs_from_json(&read_json(&d.join("calibration.json")), &names).unwrap();
    vouch_quant::import(&graph, cal, model, [0; 32], |_| {}).unwrap()
}

fn run(pkg: &Package, inputs: Vec<Tensor>, threads: usize, trace: bool) -> Execution {
    Engine::new(pkg, Options { threads, trace })
        .unwrap()
        .run(inputs)
        .unwrap()
}

/// Random inputs of `rows` rows, each in its kind's range (the batch dimension first).
fn random_inputs(pkg: &Package, rows: usize, seed: u64) -> Vec<Tensor> {
    let mut rng = Rng::new(seed);
    pkg.inputs
        .iter()
        .map(|io| {
            let v = &pkg.values[io.value as usize];
            let (lo, hi) = io.integer.or(v.kind.act_range()).unwrap_or((-128, 127));
            rng.with_edges(&resolve(&v.shape, rows), lo, hi)
        })
        .collect()
}

/// Row `r` of `rows` of an input whose batch dimension is axis 0.
fn row(t: &Tensor, rows: usize, r: usize) -> Tensor {
    let per = t.data.len() / rows;
    let mut shape = t.shape.clone();
    shape[0] = 1;
    Tensor {
        shape,
        data: t.data[r * per..(r + 1) * per].to_vec(),
    }
}

/// The rows of `inputs` run one at a time (1 thread, traced), put end to end.
fn rows_one_by_one(pkg: &Package, inputs: &[Tensor], rows: usize) -> Execution {
    let mut all: Option<Execution> = None;
    for r in 0..rows {
        let one = run(
            pkg,
            inputs.iter().map(|t| row(t, rows, r)).collect(),
            1,
            true,
        );
        all = Some(match all {
            None => one,
            Some(mut acc) => {
                for (a, b) in acc.outputs.iter_mut().zip(one.outputs) {
                    a.data.extend(b.data);
                }
                for (a, b) in acc.trace.iter_mut().zip(one.trace) {
                    a.data.extend(b.data);
                }
                acc
            }
        });
    }
    all.unwrap()
}

/// Every fixture is row-separable, and its batched runs are the rows one by one.
#[test]
fn recurrent_fixtures_run_their_rows_together_with_the_same_bits() {
    let mut interleaved = Vec::new();
    for model in MODELS {
        let pkg = import(model);
        assert!(pkg.row_separable(), "{model}: row-separable");
        if pkg
            .values
            .iter()
            .any(|v| v.shape.first() != Some(&Dim::Batch))
        {
            interleaved.push(model);
        }
        for (rows, seed) in [(5, 1), (8, 2)] {
            let inputs = random_inputs(&pkg, rows, seed);
            let expect = rows_one_by_one(&pkg, &inputs, rows);
            for threads in [1, 2] {
                let got = run(&pkg, inputs.clone(), threads, false);
                for (g, e) in got.outputs.iter().zip(&expect.outputs) {
                    assert_eq!(g.data, e.data, "{model}: {rows} rows, {threads} threads");
                }
                let traced = run(&pkg, inputs.clone(), threads, true);
                assert_eq!(traced.trace.len(), expect.trace.len());
                for (j, (g, e)) in traced.trace.iter().zip(&expect.trace).enumerate() {
                    assert_eq!(g.data, e.data, "{model}: node {j}'s trace, {rows} rows");
                }
            }
        }
    }
    assert_eq!(
        interleaved, INTERLEAVED,
        "the fixtures whose batch axis moves"
    );
}

/// The held-out inputs of every fixture, batched, give the same outputs with the fast paths
/// as without them (`VOUCH_ENGINE_REFERENCE`, read when an engine is built; the other tests
/// of this file only compare runs that must agree either way).
#[test]
fn batched_fast_paths_match_the_reference_paths() {
    for model in MODELS {
        let pkg = import(model);
        let names: Vec<&str> = pkg.inputs.iter().map(|s| s.name.as_str()).collect();
        let floats = inputs_from_json(&read_json(&dir(model).join("input.json")), &names).unwrap();
        let q = vouch_quant::quantize_inputs(&pkg, &floats);
        let rows = q[0].shape[0];
        let expect = rows_one_by_one(&pkg, &q, rows);
        for threads in [1, 2] {
            // SAFETY: tests of this file read the variable only when building an engine, and
            // their results do not depend on it.
            unsafe { std::env::set_var(vouch_engine::profile::REFERENCE_ENV, "1") };
            let reference = Engine::new(
                &pkg,
                Options {
                    threads,
                    trace: false,
                },
            )
            .unwrap();
            unsafe { std::env::remove_var(vouch_engine::profile::REFERENCE_ENV) };
            let reference = reference.run(q.clone()).unwrap();
            let fast = run(&pkg, q.clone(), threads, false);
            assert_eq!(
                fast.outputs, reference.outputs,
                "{model}: {threads} threads"
            );
            for (g, e) in fast.outputs.iter().zip(&expect.outputs) {
                assert_eq!(g.data, e.data, "{model}: held-out rows");
            }
        }
    }
}

/// The unrolled cells store each constant once (`quantize/shared.rs`: every step reads the
/// one copy of the recurrent weights), and their gate tables' windows on the quarter-octave
/// grid make most steps share a table (`docs/semantics.md` section 5).
#[test]
fn unrolled_cells_store_equal_constants_and_tables_once() {
    for model in MODELS {
        let pkg = import(model);
        let mut seen = std::collections::BTreeSet::new();
        for c in &pkg.consts {
            let key = (c.scale.to_bits(), c.shape.clone(), c.data.clone());
            assert!(
                seen.insert(key),
                "{model}: constant {} stored twice",
                c.name
            );
        }
        let tables: Vec<u32> = pkg
            .nodes
            .iter()
            .filter_map(|n| match n.op {
                vouch_model::Op::Lut { table } => Some(table),
                _ => None,
            })
            .collect();
        let distinct: std::collections::BTreeSet<u32> = tables.iter().copied().collect();
        if model.starts_with("vad_") {
            assert!(
                distinct.len() * 2 <= tables.len(),
                "{model}: {} Luts read {} tables",
                tables.len(),
                distinct.len()
            );
        }
    }
}
