//! Semantics version 5 vector cases: `Linear` and `Conv` with a wide (`[N, 2]`) bias, whose
//! values `B[n] = B[n, 0] · 2^31 + B[n, 1]` lie beyond `i32`.

use super::{Case, Rng, Tensor, linear16, rq16};
use vouch_model::{Kind, Op};

/// A wide bias of `n` values in about `±2^(31 + hi_bits)`, stored as `[n, 2]` `[hi, lo]` pairs
/// (`lo` in `[0, 2^31)`, as the importer writes them), with one value just past `i32` at each
/// end and one that fits it (a wide bias may hold small values too).
fn wide_bias(r: &mut Rng, n: usize, hi_bits: u32) -> Tensor {
    let top = 1i32 << hi_bits;
    let mut data = Vec::with_capacity(2 * n);
    for i in 0..n {
        let pair = match i {
            0 => [1, 0],         // 2^31: one past i32::MAX
            1 => [-2, i32::MAX], // -2^32 + 2^31 - 1 = -2^31 - 1: one below i32::MIN
            2 => [-1, 5],        // -2^31 + 5: fits i32
            _ => [r.range(-top, top - 1), r.range(0, i32::MAX)],
        };
        data.extend(pair);
    }
    Tensor {
        shape: vec![n, 2],
        data,
    }
}

/// Version 5 cases (drawn after every earlier case, so those stay as they were).
pub(super) fn wide_bias_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    let w16 = |r: &mut Rng, shape: &[usize]| r.tensor(shape, -32_767, 32_767);
    for (i, &(m, k, n, relu, sh)) in [(2, 40, 5, false, 37), (1, 70, 4, true, 38)]
        .iter()
        .enumerate()
    {
        let consts = vec![w16(r, &[n, k]), wide_bias(r, n, 4)];
        let case = linear16(
            r,
            format!("linear_wide_bias_{i}"),
            consts,
            (m, k, n),
            (relu, sh),
        );
        push("Linear", case);
    }
    let op = Op::Conv {
        weight: 0,
        bias: Some(1),
        kernel: [3, 3],
        strides: [1, 1],
        pads: [1; 4],
        dilations: [1, 1],
        group: 1,
        rq: rq16(r, false, 36),
        wide: false,
    };
    push(
        "Conv",
        Case {
            name: "conv_wide_bias_0".into(),
            op,
            consts: vec![w16(r, &[4, 2, 3, 3]), wide_bias(r, 4, 3)],
            inputs: vec![r.act16(&[1, 2, 6, 6])],
            out_shape: vec![1, 4, 6, 6],
            out_kind: Kind::Act16,
        },
    );
}
