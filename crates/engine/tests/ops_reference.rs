//! Property tests: the engine's optimized ops (packed kernels, im2col, interior fast paths,
//! parallel splits) against direct transcriptions of `docs/semantics.md` section 3, on random
//! shapes, parameters and edge values.

use proptest::prelude::*;
use vouch_engine::Tensor;
use vouch_engine::vectors::{Case, Rng};
use vouch_model::{Kind, Op, Requant};

fn requant_ref(x: i128, rq: &Requant) -> i32 {
    let p = x * i128::from(rq.m);
    let r = if rq.s == 0 {
        p
    } else {
        (p + (1i128 << (rq.s - 1))).div_euclid(1i128 << rq.s)
    };
    r.clamp(i128::from(rq.lo), i128::from(rq.hi)) as i32
}

fn out_size(i: usize, k: usize, s: usize, p0: usize, p1: usize, d: usize) -> Option<usize> {
    let eff = d * (k - 1) + 1;
    (i + p0 + p1).checked_sub(eff).map(|v| v / s + 1)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn conv_matches_direct_definition(
        n in 1usize..3, cg in 1usize..4, g in 1usize..3, og in 1usize..4,
        h in 1usize..9, w in 1usize..9, kh in 1usize..4, kw in 1usize..4,
        s in 1usize..3, d in 1usize..3, pads in [0usize..3, 0usize..3, 0usize..3, 0usize..3],
        relu in any::<bool>(), seed in any::<u64>(), threads in 1usize..3,
    ) {
        let (c, co) = (cg * g, og * g);
        let (Some(oh), Some(ow)) = (out_size(h, kh, s, pads[0], pads[2], d), out_size(w, kw, s, pads[1], pads[3], d)) else {
            return Ok(());
        };
        let mut r = Rng::new(seed);
        let x = r.act8(&[n, c, h, w]);
        let wt = r.tensor(&[co, cg, kh, kw], -127, 127);
        let b = r.tensor(&[co], -3000, 3000);
        let rq = Requant { m: i64::from(r.range(1 << 14, (1 << 15) - 1)), s: r.range(6, 20) as u32, lo: if relu { 0 } else { -128 }, hi: 127 };
        let op = Op::Conv {
            weight: 0, bias: Some(1), kernel: [kh as u32, kw as u32], strides: [s as u32; 2],
            pads: pads.map(|p| p as u32), dilations: [d as u32; 2], group: g as u32, rq, wide: false,
        };
        let case = Case { name: "conv".into(), op, inputs: vec![x.clone()], consts: vec![wt.clone(), b.clone()], out_shape: vec![n, co, oh, ow], out_kind: Kind::Act8 };
        let got = case.run_with_threads(threads).unwrap();
        for (i, &z) in got.data.iter().enumerate() {
            let (bn, o, y, xo) = (i / (co * oh * ow), i / (oh * ow) % co, i / ow % oh, i % ow);
            let grp = o / og;
            let mut acc = i128::from(b.data[o]);
            for ci in 0..cg {
                for ty in 0..kh {
                    for tx in 0..kw {
                        let iy = (y * s + ty * d) as isize - pads[0] as isize;
                        let ix = (xo * s + tx * d) as isize - pads[1] as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize { continue; }
                        let xv = x.data[((bn * c + grp * cg + ci) * h + iy as usize) * w + ix as usize];
                        acc += i128::from(xv) * i128::from(wt.data[((o * cg + ci) * kh + ty) * kw + tx]);
                    }
                }
            }
            prop_assert_eq!(z, requant_ref(acc, &rq), "element {}", i);
        }
    }

    #[test]
    fn pools_match_direct_definition(
        h in 1usize..9, w in 1usize..9, kh in 1usize..4, kw in 1usize..4, s in 1usize..3,
        pads in [0usize..2, 0usize..2, 0usize..2, 0usize..2], avg in any::<bool>(), include_pad in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // Padding smaller than the kernel, so every window holds a real element.
        prop_assume!(pads.iter().zip([kh, kw, kh, kw]).all(|(p, k)| *p < k));
        let (Some(oh), Some(ow)) = (out_size(h, kh, s, pads[0], pads[2], 1), out_size(w, kw, s, pads[1], pads[3], 1)) else {
            return Ok(());
        };
        let mut r = Rng::new(seed);
        let x = r.act8(&[2, 3, h, w]);
        let (kernel, strides, p) = ([kh as u32, kw as u32], [s as u32; 2], pads.map(|v| v as u32));
        let op = if avg {
            Op::AveragePool { kernel, strides, pads: p, count_include_pad: include_pad }
        } else {
            Op::MaxPool { kernel, strides, pads: p, dilations: [1, 1] }
        };
        let case = Case { name: "pool".into(), op, inputs: vec![x.clone()], consts: vec![], out_shape: vec![2, 3, oh, ow], out_kind: Kind::Act8 };
        let got = case.run_with_threads(1).unwrap();
        for (i, &z) in got.data.iter().enumerate() {
            let (plane, y, xo) = (i / (oh * ow), i / ow % oh, i % ow);
            let mut vals = Vec::new();
            for ty in 0..kh {
                for tx in 0..kw {
                    let iy = (y * s + ty) as isize - pads[0] as isize;
                    let ix = (xo * s + tx) as isize - pads[1] as isize;
                    if iy >= 0 && ix >= 0 && iy < h as isize && ix < w as isize {
                        vals.push(i64::from(x.data[plane * h * w + iy as usize * w + ix as usize]));
                    }
                }
            }
            let want = if avg {
                let nd = if include_pad { (kh * kw) as i64 } else { vals.len() as i64 };
                (2 * vals.iter().sum::<i64>() + nd).div_euclid(2 * nd)
            } else {
                *vals.iter().max().unwrap()
            };
            prop_assert_eq!(i64::from(z), want, "element {}", i);
        }
    }

    #[test]
    fn softmax_and_binary_ops_match_definitions(seed in any::<u64>(), cols in 1usize..12) {
        let mut r = Rng::new(seed);
        let x = r.act8(&[3, cols]);
        let y = r.act8(&[cols]);
        let (ma, mb) = (i64::from(r.range(1, 1 << 15)), -i64::from(r.range(1, 1 << 15)));
        let rq = Requant { m: 1, s: r.range(1, 20) as u32, lo: -128, hi: 127 };
        let case = Case { name: "add".into(), op: Op::Add { ma, mb, rq }, inputs: vec![x.clone(), y.clone()], consts: vec![], out_shape: vec![3, cols], out_kind: Kind::Act8 };
        let got = case.run_with_threads(1).unwrap();
        for (i, &z) in got.data.iter().enumerate() {
            let want = requant_ref(i128::from(x.data[i]) * i128::from(ma) + i128::from(y.data[i % cols]) * i128::from(mb), &rq);
            prop_assert_eq!(z, want);
        }
        let table = Tensor { shape: vec![256], data: (0..256).map(|k| 65536 >> (k / 32)).collect() };
        let case = Case { name: "sm".into(), op: Op::Softmax { axis: 1, table: 0, rq: Requant::SOFTMAX_INDEX }, inputs: vec![x.clone()], consts: vec![table.clone()], out_shape: vec![3, cols], out_kind: Kind::Act8 };
        let got = case.run_with_threads(1).unwrap();
        for row in 0..3 {
            let xs = &x.data[row * cols..(row + 1) * cols];
            let m = *xs.iter().max().unwrap();
            let e: Vec<i64> = xs.iter().map(|&v| i64::from(table.data[(m - v) as usize])).collect();
            let sum: i64 = e.iter().sum();
            for (j, ej) in e.iter().enumerate() {
                prop_assert_eq!(i64::from(got.data[row * cols + j]), (ej * 254 + sum).div_euclid(2 * sum));
            }
        }
    }
}
