//! Vector cases of the reduce family drawn after every other case: `Reduce` in each mode, on
//! `act8` and `act16` inputs, over one axis, several axes, all axes and non-adjacent axes, with
//! and without `keepdims`; a `Sum` requantized (with a fused ReLU), means that round halves;
//! and one reduction over 224 elements, the largest span the one-step verifier reads.

use super::{Case, Rng, rq16};
use vouch_model::{Kind, Op, ReduceMode, Requant};

/// A `Reduce` case: name, mode, input shape, `act16` input, axes, keepdims.
type ReduceCase = (
    &'static str,
    ReduceMode,
    &'static [usize],
    bool,
    &'static [u32],
    bool,
);

/// `Reduce`: every mode, both kinds, keepdims 0 and 1, and the 224-element mean.
pub(super) fn reduce_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    let cases: [ReduceCase; 8] = [
        ("reduce_sum_0", ReduceMode::Sum, &[3, 5], false, &[1], true),
        (
            "reduce_sum_act16_all_0",
            ReduceMode::Sum,
            &[2, 3, 2],
            true,
            &[0, 1, 2],
            false,
        ),
        (
            "reduce_mean_act16_0",
            ReduceMode::Mean,
            &[1, 3, 4, 5],
            true,
            &[2, 3],
            true,
        ),
        (
            "reduce_mean_0",
            ReduceMode::Mean,
            &[4, 6],
            false,
            &[1],
            false,
        ),
        (
            "reduce_max_0",
            ReduceMode::Max,
            &[2, 3, 4],
            false,
            &[0, 2],
            false,
        ),
        (
            "reduce_min_act16_0",
            ReduceMode::Min,
            &[2, 4, 3],
            true,
            &[1],
            true,
        ),
        (
            "reduce_max_act16_0",
            ReduceMode::Max,
            &[1, 2, 3, 2],
            true,
            &[1, 3],
            true,
        ),
        (
            "reduce_mean_act16_224",
            ReduceMode::Mean,
            &[1, 224],
            true,
            &[1],
            true,
        ),
    ];
    for (i, (name, mode, shape, act16, axes, keepdims)) in cases.into_iter().enumerate() {
        let x = if act16 { r.act16(shape) } else { r.act8(shape) };
        let (lo, hi) = if act16 {
            (-32_768, 32_767)
        } else {
            (-128, 127)
        };
        let rq = if mode == ReduceMode::Sum {
            // a sum onto a coarser scale; the second case with a fused ReLU
            let mut q = rq16(r, i == 1, 16);
            if !act16 {
                (q.lo, q.hi) = (lo, hi);
            }
            q
        } else {
            Requant { m: 1, s: 0, lo, hi }
        };
        let out_shape: Vec<usize> = shape
            .iter()
            .enumerate()
            .filter_map(|(a, &d)| match (axes.contains(&(a as u32)), keepdims) {
                (false, _) => Some(d),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect();
        push(
            "Reduce",
            Case {
                name: name.into(),
                op: Op::Reduce {
                    mode,
                    axes: axes.to_vec(),
                    keepdims,
                    rq,
                },
                inputs: vec![x],
                consts: vec![],
                out_shape,
                out_kind: if act16 { Kind::Act16 } else { Kind::Act8 },
            },
        );
    }
}
