//! Semantics version 2 vector cases: `act16` inputs with `i16` weights.

use super::{Case, Rng, linear16, rq16};
use vouch_model::{Kind, Op, Requant};

/// Semantics version 2 cases (drawn after every version 1 case, so those stay as they were):
/// `act16` inputs with `i16` weights, whose accumulators pass `i32`, and the `Rescale` from
/// `act16` down to `act8` the importer puts before a `Lut`.
pub(super) fn act16_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    let w16 = |r: &mut Rng, shape: &[usize]| {
        let mut t = r.tensor(shape, -32_767, 32_767);
        if let Some(v) = t.data.first_mut() {
            *v = -32_767;
        }
        t
    };
    for (i, &(m, k, n, relu, sh)) in [(1, 100, 6, false, 33), (2, 300, 4, true, 35)]
        .iter()
        .enumerate()
    {
        let consts = vec![w16(r, &[n, k]), r.tensor(&[n], -(1 << 30), 1 << 30)];
        let case = linear16(
            r,
            format!("linear_act16_{i}"),
            consts,
            (m, k, n),
            (relu, sh),
        );
        push("Linear", case);
    }
    let op = Op::Conv {
        weight: 0,
        bias: Some(1),
        kernel: [5, 5],
        strides: [1, 1],
        pads: [2; 4],
        dilations: [1, 1],
        group: 1,
        rq: rq16(r, true, 32),
        wide: false,
    };
    push(
        "Conv",
        Case {
            name: "conv_act16_0".into(),
            op,
            consts: vec![w16(r, &[3, 2, 5, 5]), r.tensor(&[3], -(1 << 28), 1 << 28)],
            inputs: vec![r.act16(&[1, 2, 9, 9])],
            out_shape: vec![1, 3, 9, 9],
            out_kind: Kind::Act16,
        },
    );
    push(
        "MatMul",
        Case {
            name: "matmul_act16_0".into(),
            op: Op::MatMul {
                rq: rq16(r, false, 34),
                wide: false,
            },
            inputs: vec![r.act16(&[3, 40]), r.act16(&[40, 2])],
            consts: vec![],
            out_shape: vec![3, 2],
            out_kind: Kind::Act16,
        },
    );
    push(
        "Rescale",
        Case {
            name: "rescale_act16_0".into(),
            op: Op::Rescale {
                rq: Requant {
                    m: i64::from(r.range(1 << 14, (1 << 15) - 1)),
                    s: 22,
                    lo: -128,
                    hi: 127,
                },
            },
            inputs: vec![r.act16(&[2, 20])],
            consts: vec![],
            out_shape: vec![2, 20],
            out_kind: Kind::Act8,
        },
    );
    push(
        "MaxPool",
        Case {
            name: "maxpool_act16_0".into(),
            op: Op::MaxPool {
                kernel: [2, 2],
                strides: [2, 2],
                pads: [0; 4],
                dilations: [1, 1],
            },
            inputs: vec![r.act16(&[1, 2, 6, 6])],
            consts: vec![],
            out_shape: vec![1, 2, 3, 3],
            out_kind: Kind::Act16,
        },
    );
    // Four -32768s at the start of each row of x and of each column of y: a pair of products
    // sums to 2^31, one past `i32`, which an exact accumulator must carry (drawn last, so the
    // earlier cases stay byte-identical).
    let (mut x, mut y) = (r.act16(&[2, 40]), r.act16(&[40, 2]));
    for row in x.data.chunks_mut(40) {
        row[..4].fill(-32768);
    }
    y.data[..8].fill(-32768);
    push(
        "MatMul",
        Case {
            name: "matmul_act16_min".into(),
            op: Op::MatMul {
                rq: rq16(r, false, 34),
                wide: false,
            },
            inputs: vec![x, y],
            consts: vec![],
            out_shape: vec![2, 2],
            out_kind: Kind::Act16,
        },
    );
}
