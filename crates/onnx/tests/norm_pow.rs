//! ONNX `InstanceNormalization`, `LRN` and `Pow` by a constant exponent, lowered into existing
//! float ops (reductions, products, a `Conv`/`Linear` by a constant band, tables): the graph
//! each lowers to, and every refused form (an error naming the node, never a panic).

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, out_shape, tf, ti};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::graph::ReduceMode;
use vouch_onnx::{Error, FGraph, FOp, Operand, ScalarFn};

/// `InstanceNormalization` of `x` (`shape`) by constant `scale` and `B` of `c` values.
fn instance_norm(shape: &[i64], c: usize, attrs: Vec<A<'_>>) -> Vec<u8> {
    let scale: Vec<f32> = (0..c).map(|i| 1.0 + i as f32).collect();
    let bias: Vec<f32> = (0..c).map(|i| -(i as f32) / 2.0).collect();
    model(
        13,
        vec![node(
            "InstanceNormalization",
            &["x", "s", "b"],
            &["y"],
            attrs,
        )],
        vec![tf("s", &[c as i64], &scale), tf("b", &[c as i64], &bias)],
        vec![input("x", shape)],
        &["y"],
    )
}

/// `LRN` of `x` (`shape`) with `attrs`.
fn lrn(shape: &[i64], attrs: Vec<A<'_>>) -> Vec<u8> {
    model(
        13,
        vec![node("LRN", &["x"], &["y"], attrs)],
        vec![],
        vec![input("x", shape)],
        &["y"],
    )
}

fn value(op: &Operand) -> usize {
    match op {
        Operand::Value(v) => *v,
        Operand::Const(c) => panic!("constant {c}, expected a value"),
    }
}

fn constant(g: &FGraph, op: &Operand) -> (Vec<usize>, Vec<f32>) {
    match op {
        Operand::Const(c) => (g.consts[*c].shape.clone(), g.consts[*c].data.clone()),
        Operand::Value(v) => panic!("value {v}, expected a constant"),
    }
}

fn unsupported(e: Error) -> (String, String) {
    match e {
        Error::UnsupportedForm { node, reason, .. } => (node, reason),
        e => panic!("expected an unsupported form, got {e}"),
    }
}

#[test]
fn instance_norm_lowers_to_mean_variance_table_and_per_channel_affine() {
    let g = imp(&instance_norm(
        &[-1, 3, 4, 5],
        3,
        vec![A::F("epsilon", 0.01)],
    ))
    .unwrap();
    assert_eq!(
        ops(&g),
        ["Reduce", "Sub", "Mul", "Reduce", "Map", "Mul", "Mul", "Add"]
    );
    let n = &g.nodes;
    let x = g.inputs[0];
    for i in [0, 3] {
        assert_eq!(
            n[i].op,
            FOp::Reduce {
                mode: ReduceMode::Mean,
                axes: vec![2, 3],
                keepdims: true
            }
        );
        assert_eq!(
            g.values[n[i].output].shape,
            [Batch, Fixed(3), Fixed(1), Fixed(1)]
        );
    }
    // mean of x; d = x - mean; d · d; its mean; 1/√(var + ε); d · that
    assert_eq!(value(&n[0].inputs[0]), x);
    assert_eq!(
        n[1].inputs,
        [Operand::Value(x), Operand::Value(n[0].output)]
    );
    let d = n[1].output;
    assert_eq!(n[2].inputs, [Operand::Value(d), Operand::Value(d)]);
    assert_eq!(value(&n[3].inputs[0]), n[2].output);
    assert_eq!(
        n[4].op,
        FOp::Map {
            f: ScalarFn::RsqrtEps { eps: 0.01 }
        }
    );
    assert_eq!(value(&n[4].inputs[0]), n[3].output);
    assert_eq!(
        n[5].inputs,
        [Operand::Value(d), Operand::Value(n[4].output)]
    );
    // then · scale[c] + B[c], both shaped [C, 1, 1]
    assert_eq!(value(&n[6].inputs[0]), n[5].output);
    assert_eq!(
        constant(&g, &n[6].inputs[1]),
        (vec![3, 1, 1], vec![1.0, 2.0, 3.0])
    );
    assert_eq!(value(&n[7].inputs[0]), n[6].output);
    assert_eq!(
        constant(&g, &n[7].inputs[1]),
        (vec![3, 1, 1], vec![0.0, -0.5, -1.0])
    );
    assert_eq!(g.outputs, [n[7].output]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(4), Fixed(5)]);
    assert_eq!(g.values[n[7].output].name, "y");
}

#[test]
fn instance_norm_of_rank_3_reduces_the_last_axis_and_defaults_epsilon() {
    let g = imp(&instance_norm(&[2, 4, 7], 4, vec![])).unwrap();
    assert!(
        matches!(&g.nodes[0].op, FOp::Reduce { axes, .. } if axes == &[2]),
        "{:?}",
        g.nodes[0].op
    );
    assert_eq!(
        g.nodes[4].op,
        FOp::Map {
            f: ScalarFn::RsqrtEps { eps: 1e-5 }
        }
    );
    assert_eq!(
        constant(&g, &g.nodes[6].inputs[1]).0,
        [4, 1],
        "[C, 1] for one spatial axis"
    );
}

#[test]
fn instance_norm_averages_a_wide_slice_one_axis_at_a_time() {
    // 15 · 15 = 225 elements per (n, c), one past MAX_REDUCE_SPAN: each mean is a Reduce over
    // the last axis, then one over the axis before it
    assert_eq!(vouch_semantics::MAX_REDUCE_SPAN, 224);
    let g = imp(&instance_norm(&[1, 2, 15, 15], 2, vec![])).unwrap();
    let reduces: Vec<Vec<usize>> = g
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            FOp::Reduce { axes, keepdims, .. } if *keepdims => Some(axes.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reduces, [vec![3], vec![2], vec![3], vec![2]]);
    // 14 · 16 = 224 is one Reduce per mean
    let g = imp(&instance_norm(&[1, 2, 14, 16], 2, vec![])).unwrap();
    assert!(
        matches!(&g.nodes[0].op, FOp::Reduce { axes, .. } if axes == &[2, 3]),
        "{:?}",
        g.nodes[0].op
    );
    // one spatial axis of 225 = 3 x 75: a tree of stages along it
    let g = imp(&instance_norm(&[1, 2, 225], 2, vec![])).unwrap();
    let reduces = g
        .nodes
        .iter()
        .filter(|n| matches!(n.op, FOp::Reduce { .. }))
        .count();
    assert_eq!(reduces, 4, "two stages per mean");
    // one spatial axis of 227, a prime: no stage can span it
    let e = imp(&instance_norm(&[1, 2, 227], 2, vec![])).unwrap_err();
    let (at, reason) = unsupported(e);
    assert_eq!(at, "n_y");
    assert!(reason.contains("227") && reason.contains("224"), "{reason}");
}

#[test]
fn instance_norm_refuses_bad_forms_naming_the_node() {
    // rank 2: no spatial axes
    let (at, reason) = unsupported(imp(&instance_norm(&[-1, 3], 3, vec![])).unwrap_err());
    assert_eq!(at, "n_y");
    assert!(reason.contains("rank 2"), "{reason}");
    // scale of the wrong length
    let m = model(
        13,
        vec![node(
            "InstanceNormalization",
            &["x", "s", "b"],
            &["y"],
            vec![],
        )],
        vec![tf("s", &[2], &[1.0, 1.0]), tf("b", &[3], &[0.0; 3])],
        vec![input("x", &[1, 3, 4])],
        &["y"],
    );
    assert!(
        matches!(imp(&m), Err(Error::BadInput { ref node, index: 1, .. }) if node == "n_y"),
        "{:?}",
        imp(&m)
    );
    // a computed scale
    let m = model(
        13,
        vec![node(
            "InstanceNormalization",
            &["x", "s", "b"],
            &["y"],
            vec![],
        )],
        vec![tf("b", &[3], &[0.0; 3])],
        vec![input("x", &[1, 3, 4]), input("s", &[3])],
        &["y"],
    );
    assert!(
        matches!(imp(&m), Err(Error::BadInput { ref node, index: 1, .. }) if node == "n_y"),
        "{:?}",
        imp(&m)
    );
    // a negative epsilon
    let e = imp(&instance_norm(&[1, 3, 4], 3, vec![A::F("epsilon", -1.0)])).unwrap_err();
    assert!(
        matches!(e, Error::BadAttribute { ref node, ref attr, .. } if node == "n_y" && attr == "epsilon"),
        "{e}"
    );
}

/// The `[C, C]` band of an LRN window of `size` channels, row `o` the channels channel `o`
/// sums, by the ONNX definition.
fn band(c: usize, size: usize) -> Vec<f32> {
    let mut w = vec![0.0; c * c];
    for o in 0..c {
        let lo = o.saturating_sub((size - 1) / 2);
        let hi = (o + (size - 1).div_ceil(2)).min(c - 1);
        for i in lo..=hi {
            w[o * c + i] = 1.0;
        }
    }
    w
}

#[test]
fn lrn_lowers_to_square_window_conv_table_and_product() {
    let attrs = vec![
        A::I("size", 3),
        A::F("alpha", 0.3),
        A::F("beta", 0.5),
        A::F("bias", 2.0),
    ];
    let g = imp(&lrn(&[-1, 5, 4, 4], attrs)).unwrap();
    assert_eq!(ops(&g), ["Mul", "Conv", "Map", "Mul"]);
    let n = &g.nodes;
    let x = g.inputs[0];
    assert_eq!(n[0].inputs, [Operand::Value(x), Operand::Value(x)]);
    let FOp::Conv {
        weight,
        bias,
        kernel,
        strides,
        pads,
        dilations,
        group,
    } = &n[1].op
    else {
        panic!("{:?}", n[1].op)
    };
    assert_eq!(
        (*bias, *kernel, *strides, *pads, *dilations, *group),
        (None, [1, 1], [1, 1], [0; 4], [1, 1], 1)
    );
    assert_eq!(g.consts[*weight].shape, [5, 5, 1, 1]);
    #[rustfmt::skip]
    let want = [
        1., 1., 0., 0., 0.,
        1., 1., 1., 0., 0.,
        0., 1., 1., 1., 0.,
        0., 0., 1., 1., 1.,
        0., 0., 0., 1., 1.,
    ];
    assert_eq!(g.consts[*weight].data, want);
    assert_eq!(value(&n[1].inputs[0]), n[0].output);
    assert_eq!(
        n[2].op,
        FOp::Map {
            f: ScalarFn::LrnFactor {
                bias: 2.0,
                scale: 0.3 / 3.0,
                beta: 0.5
            }
        }
    );
    assert_eq!(
        n[3].inputs,
        [Operand::Value(x), Operand::Value(n[2].output)]
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(5), Fixed(4), Fixed(4)]);
}

#[test]
fn lrn_window_of_an_even_size_reaches_further_up_and_defaults_the_attributes() {
    // size 4: channels c - 1 ..= c + 2
    let g = imp(&lrn(&[1, 6, 3], vec![A::I("size", 4)])).unwrap();
    assert_eq!(ops(&g), ["Mul", "Conv", "Map", "Mul"]);
    let FOp::Conv { weight, .. } = &g.nodes[1].op else {
        panic!("{:?}", g.nodes[1].op)
    };
    assert_eq!(g.consts[*weight].data, band(6, 4));
    assert_eq!(g.consts[*weight].data[..6], [1., 1., 1., 0., 0., 0.]);
    assert_eq!(g.consts[*weight].data[6..12], [1., 1., 1., 1., 0., 0.]);
    assert_eq!(
        g.nodes[2].op,
        FOp::Map {
            f: ScalarFn::LrnFactor {
                bias: 1.0,
                scale: 1e-4 / 4.0,
                beta: 0.75
            }
        }
    );
    // size 1: each channel alone
    let g = imp(&lrn(&[1, 3, 2, 2], vec![A::I("size", 1)])).unwrap();
    let FOp::Conv { weight, .. } = &g.nodes[1].op else {
        panic!("{:?}", g.nodes[1].op)
    };
    assert_eq!(g.consts[*weight].data, band(3, 1));
    assert_eq!(g.consts[*weight].data, [1., 0., 0., 0., 1., 0., 0., 0., 1.]);
}

#[test]
fn lrn_of_rank_2_sums_the_window_with_a_linear() {
    let g = imp(&lrn(&[-1, 4], vec![A::I("size", 5)])).unwrap();
    assert_eq!(ops(&g), ["Mul", "Linear", "Map", "Mul"]);
    let FOp::Linear { weight, bias: None } = &g.nodes[1].op else {
        panic!("{:?}", g.nodes[1].op)
    };
    assert_eq!(g.consts[*weight].shape, [4, 4]);
    assert_eq!(g.consts[*weight].data, band(4, 5));
    #[rustfmt::skip]
    let want = [
        1., 1., 1., 0.,
        1., 1., 1., 1.,
        1., 1., 1., 1.,
        0., 1., 1., 1.,
    ];
    assert_eq!(g.consts[*weight].data, want);
}

#[test]
fn lrn_refuses_bad_forms_naming_the_node() {
    let e = imp(&lrn(&[1, 3, 2, 2], vec![])).unwrap_err();
    assert!(
        matches!(e, Error::BadAttribute { ref node, ref attr, .. } if node == "n_y" && attr == "size"),
        "{e}"
    );
    let e = imp(&lrn(&[1, 3, 2, 2], vec![A::I("size", 0)])).unwrap_err();
    assert!(
        matches!(e, Error::BadAttribute { ref node, ref attr, .. } if node == "n_y" && attr == "size"),
        "{e}"
    );
    let (at, reason) = unsupported(imp(&lrn(&[1, 3, 2, 2, 2], vec![A::I("size", 3)])).unwrap_err());
    assert_eq!(at, "n_y");
    assert!(reason.contains("rank 5"), "{reason}");
    let e = imp(&lrn(
        &[1, 3, 2, 2],
        vec![A::I("size", 3), A::F("beta", f32::NAN)],
    ))
    .unwrap_err();
    assert!(matches!(e, Error::BadAttribute { .. }), "{e}");
}

/// `Pow` of a computed `x` (`[N, 3]`) by the constant `e`.
fn pow(e: Vec<vouch_onnx::proto::TensorProto>) -> Vec<u8> {
    model(
        13,
        vec![node("Pow", &["x", "e"], &["y"], vec![])],
        e,
        vec![input("x", &[-1, 3])],
        &["y"],
    )
}

#[test]
fn pow_by_a_constant_exponent_is_a_table() {
    for (e, want) in [
        (tf("e", &[], &[2.0]), 2.0),
        (tf("e", &[1, 3], &[0.5, 0.5, 0.5]), 0.5),
        (ti("e", &[1], &[3]), 3.0),
    ] {
        let g = imp(&pow(vec![e])).unwrap();
        assert_eq!(ops(&g), ["Map"]);
        assert_eq!(
            g.nodes[0].op,
            FOp::Map {
                f: ScalarFn::Pow { exponent: want }
            }
        );
        assert_eq!(g.nodes[0].inputs, [Operand::Value(g.inputs[0])]);
        assert_eq!(out_shape(&g, 0), [Batch, Fixed(3)]);
    }
}

#[test]
fn pow_of_constants_folds() {
    let m = model(
        13,
        vec![
            node("Pow", &["a", "e"], &["p"], vec![]),
            node("Mul", &["x", "p"], &["y"], vec![]),
        ],
        vec![tf("a", &[3], &[2.0, 3.0, 4.0]), tf("e", &[], &[2.0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Mul"]);
    assert_eq!(constant(&g, &g.nodes[0].inputs[1]).1, [4.0, 9.0, 16.0]);
}

#[test]
fn pow_refuses_computed_and_several_valued_exponents_naming_the_node() {
    // computed exponent
    let m = model(
        13,
        vec![node("Pow", &["x", "e"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 3]), input("e", &[-1, 3])],
        &["y"],
    );
    let (at, reason) = unsupported(imp(&m).unwrap_err());
    assert_eq!(at, "n_y");
    assert!(reason.contains("computed exponent"), "{reason}");
    // computed exponent of a constant base
    let m = model(
        13,
        vec![node("Pow", &["a", "x"], &["y"], vec![])],
        vec![tf("a", &[], &[2.0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let (at, reason) = unsupported(imp(&m).unwrap_err());
    assert_eq!(at, "n_y");
    assert!(reason.contains("computed exponent"), "{reason}");
    // one exponent per column
    let (at, reason) = unsupported(imp(&pow(vec![tf("e", &[3], &[1.0, 2.0, 3.0])])).unwrap_err());
    assert_eq!(at, "n_y");
    assert!(reason.contains("several values"), "{reason}");
    // an exponent that would enlarge the base
    let e = imp(&pow(vec![tf("e", &[2, 1, 1], &[2.0, 2.0])])).unwrap_err();
    assert!(
        matches!(e, Error::Shape { ref node, .. } if node == "n_y"),
        "{e}"
    );
}

#[test]
fn the_new_tables_compute_the_onnx_definitions() {
    let f = ScalarFn::RsqrtEps { eps: 1.0 };
    assert_eq!(f.apply(3.0), 0.5);
    assert!(f.apply(-2.0).is_nan());
    assert_eq!(f.onnx_name(), "InstanceNormalization");
    let f = ScalarFn::LrnFactor {
        bias: 1.0,
        scale: 0.5,
        beta: 0.5,
    };
    // (1 + 0.5 · 6)^(-1/2) = 1/2
    assert_eq!(f.apply(6.0), 0.5);
    assert_eq!(f.onnx_name(), "LRN");
}
