//! The scikit-learn fixtures of `testdata/models` (`tree_*`, `linear_*`): each imported with
//! its calibration rows, run by the integer engine on 1 and 2 threads over the held-out
//! `input.json`, and compared with onnxruntime's outputs in `expected.json`.

#![allow(dead_code, unreachable_pub, clippy::print_stdout, clippy::unwrap_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use vouch_engine::{Engine, Options};
use vouch_model::{Kind, Package};
use vouch_quant::Precision;

pub fn dir(model: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(model)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn flat(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        Value::Number(n) => out.push(n.as_f64().unwrap()),
        _ => panic!("not a number"),
    }
}

/// What one fixture measured.
pub struct Measured {
    pub rows: usize,
    pub label_agreement: Option<f64>,
    /// Largest `|vouch - onnxruntime| / max(1, |onnxruntime|)` of the real-valued output.
    pub rel_err: f64,
    pub differing: usize,
    pub walks: usize,
    /// Real-valued output elements compared.
    pub elements: usize,
    /// Of those, how many are a step or more (of the output's scale) from onnxruntime's:
    /// `round(|vouch - onnxruntime| / scale) >= 1`.
    pub steps_off: usize,
    /// The largest such difference, in steps.
    pub max_steps: f64,
}

/// Imports, runs and compares fixture `model` (16 bits).
pub fn measure(model: &str) -> Measured {
    measure_at(model, Precision::Int16)
}

/// [`measure`] at `precision`.
pub fn measure_at(model: &str, precision: Precision) -> Measured {
    let d = dir(model);
    let onnx = std::fs::read(d.join("model.onnx")).unwrap();
    let graph =
        vouch_onnx::import(&onnx, &Default::default()).unwrap_or_else(|e| panic!("{model}: {e}"));
    let cal = vouch_quant::calibration_from_json(&graph, &read_json(&d.join("calibration.json")))
        .unwrap();
    let pkg: Package =
        vouch_quant::import_at(&graph, cal.clone(), model, [0; 32], precision, |_| {})
            .unwrap_or_else(|e| panic!("{model}: {e}"));
    let dec = vouch_quant::tree_decisions(&graph, &pkg, &cal).unwrap();
    let floats =
        vouch_task::codec::package_inputs_from_json(&pkg, &read_json(&d.join("input.json")))
            .unwrap();
    let q = vouch_quant::quantize_inputs(&pkg, &floats);
    let run = |threads| {
        Engine::new(
            &pkg,
            Options {
                threads,
                trace: false,
            },
        )
        .unwrap()
        .run(q.clone())
        .unwrap()
        .outputs
    };
    let outs = run(1);
    assert_eq!(outs, run(2), "{model}: 1 vs 2 threads");
    let expected = read_json(&d.join("expected.json"));
    let mut m = Measured {
        rows: q[0].shape[0],
        label_agreement: None,
        rel_err: 0.0,
        differing: dec.differing,
        walks: dec.walks,
        elements: 0,
        steps_off: 0,
        max_steps: 0.0,
    };
    for (i, spec) in pkg.outputs.iter().enumerate() {
        let mut want = Vec::new();
        flat(&expected[&spec.name], &mut want);
        let got = vouch_quant::dequantize(&pkg, i, &outs[i]);
        assert_eq!(got.len(), want.len(), "{model} {}", spec.name);
        if pkg.values[spec.value as usize].kind == Kind::Index {
            let same = got.iter().zip(&want).filter(|(a, b)| a == b).count();
            m.label_agreement = Some(same as f64 / want.len() as f64);
        } else {
            let scale = pkg.values[spec.value as usize].scale;
            for (a, b) in got.iter().zip(&want) {
                m.rel_err = m.rel_err.max((a - b).abs() / b.abs().max(1.0));
                let steps = ((a - b).abs() / scale).round();
                m.elements += 1;
                m.steps_off += usize::from(steps >= 1.0);
                m.max_steps = m.max_steps.max(steps);
            }
        }
    }
    m
}

/// Fixture `model` measured ([`measure`]) and printed: every label must agree with
/// onnxruntime's, and the largest error (absolute below 1, relative above) be at most `bound`.
pub fn check(model: &str, bound: f64) {
    let m = measure(model);
    println!(
        "{model}: {} held-out rows, label agreement {}, max error {:.2e}",
        m.rows,
        m.label_agreement
            .map_or("-".into(), |a| format!("{:.4}", a)),
        m.rel_err,
    );
    if let Some(a) = m.label_agreement {
        assert_eq!(a, 1.0, "{model}: labels differ from onnxruntime's");
    }
    assert!(
        m.rel_err <= bound,
        "{model}: error {} above {bound}",
        m.rel_err
    );
}
