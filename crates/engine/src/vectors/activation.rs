//! Vector cases of the activation family drawn after the extrema: `PRelu` with a per-channel
//! slope and a slope along the last axis, positive and negative, on `act8` and `act16` inputs;
//! and, drawn after every other case, `Lut` tables of `2^k` entries (semantics version 4) on
//! `act16` inputs that reach both ends of the table.

use super::{Case, Rng};
use crate::tensor::Tensor;
use vouch_model::{Kind, Op, Requant};

/// A `PRelu` case: name, input shape, slope shape, `act16` input, shift.
type PReluCase = (&'static str, &'static [usize], &'static [usize], bool, u32);

/// `PRelu`: slopes of either sign, `i16`-ranged, broadcast per channel or along the last axis.
pub(super) fn prelu_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    let cases: [PReluCase; 2] = [
        ("prelu_0", &[1, 3, 2, 2], &[3, 1, 1], false, 31),
        ("prelu_act16_0", &[2, 4], &[4], true, 30),
    ];
    for (name, shape, slope_shape, act16, s) in cases {
        let x = if act16 { r.act16(shape) } else { r.act8(shape) };
        let slope = r.with_edges(slope_shape, -32_767, 32_767);
        let (lo, hi) = if act16 {
            (-32_768, 32_767)
        } else {
            (-128, 127)
        };
        let rq = Requant {
            m: i64::from(r.range(1 << 14, (1 << 15) - 1)),
            s,
            lo,
            hi,
        };
        push(
            "PRelu",
            Case {
                name: name.into(),
                op: Op::PRelu { slope: 0, rq },
                inputs: vec![x],
                consts: vec![slope],
                out_shape: shape.to_vec(),
                out_kind: if act16 { Kind::Act16 } else { Kind::Act8 },
            },
        );
    }
}

/// `Lut` with 512 and 4096 entries: an `act16` input over the table's whole window (its two
/// ends included), an `act16` output from a table of integer arithmetic.
pub(super) fn fine_lut_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    for (name, n) in [("lut_512_0", 512i32), ("lut_4096_0", 4096)] {
        let half = n / 2;
        let mut x = r.tensor(&[2, 9], -half, half - 1);
        x.data[0] = -half;
        x.data[1] = half - 1;
        let table = Tensor {
            shape: vec![n as usize],
            data: (0..n).map(|i| (i * 37 + 11) % 65_535 - 32_767).collect(),
        };
        push(
            "Lut",
            Case {
                name: name.into(),
                op: Op::Lut { table: 0 },
                inputs: vec![x],
                consts: vec![table],
                out_shape: vec![2, 9],
                out_kind: Kind::Act16,
            },
        );
    }
}
