//! Prints the speed of 16-bit convolutions (act16 inputs, `i16` weights: the `i64` accumulator
//! path) on ResNet-50's layer shapes and YOLOv8n's (`y ...`): the reference path (`ops::conv`) and the fast path
//! (`ops::conv16`), on 1 and 2 threads, checking that both give the same integers.
//! `cargo run --release -p vouch-engine --example conv_speed [batch] [layer name part] [ref|fast]
//! [threads]` (build with `--release`: the dev profile's speed says nothing).
#![allow(clippy::print_stdout, missing_docs)]
use vouch_engine::gemm::Packed;
use vouch_engine::ops::conv16::{Conv16, conv16};
use vouch_engine::ops::dense::Channels;
use vouch_engine::ops::{Accum, Window, conv};
use vouch_engine::vectors::Rng;
use vouch_semantics::Requant;

mod common;
use common::per_run;

/// `(name, c_in, c_out, h = w, kernel, stride)` of ResNet-50 and YOLOv8n (320x320) layers.
const LAYERS: [(&str, usize, usize, usize, usize, usize); 16] = [
    ("conv1 7x7/2", 3, 64, 224, 7, 2),
    ("s1 3x3", 64, 64, 56, 3, 1),
    ("s1 1x1 up", 64, 256, 56, 1, 1),
    ("s2 3x3", 128, 128, 28, 3, 1),
    ("s2 1x1 up", 128, 512, 28, 1, 1),
    ("s3 1x1 in", 512, 256, 28, 1, 1),
    ("s3 1x1 down/2", 512, 1024, 28, 1, 2),
    ("s3 3x3", 256, 256, 14, 3, 1),
    ("s3 1x1 up", 256, 1024, 14, 1, 1),
    ("s4 3x3", 512, 512, 7, 3, 1),
    ("y stem 3x3/2", 3, 16, 320, 3, 2),
    ("y model.1 3x3/2", 16, 32, 160, 3, 2),
    ("y c2f 1x1 @80", 32, 32, 80, 1, 1),
    ("y c2f 1x1 @40", 64, 64, 40, 1, 1),
    ("y head 3x3 @40", 64, 64, 40, 3, 1),
    ("y 3x3 @20", 128, 128, 20, 3, 1),
];

/// A way to run the layer.
type Run<'a> = dyn Fn() -> vouch_engine::Tensor + Sync + 'a;

fn main() {
    let batch: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let only = std::env::args().nth(2).unwrap_or_default();
    let path = std::env::args().nth(3).unwrap_or_default();
    let threads_to_run: Vec<usize> = match std::env::args().nth(4) {
        Some(t) => t.parse().map(|t| vec![t]).unwrap_or(vec![1, 2]),
        None => vec![1, 2],
    };
    let mut r = Rng::new(7);
    for (name, c, co, hw, k, s) in LAYERS {
        if !name.contains(only.as_str()) {
            continue;
        }
        let pad = k / 2;
        let o = (hw + 2 * pad - k) / s + 1;
        let x = r.act16(&[batch, c, hw, hw]);
        let w = r.tensor(&[co, c, k, k], -32_767, 32_767);
        let bias: Vec<i64> = (0..co).map(|i| i as i64 * 1000).collect();
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
        let out_shape = [batch, co, o, o];
        let packs = &[Packed::from_rows(co, c * k * k, &w.data)];
        let fast = Conv16::new(&w.data, [co, c, k, k], 1, [s, s]);
        let acc = Accum {
            wide: false,
            acc64: true,
        };
        let macs = (batch * co * o * o * c * k * k) as f64;
        let mut line = format!("{name:<12} {batch}x{c}x{hw}x{hw} -> {co}x{o}x{o}:");
        for &threads in &threads_to_run {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let ch = Channels {
                bias: Some(bias.clone()),
                mults: None,
            };
            let (x, bias, ch) = (&x, &bias, &ch);
            let reference = move || conv(x, packs, ch, &win, &out_shape, &rq, acc).unwrap();
            let want = pool.install(reference);
            let mut paths: Vec<(&str, Box<Run<'_>>)> = vec![("ref", Box::new(reference))];
            if let Some(f) = &fast {
                paths.push((
                    "fast",
                    Box::new(move || {
                        conv16(x, f, Some(bias), &win, &out_shape, &rq, false).unwrap()
                    }),
                ));
            }
            for (what, run) in paths.iter().filter(|p| p.0.contains(path.as_str())) {
                assert_eq!(pool.install(run).data, want.data, "{what} differs");
                let (secs, cpu) = per_run(|| pool.install(run));
                line += &format!(
                    "  {what} {threads}t {:>7.2} ms {:>5.1} GMAC/s {:>5.1} GMAC/cpu-s",
                    secs * 1e3,
                    macs / secs / 1e9,
                    macs / cpu / 1e9
                );
            }
        }
        println!("{line}");
    }
}
