//! Vector cases of the elementwise family drawn after the reductions: n-ary `Max` and `Min`
//! with broadcasting, on `act8` and `act16` operands.

use super::{Case, Rng};
use vouch_model::{Kind, Op};

/// `Max` of three operands broadcast together, `Min` of two of one shape, `Max` of one.
pub(super) fn min_max_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    push(
        "Max",
        Case {
            name: "max_0".into(),
            op: Op::Max,
            inputs: vec![r.act8(&[2, 3, 1]), r.act8(&[1, 4]), r.act8(&[2, 3, 4])],
            consts: vec![],
            out_shape: vec![2, 3, 4],
            out_kind: Kind::Act8,
        },
    );
    push(
        "Max",
        Case {
            name: "max_act16_one_0".into(),
            op: Op::Max,
            inputs: vec![r.act16(&[3, 2])],
            consts: vec![],
            out_shape: vec![3, 2],
            out_kind: Kind::Act16,
        },
    );
    push(
        "Min",
        Case {
            name: "min_act16_0".into(),
            op: Op::Min,
            inputs: vec![r.act16(&[2, 5]), r.act16(&[2, 5])],
            consts: vec![],
            out_shape: vec![2, 5],
            out_kind: Kind::Act16,
        },
    );
    push(
        "Min",
        Case {
            name: "min_0".into(),
            op: Op::Min,
            inputs: vec![r.act8(&[4, 1, 3]), r.act8(&[2, 1]), r.act8(&[3])],
            consts: vec![],
            out_shape: vec![4, 2, 3],
            out_kind: Kind::Act8,
        },
    );
}
