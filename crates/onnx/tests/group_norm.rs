//! `GroupNormalization` lowers to an `InstanceNormalization` of `[N, G, -1]` between two
//! `Reshape`s, then the per-channel scale and bias (`Mul`, `Add`; per group before opset 21).

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, out_shape, tf};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::{Error, FGraph, Operand};

fn group_norm(opset: i64, groups: i64, n_scale: usize) -> Result<FGraph, Error> {
    let scale: Vec<f32> = (0..n_scale).map(|i| 1.0 + i as f32).collect();
    imp(&model(
        opset,
        vec![node(
            "GroupNormalization",
            &["x", "s", "b"],
            &["y"],
            vec![A::I("num_groups", groups)],
        )],
        vec![
            tf("s", &[n_scale as i64], &scale),
            tf("b", &[n_scale as i64], &vec![0.5; n_scale]),
        ],
        vec![input("x", &[-1, 4, 2, 3])],
        &["y"],
    ))
}

#[test]
fn groups_are_instances_of_a_reshaped_input() {
    let g = group_norm(21, 2, 4).unwrap();
    let names = ops(&g);
    assert_eq!(names.first().map(String::as_str), Some("Reshape"));
    assert!(
        names.ends_with(&["Reshape", "Mul", "Add"].map(String::from)),
        "{names:?}"
    );
    // the group statistics run over [N, 2, 12]
    assert_eq!(
        g.values[g.nodes[0].output].shape,
        [Batch, Fixed(2), Fixed(12)]
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(4), Fixed(2), Fixed(3)]);
    // the per-channel scale, shaped [C, 1, 1]
    let mul = &g.nodes[g.nodes.len() - 2];
    let Operand::Const(c) = mul.inputs[1] else {
        panic!("scale is computed")
    };
    assert_eq!(g.consts[c].shape, [4, 1, 1]);
    assert_eq!(g.consts[c].data, [1.0, 2.0, 3.0, 4.0]);
    // opset 18: one scale per group, applied before reshaping back
    let g = group_norm(18, 2, 2).unwrap();
    assert!(ops(&g).ends_with(&["Mul", "Add", "Reshape"].map(String::from)));
    // groups that do not divide the channels, a scale of the wrong length
    assert!(matches!(
        group_norm(21, 3, 4),
        Err(Error::BadAttribute { .. })
    ));
    assert!(matches!(group_norm(21, 2, 2), Err(Error::BadInput { .. })));
}
