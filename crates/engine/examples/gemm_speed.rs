//! Prints the speed of the packed integer products on the MLP's first layer shape: `gemm`
//! (`i32` lanes, 8-bit values) and `gemm64` (`i64` sums, 16-bit values), the latter also on
//! operands that both hold -32768 (the portable exact loop).
#![allow(clippy::print_stdout, missing_docs)]
use std::time::Instant;
use vouch_engine::gemm::{Packed, gemm, gemm64};

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
        let a16: Vec<i32> = (0..m * k)
            .map(|i| (i * 7919 % 65_535) as i32 - 32_767)
            .collect();
        let b16: Vec<i32> = (0..n * k)
            .map(|i| (i * 104_729 % 65_535) as i32 - 32_767)
            .collect();
        let (pb16, mut out64) = (Packed::from_rows(n, k, &b16), vec![0i64; m * n]);
        for (what, a16) in [
            ("AVX2 when present", a16.clone()),
            ("portable: -32768 in both", {
                let mut x = a16.clone();
                x[0] = -32_768;
                x
            }),
        ] {
            let pa16 = Packed::from_rows(m, k, &a16);
            let pb = if what.starts_with("portable") {
                let mut b = b16.clone();
                b[0] = -32_768;
                Packed::from_rows(n, k, &b)
            } else {
                pb16.clone()
            };
            let t = Instant::now();
            for _ in 0..iters / 4 {
                gemm64(&pa16, &pb, &mut out64, false);
            }
            let s = t.elapsed().as_secs_f64();
            println!(
                "gemm64 {m}x{k}x{n} ({what}): {:.1} us, {:.2} GMAC/s",
                s / (iters / 4) as f64 * 1e6,
                (m * k * n * iters / 4) as f64 / s / 1e9
            );
        }
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
