//! Times the pieces of one batched inference on a fixture model (for profiling by hand).
#![allow(clippy::print_stdout, missing_docs)]
use std::time::Instant;
use vouch_engine::{Engine, Options};

fn main() {
    let model = std::env::args().nth(1).unwrap_or("mlp_784_128_10".into());
    let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(&model);
    let onnx = std::fs::read(d.join("model.onnx")).unwrap();
    let g = vouch_onnx::import(&onnx, &Default::default()).unwrap();
    let j = |f: &str| {
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(d.join(f)).unwrap())
            .unwrap()
    };
    let cal = vouch_quant::json::inputs_from_json(&j("calibration.json"), &["input"]).unwrap();
    let pkg = vouch_quant::import(&g, cal.clone(), "m", [0; 32], |_| {}).unwrap();
    let mut x = vouch_quant::json::inputs_from_json(&j("input.json"), &["input"]).unwrap();
    let per = x[0].data.len() / x[0].shape[0];
    x[0].shape[0] = 64;
    x[0].data.truncate(64 * per);
    let engine = Engine::new(
        &pkg,
        Options {
            threads: 1,
            trace: false,
        },
    )
    .unwrap();
    // Best of many short runs: the machine is shared and noisy.
    let best = |f: &mut dyn FnMut()| {
        (0..200)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e6
            })
            .fold(f64::INFINITY, f64::min)
    };
    println!(
        "quantize: {:.1} us",
        best(&mut || {
            std::hint::black_box(vouch_quant::quantize_inputs(&pkg, &x));
        })
    );
    let q = vouch_quant::quantize_inputs(&pkg, &x);
    println!(
        "run: {:.1} us",
        best(&mut || {
            std::hint::black_box(engine.run(q.clone()).unwrap());
        })
    );
}
