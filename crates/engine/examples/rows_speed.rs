//! Prints how fast a package runs several rows: the engine's own run of a batch (one run on
//! batched shapes for a row-separable package, `Package::row_separable`) against the rows run
//! one by one as separate single-row runs, side by side on the same threads (what the engine
//! does for a package that is not row-separable), checking that both give the same integers.
//! Random inputs in each input's kind range; windows alternate; inferences per wall second
//! and per CPU second (best of the windows).
//! `cargo run --release -p vouch-engine --example rows_speed <package.vpkg> [batch] [threads]
//! [milliseconds] [batch]` (`batch` times the engine's run alone; build with `--release`: the dev profile's speed says nothing).
#![allow(clippy::print_stdout, missing_docs)]
use rayon::prelude::*;
use std::time::{Duration, Instant};
use vouch_engine::tensor::resolve;
use vouch_engine::vectors::Rng;
use vouch_engine::{Engine, Options, Tensor};

mod common;
use common::cpu_secs;

/// Row `r` of `rows` of a tensor whose batch dimension is axis 0.
fn row(t: &Tensor, rows: usize, r: usize) -> Tensor {
    let per = t.data.len() / rows;
    let mut shape = t.shape.clone();
    shape[0] = 1;
    Tensor {
        shape,
        data: t.data[r * per..(r + 1) * per].to_vec(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: rows_speed <package.vpkg> [batch] [threads] [ms]");
    let batch: usize = args.get(2).map_or(8, |a| a.parse().expect("batch"));
    let threads: usize = args.get(3).map_or(2, |a| a.parse().expect("threads"));
    let window = Duration::from_millis(args.get(4).map_or(1000, |a| a.parse().expect("ms")));
    let pkg = vouch_model::Package::from_bytes(&std::fs::read(path).expect("read package"))
        .expect("package");
    println!(
        "{path}: {} nodes, row-separable {}, batch {batch}, {threads} threads",
        pkg.nodes.len(),
        pkg.row_separable()
    );
    let mut rng = Rng::new(1);
    let inputs: Vec<Tensor> = pkg
        .inputs
        .iter()
        .map(|io| {
            let v = &pkg.values[io.value as usize];
            let (lo, hi) = v.kind.act_range().unwrap_or((-128, 127));
            rng.tensor(&resolve(&v.shape, batch), lo, hi)
        })
        .collect();
    let opts = Options {
        threads,
        trace: false,
    };
    let engine = Engine::new(&pkg, opts).expect("engine");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let by_rows = || -> Vec<Tensor> {
        let runs: Vec<Vec<Tensor>> = pool.install(|| {
            (0..batch)
                .into_par_iter()
                .map(|r| {
                    let one = inputs.iter().map(|t| row(t, batch, r)).collect();
                    engine.run(one).expect("row run").outputs
                })
                .collect()
        });
        let mut out: Vec<Tensor> = runs[0].clone();
        for run in &runs[1..] {
            for (a, b) in out.iter_mut().zip(run) {
                a.data.extend_from_slice(&b.data);
            }
        }
        out
    };
    let together = || engine.run(inputs.clone()).expect("run").outputs;
    let (a, b) = (together(), by_rows());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.data, y.data, "the batch and the rows one by one differ");
    }
    // `batch` as a fifth argument times the engine's run alone (for a profiler)
    let alone = args.get(5).is_some_and(|a| a == "batch");
    let mut best = [(0f64, 0f64); 2];
    for _ in 0..3 {
        for (i, f) in [&together as &dyn Fn() -> Vec<Tensor>, &by_rows]
            .into_iter()
            .enumerate()
            .take(if alone { 1 } else { 2 })
        {
            let (start, cpu0, mut n) = (Instant::now(), cpu_secs(), 0u64);
            while start.elapsed() < window {
                std::hint::black_box(f());
                n += 1;
            }
            let wall = (n * batch as u64) as f64 / start.elapsed().as_secs_f64();
            let cpu = (n * batch as u64) as f64 / (cpu_secs() - cpu0).max(1e-3);
            best[i] = (best[i].0.max(wall), best[i].1.max(cpu));
        }
    }
    for (name, (wall, cpu)) in ["engine (batch)", "rows one by one"].iter().zip(best) {
        println!("{name:<16} {wall:>10.1} inferences/s {cpu:>10.1} per CPU second");
    }
}
