//! Throughput benchmark: vouch's integer engine vs tract (f32) on the MLP 784-128-10, the
//! LeNet-sized CNN and tree ensembles (XGBoost, LightGBM and CatBoost exports, 100 rounds of
//! depth 6) at batch 1 and 64, plus the time to import and calibrate a 1M-parameter MLP.
//! Prints one JSON line per measurement; `bench/run.sh` adds onnxruntime and the ratios.
//!
//! With `BENCH_LARGE=model` it measures one large model instead (`resnet50`, `yolov8n`, `lstm_kws` from
//! `bench/out/large`, written by `bench/large/gen.py`, or any fixture) at batch 1
//! and 8 for one peer (`BENCH_PEER=vouch` or `tract`), and ends with the process's peak
//! resident memory, so that each peer's memory is its own process's. `BENCH_PEER=vouch-ab`
//! times the engine's reference and fast paths against each other instead (see [`ab`]).
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tract_onnx::prelude::*;
use vouch_engine::{Engine, Options};
use vouch_quant::FTensor;

/// Where model `name` lives: `bench/out/large/<name>` when generated there, else the fixture
/// `testdata/models/<name>`.
fn model_dir(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let large = root.join("bench/out/large").join(name);
    if large.is_dir() { large } else { root.join("testdata/models").join(name) }
}

fn load_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("read json")).expect("json")
}

/// The models measured: `testdata/models/<name>`.
const MODELS: [&str; 5] = ["mlp_784_128_10", "lenet", "tree_xgb_bc", "tree_lgb_iris", "tree_cb_bc"];

/// The name of the model's (only) graph input, as its fixture's `input.json` keys it.
fn input_name(model: &str) -> String {
    let v = load_json(&model_dir(model).join("input.json"));
    v.as_object().and_then(|o| o.keys().next().cloned()).expect("one input")
}

/// `batch` rows of the model's test input (cycled).
fn rows(model: &str, batch: usize) -> FTensor {
    let v = load_json(&model_dir(model).join("input.json"));
    let name = input_name(model);
    let t = vouch_quant::json::nested_to_tensor(&name, &v[&name]).expect("input");
    let per = t.data.len() / t.shape[0];
    let mut shape = t.shape.clone();
    shape[0] = batch;
    let data = (0..batch).flat_map(|i| t.data[(i % t.shape[0]) * per..(i % t.shape[0] + 1) * per].to_vec()).collect();
    FTensor { shape, data }
}

/// Runs `f` repeatedly for about `window`, best of three windows; returns runs per second.
fn rate(f: impl FnMut(), window: Duration) -> f64 {
    rate_after(f, window, 3)
}

/// [`rate`] after `warmups` untimed runs.
fn rate_after(mut f: impl FnMut(), window: Duration, warmups: usize) -> f64 {
    for _ in 0..warmups {
        f();
    }
    let mut best = 0f64;
    for _ in 0..3 {
        let (start, mut n) = (Instant::now(), 0u64);
        while start.elapsed() < window {
            f();
            n += 1;
        }
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    best
}

fn vouch_package(model: &str) -> vouch_model::Package {
    let d = model_dir(model);
    let onnx = std::fs::read(d.join("model.onnx")).expect("onnx");
    let g = vouch_onnx::import(&onnx, &Default::default()).expect("import");
    let cal = vouch_quant::calibration_from_json(&g, &load_json(&d.join("calibration.json"))).expect("cal");
    vouch_quant::import(&g, cal, model, [0; 32], |_| {}).expect("quantize")
}

fn emit(peer: &str, model: &str, batch: usize, threads: usize, per_sec: f64) {
    println!(
        "{{\"peer\":\"{peer}\",\"model\":\"{model}\",\"batch\":{batch},\"threads\":{threads},\"inferences_per_sec\":{:.1}}}",
        per_sec * batch as f64
    );
}

/// A 784-1024-256-10 MLP (1.07M parameters) with seeded random weights, as ONNX bytes.
fn big_mlp() -> Vec<u8> {
    use prost::Message;
    use vouch_onnx::proto::*;
    let mut seed = 1u64;
    let mut rnd = |n: usize, fan_in: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * (3.0 / fan_in as f32).sqrt()
            })
            .collect()
    };
    let dims = [784usize, 1024, 256, 10];
    let mut inits = Vec::new();
    let mut nodes = Vec::new();
    let mut x = "input".to_string();
    for l in 0..3 {
        let (k, n) = (dims[l], dims[l + 1]);
        let (w, b) = (format!("w{l}"), format!("b{l}"));
        inits.push(TensorProto { name: w.clone(), dims: vec![k as i64, n as i64], data_type: 1, float_data: rnd(k * n, k), ..Default::default() });
        inits.push(TensorProto { name: b.clone(), dims: vec![n as i64], data_type: 1, float_data: vec![0.01; n], ..Default::default() });
        let y = format!("h{l}");
        nodes.push(NodeProto { input: vec![x.clone(), w, b], output: vec![y.clone()], name: format!("gemm{l}"), op_type: "Gemm".into(), ..Default::default() });
        x = y;
        if l < 2 {
            let r = format!("r{l}");
            nodes.push(NodeProto { input: vec![x.clone()], output: vec![r.clone()], name: format!("relu{l}"), op_type: "Relu".into(), ..Default::default() });
            x = r;
        }
    }
    let vi = |name: &str, d: i64| {
        use type_proto::Value;
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                value: Some(Value::TensorType(type_proto::Tensor {
                    elem_type: 1,
                    shape: Some(TensorShapeProto {
                        dim: vec![
                            tensor_shape_proto::Dimension { value: Some(tensor_shape_proto::dimension::Value::DimParam("N".into())), ..Default::default() },
                            tensor_shape_proto::Dimension { value: Some(tensor_shape_proto::dimension::Value::DimValue(d)), ..Default::default() },
                        ],
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    };
    let graph = GraphProto { name: "big".into(), node: nodes, initializer: inits, input: vec![vi("input", 784)], output: vec![vi(&x, 10)], ..Default::default() };
    ModelProto { ir_version: 8, opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 17 }], graph: Some(graph), ..Default::default() }
        .encode_to_vec()
}

/// The process's peak resident memory in MiB (`VmHWM`), where `/proc` has it.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// tract's runnable plan of `model`, optimized for the shape of `x`, and `x` as its input;
/// none (with a message) when tract cannot load the model.
fn tract_plan(model: &str, x: &FTensor) -> TractResult<Option<(std::sync::Arc<TypedRunnableModel>, Tensor)>> {
    let plan = onnx()
        .model_for_path(model_dir(model).join("model.onnx"))
        .and_then(|m| m.with_input_fact(0, f32::fact(&x.shape).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable());
    match plan {
        Ok(p) => Ok(Some((p, tract_ndarray::ArrayD::from_shape_vec(x.shape.clone(), x.data.clone())?.into()))),
        Err(e) => {
            eprintln!("tract cannot run {model}: {e}");
            Ok(None)
        }
    }
}

/// The process's CPU time so far (every thread), from `/proc/self/stat`, in seconds (0 where
/// `/proc` lacks it).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<f64> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().map(|v| v.parse().unwrap_or(0.0)).collect();
    // utime and stime: fields 14 and 15 of the line, in clock ticks (100 per second).
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// `BENCH_PEER=vouch-ab`: the engine's reference paths (`VOUCH_ENGINE_REFERENCE`) and its fast
/// paths on the same inputs, windows interleaved, checking they give the same outputs; prints
/// each one's best wall-clock rate and its rate per CPU second (on a machine shared with other
/// work the CPU time says more about the code than the wall clock).
fn ab(pkg: &vouch_model::Package, q: &[vouch_engine::Tensor], model: &str, batch: usize, t: usize, window: Duration) {
    let engine = |reference: bool| {
        // SAFETY: set before the engine reads it; no other thread of this process reads the
        // environment.
        unsafe { std::env::set_var("VOUCH_ENGINE_REFERENCE", if reference { "1" } else { "0" }) };
        Engine::new(pkg, Options { threads: t, trace: false }).expect("engine")
    };
    let engines = [("vouch-reference", engine(true)), ("vouch-fast", engine(false))];
    let outs: Vec<_> = engines.iter().map(|(_, e)| e.run(q.to_vec()).expect("run").outputs).collect();
    assert_eq!(outs[0], outs[1], "{model}: the fast paths changed an output");
    let mut best = [(0f64, 0f64); 2];
    for _ in 0..3 {
        for (i, (_, e)) in engines.iter().enumerate() {
            let (start, cpu0, mut n) = (Instant::now(), cpu_secs(), 0u64);
            while start.elapsed() < window {
                std::hint::black_box(e.run(q.to_vec()).expect("run"));
                n += 1;
            }
            let wall = n as f64 / start.elapsed().as_secs_f64();
            let cpu = n as f64 / (cpu_secs() - cpu0).max(1e-3);
            best[i] = (best[i].0.max(wall), best[i].1.max(cpu));
        }
    }
    for ((name, _), (wall, cpu)) in engines.iter().zip(best) {
        println!(
            "{{\"peer\":\"{name}\",\"model\":\"{model}\",\"batch\":{batch},\"threads\":{t},\"inferences_per_sec\":{:.1},\"inferences_per_cpu_sec\":{:.2}}}",
            wall * batch as f64,
            cpu * batch as f64
        );
    }
}

/// One large model, one peer, batch 1 and 8, then the peak memory (see the module docs).
fn large(model: &str, peer: &str, window: Duration, threads: usize) -> TractResult<()> {
    let pkg = peer.starts_with("vouch").then(|| vouch_package(model));
    for batch in [1usize, 8] {
        let x = rows(model, batch);
        match peer {
            "vouch" => {
                let pkg = pkg.as_ref().expect("imported above");
                let q = vouch_quant::quantize_inputs(pkg, std::slice::from_ref(&x));
                for t in [1, threads] {
                    let engine = Engine::new(pkg, Options { threads: t, trace: false }).expect("engine");
                    let r = rate_after(|| { std::hint::black_box(engine.run(q.clone()).expect("run")); }, window, 1);
                    emit("vouch", model, batch, t, r);
                }
            }
            "tract" => {
                let Some((plan, input)) = tract_plan(model, &x)? else {
                    return Ok(());
                };
                let r = rate_after(|| { std::hint::black_box(plan.run(tvec![input.clone().into()]).expect("tract")); }, window, 1);
                emit("tract", model, batch, 1, r);
            }
            "vouch-ab" => {
                let pkg = pkg.as_ref().expect("imported above");
                let q = vouch_quant::quantize_inputs(pkg, std::slice::from_ref(&x));
                for t in [1, threads] {
                    ab(pkg, &q, model, batch, t, window);
                }
            }
            other => panic!("BENCH_PEER={other}: vouch, vouch-ab or tract"),
        }
    }
    if let Some(mib) = peak_rss_mib() {
        println!("{{\"peer\":\"{peer}\",\"model\":\"{model}\",\"peak_rss_mib\":{mib:.0}}}");
    }
    Ok(())
}

fn main() -> TractResult<()> {
    let window = Duration::from_millis(std::env::var("BENCH_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Ok(model) = std::env::var("BENCH_LARGE") {
        let peer = std::env::var("BENCH_PEER").unwrap_or_else(|_| "vouch".to_owned());
        return large(&model, &peer, window, threads);
    }
    // BENCH_MODELS=a,b limits the run to those models (all of them by default).
    let only = std::env::var("BENCH_MODELS").ok();
    let wanted = |m: &str| only.as_deref().is_none_or(|o| o.split(',').any(|w| w == m));
    for model in MODELS.into_iter().filter(|m| wanted(m)) {
        let pkg = vouch_package(model);
        for batch in [1usize, 64] {
            let x = rows(model, batch);
            // vouch on integer inputs (what a provider runs: the committed input is the
            // quantized one), and with the client's f32 -> integer quantization inside the loop.
            let q = vouch_quant::quantize_inputs(&pkg, std::slice::from_ref(&x));
            for t in [1, threads] {
                let engine = Engine::new(&pkg, Options { threads: t, trace: false }).expect("engine");
                let r = rate(
                    || {
                        std::hint::black_box(engine.run(q.clone()).expect("run"));
                    },
                    window,
                );
                emit("vouch", model, batch, t, r);
                let r = rate(
                    || {
                        let q = vouch_quant::quantize_inputs(&pkg, std::slice::from_ref(&x));
                        std::hint::black_box(engine.run(q).expect("run"));
                    },
                    window,
                );
                emit("vouch+quantize", model, batch, t, r);
            }
            // tract f32, optimized for this batch size (a model tract cannot load is skipped).
            let Some((plan, input)) = tract_plan(model, &x)? else {
                continue;
            };
            let r = rate(
                || {
                    std::hint::black_box(plan.run(tvec![input.clone().into()]).expect("tract"));
                },
                window,
            );
            emit("tract", model, batch, 1, r);
        }
    }
    if only.is_some() {
        return Ok(());
    }
    // Import + calibration of a 1M-parameter model on 256 calibration rows.
    let onnx = big_mlp();
    let cal = {
        let base = rows("mlp_784_128_10", 256);
        vec![base]
    };
    let start = Instant::now();
    let g = vouch_onnx::import(&onnx, &Default::default()).expect("import");
    let pkg = vouch_quant::import(&g, cal, "mlp_1m", [0; 32], |_| {}).expect("quantize");
    let secs = start.elapsed().as_secs_f64();
    println!("{{\"import_seconds\":{secs:.3},\"parameters\":{},\"calibration_rows\":256}}", pkg.parameter_count());
    Ok(())
}
