//! One small in-test ONNX model per lowering rule and per error.

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, imp_outputs, input, model, node, node_in, ops, out_shape, tf, tf_raw, ti};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::proto::NodeProto;
use vouch_onnx::{Error, FOp, Operand};

fn consts(g: &vouch_onnx::FGraph, id: usize) -> (Vec<usize>, Vec<f32>) {
    (g.consts[id].shape.clone(), g.consts[id].data.clone())
}

#[test]
fn gemm_folds_alpha_beta_trans_b_into_linear() {
    let m = model(
        13,
        vec![node(
            "Gemm",
            &["x", "w", "c"],
            &["y"],
            vec![A::I("transB", 1), A::F("alpha", 2.0), A::F("beta", 0.5)],
        )],
        vec![
            tf("w", &[3, 2], &[1., 2., 3., 4., 5., 6.]),
            tf("c", &[3], &[2., 4., 6.]),
        ],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Linear"]);
    let FOp::Linear {
        weight,
        bias: Some(bias),
    } = g.nodes[0].op
    else {
        panic!()
    };
    assert_eq!(
        consts(&g, weight),
        (vec![3, 2], vec![2., 4., 6., 8., 10., 12.])
    );
    assert_eq!(consts(&g, bias), (vec![3], vec![1., 2., 3.]));
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3)]);
    assert_eq!(g.values[g.outputs[0]].name, "y");
    assert_eq!(g.consts.len(), 2, "unused constants are dropped");
}

#[test]
fn gemm_without_trans_b_transposes_weight_and_scalar_c_broadcasts() {
    let m = model(
        13,
        vec![node("Gemm", &["x", "w", "c"], &["y"], vec![])],
        vec![
            tf_raw("w", &[2, 3], &[1., 2., 3., 4., 5., 6.]),
            tf("c", &[], &[7.]),
        ],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    let FOp::Linear {
        weight,
        bias: Some(bias),
    } = g.nodes[0].op
    else {
        panic!()
    };
    assert_eq!(
        consts(&g, weight),
        (vec![3, 2], vec![1., 4., 2., 5., 3., 6.])
    );
    assert_eq!(consts(&g, bias).1, [7., 7., 7.]);
}

#[test]
fn gemm_trans_a_and_dynamic_b_become_transpose_and_matmul() {
    let m = model(
        13,
        vec![node(
            "Gemm",
            &["a", "b"],
            &["y"],
            vec![A::I("transA", 1), A::F("alpha", 0.5)],
        )],
        vec![],
        vec![input("a", &[4, 2]), input("b", &[4, 5])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Transpose", "MatMul", "Mul"]);
    assert_eq!(
        out_shape(&g, 0),
        [Fixed(2), Fixed(5)],
        "a fixed first dim stays fixed"
    );
}

#[test]
fn gemm_with_row_bias_c_keeps_an_add() {
    let m = model(
        13,
        vec![node(
            "Gemm",
            &["x", "w", "c"],
            &["y"],
            vec![A::I("transB", 1)],
        )],
        vec![tf("w", &[1, 2], &[1., 1.]), tf("c", &[3, 1], &[1., 2., 3.])],
        vec![input("x", &[3, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Linear", "Add"]);
    assert_eq!(out_shape(&g, 0), [Fixed(3), Fixed(1)]);
}

#[test]
fn matmul_const_then_add_folds_bias() {
    let m = model(
        17,
        vec![
            node("MatMul", &["x", "w"], &["h"], vec![]),
            node("Add", &["h", "b"], &["y"], vec![]),
        ],
        vec![
            tf("w", &[2, 3], &[1., 2., 3., 4., 5., 6.]),
            tf("b", &[1, 3], &[0.5, 0.25, 0.125]),
        ],
        vec![input("x", &[-1, 4, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Linear"]);
    let FOp::Linear {
        weight,
        bias: Some(bias),
    } = g.nodes[0].op
    else {
        panic!()
    };
    assert_eq!(
        consts(&g, weight),
        (vec![3, 2], vec![1., 4., 2., 5., 3., 6.])
    );
    assert_eq!(consts(&g, bias), (vec![3], vec![0.5, 0.25, 0.125]));
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(4), Fixed(3)]);
    assert_eq!(g.values[g.outputs[0]].name, "y");
}

#[test]
fn bias_add_is_not_folded_when_the_linear_output_has_other_uses() {
    let m = model(
        17,
        vec![
            node("MatMul", &["x", "w"], &["h"], vec![]),
            node("Add", &["h", "b"], &["y"], vec![]),
            node("Relu", &["h"], &["z"], vec![]),
        ],
        vec![tf("w", &[2, 1], &[1., 2.]), tf("b", &[1], &[1.])],
        vec![input("x", &[-1, 2])],
        &["y", "z"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Linear", "Add", "Relu"]);
    assert!(matches!(g.nodes[1].inputs[1], Operand::Const(_)));
    // Keeping only `y` prunes the Relu, and the bias folds.
    let g = imp_outputs(&m, &["y"]).unwrap();
    assert_eq!(ops(&g), ["Linear"]);
}

#[test]
fn matmul_of_two_values_broadcasts_batch_dims() {
    let m = model(
        17,
        vec![node("MatMul", &["a", "b"], &["y"], vec![])],
        vec![],
        vec![input("a", &[-1, 3, 4]), input("b", &[4, 5])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["MatMul"]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(5)]);
}

#[test]
fn matmul_by_const_vector_reshapes_away_the_axis() {
    let m = model(
        17,
        vec![node("MatMul", &["x", "w"], &["y"], vec![])],
        vec![tf("w", &[2], &[1., 2.])],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Linear", "Reshape"]);
    assert_eq!(out_shape(&g, 0), [Batch]);
}

#[test]
fn elementwise_with_constants_and_div_reciprocal() {
    let m = model(
        17,
        vec![
            node("Sub", &["x", "c"], &["a"], vec![]),
            node("Mul", &["c", "a"], &["b"], vec![]),
            node("Div", &["b", "d"], &["e"], vec![]),
            node("Add", &["e", "x"], &["y"], vec![]),
        ],
        vec![tf("c", &[3, 1], &[1., 2., 3.]), tf("d", &[1], &[4.])],
        vec![input("x", &[-1, 3, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Sub", "Mul", "Mul", "Add"]);
    assert!(matches!(
        g.nodes[1].inputs[..],
        [Operand::Const(_), Operand::Value(_)]
    ));
    let Operand::Const(r) = g.nodes[2].inputs[1] else {
        panic!()
    };
    assert_eq!(consts(&g, r), (vec![1], vec![0.25]));
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(2)]);
}

/// Division by a constant 0 is refused; by a computed tensor it is a `Mul` by the divisor's
/// reciprocal, a fine table.
#[test]
fn div_by_zero_constant_is_an_error_and_by_a_value_a_reciprocal() {
    let zero = model(
        17,
        vec![node("Div", &["x", "d"], &["y"], vec![])],
        vec![tf("d", &[1], &[0.])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    assert!(matches!(imp(&zero), Err(Error::UnsupportedForm { .. })));
    let dynamic = model(
        17,
        vec![node("Div", &["x", "x"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let g = imp(&dynamic).unwrap();
    assert_eq!(ops(&g), ["Map", "Mul"]);
    assert_eq!(
        g.nodes[0].op,
        FOp::Map {
            f: vouch_onnx::ScalarFn::Reciprocal,
        }
    );
    assert_eq!(
        g.nodes[1].inputs,
        [
            Operand::Value(g.inputs[0]),
            Operand::Value(g.nodes[0].output)
        ]
    );
}

/// `Neg` and `Abs` of a computed tensor are exact: a `Mul` by `-1`, and the `Max` of `x` and
/// that; `Less` against a constant is one `Logic` node, the constant on either side (stored,
/// not swapped); `ArrayFeatureExtractor` of a computed tensor picks columns.
#[test]
fn neg_abs_comparisons_and_feature_columns_of_computed_tensors() {
    let m = model(
        17,
        vec![
            node("Neg", &["x"], &["n"], vec![]),
            node("Abs", &["n"], &["a"], vec![]),
            node("Less", &["a", "c"], &["l"], vec![]),
            node("Less", &["c", "a"], &["g"], vec![]),
            node("Cast", &["l"], &["lf"], vec![A::I("to", 1)]),
            node("Cast", &["g"], &["gf"], vec![A::I("to", 1)]),
            node("Add", &["lf", "gf"], &["s"], vec![]),
            NodeProto {
                domain: "ai.onnx.ml".into(),
                ..node("ArrayFeatureExtractor", &["s", "i"], &["y"], vec![])
            },
        ],
        vec![tf("c", &[], &[0.5]), ti("i", &[2], &[2, 0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(
        ops(&g),
        ["Mul", "Mul", "Max", "Logic", "Logic", "Add", "Select"]
    );
    let less = FOp::Logic {
        op: vouch_onnx::graph::BoolOp::Less,
    };
    assert_eq!((&g.nodes[3].op, &g.nodes[4].op), (&less, &less));
    assert!(matches!(
        g.nodes[3].inputs[..],
        [Operand::Value(_), Operand::Const(_)]
    ));
    assert!(matches!(
        g.nodes[4].inputs[..],
        [Operand::Const(_), Operand::Value(_)]
    ));
    assert_eq!(
        g.nodes[6].op,
        FOp::Select {
            maps: vec![vec![], vec![2, 0]]
        }
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2)]);
    // a comparison with a tensor of constants broadcasts; one with a NaN is refused, naming
    // the node
    let m = model(
        17,
        vec![node("Less", &["x", "c"], &["l"], vec![])],
        vec![tf("c", &[3], &[0.0, 1.0, 2.0])],
        vec![input("x", &[-1, 3])],
        &["l"],
    );
    assert_eq!(ops(&imp(&m).unwrap()), ["Logic"]);
    let m = model(
        17,
        vec![node("Less", &["x", "c"], &["l"], vec![])],
        vec![tf("c", &[3], &[0.0, f32::NAN, 2.0])],
        vec![input("x", &[-1, 3])],
        &["l"],
    );
    let e = imp(&m).unwrap_err().to_string();
    assert!(
        e.contains("a NaN in constant operand 1") && e.contains("Less"),
        "{e}"
    );
}

#[test]
fn unary_ops_and_constant_folding() {
    let m = model(
        17,
        vec![
            node(
                "Constant",
                &[],
                &["k"],
                vec![A::T("value", Box::new(tf("", &[2], &[1., -1.])))],
            ),
            node("Relu", &["k"], &["k2"], vec![]),
            node("Add", &["x", "k2"], &["a"], vec![]),
            node("Relu", &["a"], &["b"], vec![]),
            node("LeakyRelu", &["b"], &["c"], vec![A::F("alpha", 0.2)]),
            node("Sigmoid", &["c"], &["d"], vec![]),
            node("Tanh", &["d"], &["y"], vec![]),
        ],
        vec![],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Add", "Relu", "LeakyRelu", "Sigmoid", "Tanh"]);
    let Operand::Const(k) = g.nodes[0].inputs[1] else {
        panic!()
    };
    assert_eq!(consts(&g, k).1, [1., 0.]);
    assert_eq!(g.nodes[2].op, FOp::LeakyRelu { alpha: 0.2 });
}

#[test]
fn softmax_axis_rules_by_opset() {
    let sm = |opset: i64, dims: &[i64], axis: Option<i64>| {
        let attrs = axis.map(|a| vec![A::I("axis", a)]).unwrap_or_default();
        model(
            opset,
            vec![node("Softmax", &["x"], &["y"], attrs)],
            vec![],
            vec![input("x", dims)],
            &["y"],
        )
    };
    // opset 11 default axis 1 on rank 2 = last axis.
    assert_eq!(
        imp(&sm(11, &[-1, 5], None)).unwrap().nodes[0].op,
        FOp::Softmax { axis: 1 }
    );
    // opset 11 axis 1 on [N, 1, 5] is still the last axis.
    assert_eq!(
        imp(&sm(11, &[-1, 1, 5], None)).unwrap().nodes[0].op,
        FOp::Softmax { axis: 2 }
    );
    // opset 11 axis 1 on [N, 3, 5] is a softmax over the 15 values of a row: flattened,
    // softmaxed over the last axis, and reshaped back.
    let g = imp(&sm(11, &[-1, 3, 5], None)).unwrap();
    assert_eq!(ops(&g), ["Reshape", "Softmax", "Reshape"]);
    assert_eq!(g.nodes[1].op, FOp::Softmax { axis: 1 });
    assert_eq!(g.values[g.nodes[0].output].shape, [Batch, Fixed(15)]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(5)]);
    // ... but never over the batch axis
    assert!(matches!(
        imp(&sm(11, &[-1, 3, 5], Some(0))),
        Err(Error::Shape { .. })
    ));
    // opset 13: default -1, explicit axis kept.
    assert_eq!(
        imp(&sm(13, &[-1, 3, 5], None)).unwrap().nodes[0].op,
        FOp::Softmax { axis: 2 }
    );
    assert_eq!(
        imp(&sm(13, &[-1, 3, 5], Some(1))).unwrap().nodes[0].op,
        FOp::Softmax { axis: 1 }
    );
    // YOLOv8's DFL softmax: 16 values 2100 apart, a slice no one-step check could read, is
    // taken over the axis moved last (contiguous) and moved back
    let g = imp(&sm(13, &[-1, 16, 4, 2100], Some(1))).unwrap();
    assert_eq!(ops(&g), ["Transpose", "Softmax", "Transpose"]);
    assert_eq!(
        g.nodes[0].op,
        FOp::Transpose {
            perm: vec![0, 2, 3, 1]
        }
    );
    assert_eq!(g.nodes[1].op, FOp::Softmax { axis: 3 });
    assert_eq!(
        g.nodes[2].op,
        FOp::Transpose {
            perm: vec![0, 3, 1, 2]
        }
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(16), Fixed(4), Fixed(2100)]);
}

#[test]
fn argmax_and_int64_cast_is_dropped() {
    let m = model(
        13,
        vec![
            node(
                "ArgMax",
                &["x"],
                &["i"],
                vec![A::I("axis", -1), A::I("keepdims", 0)],
            ),
            node("Cast", &["i"], &["y"], vec![A::I("to", 7)]),
        ],
        vec![],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(
        g.nodes[0].op,
        FOp::ArgMax {
            axis: 1,
            keepdims: false,
            select_last_index: false
        }
    );
    assert_eq!(ops(&g), ["ArgMax"]);
    assert_eq!(out_shape(&g, 0), [Batch]);
}

#[test]
fn argmax_index_used_as_float_is_an_error() {
    let m = model(
        13,
        vec![
            node("ArgMax", &["x"], &["i"], vec![A::I("axis", 1)]),
            node("Relu", &["i"], &["y"], vec![]),
        ],
        vec![],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    assert!(matches!(imp(&m), Err(Error::UnsupportedForm { .. })));
}

#[test]
fn float_cast_identity_and_dropout_disappear() {
    let m = model(
        13,
        vec![
            node("Cast", &["x"], &["a"], vec![A::I("to", 1)]),
            node("Identity", &["a"], &["b"], vec![]),
            node("Dropout", &["b"], &["c", "mask"], vec![]),
            node("Relu", &["c"], &["y"], vec![]),
        ],
        vec![],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Relu"]);
    assert_eq!(g.inputs.len(), 1);
}

#[test]
fn dropout_in_training_mode_is_rejected() {
    let m = model(
        13,
        vec![node("Dropout", &["x", "r", "t"], &["y"], vec![])],
        vec![tf("r", &[], &[0.5]), common::tb("t", true)],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    assert!(matches!(imp(&m), Err(Error::UnsupportedForm { .. })));
}

#[test]
fn clip_attributes_and_inputs() {
    let old = model(
        7,
        vec![node(
            "Clip",
            &["x"],
            &["y"],
            vec![A::F("min", -1.0), A::F("max", 2.0)],
        )],
        vec![],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    assert_eq!(
        imp(&old).unwrap().nodes[0].op,
        FOp::Clip {
            min: -1.0,
            max: 2.0
        }
    );
    let new = model(
        13,
        vec![node("Clip", &["x", "", "hi"], &["y"], vec![])],
        vec![tf("hi", &[], &[6.0])],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    assert_eq!(
        imp(&new).unwrap().nodes[0].op,
        FOp::Clip {
            min: f32::NEG_INFINITY,
            max: 6.0
        }
    );
    let dynamic = model(
        13,
        vec![node("Clip", &["x", "x"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    assert!(matches!(
        imp(&dynamic),
        Err(Error::BadInput { index: 1, .. })
    ));
}

fn conv_model(attrs: Vec<A<'_>>, x: &[i64], w: &[i64], group: i64) -> Vec<u8> {
    let n: i64 = w.iter().product();
    let mut attrs = attrs;
    attrs.push(A::I("group", group));
    model(
        13,
        vec![node("Conv", &["x", "w", "b"], &["y"], attrs)],
        vec![
            tf("w", w, &vec![1.0; usize::try_from(n).unwrap()]),
            tf("b", &[w[0]], &vec![0.5; usize::try_from(w[0]).unwrap()]),
        ],
        vec![input("x", x)],
        &["y"],
    )
}

#[test]
fn conv_2d_pads_strides_dilations_group() {
    let m = conv_model(
        vec![
            A::Is("pads", &[1, 2, 1, 2]),
            A::Is("strides", &[2, 1]),
            A::Is("dilations", &[1, 2]),
        ],
        &[-1, 4, 9, 10],
        &[6, 2, 3, 3],
        2,
    );
    let g = imp(&m).unwrap();
    let FOp::Conv {
        kernel,
        strides,
        pads,
        dilations,
        group,
        bias: Some(_),
        ..
    } = g.nodes[0].op
    else {
        panic!()
    };
    assert_eq!(
        (kernel, strides, pads, dilations, group),
        ([3, 3], [2, 1], [1, 2, 1, 2], [1, 2], 2)
    );
    // H: (9 + 2 - 3) / 2 + 1 = 5; W: (10 + 4 - 5) / 1 + 1 = 10.
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(6), Fixed(5), Fixed(10)]);
}

#[test]
fn conv_auto_pad_same_upper_and_lower() {
    for (mode, pads) in [("SAME_UPPER", [0, 0, 1, 1]), ("SAME_LOWER", [1, 1, 0, 0])] {
        let m = conv_model(
            vec![A::S("auto_pad", mode), A::Is("strides", &[2, 2])],
            &[-1, 1, 5, 5],
            &[1, 1, 2, 2],
            1,
        );
        let g = imp(&m).unwrap();
        let FOp::Conv { pads: p, .. } = g.nodes[0].op else {
            panic!()
        };
        assert_eq!(p, pads, "{mode}");
        assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(3), Fixed(3)]);
    }
    let m = conv_model(
        vec![A::S("auto_pad", "VALID")],
        &[-1, 1, 6, 6],
        &[1, 1, 3, 3],
        1,
    );
    assert_eq!(
        out_shape(&imp(&m).unwrap(), 0),
        [Batch, Fixed(1), Fixed(4), Fixed(4)]
    );
}

#[test]
fn conv_1d_uses_unit_kernel_height() {
    let m = conv_model(vec![A::Is("pads", &[1, 0])], &[-1, 2, 8], &[3, 2, 3], 1);
    let g = imp(&m).unwrap();
    let FOp::Conv {
        weight,
        kernel,
        pads,
        ..
    } = g.nodes[0].op
    else {
        panic!()
    };
    assert_eq!(kernel, [1, 3]);
    assert_eq!(pads, [0, 1, 0, 0]);
    assert_eq!(g.consts[weight].shape, [3, 2, 1, 3]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(7)]);
}

#[test]
fn conv_errors() {
    let bad_group = conv_model(vec![], &[-1, 4, 5, 5], &[6, 3, 3, 3], 2);
    assert!(matches!(imp(&bad_group), Err(Error::Shape { .. })));
    let bad_pad = conv_model(
        vec![A::S("auto_pad", "WRONG")],
        &[-1, 1, 5, 5],
        &[1, 1, 3, 3],
        1,
    );
    assert!(
        matches!(imp(&bad_pad), Err(Error::BadAttribute { ref attr, .. }) if attr == "auto_pad")
    );
    let dyn_w = model(
        13,
        vec![node("Conv", &["x", "x"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 1, 5, 5])],
        &["y"],
    );
    assert!(matches!(imp(&dyn_w), Err(Error::BadInput { index: 1, .. })));
}

fn pool(op: &str, attrs: Vec<A<'_>>, x: &[i64], outs: &[&str]) -> Vec<u8> {
    model(
        13,
        vec![node(op, &["x"], outs, attrs)],
        vec![],
        vec![input("x", x)],
        &outs[..1],
    )
}

#[test]
fn maxpool_ceil_mode_and_indices_error() {
    let m = pool(
        "MaxPool",
        vec![
            A::Is("kernel_shape", &[3, 3]),
            A::Is("strides", &[2, 2]),
            A::I("ceil_mode", 1),
        ],
        &[-1, 2, 6, 6],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert!(matches!(
        g.nodes[0].op,
        FOp::MaxPool {
            ceil_mode: true,
            ..
        }
    ));
    // ceil((6 - 3) / 2) + 1 = 3, and the last window starts at 4 < 6.
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(3), Fixed(3)]);
    let floor = pool(
        "MaxPool",
        vec![A::Is("kernel_shape", &[3, 3]), A::Is("strides", &[2, 2])],
        &[-1, 2, 6, 6],
        &["y"],
    );
    assert_eq!(
        out_shape(&imp(&floor).unwrap(), 0),
        [Batch, Fixed(2), Fixed(2), Fixed(2)]
    );
    let idx = pool(
        "MaxPool",
        vec![A::Is("kernel_shape", &[2, 2])],
        &[-1, 2, 6, 6],
        &["y", "idx"],
    );
    assert!(matches!(imp(&idx), Err(Error::UnsupportedForm { .. })));
}

#[test]
fn averagepool_count_include_pad_and_1d() {
    let m = pool(
        "AveragePool",
        vec![
            A::Is("kernel_shape", &[2, 2]),
            A::Is("pads", &[1, 1, 1, 1]),
            A::I("count_include_pad", 1),
        ],
        &[-1, 2, 4, 4],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert!(matches!(
        g.nodes[0].op,
        FOp::AveragePool {
            count_include_pad: true,
            pads: [1, 1, 1, 1],
            ..
        }
    ));
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(5), Fixed(5)]);
    let one_d = pool(
        "AveragePool",
        vec![A::Is("kernel_shape", &[2]), A::Is("strides", &[2])],
        &[-1, 3, 8],
        &["y"],
    );
    let g = imp(&one_d).unwrap();
    assert!(matches!(
        g.nodes[0].op,
        FOp::AveragePool {
            kernel: [1, 2],
            strides: [1, 2],
            ..
        }
    ));
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(4)]);
    let gap = pool("GlobalAveragePool", vec![], &[-1, 3, 5, 7], &["y"]);
    assert_eq!(
        out_shape(&imp(&gap).unwrap(), 0),
        [Batch, Fixed(3), Fixed(1), Fixed(1)]
    );
}

fn bn_inits() -> Vec<vouch_onnx::proto::TensorProto> {
    vec![
        tf("s", &[2], &[2., 3.]),
        tf("bb", &[2], &[1., -1.]),
        tf("mean", &[2], &[0.5, 1.]),
        tf("var", &[2], &[3., 8.]),
    ]
}

#[test]
fn batchnorm_folds_into_conv() {
    let mut inits = bn_inits();
    inits.push(tf("w", &[2, 1, 1, 1], &[1., 2.]));
    let m = model(
        15,
        vec![
            node("Conv", &["x", "w"], &["c"], vec![]),
            node(
                "BatchNormalization",
                &["c", "s", "bb", "mean", "var"],
                &["y"],
                vec![A::F("epsilon", 1.0)],
            ),
        ],
        inits,
        vec![input("x", &[-1, 1, 3, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Conv"]);
    let FOp::Conv {
        weight,
        bias: Some(bias),
        ..
    } = g.nodes[0].op
    else {
        panic!()
    };
    // a = s / sqrt(var + 1) = [1, 1]; shift = bb - mean * a = [0.5, -2].
    assert_eq!(consts(&g, weight).1, [1., 2.]);
    assert_eq!(consts(&g, bias).1, [0.5, -2.]);
    assert_eq!(g.values[g.outputs[0]].name, "y");
}

#[test]
fn batchnorm_folds_into_gemm_and_otherwise_becomes_mul_add() {
    let mut inits = bn_inits();
    inits.push(tf("w", &[2, 2], &[1., 2., 3., 4.]));
    let m = model(
        15,
        vec![
            node("Gemm", &["x", "w"], &["h"], vec![A::I("transB", 1)]),
            node(
                "BatchNormalization",
                &["h", "s", "bb", "mean", "var"],
                &["y"],
                vec![A::F("epsilon", 1.0)],
            ),
        ],
        inits,
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Linear"]);
    let m = model(
        15,
        vec![node(
            "BatchNormalization",
            &["x", "s", "bb", "mean", "var"],
            &["y"],
            vec![],
        )],
        bn_inits(),
        vec![input("x", &[-1, 2, 4, 4])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Mul", "Add"]);
    let Operand::Const(a) = g.nodes[0].inputs[1] else {
        panic!()
    };
    assert_eq!(g.consts[a].shape, [2, 1, 1]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(4), Fixed(4)]);
}

#[test]
fn flatten_reshape_transpose_keep_batch_symbolic() {
    let m = model(
        13,
        vec![
            node("Flatten", &["x"], &["f"], vec![]),
            node("Reshape", &["f", "s"], &["r"], vec![]),
            node("Transpose", &["r"], &["y"], vec![A::Is("perm", &[0, 2, 1])]),
        ],
        vec![ti("s", &[3], &[0, -1, 4])],
        vec![input("x", &[-1, 2, 3, 4])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Reshape", "Reshape", "Transpose"]);
    assert_eq!(g.values[g.nodes[0].output].shape, [Batch, Fixed(24)]);
    assert_eq!(
        g.values[g.nodes[1].output].shape,
        [Batch, Fixed(6), Fixed(4)]
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(4), Fixed(6)]);
    // -1 absorbing the batch.
    let m = model(
        13,
        vec![node("Reshape", &["x", "s"], &["y"], vec![])],
        vec![ti("s", &[2], &[-1, 6])],
        vec![input("x", &[-1, 2, 3])],
        &["y"],
    );
    assert_eq!(out_shape(&imp(&m).unwrap(), 0), [Batch, Fixed(6)]);
    // Merging the batch with other axes is an error.
    let m = model(
        13,
        vec![node("Reshape", &["x", "s"], &["y"], vec![])],
        vec![ti("s", &[1], &[-1])],
        vec![input("x", &[-1, 2, 3])],
        &["y"],
    );
    assert!(matches!(imp(&m), Err(Error::Shape { .. })));
}

#[test]
fn concat_with_constant_and_squeeze_unsqueeze_by_opset() {
    let m = model(
        11,
        vec![
            node("Unsqueeze", &["x"], &["u"], vec![A::Is("axes", &[1])]),
            node("Concat", &["u", "k"], &["c"], vec![A::I("axis", -1)]),
            node("Squeeze", &["c"], &["y"], vec![A::Is("axes", &[1])]),
        ],
        vec![tf("k", &[1, 1, 2], &[1., 2.])],
        vec![input("x", &[1, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Reshape", "Concat", "Reshape"]);
    assert_eq!(g.nodes[1].op, FOp::Concat { axis: 2 });
    // the batch fixed at 1 is read as the rows, the constant joins each (`tests/shapes.rs`)
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(5)]);
    let m = model(
        13,
        vec![
            node("Unsqueeze", &["x", "ax"], &["u"], vec![]),
            node("Squeeze", &["u", "ax"], &["y"], vec![]),
        ],
        vec![ti("ax", &[2], &[-1, 1])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(
        g.values[g.nodes[0].output].shape,
        [Batch, Fixed(1), Fixed(3), Fixed(1)]
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3)]);
    let bad = model(
        13,
        vec![node("Squeeze", &["x", "ax"], &["y"], vec![])],
        vec![ti("ax", &[1], &[0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    assert!(matches!(imp(&bad), Err(Error::Shape { .. })));
}

#[test]
fn pytorch_shape_subgraph_folds_to_reshape() {
    let m = model(
        13,
        vec![
            node("Shape", &["x"], &["sh"], vec![]),
            node("Gather", &["sh", "zero"], &["n"], vec![A::I("axis", 0)]),
            node("Unsqueeze", &["n", "ax0"], &["n1"], vec![]),
            node(
                "Concat",
                &["n1", "minus1"],
                &["target"],
                vec![A::I("axis", 0)],
            ),
            node("Reshape", &["x", "target"], &["y"], vec![]),
        ],
        vec![
            ti("zero", &[], &[0]),
            ti("ax0", &[1], &[0]),
            ti("minus1", &[1], &[-1]),
        ],
        vec![input("x", &[-1, 4, 2, 2])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Reshape"]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(16)]);
}

#[test]
fn unneeded_ml_nodes_are_pruned_and_needed_ones_are_named() {
    let m = model(
        17,
        vec![
            node("Softmax", &["x"], &["probabilities"], vec![]),
            node_in(
                "ai.onnx.ml",
                "CategoryMapper",
                &["probabilities"],
                &["svm_scores"],
            ),
        ],
        vec![],
        vec![input("x", &[-1, 3])],
        &["svm_scores"],
    );
    let err = imp(&m).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedOp { op, domain, node } if op == "CategoryMapper" && domain == "ai.onnx.ml" && node == "n_svm_scores")
    );
    let msg = err.to_string();
    assert!(
        msg.contains("CategoryMapper")
            && msg.contains("ai.onnx.ml")
            && msg.contains("n_svm_scores"),
        "{msg}"
    );
    let g = imp_outputs(&m, &["probabilities"]).unwrap();
    assert_eq!(ops(&g), ["Softmax"]);
    assert!(matches!(
        imp_outputs(&m, &["nope"]),
        Err(Error::UnknownOutput { .. })
    ));
}

/// skl2onnx's ZipMap is output formatting: the probabilities tensor is kept under the ZipMap's
/// output name (column c is label c); labels that the tensor cannot carry are refused.
#[test]
fn zipmap_keeps_the_probabilities_tensor() {
    let zipmap = |attrs: Vec<A<'_>>| {
        let mut z = node("ZipMap", &["probabilities"], &["output_probability"], attrs);
        z.domain = "ai.onnx.ml".into();
        model(
            17,
            vec![node("Softmax", &["x"], &["probabilities"], vec![]), z],
            vec![],
            vec![input("x", &[-1, 3])],
            &["output_probability"],
        )
    };
    let g = imp(&zipmap(vec![A::Is("classlabels_int64s", &[0, 1, 2])])).unwrap();
    assert_eq!(ops(&g), ["Softmax"]);
    assert_eq!(g.values[g.outputs[0]].name, "output_probability");
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3)]);
    for (attrs, why) in [
        (vec![A::Is("classlabels_int64s", &[1, 2, 3])], "0..n-1"),
        (
            vec![A::Ss("classlabels_strings", &["a", "b", "c"])],
            "string",
        ),
    ] {
        let err = imp(&zipmap(attrs)).unwrap_err();
        assert!(matches!(err, Error::UnsupportedForm { .. }), "{err}");
        assert!(err.to_string().contains(why), "{err}");
    }
    let err = imp(&zipmap(vec![A::Is("classlabels_int64s", &[0, 1])])).unwrap_err();
    assert!(err.to_string().contains("[N, 2]"), "{err}");
}

#[test]
fn unsupported_default_domain_op_is_named() {
    let m = model(
        17,
        vec![node("NonMaxSuppression", &["x"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let err = imp(&m).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported operator `NonMaxSuppression` (domain `ai.onnx`) at node `n_y`"
    );
}

#[test]
fn sklearn_label_lookup_with_identity_classes() {
    let m = model(
        17,
        vec![
            node("ArgMax", &["x"], &["am"], vec![A::I("axis", 1)]),
            node_in(
                "ai.onnx.ml",
                "ArrayFeatureExtractor",
                &["classes", "am"],
                &["afe"],
            ),
            node("Cast", &["afe"], &["c"], vec![A::I("to", 11)]),
            node("Reshape", &["c", "s"], &["label"], vec![]),
        ],
        vec![ti("classes", &[3], &[0, 1, 2]), ti("s", &[1], &[-1])],
        vec![input("x", &[-1, 3])],
        &["label"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["ArgMax", "Reshape"]);
    assert_eq!(out_shape(&g, 0), [Batch]);
}

#[test]
fn malformed_inputs_are_errors() {
    assert!(matches!(imp(&[0xff, 0xff, 0xff]), Err(Error::Decode(_))));
    assert!(matches!(imp(&[]), Err(Error::NoGraph)));
    let missing = model(
        17,
        vec![node("Relu", &["nope"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    assert!(matches!(imp(&missing), Err(Error::MissingInput { ref name, .. }) if name == "nope"));
    let mut ext = tf("w", &[1], &[]);
    ext.data_location = 1;
    let m = model(
        17,
        vec![node("Add", &["x", "w"], &["y"], vec![])],
        vec![ext],
        vec![input("x", &[-1, 1])],
        &["y"],
    );
    assert!(matches!(imp(&m), Err(Error::ExternalData { ref tensor }) if tensor == "w"));
    let short = model(
        17,
        vec![node("Add", &["x", "w"], &["y"], vec![])],
        vec![tf("w", &[2], &[1.])],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    assert!(matches!(imp(&short), Err(Error::Tensor { .. })));
    let huge = model(
        17,
        vec![node("Add", &["x", "w"], &["y"], vec![])],
        vec![tf("w", &[1 << 40, 1 << 40], &[])],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    assert!(matches!(imp(&huge), Err(Error::TooLarge { .. })));
    let old = model(
        5,
        vec![node("Relu", &["x"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    assert!(matches!(imp(&old), Err(Error::Opset { version: 5 })));
    let bad_attr = model(
        13,
        vec![node(
            "Transpose",
            &["x"],
            &["y"],
            vec![A::Is("perm", &[0, 0])],
        )],
        vec![],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    assert!(matches!(imp(&bad_attr), Err(Error::BadAttribute { ref attr, .. }) if attr == "perm"));
    let twice = model(
        13,
        vec![node("Relu", &["x"], &["x"], vec![])],
        vec![],
        vec![input("x", &[-1, 3])],
        &["x"],
    );
    assert!(matches!(imp(&twice), Err(Error::Redefined { .. })));
}

#[test]
fn decode_tensor_formats() {
    use prost::Message as _;
    let raw = tf_raw("t", &[2, 2], &[1., 2., 3., 4.]).encode_to_vec();
    assert_eq!(
        vouch_onnx::decode_tensor(&raw).unwrap(),
        (vec![2, 2], vec![1., 2., 3., 4.])
    );
    let fd = tf("t", &[3], &[1., -2., 0.5]).encode_to_vec();
    assert_eq!(
        vouch_onnx::decode_tensor(&fd).unwrap(),
        (vec![3], vec![1., -2., 0.5])
    );
    let i = ti("t", &[2], &[7, -3]).encode_to_vec();
    assert_eq!(
        vouch_onnx::decode_tensor(&i).unwrap(),
        (vec![2], vec![7., -3.])
    );
    let d = vouch_onnx::proto::TensorProto {
        dims: vec![1],
        data_type: 11,
        double_data: vec![0.25],
        ..Default::default()
    };
    assert_eq!(
        vouch_onnx::decode_tensor(&d.encode_to_vec()).unwrap(),
        (vec![1], vec![0.25])
    );
    let h = vouch_onnx::proto::TensorProto {
        dims: vec![2],
        data_type: 10,
        int32_data: vec![0x3c00, 0xc000],
        ..Default::default()
    };
    assert_eq!(
        vouch_onnx::decode_tensor(&h.encode_to_vec()).unwrap(),
        (vec![2], vec![1.0, -2.0])
    );
    let s = vouch_onnx::proto::TensorProto {
        dims: vec![1],
        data_type: 8,
        ..Default::default()
    };
    assert!(matches!(
        vouch_onnx::decode_tensor(&s.encode_to_vec()),
        Err(Error::Tensor { .. })
    ));
}

#[test]
fn outputs_are_named_as_requested_through_identity() {
    let m = model(
        13,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            node("Identity", &["r"], &["y"], vec![]),
            node("Identity", &["r"], &["z"], vec![]),
            node("Identity", &["x"], &["w"], vec![]),
        ],
        vec![],
        vec![input("x", &[-1, 3])],
        &["y", "z", "w"],
    );
    let g = imp(&m).unwrap();
    let names: Vec<&str> = g
        .outputs
        .iter()
        .map(|&v| g.values[v].name.as_str())
        .collect();
    assert_eq!(names, ["y", "z", "w"]);
    assert_eq!(g.values[g.inputs[0]].name, "x");
    assert_eq!(ops(&g), ["Relu", "Reshape", "Reshape"]);
}

#[test]
fn unneeded_unsupported_nodes_and_inputs_are_pruned_silently() {
    let m = model(
        17,
        vec![
            node("Erf", &["x"], &["dead"], vec![]),
            node("Relu", &["x"], &["y"], vec![]),
            node("Tanh", &["u"], &["z"], vec![]),
        ],
        vec![],
        vec![input("x", &[-1, 3]), input("u", &[-1, 3])],
        &["y", "z"],
    );
    let g = imp_outputs(&m, &["y"]).unwrap();
    assert_eq!(ops(&g), ["Relu"]);
    assert_eq!(g.inputs.len(), 1);
    assert_eq!(g.values.len(), 2);
}

fn ml(
    op: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: Vec<A<'_>>,
) -> vouch_onnx::proto::NodeProto {
    vouch_onnx::proto::NodeProto {
        domain: "ai.onnx.ml".into(),
        ..node(op, inputs, outputs, attrs)
    }
}

/// A Scaler read only by a LinearRegressor folds into it: `W ∘ s` and `b - W · (o ∘ s)`, one
/// `Linear` of `x`; read by a second node too, it stays a `Mul` and an `Add`.
#[test]
fn ml_scaler_folds_into_the_linear_regressor_that_alone_reads_it() {
    let regressor = |also: bool| {
        let mut nodes = vec![
            ml(
                "Scaler",
                &["x"],
                &["s"],
                vec![A::Fs("offset", &[1.0, 2.0]), A::Fs("scale", &[0.5, 4.0])],
            ),
            ml(
                "LinearRegressor",
                &["s"],
                &["y"],
                vec![
                    A::Fs("coefficients", &[1.0, -1.0, 2.0, 3.0]),
                    A::Fs("intercepts", &[0.25, 0.5]),
                    A::I("targets", 2),
                ],
            ),
        ];
        let mut outs = vec!["y"];
        if also {
            nodes.push(node("Relu", &["s"], &["r"], vec![]));
            outs.push("r");
        }
        model(17, nodes, vec![], vec![input("x", &[-1, 2])], &outs)
    };
    let g = imp(&regressor(false)).unwrap();
    assert_eq!(ops(&g), ["Linear"]);
    assert_eq!(g.nodes[0].inputs, [Operand::Value(g.inputs[0])]);
    let FOp::Linear {
        weight,
        bias: Some(bias),
    } = g.nodes[0].op
    else {
        panic!("{:?}", g.nodes[0].op)
    };
    assert_eq!(consts(&g, weight), (vec![2, 2], vec![0.5, -4.0, 1.0, 12.0]));
    // 0.25 - (1 · 0.5 - 1 · 8), 0.5 - (2 · 0.5 + 3 · 8)
    assert_eq!(consts(&g, bias), (vec![2], vec![7.75, -24.5]));
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2)]);

    let g = imp(&regressor(true)).unwrap();
    assert_eq!(ops(&g), ["Mul", "Add", "Linear", "Relu"]);
    let Operand::Const(shift) = g.nodes[1].inputs[1] else {
        panic!("{:?}", g.nodes[1].inputs)
    };
    assert_eq!(consts(&g, shift), (vec![2], vec![-0.5, -8.0]));
    let FOp::Linear {
        weight,
        bias: Some(bias),
    } = g.nodes[2].op
    else {
        panic!("{:?}", g.nodes[2].op)
    };
    assert_eq!(consts(&g, weight), (vec![2, 2], vec![1.0, -1.0, 2.0, 3.0]));
    assert_eq!(consts(&g, bias), (vec![2], vec![0.25, 0.5]));
}

#[test]
fn ml_linear_classifier_forms_vouch_cannot_run_are_refused_by_name() {
    let classifier = |attrs: Vec<A<'_>>| {
        model(
            17,
            vec![ml("LinearClassifier", &["x"], &["label", "scores"], attrs)],
            vec![],
            vec![input("x", &[-1, 2])],
            &["label", "scores"],
        )
    };
    // three classes, SOFTMAX: label and scores
    let g = imp(&classifier(vec![
        A::Is("classlabels_ints", &[0, 1, 2]),
        A::Fs("coefficients", &[1., 2., 3., 4., 5., 6.]),
        A::S("post_transform", "SOFTMAX"),
    ]))
    .unwrap();
    assert_eq!(ops(&g), ["Linear", "ArgMax", "Softmax"]);
    // three classes, SOFTMAX_ZERO: onnxruntime's softmax over the non-zero scores
    let g = imp(&classifier(vec![
        A::Is("classlabels_ints", &[0, 1, 2]),
        A::Fs("coefficients", &[1., 2., 3., 4., 5., 6.]),
        A::S("post_transform", "SOFTMAX_ZERO"),
    ]))
    .unwrap();
    assert_eq!(ops(&g), ["Linear", "ArgMax", "SoftmaxZero"]);
    // two rows of coefficients, SOFTMAX_ZERO: onnxruntime's same softmax over two scores
    let g = imp(&classifier(vec![
        A::Is("classlabels_ints", &[0, 1]),
        A::Fs("coefficients", &[1., 2., 3., 4.]),
        A::S("post_transform", "SOFTMAX_ZERO"),
    ]))
    .unwrap();
    assert_eq!(ops(&g), ["Linear", "ArgMax", "SoftmaxZero"]);
    let refused = [
        // one row of coefficients for two classes
        vec![
            A::Is("classlabels_ints", &[0, 1]),
            A::Fs("coefficients", &[1., 2.]),
        ],
        // labels that are not 0..n-1
        vec![
            A::Is("classlabels_ints", &[1, 2]),
            A::Fs("coefficients", &[1., 2., 3., 4.]),
        ],
    ];
    // PROBIT: onnxruntime's probit of each score, a table
    let g = imp(&classifier(vec![
        A::Is("classlabels_ints", &[0, 1]),
        A::Fs("coefficients", &[1., 2., 3., 4.]),
        A::S("post_transform", "PROBIT"),
    ]))
    .unwrap();
    assert_eq!(ops(&g), ["Linear", "ArgMax", "Map"]);
    assert!(matches!(
        g.nodes[2].op,
        FOp::Map {
            f: vouch_onnx::ScalarFn::Probit
        }
    ));
    for attrs in refused {
        let err = imp(&classifier(attrs)).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedForm { node, .. } if node == "n_label"),
            "{err}"
        );
    }
    // coefficients that do not fit the classes and features
    let err = imp(&classifier(vec![
        A::Is("classlabels_ints", &[0, 1, 2]),
        A::Fs("coefficients", &[1., 2., 3.]),
    ]))
    .unwrap_err();
    assert!(
        matches!(&err, Error::BadAttribute { attr, .. } if attr == "coefficients"),
        "{err}"
    );
}

#[test]
fn sum_and_mean_of_many_operands_chain_adds_with_the_constants_folded() {
    let m = model(
        13,
        vec![
            node("Sum", &["x", "c1", "y", "c2"], &["s"], vec![]),
            node("Mean", &["s", "x"], &["m"], vec![]),
        ],
        vec![tf("c1", &[2], &[1.0, 2.0]), tf("c2", &[2], &[10.0, 20.0])],
        vec![input("x", &[-1, 2]), input("y", &[-1, 2])],
        &["m"],
    );
    let g = imp(&m).unwrap();
    // x + y, + (c1 + c2); then (s + x) * 1/2
    assert_eq!(ops(&g), ["Add", "Add", "Add", "Mul"]);
    let Operand::Const(c) = g.nodes[1].inputs[1] else {
        panic!("{:?}", g.nodes[1].inputs)
    };
    assert_eq!(consts(&g, c), (vec![2], vec![11.0, 22.0]));
    let Operand::Const(h) = g.nodes[3].inputs[1] else {
        panic!("{:?}", g.nodes[3].inputs)
    };
    assert_eq!(consts(&g, h), (vec![], vec![0.5]));
    assert_eq!(g.values[g.outputs[0]].name, "m");
    // one operand is the identity; constants only fold
    let one = model(
        13,
        vec![
            node("Sum", &["x"], &["s"], vec![]),
            node("Relu", &["s"], &["r"], vec![]),
        ],
        vec![],
        vec![input("x", &[-1, 2])],
        &["r"],
    );
    assert_eq!(ops(&imp(&one).unwrap()), ["Relu"]);
}

#[test]
fn an_if_on_a_folded_condition_lowers_the_branch_it_takes() {
    // cond = Shape(x)[1] == 3 is not expressible without Equal; a Constant condition is what
    // folding leaves, so the test feeds one
    let with_cond = |cond: i64, computed: bool| {
        let mut nodes = vec![];
        let cond_name = if computed { "x" } else { "c" };
        if !computed {
            let t = vouch_onnx::proto::TensorProto {
                name: "cv".into(),
                data_type: 9, // BOOL, held in int32_data
                int32_data: vec![i32::from(cond != 0)],
                ..Default::default()
            };
            nodes.push(node(
                "Constant",
                &[],
                &["c"],
                vec![A::T("value", Box::new(t))],
            ));
        }
        nodes.push(node(
            "If",
            &[cond_name],
            &["y"],
            vec![
                A::G(
                    "then_branch",
                    common::branch(vec![node("Relu", &["x"], &["t_out"], vec![])], &["t_out"]),
                ),
                A::G(
                    "else_branch",
                    common::branch(
                        vec![node("Sigmoid", &["x"], &["e_out"], vec![])],
                        &["e_out"],
                    ),
                ),
            ],
        ));
        model(13, nodes, vec![], vec![input("x", &[-1, 3])], &["y"])
    };
    let g = imp(&with_cond(1, false)).unwrap();
    assert_eq!(ops(&g), ["Relu"]);
    assert_eq!(g.values[g.outputs[0]].name, "y");
    let g = imp(&with_cond(0, false)).unwrap();
    assert_eq!(ops(&g), ["Sigmoid"]);
    // a condition computed from the input is a data-dependent branch: refused, naming the node
    let err = imp(&with_cond(0, true)).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedForm { node, .. } if node == "n_y"),
        "{err}"
    );
}

#[test]
fn an_if_on_a_shape_comparison_folds_and_a_batch_comparison_is_refused() {
    // cond = Equal(Gather(Shape(x), axis), 3): the pattern exporters write for shape checks
    let with_axis = |axis: i64| {
        let nodes = vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Gather", &["s", "i"], &["d"], vec![]),
            node("Equal", &["d", "three"], &["c"], vec![]),
            node(
                "If",
                &["c"],
                &["y"],
                vec![
                    A::G(
                        "then_branch",
                        common::branch(vec![node("Relu", &["x"], &["t"], vec![])], &["t"]),
                    ),
                    A::G(
                        "else_branch",
                        common::branch(vec![node("Tanh", &["x"], &["e"], vec![])], &["e"]),
                    ),
                ],
            ),
        ];
        model(
            13,
            nodes,
            vec![ti("i", &[], &[axis]), ti("three", &[], &[3])],
            vec![input("x", &[-1, 3])],
            &["y"],
        )
    };
    assert_eq!(ops(&imp(&with_axis(1)).unwrap()), ["Relu"]);
    // the batch size is not known at import: the comparison cannot fold
    let err = imp(&with_axis(0)).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedForm { node, .. } if node == "n_c"),
        "{err}"
    );
    assert!(!err.to_string().contains("9223372036854775808"), "{err}");
}

#[test]
fn functions_of_one_argument_become_maps_with_their_attributes_and_fold_on_constants() {
    let m = model(
        18,
        vec![
            node(
                "HardSigmoid",
                &["x"],
                &["h"],
                vec![A::F("alpha", 0.25), A::F("beta", 0.4)],
            ),
            node("Elu", &["h"], &["e"], vec![]),
            node("Gelu", &["e"], &["y"], vec![A::S("approximate", "tanh")]),
        ],
        vec![],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Map", "Map", "Map"]);
    let fs: Vec<vouch_onnx::ScalarFn> = g
        .nodes
        .iter()
        .map(|n| match n.op {
            FOp::Map { f, .. } => f,
            ref other => panic!("{other:?}"),
        })
        .collect();
    use vouch_onnx::ScalarFn::{Elu, Gelu, HardSigmoid};
    assert_eq!(
        fs,
        [
            HardSigmoid {
                alpha: 0.25,
                beta: 0.4
            },
            Elu { alpha: 1.0 },
            Gelu { tanh: true }
        ]
    );
    assert_eq!(
        HardSigmoid {
            alpha: 0.25,
            beta: 0.4
        }
        .apply(4.0),
        1.0
    );
    assert_eq!(
        HardSigmoid {
            alpha: 0.25,
            beta: 0.4
        }
        .apply(0.4),
        0.5
    );

    // on a constant the function is folded: `Neg(Exp(c))` leaves no node
    let folded = model(
        13,
        vec![
            node("Exp", &["c"], &["e"], vec![]),
            node("Neg", &["e"], &["n"], vec![]),
            node("Add", &["x", "n"], &["y"], vec![]),
        ],
        vec![tf("c", &[2], &[0.0, 1.0])],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    let g = imp(&folded).unwrap();
    assert_eq!(ops(&g), ["Add"]);
    let Operand::Const(c) = g.nodes[0].inputs[1] else {
        panic!("{:?}", g.nodes[0].inputs)
    };
    assert_eq!(consts(&g, c).1, [-1.0, -libm_e()]);
}

fn libm_e() -> f32 {
    vouch_onnx::ScalarFn::Exp.apply(1.0)
}

#[test]
fn a_function_with_a_bad_attribute_names_it() {
    let m = model(
        20,
        vec![node(
            "Gelu",
            &["x"],
            &["y"],
            vec![A::S("approximate", "erf")],
        )],
        vec![],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    assert!(matches!(imp(&m), Err(Error::BadAttribute { ref attr, .. }) if attr == "approximate"));
    let celu = model(
        13,
        vec![node("Celu", &["x"], &["y"], vec![A::F("alpha", 0.0)])],
        vec![],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    assert!(matches!(imp(&celu), Err(Error::BadAttribute { ref attr, .. }) if attr == "alpha"));
}

#[test]
fn the_batch_marker_never_reaches_a_message() {
    // Expand(constant, Shape(x)) with x's batch symbolic
    let m = model(
        13,
        vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Expand", &["one", "s"], &["c"], vec![]),
            node("Add", &["x", "c"], &["y"], vec![]),
        ],
        vec![tf("one", &[1], &[1.0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let err = imp(&m).unwrap_err().to_string();
    assert!(err.contains("batch size"), "{err}");
    // a Reshape to Shape(x) ++ [2] that cannot keep the batch axis symbolic
    let r = model(
        13,
        vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Concat", &["s", "two"], &["t"], vec![A::I("axis", 0)]),
            node("Reshape", &["x", "t"], &["y"], vec![]),
        ],
        vec![ti("two", &[1], &[2])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let err = imp(&r).unwrap_err().to_string();
    assert!(!err.contains("9223372036854775808"), "{err}");
    assert!(err.contains("[N, 3, 2]"), "{err}");
}
