//! Semantics version 5 vector cases: `Linear` and `Conv` with a wide (`[N, 2]`) bias, whose
//! values `B[n] = B[n, 0] · 2^31 + B[n, 1]` lie beyond `i32`; version 6 cases: the same
//! requantized per output channel (an `[N, 3]` bias holding `M[n]`).

use super::{Case, Rng, Tensor, linear16, rq16};
use vouch_model::{Kind, Op, Requant};

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

/// A per-channel `[n, 3]` bias (semantics version 6): `[hi, lo, M[n]]` triples with values in
/// about `±2^(31 + hi_bits)` (one that fits `i32`, one past it) and multipliers from 1 to
/// `2^15 - 1` (a channel whose weights were 10^4 times smaller than the largest one's).
fn channel_bias(r: &mut Rng, n: usize, hi_bits: u32) -> Tensor {
    let top = 1i32 << hi_bits;
    let mut data = Vec::with_capacity(3 * n);
    for i in 0..n {
        let m = match i % 4 {
            0 => 32_767,
            1 => 1,
            2 => 300,
            _ => r.range(1 << 14, (1 << 15) - 1),
        };
        let pair = match i {
            0 => [-1, 5],
            1 => [1, 0],
            _ => [r.range(-top, top - 1), r.range(0, i32::MAX)],
        };
        data.extend([pair[0], pair[1], m]);
    }
    Tensor {
        shape: vec![n, 3],
        data,
    }
}

/// Version 6 cases: `Linear` and `Conv` (plain and depthwise) requantized per output channel
/// (`M = 0` in the node, `M[n]` in the `[N, 3]` bias, one shift). Drawn after every earlier
/// case, so those stay as they were.
pub(super) fn per_channel_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    let w16 = |r: &mut Rng, shape: &[usize]| r.tensor(shape, -32_767, 32_767);
    let per_channel = |r: &mut Rng, relu: bool, s: u32| Requant {
        m: 0,
        ..rq16(r, relu, s)
    };
    for (i, &(m, k, n, relu, sh)) in [(2, 40, 5, false, 34), (3, 64, 4, true, 33)]
        .iter()
        .enumerate()
    {
        let consts = vec![w16(r, &[n, k]), channel_bias(r, n, 2)];
        let op = Op::Linear {
            weight: 0,
            bias: Some(1),
            rq: per_channel(r, relu, sh),
            wide: false,
        };
        push(
            "Linear",
            Case {
                name: format!("linear_per_channel_{i}"),
                op,
                inputs: vec![r.act16(&[m, k])],
                consts,
                out_shape: vec![m, n],
                out_kind: Kind::Act16,
            },
        );
    }
    for (i, &(c, co, group, stride)) in [(2, 4, 1, 1), (4, 4, 4, 2)].iter().enumerate() {
        let (h, oh) = (6, 6 / stride);
        let op = Op::Conv {
            weight: 0,
            bias: Some(1),
            kernel: [3, 3],
            strides: [stride as u32; 2],
            pads: [1, 1, 1, 1],
            dilations: [1, 1],
            group: group as u32,
            rq: per_channel(r, false, 34),
            wide: false,
        };
        push(
            "Conv",
            Case {
                name: format!("conv_per_channel_{i}"),
                op,
                consts: vec![w16(r, &[co, c / group, 3, 3]), channel_bias(r, co, 2)],
                inputs: vec![r.act16(&[1, c, h, h])],
                out_shape: vec![1, co, oh, oh],
                out_kind: Kind::Act16,
            },
        );
    }
}
