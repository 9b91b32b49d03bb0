//! Prints the speed of 16-bit depthwise convolutions (act16 inputs, `i16` weights: the `i64`
//! accumulator path) on the PP-OCR recognizers' and detectors' depthwise shapes: the general
//! path (`ops::conv`, im2col and a product per channel) and the depthwise path
//! (`ops::depthwise`), on 1 and 2 threads, per wall and per CPU second, checking that both give
//! the same integers.
//! `cargo run --release -p vouch-engine --example depthwise_speed [batch]`.
#![allow(clippy::print_stdout, missing_docs)]
use vouch_engine::gemm::Packed;
use vouch_engine::ops::dense::Channels;
use vouch_engine::ops::{Accum, Window, conv, depthwise};
use vouch_engine::vectors::Rng;
use vouch_semantics::Requant;

mod common;
use common::per_run;

/// `(name, channels, h, w, kernel, stride)`.
const LAYERS: [(&str, usize, usize, usize, usize, usize); 4] = [
    ("rec dw 3x3 @6x80", 192, 6, 80, 3, 1),
    ("rec dw 3x3 @12x80", 96, 12, 80, 3, 1),
    ("det dw 3x3 @80x80", 64, 80, 80, 3, 1),
    ("det dw 5x5/2 @40x40", 128, 40, 40, 5, 2),
];

fn main() {
    let batch: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let mut r = Rng::new(7);
    for (name, c, h, w, k, s) in LAYERS {
        let pad = k / 2;
        let (oh, ow) = ((h + 2 * pad - k) / s + 1, (w + 2 * pad - k) / s + 1);
        let x = r.act16(&[batch, c, h, w]);
        let wt = r.tensor(&[c, 1, k, k], -32_767, 32_767);
        let ch = Channels {
            bias: Some((0..c).map(|i| i as i64 * 1000).collect()),
            mults: None,
        };
        let win = Window {
            kernel: [k, k],
            strides: [s, s],
            pads: [pad; 4],
            dilations: [1, 1],
        };
        let rq = Requant {
            m: 20_000,
            s: 30,
            lo: 0,
            hi: 32_767,
        };
        let out_shape = [batch, c, oh, ow];
        let packs: Vec<Packed> = wt
            .data
            .chunks_exact(k * k)
            .map(|t| Packed::from_rows(1, k * k, t))
            .collect();
        let acc = Accum {
            wide: false,
            acc64: true,
        };
        let macs = (batch * c * oh * ow * k * k) as f64;
        let mut line = format!("{name:<20} {batch}x{c}x{h}x{w}:");
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let (x, packs, ch) = (&x, &packs, &ch);
            let general = move || conv(x, packs, ch, &win, &out_shape, &rq, acc).unwrap();
            let direct = move || depthwise(x, packs, ch, &win, &out_shape, &rq, acc).unwrap();
            let want = pool.install(general);
            let paths: [(&str, &(dyn Fn() -> vouch_engine::Tensor + Sync)); 2] =
                [("general", &general), ("depthwise", &direct)];
            for (what, run) in paths {
                assert_eq!(pool.install(run).data, want.data, "{what} differs");
                let (secs, cpu) = per_run(|| pool.install(run));
                line += &format!(
                    "  {what} {threads}t {:>7.2} ms {:>5.2} GMAC/cpu-s",
                    secs * 1e3,
                    macs / cpu / 1e9
                );
            }
        }
        println!("{line}");
    }
}
