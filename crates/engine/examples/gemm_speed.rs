//! Prints the speed of the packed integer product on the MLP's first layer shape.
#![allow(clippy::print_stdout, missing_docs)]
use std::time::Instant;
use vouch_engine::gemm::{Packed, gemm};

fn main() {
    let (m, k, n) = (64, 784, 128);
    let a: Vec<i32> = (0..m * k).map(|i| (i % 251) as i32 - 125).collect();
    let b: Vec<i32> = (0..n * k).map(|i| (i % 241) as i32 - 120).collect();
    let (pa, pb) = (Packed::from_rows(m, k, &a), Packed::from_rows(n, k, &b));
    let mut out = vec![0; m * n];
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        let t = Instant::now();
        let iters = 2000;
        for _ in 0..iters {
            gemm(&pa, &pb, &mut out);
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "gemm {m}x{k}x{n}: {:.1} us, {:.2} GMAC/s",
            s / iters as f64 * 1e6,
            (m * k * n * iters) as f64 / s / 1e9
        );
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(Packed::from_rows(m, k, &a));
        }
        println!(
            "pack: {:.1} us",
            t.elapsed().as_secs_f64() / iters as f64 * 1e6
        );
    });
}
