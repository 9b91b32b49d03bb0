//! Where a fixture's error comes from: imports `testdata/models/<name>` with its calibration
//! rows, runs the float reference and the traced integer engine on the held-out `input.json`,
//! and prints, for every node output that has a float twin (the same value name), the largest
//! absolute error, that error over the float value's range, and the largest error relative to
//! `max(1, |float|)` (the fixture tests' measure); first, the float reference's own error
//! against onnxruntime's outputs (`expected.json`).
//!
//! `cargo run -q -p vouch-quant --example error_budget -- svm_rbf_bc linear_svc_bc`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use vouch_engine::{Engine, Options};

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn flat(v: &serde_json::Value, out: &mut Vec<f64>) {
    match v {
        serde_json::Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        serde_json::Value::Number(n) => out.extend(n.as_f64()),
        _ => {}
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/models");
    for model in std::env::args().skip(1) {
        let d = root.join(&model);
        let onnx = std::fs::read(d.join("model.onnx")).unwrap();
        let g = vouch_onnx::import(&onnx, &Default::default()).unwrap();
        let cal = vouch_quant::calibration_from_json(&g, &read_json(&d.join("calibration.json")))
            .unwrap();
        let pkg = vouch_quant::import(&g, cal, &model, [0; 32], |_| {}).unwrap();
        let floats =
            vouch_task::codec::package_inputs_from_json(&pkg, &read_json(&d.join("input.json")))
                .unwrap();
        let fvals = vouch_quant::float::run(&g, floats.clone()).unwrap();
        let q = vouch_quant::quantize_inputs(&pkg, &floats);
        let ex = Engine::new(
            &pkg,
            Options {
                threads: 1,
                trace: true,
            },
        )
        .unwrap()
        .run(q)
        .unwrap();
        println!("== {model}");
        // the float reference against onnxruntime, output by output
        let expected = read_json(&d.join("expected.json"));
        for &o in &g.outputs {
            let name = &g.values[o].name;
            let mut want = Vec::new();
            flat(&expected[name], &mut want);
            if want.len() != fvals[o].data.len() {
                continue;
            }
            let err = want
                .iter()
                .zip(&fvals[o].data)
                .map(|(w, f)| (w - f64::from(*f)).abs() / w.abs().max(1.0))
                .fold(0f64, f64::max);
            println!("{name:>34} float reference vs onnxruntime: {err:.2e}");
        }
        for (node, t) in pkg.nodes.iter().zip(&ex.trace) {
            let info = &pkg.values[node.output as usize];
            let Some(fv) = g.values.iter().position(|v| v.name == info.name) else {
                println!("{:>34} {:>10} (no float twin)", info.name, node.op.name());
                continue;
            };
            let f = &fvals[fv].data;
            if f.len() != t.data.len() {
                continue;
            }
            let range = f.iter().fold(0f64, |m, v| m.max(f64::from(v.abs())));
            let (mut abs, mut rel) = (0f64, 0f64);
            for (&qv, &fv) in t.data.iter().zip(f) {
                let e = (f64::from(qv) * info.scale - f64::from(fv)).abs();
                abs = abs.max(e);
                rel = rel.max(e / f64::from(fv.abs()).max(1.0));
            }
            println!(
                "{:>34} {:>10} {:?} scale {:.3e} range {:.3e}: abs {:.3e} ({:.2e} of range) rel {:.2e}",
                info.name,
                node.op.name(),
                info.kind,
                info.scale,
                range,
                abs,
                abs / range.max(1e-30),
                rel
            );
        }
    }
}
