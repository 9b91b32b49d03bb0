//! Times one package on random inputs (every input value drawn within its kind's range), so
//! that two builds can be compared on the same package without the import in the process:
//! prints inferences per wall second and per CPU second of the whole process (on a shared
//! machine the CPU time says more about the code than the wall clock).
//! `cargo run --release -p vouch-engine --example package_speed <package.vpkg> [batch]
//! [threads] [seconds]`; `VOUCH_ENGINE_PROFILE=1` adds the per-op profile of one more run.
#![allow(clippy::print_stdout, missing_docs)]
use std::time::Instant;
use vouch_engine::vectors::Rng;
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::Package;

mod common;
use common::cpu_secs;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: package_speed <package.vpkg> [batch] [threads] [s]");
    let arg = |i: usize, d: usize| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    let (batch, threads, secs) = (arg(2, 8), arg(3, 2), arg(4, 5));
    let pkg = Package::from_bytes(&std::fs::read(path).expect("read package")).expect("package");
    let mut rng = Rng::new(7);
    let inputs: Vec<Tensor> = pkg
        .inputs
        .iter()
        .map(|io| {
            let v = &pkg.values[io.value as usize];
            let shape = vouch_engine::tensor::resolve(&v.shape, batch);
            let (lo, hi) = v.kind.act_range().unwrap_or((-128, 127));
            let n: usize = shape.iter().product();
            Tensor {
                shape,
                data: (0..n).map(|_| rng.range(lo, hi)).collect(),
            }
        })
        .collect();
    let profile = std::env::var("VOUCH_ENGINE_PROFILE").is_ok_and(|v| v != "0");
    // SAFETY: set before any engine reads it; no other thread runs yet.
    unsafe { std::env::set_var("VOUCH_ENGINE_PROFILE", "0") };
    // the profile switch is read when an engine is made
    let make = || {
        Engine::new(
            &pkg,
            Options {
                threads,
                trace: false,
            },
        )
        .expect("engine")
    };
    let engine = make();
    let first = engine.run(inputs.clone()).expect("run");
    let (start, cpu0, mut n) = (Instant::now(), cpu_secs(), 0u32);
    while start.elapsed().as_secs_f64() < secs as f64 {
        std::hint::black_box(engine.run(inputs.clone()).expect("run"));
        n += 1;
    }
    let (wall, cpu) = (start.elapsed().as_secs_f64(), cpu_secs() - cpu0);
    let per = |t: f64| f64::from(n) * batch as f64 / t.max(1e-3);
    println!(
        "{{\"package\":\"{path}\",\"batch\":{batch},\"threads\":{threads},\"runs\":{n},\"inferences_per_sec\":{:.2},\"inferences_per_cpu_sec\":{:.2},\"output_commitment\":\"{:?}\"}}",
        per(wall),
        per(cpu),
        first.output_commitment()
    );
    if profile {
        // SAFETY: as above; the pool's threads do not read the environment.
        unsafe { std::env::set_var("VOUCH_ENGINE_PROFILE", "1") };
        make().run(inputs).expect("run");
    }
}
