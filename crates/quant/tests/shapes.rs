//! Shapes real models use, end to end through calibration, quantization and the integer engine:
//! a model exported with its batch fixed at 1 (`testdata/models/fixed_batch_cnn`: Reshapes to
//! `[1, 4, 64]`, `[1, 4, 8, 8]` and `[1, -1]`) takes 32 calibration rows and 16 inference rows,
//! every row bit for bit what it gives alone, and kept as declared runs them one by one to the
//! same bits; a model whose image size is symbolic
//! (`testdata/models/symbolic_size_cnn`) is fixed at the calibration rows' size. Both are
//! compared with onnxruntime's outputs (`expected.json`, the fixed-batch model run row by row).

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Dim, Package};
use vouch_onnx::{BatchAxis, ImportOptions};

fn dir(model: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(model)
}

fn json(model: &str, file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir(model).join(file)).unwrap()).unwrap()
}

fn flat(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        _ => panic!("not a number"),
    }
}

/// Imports fixture `model` as `vouch model import` does: the calibration rows' shapes bind
/// the symbolic axes `opts` leaves open.
fn import(model: &str, mut opts: ImportOptions) -> Result<(vouch_onnx::FGraph, Package), String> {
    let onnx = std::fs::read(dir(model).join("model.onnx")).unwrap();
    let cal = json(model, "calibration.json");
    opts.sample_shapes = vouch_quant::sample_shapes(&cal);
    let graph = vouch_onnx::import(&onnx, &opts).map_err(|e| e.to_string())?;
    let rows = vouch_quant::calibration_from_json(&graph, &cal).map_err(|e| e.to_string())?;
    let pkg =
        vouch_quant::import(&graph, rows, model, [0; 32], |_| {}).map_err(|e| e.to_string())?;
    Ok((graph, pkg))
}

fn run(pkg: &Package, inputs: Vec<Tensor>) -> Vec<Tensor> {
    Engine::new(pkg, Options::default())
        .unwrap()
        .run(inputs)
        .unwrap()
        .outputs
}

/// The largest `|vouch - onnxruntime|` per output over `input.json`, and the share of rows
/// whose argmax agrees on output 0.
fn compare(model: &str, pkg: &Package, outs: &[Tensor]) -> (Vec<f64>, f64) {
    let expected = json(model, "expected.json");
    let mut errs = Vec::new();
    let mut agree = 0.0;
    for (i, spec) in pkg.outputs.iter().enumerate() {
        let mut want = Vec::new();
        flat(&expected[&spec.name], &mut want);
        let got = vouch_quant::dequantize(pkg, i, &outs[i]);
        assert_eq!(got.len(), want.len(), "{model} {}", spec.name);
        errs.push(
            got.iter()
                .zip(&want)
                .fold(0f64, |m, (a, b)| m.max((a - b).abs())),
        );
        if i == 0 {
            let cols = *outs[i].shape.last().unwrap();
            let argmax = |v: &[f64]| -> Vec<usize> {
                v.chunks(cols)
                    .map(|r| (0..cols).max_by(|&a, &b| r[a].total_cmp(&r[b])).unwrap())
                    .collect()
            };
            let (a, b) = (argmax(&got), argmax(&want));
            agree = a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64;
        }
    }
    (errs, agree)
}

#[test]
fn a_fixed_batch_model_takes_rows_each_as_its_one_row() {
    let model = "fixed_batch_cnn";
    let (graph, pkg) = import(model, ImportOptions::default()).unwrap();
    assert_eq!(graph.batch, BatchAxis::FixedOneAsRows);
    assert_eq!(pkg.accuracy.samples, 32, "every calibration row is used");
    assert!(pkg.takes_rows());
    let input = &pkg.values[pkg.inputs[0].value as usize];
    assert_eq!(
        input.shape,
        [Dim::Batch, Dim::Fixed(1), Dim::Fixed(8), Dim::Fixed(8)]
    );
    let floats =
        vouch_task::codec::package_inputs_from_json(&pkg, &json(model, "input.json")).unwrap();
    let q = vouch_quant::quantize_inputs(&pkg, &floats);
    let rows = q[0].shape[0];
    assert_eq!(rows, 16);
    let all = run(&pkg, q.clone());
    // every row alone (a batch of one) gives the same bits as its place in the whole run
    let per = q[0].data.len() / rows;
    for r in 0..rows {
        let one = Tensor {
            shape: vec![1, 1, 8, 8],
            data: q[0].data[r * per..(r + 1) * per].to_vec(),
        };
        let alone = run(&pkg, vec![one]);
        for (a, whole) in alone.iter().zip(&all) {
            let n = a.data.len();
            assert_eq!(a.data, whole.data[r * n..(r + 1) * n], "row {r}");
        }
    }
    let (errs, agree) = compare(model, &pkg, &all);
    println!("{model}: {rows} rows, max abs error per output {errs:?}, argmax agreement {agree}");
    assert_eq!(agree, 1.0);
    assert!(errs.iter().all(|&e| e < 0.01), "{errs:?}");
    // kept as declared, the same model calibrates on all 32 rows and runs the 16 one by one
    // (a task holds one row): the same bits as read with axis 0 as the rows
    let kept = ImportOptions {
        keep_fixed_batch: true,
        ..Default::default()
    };
    let (_, kept) = import(model, kept).unwrap();
    assert_eq!(kept.accuracy.samples, 32, "every calibration row is used");
    assert!(!kept.takes_rows() && kept.runs_row_by_row());
    let q = vouch_quant::quantize_inputs(&kept, &floats);
    assert_eq!(q[0].shape, [16, 1, 8, 8]);
    let by_row = run(&kept, q);
    for (a, b) in by_row.iter().zip(&all) {
        assert_eq!(a.shape, b.shape);
        assert_eq!(a.data, b.data);
    }
    // rows that disagree on their count are refused, naming the input
    let e = Engine::new(&kept, Options::default())
        .unwrap()
        .run(vec![Tensor {
            shape: vec![3, 2, 8, 8],
            data: vec![0; 3 * 2 * 64],
        }])
        .unwrap_err()
        .to_string();
    assert!(e.contains("input"), "{e}");
}

#[test]
fn a_symbolic_image_size_is_fixed_at_the_calibration_rows_size() {
    let model = "symbolic_size_cnn";
    let (_, pkg) = import(model, ImportOptions::default()).unwrap();
    let input = &pkg.values[pkg.inputs[0].value as usize];
    assert_eq!(
        input.shape,
        [Dim::Batch, Dim::Fixed(3), Dim::Fixed(8), Dim::Fixed(8)]
    );
    let floats =
        vouch_task::codec::package_inputs_from_json(&pkg, &json(model, "input.json")).unwrap();
    let outs = run(&pkg, vouch_quant::quantize_inputs(&pkg, &floats));
    let (errs, agree) = compare(model, &pkg, &outs);
    println!("{model}: max abs error {errs:?}, argmax agreement {agree}");
    assert_eq!(agree, 1.0);
    assert!(errs[0] < 0.01, "{errs:?}");
    // a given size other than the rows': the rows are refused, naming the input
    let opts = ImportOptions {
        shapes: [("image".to_owned(), vec![1, 3, 16, 16])].into(),
        ..Default::default()
    };
    let e = import(model, opts).unwrap_err();
    assert!(e.contains("image"), "{e}");
}
