//! The memory-bounded import path (issue 15) builds the same packages: over every committed
//! fixture with calibration rows, [`vouch_quant::float::calibrate`] (which drops each
//! activation after its last reader) gives the ranges, inputs and outputs of a full
//! [`vouch_quant::float::run`], and [`vouch_quant::import_owned`] on a graph from
//! [`vouch_onnx::import_owned`] writes the bytes [`vouch_quant::import_at`] writes.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use vouch_quant::{FTensor, Precision};

fn fixtures() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/models");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.join("model.onnx").is_file() && p.join("calibration.json").is_file())
                .then(|| p.file_name()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    names
}

fn read(model: &str, file: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(model)
        .join(file);
    std::fs::read(p).unwrap()
}

fn f32_bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Shapes and element bits of tensors.
fn bits<'a>(ts: impl Iterator<Item = &'a FTensor>) -> Vec<(Vec<usize>, Vec<u32>)> {
    ts.map(|t| (t.shape.clone(), f32_bits(&t.data))).collect()
}

#[test]
fn the_bounded_import_writes_the_same_package_bytes_for_every_fixture() {
    let names = fixtures();
    assert!(names.len() >= 20, "only {} fixtures found", names.len());
    let mut compared = 0;
    for model in &names {
        let onnx = read(model, "model.onnx");
        let cal_json: serde_json::Value =
            serde_json::from_slice(&read(model, "calibration.json")).unwrap();
        let opts = vouch_onnx::ImportOptions {
            sample_shapes: vouch_quant::sample_shapes(&cal_json),
            ..Default::default()
        };
        // a fixture this path cannot import (one kept for its error) is skipped by both
        let Ok(graph) = vouch_onnx::import(&onnx, &opts) else {
            assert!(vouch_onnx::import_owned(onnx, &opts).is_err(), "{model}");
            continue;
        };
        let owned_graph = vouch_onnx::import_owned(onnx, &opts).unwrap();
        assert_eq!(
            owned_graph, graph,
            "{model}: the owned import's graph differs"
        );
        let cal = vouch_quant::calibration_from_json(&graph, &cal_json).unwrap();

        let values = vouch_quant::float::run(&graph, cal.clone()).unwrap();
        let c = vouch_quant::float::calibrate(&graph, cal.clone()).unwrap();
        let ranges: Vec<f32> = values
            .iter()
            .map(|t| t.data.iter().fold(0f32, |m, v| m.max(v.abs())))
            .collect();
        assert_eq!(f32_bits(&c.ranges), f32_bits(&ranges), "{model}: ranges");
        // compared bit for bit (a missing value is a NaN)
        let pick = |ids: &[usize]| bits(ids.iter().map(|&v| &values[v]));
        assert_eq!(
            bits(c.inputs.iter()),
            pick(&graph.inputs),
            "{model}: inputs"
        );
        assert_eq!(
            bits(c.outputs.iter()),
            pick(&graph.outputs),
            "{model}: outputs"
        );

        for precision in [Precision::Int8, Precision::Int16] {
            let borrowed =
                vouch_quant::import_at(&graph, cal.clone(), model, [7; 32], precision, |_| {});
            let owned = vouch_quant::import_owned(
                owned_graph.clone(),
                cal.clone(),
                model,
                [7; 32],
                precision,
                |_| {},
            );
            match (borrowed, owned) {
                (Ok(a), Ok(b)) => assert_eq!(a.to_bytes(), b.to_bytes(), "{model} {precision:?}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{model}"),
                (a, b) => panic!("{model} {precision:?}: {:?} against {:?}", a.err(), b.err()),
            }
        }
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} fixtures compared");
}
