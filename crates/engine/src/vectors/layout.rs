//! Vector cases of the layout family drawn after every other case: `Pad` in each mode, on
//! `act8` and `act16` inputs of rank 2 and 4, with asymmetric pads; `Select` (slices with
//! steps, reversal, broadcast, tiling and gathers) drawn after the tree cases; `Gather` by
//! computed indices drawn last.

use super::{Case, Rng};
use vouch_model::{Kind, Op, PadMode};

/// A `Pad` case: name, mode, input shape, `act16` input, pads `[begin.., end..]`, value.
type PadCase = (
    &'static str,
    PadMode,
    &'static [usize],
    bool,
    &'static [u32],
    i32,
);

/// `Pad`: constant (a nonzero value, and the kind's minimum), reflect, edge and wrap (pads
/// longer than the axis), 2-D and 4-D.
pub(super) fn pad_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    let cases: [PadCase; 7] = [
        (
            "pad_constant_0",
            PadMode::Constant,
            &[3, 5],
            false,
            &[1, 2, 2, 0],
            -77,
        ),
        (
            "pad_reflect_0",
            PadMode::Reflect,
            &[4, 5],
            false,
            &[3, 1, 2, 4],
            0,
        ),
        (
            "pad_edge_0",
            PadMode::Edge,
            &[3, 4],
            false,
            &[0, 3, 2, 1],
            0,
        ),
        (
            "pad_wrap_0",
            PadMode::Wrap,
            &[2, 3],
            false,
            &[1, 4, 3, 5],
            0,
        ),
        (
            "pad_constant_act16_0",
            PadMode::Constant,
            &[1, 2, 3, 3],
            true,
            &[0, 1, 0, 2, 0, 0, 3, 1],
            -32_768,
        ),
        (
            "pad_reflect_1",
            PadMode::Reflect,
            &[1, 3, 4, 5],
            false,
            &[0, 0, 1, 3, 0, 0, 3, 2],
            0,
        ),
        (
            "pad_edge_act16_0",
            PadMode::Edge,
            &[1, 2, 3, 4],
            true,
            &[0, 1, 2, 0, 0, 0, 1, 3],
            0,
        ),
    ];
    for (name, mode, shape, wide16, pads, value) in cases {
        let rank = shape.len();
        let out_shape: Vec<usize> = (0..rank)
            .map(|a| shape[a] + pads[a] as usize + pads[rank + a] as usize)
            .collect();
        let x = if wide16 {
            r.act16(shape)
        } else {
            r.act8(shape)
        };
        push(
            "Pad",
            Case {
                name: name.into(),
                op: Op::Pad {
                    mode,
                    pads: pads.to_vec(),
                    value,
                },
                inputs: vec![x],
                consts: vec![],
                out_shape,
                out_kind: if wide16 { Kind::Act16 } else { Kind::Act8 },
            },
        );
    }
}

/// A `Select` case: name, input shape, `act16` input, one map per axis (empty: identity).
type SelectCase = (
    &'static str,
    &'static [usize],
    bool,
    &'static [&'static [u32]],
);

/// `Select`: a slice with a step, a reversal (negative step), a broadcast of a size-1 axis, a
/// tile, a gather with repeated indices, a single index, on `act8` and `act16` inputs.
pub(super) fn select_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    let cases: [SelectCase; 6] = [
        ("select_slice_step_0", &[2, 7], false, &[&[], &[1, 3, 5]]),
        ("select_reverse_0", &[3, 4], false, &[&[], &[3, 2, 1, 0]]),
        (
            "select_broadcast_act16_0",
            &[2, 1, 3],
            true,
            &[&[], &[0, 0, 0, 0], &[]],
        ),
        (
            "select_tile_0",
            &[1, 2, 3],
            false,
            &[&[], &[0, 1, 0, 1], &[0, 1, 2, 0, 1, 2]],
        ),
        (
            "select_gather_act16_0",
            &[1, 3, 2, 4],
            true,
            &[&[0, 0], &[2, 0, 2], &[], &[3, 1]],
        ),
        ("select_one_0", &[2, 3], false, &[&[], &[1]]),
    ];
    for (name, shape, wide16, maps) in cases {
        let out_shape: Vec<usize> = maps
            .iter()
            .zip(shape)
            .map(|(m, &d)| if m.is_empty() { d } else { m.len() })
            .collect();
        let x = if wide16 {
            r.act16(shape)
        } else {
            r.act8(shape)
        };
        push(
            "Select",
            Case {
                name: name.into(),
                op: Op::Select {
                    maps: maps.iter().map(|m| m.to_vec()).collect(),
                },
                inputs: vec![x],
                consts: vec![],
                out_shape,
                out_kind: if wide16 { Kind::Act16 } else { Kind::Act8 },
            },
        );
    }
}

/// `Gather` by computed indices: a constant `act8` table picked along axis 0 by an index
/// matrix, a computed `act16` tensor picked along a middle axis, and one along the last axis;
/// the indices hold in-range values, negative ones (from the end) and values past both ends
/// (clamped), so every rule of the index map is exercised.
pub(super) fn gather_cases(r: &mut Rng, push: &mut impl FnMut(&'static str, Case)) {
    let edges = [-1, -6, 6, 100, -128, 127];
    let idx = |r: &mut Rng, shape: &[usize], lo: i32, hi: i32| {
        let mut t = r.tensor(shape, lo, hi);
        for (v, e) in t.data.iter_mut().zip(edges) {
            if r.next_u64().is_multiple_of(2) {
                *v = e;
            }
        }
        t
    };
    let table = r.act8(&[6, 4]);
    let ids = idx(r, &[2, 3], -6, 5);
    push(
        "Gather",
        Case {
            name: "gather_table_0".into(),
            op: Op::Gather { axis: 0 },
            inputs: vec![ids],
            consts: vec![table],
            out_shape: vec![2, 3, 4],
            out_kind: Kind::Act8,
        },
    );
    let x = r.act16(&[2, 5, 3]);
    let ids = idx(r, &[4], -5, 4);
    push(
        "Gather",
        Case {
            name: "gather_axis1_act16_0".into(),
            op: Op::Gather { axis: 1 },
            inputs: vec![x, ids],
            consts: vec![],
            out_shape: vec![2, 4, 3],
            out_kind: Kind::Act16,
        },
    );
    let x = r.act8(&[3, 4]);
    let ids = idx(r, &[1], 300, 400);
    push(
        "Gather",
        Case {
            name: "gather_last_axis_0".into(),
            op: Op::Gather { axis: 1 },
            inputs: vec![x, ids],
            consts: vec![],
            out_shape: vec![3, 1],
            out_kind: Kind::Act8,
        },
    );
}
