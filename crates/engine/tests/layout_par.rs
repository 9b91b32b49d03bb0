//! `MaxPool`, `AveragePool` and `Concat` split over the pool of threads when their outputs are
//! large (planes, or the outer runs of a `Concat`, side by side): the same integers as the
//! definitions of `docs/semantics.md` section 3 on one and two threads, on shapes either side of
//! the split's thresholds, with the inputs' edge values.

use proptest::prelude::*;
use vouch_engine::vectors::{Case, Rng};
use vouch_engine::{Tensor, ops};
use vouch_model::{Kind, Op};

/// `MaxPool` or `AveragePool` by the definition: the taps inside the plane, the largest, or the
/// sum divided (rounding half away from zero) by the count (with the padding when `include`).
fn pool_def(
    x: &Tensor,
    k: usize,
    st: usize,
    pad: usize,
    [oh, ow]: [usize; 2],
    avg: Option<bool>,
) -> Vec<i32> {
    let [n, c, h, w] = x.shape[..] else {
        unreachable!()
    };
    let mut out = Vec::new();
    for p in 0..n * c {
        for y in 0..oh {
            for xo in 0..ow {
                let (mut best, mut sum, mut count) = (i32::MIN, 0i64, 0i64);
                for ty in 0..k {
                    for tx in 0..k {
                        let (iy, ix) = (
                            (y * st + ty) as isize - pad as isize,
                            (xo * st + tx) as isize - pad as isize,
                        );
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        let v = x.data[(p * h + iy as usize) * w + ix as usize];
                        best = best.max(v);
                        sum += i64::from(v);
                        count += 1;
                    }
                }
                out.push(match avg {
                    None => best,
                    Some(include) => {
                        let d = if include { (k * k) as i64 } else { count };
                        vouch_semantics::div_round(sum, d).unwrap() as i32
                    }
                });
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn pools_match_the_definition_on_both_thread_counts(
        seed in any::<u64>(), n in 1usize..9, c in 1usize..64, hw in [1usize..60, 1usize..60],
        k in 1usize..6, st in 1usize..3, mode in 0u8..3,
    ) {
        let mut r = Rng::new(seed);
        let pad = k / 2;
        let [h, w] = hw;
        prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k);
        let (oh, ow) = ((h + 2 * pad - k) / st + 1, (w + 2 * pad - k) / st + 1);
        let x = r.with_edges(&[n, c, h, w], -32_768, 32_767);
        let avg = match mode { 0 => None, 1 => Some(false), _ => Some(true) };
        let (kernel, strides, pads) = ([k as u32; 2], [st as u32; 2], [pad as u32; 4]);
        let op = match avg {
            None => Op::MaxPool { kernel, strides, pads, dilations: [1, 1] },
            Some(count_include_pad) => Op::AveragePool { kernel, strides, pads, count_include_pad },
        };
        let case = Case {
            name: "pool".into(),
            op,
            inputs: vec![x.clone()],
            consts: vec![],
            out_shape: vec![n, c, oh, ow],
            out_kind: Kind::Act16,
        };
        let want = pool_def(&x, k, st, pad, [oh, ow], avg);
        for threads in [1, 2] {
            prop_assert_eq!(&case.run_with_threads(threads).unwrap().data, &want);
        }
    }

    #[test]
    fn concat_matches_the_definition_on_both_thread_counts(
        seed in any::<u64>(), n in 1usize..9, chans in prop::collection::vec(1usize..64, 1..5),
        hw in 1usize..100, axis in 0usize..4,
    ) {
        let mut r = Rng::new(seed);
        // inputs [n, 5, 30, hw] with `c_i` along `axis`, concatenated along it
        let shape_of = |c: usize| {
            let mut s = vec![n, 5, 30, hw];
            s[axis] = c;
            s
        };
        let xs: Vec<Tensor> = chans.iter().map(|&c| r.with_edges(&shape_of(c), -32_768, 32_767)).collect();
        let mut out_shape = shape_of(0);
        out_shape[axis] = chans.iter().sum();
        // the definition: element (o, j, i) of the output reads input `t` at (o, j - start_t, i)
        let outer: usize = out_shape[..axis].iter().product();
        let inner: usize = out_shape[axis + 1..].iter().product();
        let mut want = Vec::new();
        for o in 0..outer {
            for (x, &c) in xs.iter().zip(&chans) {
                for j in 0..c {
                    for i in 0..inner {
                        want.push(x.data[(o * c + j) * inner + i]);
                    }
                }
            }
        }
        let case = Case {
            name: "concat".into(),
            op: Op::Concat { axis: axis as u32 },
            inputs: xs.clone(),
            consts: vec![],
            out_shape: out_shape.clone(),
            out_kind: Kind::Act16,
        };
        for threads in [1, 2] {
            prop_assert_eq!(&case.run_with_threads(threads).unwrap().data, &want);
        }
        // directly, outside and inside a pool of two threads (which splits any `Concat` of
        // several outer runs past the threshold)
        let refs: Vec<&Tensor> = xs.iter().collect();
        prop_assert_eq!(&ops::layout::concat(&refs, axis, &out_shape).data, &want);
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let got = two.install(|| ops::layout::concat(&refs, axis, &out_shape));
        prop_assert_eq!(got.data, want);
    }
}

/// Shapes past both thresholds (a YOLOv8n-sized `Concat` and pool), on two threads.
#[test]
fn large_pool_and_concat_split_over_two_threads() {
    let mut r = Rng::new(5);
    let x = r.with_edges(&[8, 64, 20, 20], -32_768, 32_767);
    let pool = Case {
        name: "pool".into(),
        op: Op::MaxPool {
            kernel: [5, 5],
            strides: [1, 1],
            pads: [2; 4],
            dilations: [1, 1],
        },
        inputs: vec![x.clone()],
        consts: vec![],
        out_shape: vec![8, 64, 20, 20],
        out_kind: Kind::Act16,
    };
    assert_eq!(
        pool.run_with_threads(2).unwrap().data,
        pool_def(&x, 5, 1, 2, [20, 20], None)
    );
    let y = r.with_edges(&[8, 32, 20, 20], -32_768, 32_767);
    let cat = Case {
        name: "concat".into(),
        op: Op::Concat { axis: 1 },
        inputs: vec![x.clone(), y.clone()],
        consts: vec![],
        out_shape: vec![8, 96, 20, 20],
        out_kind: Kind::Act16,
    };
    let got = cat.run_with_threads(2).unwrap().data;
    let (a, b) = (64 * 400, 32 * 400);
    for o in 0..8 {
        assert_eq!(
            &got[o * (a + b)..o * (a + b) + a],
            &x.data[o * a..(o + 1) * a]
        );
        assert_eq!(
            &got[o * (a + b) + a..(o + 1) * (a + b)],
            &y.data[o * b..(o + 1) * b]
        );
    }
}
