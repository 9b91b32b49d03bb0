//! The 16-bit convolution fast path (`ops::conv16`, AVX-512 VNNI) against the reference path
//! (`ops::conv`: im2col into packed rows, `gemm64`) and the direct definition of
//! `docs/semantics.md` section 3, on random shapes with strides, padding, groups, dilation and
//! odd sizes, act16 inputs and `i16` weights with their edge values, through the engine on one
//! and two threads. Where the CPU lacks VNNI the fast path is not built and the engine runs the
//! reference path: the test then still checks the engine against the definition.

mod support;

use proptest::prelude::*;
use support::{conv_op, window_out};
use vouch_engine::gemm::Packed;
use vouch_engine::ops::conv16::{Conv16, conv16};
use vouch_engine::ops::dense::Channels;
use vouch_engine::ops::{Accum, Window, conv};
use vouch_engine::vectors::{Case, Rng};
use vouch_model::{Kind, Requant};

fn requant_ref(x: i128, rq: &Requant) -> i32 {
    let p = x * i128::from(rq.m);
    let r = if rq.s == 0 {
        p
    } else {
        (p + (1i128 << (rq.s - 1))).div_euclid(1i128 << rq.s)
    };
    r.clamp(i128::from(rq.lo), i128::from(rq.hi)) as i32
}

/// One random convolution.
#[derive(Debug, Clone)]
struct Geo {
    n: usize,
    groups: usize,
    cg: usize,
    og: usize,
    hw: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    dil: [usize; 2],
    pads: [usize; 4],
    out: [usize; 2],
}

fn geo() -> impl Strategy<Value = Geo> {
    geo_with([1usize..3, 1usize..3], [1usize..3, 1usize..3])
}

/// [`geo`] with the strides and dilations drawn from the given strategies.
fn geo_with(
    strides: impl Strategy<Value = [usize; 2]>,
    dil: impl Strategy<Value = [usize; 2]>,
) -> impl Strategy<Value = Geo> {
    (
        (1usize..3, 1usize..3, 1usize..6, 1usize..10),
        ([1usize..9, 1usize..9], [1usize..4, 1usize..4]),
        (strides, dil),
        (
            [0usize..3, 0usize..3, 0usize..3, 0usize..3],
            [0usize..2, 0usize..2],
        ),
    )
        .prop_filter_map(
            "the window must fit",
            |((n, groups, cg, og), (hw, kernel), (strides, dil), (pads, extra))| {
                let out = window_out(hw, kernel, strides, dil, pads, extra)?;
                Some(Geo {
                    n,
                    groups,
                    cg,
                    og,
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn fast_conv16_matches_reference_and_definition(g in geo(), seed in any::<u64>(), relu in any::<bool>()) {
        check(g, seed, relu)?;
    }

    /// Strides of 2 without dilation: the fast path reads the input's phase planes.
    #[test]
    fn fast_conv16_stride_2_matches(g in geo_with(Just([2, 2]), Just([1, 1])), seed in any::<u64>(), relu in any::<bool>()) {
        check(g, seed, relu)?;
    }
}

/// The definition, the reference path, the fast path and the engine agree on `g`.
fn check(g: Geo, seed: u64, relu: bool) -> Result<(), TestCaseError> {
    let Geo {
        n,
        groups,
        cg,
        og,
        hw: [h, w],
        kernel: [kh, kw],
        strides,
        dil,
        pads,
        out: [oh, ow],
    } = g.clone();
    let (c, co) = (cg * groups, og * groups);
    let mut r = Rng::new(seed);
    let x = r.act16(&[n, c, h, w]);
    let wt = r.with_edges(&[co, cg, kh, kw], -32_767, 32_767);
    // A bias near `i32`'s edge makes the accumulator bound pass 2^31 even for one tap:
    // the `i64` path (and so the fast path) on every shape.
    let mut b = r.tensor(&[co], -(1 << 30), 1 << 30);
    b.data[0] = if seed.is_multiple_of(2) {
        i32::MAX
    } else {
        -i32::MAX
    };
    let rq = Requant {
        m: i64::from(r.range(1 << 14, (1 << 15) - 1)),
        s: r.range(24, 40) as u32,
        lo: if relu { 0 } else { -32_768 },
        hi: 32_767,
    };
    let out_shape = vec![n, co, oh, ow];
    // The direct definition.
    let mut want = vec![0i32; n * co * oh * ow];
    for (i, z) in want.iter_mut().enumerate() {
        let (bn, o, y, xo) = (i / (co * oh * ow), i / (oh * ow) % co, i / ow % oh, i % ow);
        let grp = o / og;
        let mut acc = i128::from(b.data[o]);
        for ci in 0..cg {
            for ty in 0..kh {
                for tx in 0..kw {
                    let iy = (y * strides[0] + ty * dil[0]) as isize - pads[0] as isize;
                    let ix = (xo * strides[1] + tx * dil[1]) as isize - pads[1] as isize;
                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                        continue;
                    }
                    let xv = x.data[((bn * c + grp * cg + ci) * h + iy as usize) * w + ix as usize];
                    let wv = wt.data[((o * cg + ci) * kh + ty) * kw + tx];
                    acc += i128::from(xv) * i128::from(wv);
                }
            }
        }
        *z = requant_ref(acc, &rq);
    }
    // The reference path.
    let win = Window {
        kernel: [kh, kw],
        strides,
        pads,
        dilations: dil,
    };
    let k = cg * kh * kw;
    let packs: Vec<Packed> = wt
        .data
        .chunks_exact(og * k)
        .map(|gw| Packed::from_rows(og, k, gw))
        .collect();
    let bias: Vec<i64> = b.data.iter().map(|&v| i64::from(v)).collect();
    let acc = Accum {
        wide: false,
        acc64: true,
    };
    let reference = conv(
        &x,
        &packs,
        &Channels {
            bias: Some(bias.clone()),
            mults: None,
        },
        &win,
        &out_shape,
        &rq,
        acc,
    )
    .unwrap();
    prop_assert_eq!(&reference.data, &want, "reference path");
    // The fast path, called directly where this CPU has it.
    let f = Conv16::new(&wt.data, [co, cg, kh, kw], groups, strides);
    prop_assert_eq!(
        f.is_some(),
        vouch_engine::gemm::conv16_available() && og >= 4,
        "fast path built"
    );
    if let Some(f) = f {
        let fast = conv16(&x, &f, Some(&bias), &win, &out_shape, &rq, false).unwrap();
        prop_assert_eq!(&fast.data, &want, "fast path");
    }
    // The engine, which picks the fast path itself where it can.
    let op = conv_op([kh, kw], strides, pads, dil, groups, rq);
    let case = Case {
        name: "conv16".into(),
        op,
        inputs: vec![x],
        consts: vec![wt, b],
        out_shape,
        out_kind: Kind::Act16,
    };
    for threads in [1, 2] {
        let got = case.run_with_threads(threads).unwrap();
        prop_assert_eq!(&got.data, &want, "engine, {} threads", threads);
    }
    Ok(())
}

/// ResNet-sized channel counts (several blocks of output channels, more than 128 steps, so the
/// `i32` halves are widened more than once) with every input and weight at its extreme: the
/// sums the `i32` lanes hold are the largest they can be.
#[test]
fn fast_conv16_is_exact_at_the_extremes() {
    let (n, c, co, h, w) = (2, 70, 9, 5, 6);
    for (xv, wv) in [
        (-32_768, 32_767),
        (-32_768, -32_767),
        (32_767, 32_767),
        (-32_768, 255),
    ] {
        for (kernel, strides) in [
            ([3, 3], [1, 1]),
            ([3, 2], [2, 1]),
            ([1, 1], [1, 1]),
            ([3, 3], [2, 2]),
            ([1, 1], [2, 2]),
        ] {
            let x = vouch_engine::Tensor::new(vec![n, c, h, w], vec![xv; n * c * h * w]).unwrap();
            let k = c * kernel[0] * kernel[1];
            let wt = vec![wv; co * k];
            let win = Window {
                kernel,
                strides,
                pads: [1, 1, 1, 1],
                dilations: [1, 1],
            };
            let oh = (h + 2 - kernel[0]) / strides[0] + 1;
            let ow = (w + 2 - kernel[1]) / strides[1] + 1;
            let out_shape = vec![n, co, oh, ow];
            let rq = Requant {
                m: 1 << 14,
                s: 40,
                lo: -32_768,
                hi: 32_767,
            };
            let packs = vec![Packed::from_rows(co, k, &wt)];
            let acc = Accum {
                wide: false,
                acc64: true,
            };
            let reference =
                conv(&x, &packs, &Channels::default(), &win, &out_shape, &rq, acc).unwrap();
            assert!(reference.data.iter().any(|&v| v != 0));
            let Some(f) = Conv16::new(&wt, [co, c, kernel[0], kernel[1]], 1, strides) else {
                return;
            };
            let fast = conv16(&x, &f, None, &win, &out_shape, &rq, false).unwrap();
            assert_eq!(
                fast.data, reference.data,
                "{xv}·{wv}, {kernel:?} / {strides:?}"
            );
        }
    }
}
