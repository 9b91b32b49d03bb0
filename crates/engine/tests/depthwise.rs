//! The depthwise `Conv` path (`ops::depthwise`: tap by tap along output rows) against the
//! general path (`ops::conv`: im2col and a product per group) and the direct definition of
//! `docs/semantics.md` section 3, on random depthwise shapes with strides, dilations, padding
//! and declared outputs one past the formula; `i32` and `i64` accumulators, wide outputs,
//! per-channel multipliers; and through the engine on one and two threads.

mod support;

use proptest::prelude::*;
use support::{conv_op, requant_ref, window_out};
use vouch_engine::gemm::Packed;
use vouch_engine::ops::dense::Channels;
use vouch_engine::ops::{Accum, Window, conv, depthwise};
use vouch_engine::tensor::Tensor;
use vouch_engine::vectors::{Case, Rng};
use vouch_model::{Kind, Op, Requant};

/// One random depthwise convolution (`c` channels, one per group).
#[derive(Debug, Clone)]
struct Geo {
    n: usize,
    c: usize,
    hw: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    dil: [usize; 2],
    pads: [usize; 4],
    out: [usize; 2],
}

fn geo() -> impl Strategy<Value = Geo> {
    (
        (1usize..3, 1usize..12),
        ([1usize..12, 1usize..12], [1usize..6, 1usize..6]),
        ([1usize..4, 1usize..4], [1usize..3, 1usize..3]),
        (
            [0usize..4, 0usize..4, 0usize..4, 0usize..4],
            [0usize..2, 0usize..2],
        ),
    )
        .prop_filter_map(
            "the window must fit",
            |((n, c), (hw, kernel), (strides, dil), (pads, extra))| {
                let out = window_out(hw, kernel, strides, dil, pads, extra)?;
                Some(Geo {
                    n,
                    c,
                    hw,
                    kernel,
                    strides,
                    dil,
                    pads,
                    out,
                })
            },
        )
}

/// How one case finishes its sums.
#[derive(Debug, Clone, Copy)]
struct Finish {
    /// `i64` accumulators (act16 inputs), else `i32` (act8 inputs, within the `i32` bound).
    acc64: bool,
    /// The raw accumulator as output.
    wide: bool,
    /// Per-channel multipliers (`M = 0`).
    per_channel: bool,
}

fn finish() -> impl Strategy<Value = Finish> {
    (any::<bool>(), 0u8..4, any::<bool>()).prop_map(|(acc64, w, per_channel)| Finish {
        acc64,
        // Wide only with `i32` sums and one multiplier, as the importer writes it.
        wide: !acc64 && !per_channel && w == 0,
        per_channel: per_channel && w != 0,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn depthwise_matches_general_path_and_definition(g in geo(), f in finish(), seed in any::<u64>()) {
        check(g, f, seed)?;
    }
}

/// The definition, the general path, the depthwise path and (one multiplier) the engine agree.
fn check(g: Geo, f: Finish, seed: u64) -> Result<(), TestCaseError> {
    let Geo {
        n,
        c,
        hw: [h, w],
        kernel: [kh, kw],
        strides,
        dil,
        pads,
        out: [oh, ow],
    } = g;
    let mut r = Rng::new(seed);
    let x = if f.acc64 {
        r.act16(&[n, c, h, w])
    } else {
        r.with_edges(&[n, c, h, w], -128, 127)
    };
    let wt = r.with_edges(&[c, 1, kh, kw], -32_767, 32_767);
    let bias = r.tensor(&[c], -(1 << 20), 1 << 20);
    let mults: Vec<i64> = (0..c).map(|_| i64::from(r.range(1, 1 << 15))).collect();
    let rq = Requant {
        m: if f.per_channel {
            0
        } else {
            i64::from(r.range(1 << 14, (1 << 15) - 1))
        },
        s: r.range(12, 30) as u32,
        lo: if f.wide { i32::MIN } else { -32_768 },
        hi: if f.wide { i32::MAX } else { 32_767 },
    };
    let out_shape = vec![n, c, oh, ow];
    let mut want = vec![0i32; n * c * oh * ow];
    for (i, z) in want.iter_mut().enumerate() {
        let (bn, o, y, xo) = (i / (c * oh * ow), i / (oh * ow) % c, i / ow % oh, i % ow);
        let mut acc = i128::from(bias.data[o]);
        for ty in 0..kh {
            for tx in 0..kw {
                let iy = (y * strides[0] + ty * dil[0]).checked_sub(pads[0]);
                let ix = (xo * strides[1] + tx * dil[1]).checked_sub(pads[1]);
                if let (Some(iy), Some(ix)) = (iy.filter(|&v| v < h), ix.filter(|&v| v < w)) {
                    let xv = x.data[((bn * c + o) * h + iy) * w + ix];
                    acc += i128::from(xv) * i128::from(wt.data[(o * kh + ty) * kw + tx]);
                }
            }
        }
        *z = if f.wide {
            i32::try_from(acc).expect("act8 sums fit i32")
        } else {
            let rq = Requant {
                m: if f.per_channel { mults[o] } else { rq.m },
                ..rq
            };
            requant_ref(acc, &rq).expect("within i64")
        };
    }
    let win = Window {
        kernel: [kh, kw],
        strides,
        pads,
        dilations: dil,
    };
    let packs: Vec<Packed> = wt
        .data
        .chunks_exact(kh * kw)
        .map(|k| Packed::from_rows(1, kh * kw, k))
        .collect();
    let ch = Channels {
        bias: Some(bias.data.iter().map(|&v| i64::from(v)).collect()),
        mults: f.per_channel.then(|| mults.clone()),
    };
    let acc = Accum {
        wide: f.wide,
        acc64: f.acc64,
    };
    let general = conv(&x, &packs, &ch, &win, &out_shape, &rq, acc).unwrap();
    prop_assert_eq!(&general.data, &want, "general path");
    let direct = depthwise(&x, &packs, &ch, &win, &out_shape, &rq, acc).unwrap();
    prop_assert_eq!(&direct.data, &want, "depthwise path");
    if !f.per_channel && !f.wide {
        let op = conv_op([kh, kw], strides, pads, dil, c, rq);
        engine_agrees(x, wt, bias, op, out_shape, &want)?;
    }
    Ok(())
}

/// The engine (which picks the depthwise path itself) gives `want` on 1 and 2 threads.
fn engine_agrees(
    x: Tensor,
    wt: Tensor,
    bias: Tensor,
    op: Op,
    out_shape: Vec<usize>,
    want: &[i32],
) -> Result<(), TestCaseError> {
    let case = Case {
        name: "depthwise".into(),
        op,
        inputs: vec![x],
        consts: vec![wt, bias],
        out_shape,
        out_kind: Kind::Act16,
    };
    for threads in [1, 2] {
        let got = case.run_with_threads(threads).unwrap();
        prop_assert_eq!(&got.data[..], want, "engine, {} threads", threads);
    }
    Ok(())
}
