//! ONNX `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin`, n-ary `Max`/`Min` and `PRelu`:
//! their forms by opset, and every refused form (an error naming the node, never a panic).

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, out_shape, tf, ti};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::graph::ReduceMode;
use vouch_onnx::{Error, FOp};

/// A one-node reduction of `x` (`shape`, -1 the batch axis) at `opset`, axes as an attribute
/// (`attr`) or as a constant input (`input_axes`).
fn reduce(
    op: &str,
    opset: i64,
    shape: &[i64],
    attr_axes: Option<&[i64]>,
    input_axes: Option<&[i64]>,
    extra: Vec<A<'_>>,
) -> Vec<u8> {
    let mut attrs = extra;
    if let Some(a) = attr_axes {
        attrs.push(A::Is("axes", a));
    }
    let (ins, inits) = match input_axes {
        Some(a) => (vec!["x", "a"], vec![ti("a", &[a.len() as i64], a)]),
        None => (vec!["x"], vec![]),
    };
    model(
        opset,
        vec![node(op, &ins, &["y"], attrs)],
        inits,
        vec![input("x", shape)],
        &["y"],
    )
}

fn reduce_op(g: &vouch_onnx::FGraph) -> (ReduceMode, Vec<usize>, bool) {
    match &g.nodes[0].op {
        FOp::Reduce {
            mode,
            axes,
            keepdims,
        } => (*mode, axes.clone(), *keepdims),
        op => panic!("not a reduction: {op:?}"),
    }
}

#[test]
fn axes_as_attribute_before_opset_18_and_negative_axes() {
    let m = reduce(
        "ReduceMean",
        13,
        &[-1, 3, 4, 5],
        Some(&[-1, 2]),
        None,
        vec![],
    );
    let g = imp(&m).unwrap();
    assert_eq!(reduce_op(&g), (ReduceMode::Mean, vec![2, 3], true));
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(1), Fixed(1)]);
    let m = reduce(
        "ReduceMax",
        11,
        &[-1, 3, 4],
        Some(&[1]),
        None,
        vec![A::I("keepdims", 0)],
    );
    let g = imp(&m).unwrap();
    assert_eq!(reduce_op(&g), (ReduceMode::Max, vec![1], false));
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(4)]);
}

#[test]
fn axes_as_constant_input_from_opset_18_and_13_for_sum() {
    let m = reduce("ReduceMin", 18, &[-1, 3, 4], None, Some(&[-2]), vec![]);
    let g = imp(&m).unwrap();
    assert_eq!(reduce_op(&g), (ReduceMode::Min, vec![1], true));
    let m = reduce(
        "ReduceSum",
        13,
        &[-1, 3, 4],
        None,
        Some(&[2, 1]),
        vec![A::I("keepdims", 0)],
    );
    let g = imp(&m).unwrap();
    assert_eq!(reduce_op(&g), (ReduceMode::Sum, vec![1, 2], false));
    assert_eq!(out_shape(&g, 0), [Batch]);
    // the attribute where an input is expected is refused
    let m = reduce("ReduceSum", 13, &[-1, 3], Some(&[1]), None, vec![]);
    assert!(matches!(imp(&m), Err(Error::BadAttribute { attr, .. }) if attr == "axes"));
}

#[test]
fn no_axes_reduce_every_axis_or_nothing() {
    // a fixed first axis is not the batch: every axis is reduced
    let m = reduce("ReduceSum", 18, &[2, 3], None, None, vec![]);
    let g = imp(&m).unwrap();
    assert_eq!(reduce_op(&g), (ReduceMode::Sum, vec![0, 1], true));
    assert_eq!(out_shape(&g, 0), [Fixed(1), Fixed(1)]);
    // noop_with_empty_axes: the identity, no node
    let m = reduce(
        "ReduceMean",
        18,
        &[2, 3],
        None,
        None,
        vec![A::I("noop_with_empty_axes", 1)],
    );
    let g = imp(&m).unwrap();
    assert!(ops(&g).is_empty());
}

/// A reduction over several axes whose output element would span more than the one-step
/// verifier reads is one `Reduce` per axis, last first, and a `Reshape` dropping the kept axes.
#[test]
fn a_wide_reduction_is_staged_one_axis_at_a_time() {
    let g = imp(&reduce(
        "ReduceMean",
        13,
        &[-1, 28, 28],
        Some(&[1, 2]),
        None,
        vec![A::I("keepdims", 0)],
    ))
    .unwrap();
    let stages: Vec<(Vec<usize>, bool)> = g
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            FOp::Reduce { axes, keepdims, .. } => Some((axes.clone(), *keepdims)),
            _ => None,
        })
        .collect();
    assert_eq!(stages, [(vec![2], true), (vec![1], true)]);
    assert_eq!(g.nodes.last().unwrap().op, FOp::Reshape);
    assert_eq!(out_shape(&g, 0), [Batch]);
}

/// The ops and `Reduce` stages (axes, output shape) of `g`.
fn stages(g: &vouch_onnx::FGraph) -> Vec<(Vec<usize>, Vec<vouch_onnx::Dim>)> {
    g.nodes
        .iter()
        .filter_map(|n| match &n.op {
            FOp::Reduce { axes, .. } => Some((axes.clone(), g.values[n.output].shape.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_long_or_strided_axis_is_reduced_by_a_tree_of_stages() {
    // axis 1 of [N, 512, 4] (magika's LayerNorm sum): stride 4, span 2045 -> moved last,
    // 512 = 4 x 128: a stage over groups of 128, then one over the 4 group results
    let g = imp(&reduce(
        "ReduceSum",
        11,
        &[-1, 512, 4],
        Some(&[1]),
        None,
        vec![],
    ))
    .unwrap();
    assert_eq!(
        ops(&g),
        [
            "Transpose",
            "Reshape",
            "Reduce",
            "Reshape",
            "Reduce",
            "Reshape",
            "Reshape"
        ]
    );
    assert_eq!(
        stages(&g),
        [
            (vec![3], vec![Batch, Fixed(4), Fixed(4), Fixed(1)]),
            (vec![2], vec![Batch, Fixed(4), Fixed(1)]),
        ]
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(4)]);
    // a strided axis short enough for one stage once it is last; keepdims off
    let g = imp(&reduce(
        "ReduceMax",
        13,
        &[-1, 15, 16],
        Some(&[1]),
        None,
        vec![A::I("keepdims", 0)],
    ))
    .unwrap();
    assert_eq!(stages(&g), [(vec![2], vec![Batch, Fixed(16), Fixed(1)])]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(16)]);
    // the last axis of 1000 = 200 x 5: no transpose
    let g = imp(&reduce(
        "ReduceMean",
        13,
        &[-1, 1000],
        Some(&[1]),
        None,
        vec![],
    ))
    .unwrap();
    assert_eq!(ops(&g)[0], "Reshape");
    assert_eq!(
        stages(&g),
        [
            (vec![2], vec![Batch, Fixed(5), Fixed(1)]),
            (vec![1], vec![Batch, Fixed(1)]),
        ]
    );
}

#[test]
fn global_max_pool_is_a_reduce_max_over_the_spatial_axes() {
    let m = model(
        13,
        vec![node("GlobalMaxPool", &["x"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 3, 4, 5])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert!(
        g.nodes.iter().all(|n| matches!(
            n.op,
            FOp::Reduce {
                mode: ReduceMode::Max,
                ..
            }
        )),
        "{:?}",
        ops(&g)
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(1), Fixed(1)]);
    // 1-D, over a long axis (magika's pooled features): the tree along it
    let m = model(
        13,
        vec![node("GlobalMaxPool", &["x"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 2, 600])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(stages(&g).len(), 2, "{:?}", ops(&g));
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(1)]);
}

#[test]
fn refused_forms_name_the_node() {
    let unsupported = |m: &[u8], what: &str| match imp(m) {
        Err(Error::UnsupportedForm { node, op, reason }) => {
            assert!(!node.is_empty() && op.starts_with("Reduce"), "{node} {op}");
            assert!(reason.contains(what), "{reason}");
        }
        other => panic!("expected UnsupportedForm ({what}), got {other:?}"),
    };
    // the batch axis, named or through "every axis"
    unsupported(
        &reduce("ReduceMean", 13, &[-1, 3], Some(&[0]), None, vec![]),
        "batch axis",
    );
    unsupported(
        &reduce("ReduceMax", 13, &[-1, 3], None, None, vec![]),
        "batch axis",
    );
    // more than the one-step verifier can judge, with no groups to split it into (a prime)
    unsupported(
        &reduce("ReduceSum", 11, &[-1, 227], Some(&[1]), None, vec![]),
        "one-step",
    );
    // run-time axes
    let m = model(
        18,
        vec![node("ReduceMean", &["x", "a"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 3]), input("a", &[1])],
        &["y"],
    );
    assert!(imp(&m).is_err());
    // a repeated or out-of-range axis
    let m = reduce("ReduceMin", 13, &[-1, 3, 4], Some(&[1, -2]), None, vec![]);
    assert!(matches!(imp(&m), Err(Error::BadAttribute { .. })));
    let m = reduce("ReduceMin", 13, &[-1, 3, 4], Some(&[3]), None, vec![]);
    assert!(matches!(imp(&m), Err(Error::BadAttribute { .. })));
}

#[test]
fn max_min_of_computed_tensors_and_uniform_constants() {
    let m = model(
        13,
        vec![node("Max", &["x", "z", "w"], &["y"], vec![])],
        vec![],
        vec![
            input("x", &[-1, 3, 1]),
            input("z", &[-1, 1, 4]),
            input("w", &[-1, 3, 4]),
        ],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Max"]);
    assert_eq!(g.nodes[0].inputs.len(), 3);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(4)]);
    // Min(x, 6) is a clip
    let m = model(
        13,
        vec![node("Min", &["x", "c"], &["y"], vec![])],
        vec![tf("c", &[], &[6.0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(
        g.nodes[0].op,
        FOp::Clip {
            min: f32::NEG_INFINITY,
            max: 6.0
        }
    );
    // a constant of different values next to a computed tensor is refused
    let m = model(
        13,
        vec![node("Max", &["x", "c"], &["y"], vec![])],
        vec![tf("c", &[3], &[1.0, 2.0, 3.0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    assert!(matches!(imp(&m), Err(Error::UnsupportedForm { op, .. }) if op == "Max"));
}

#[test]
fn prelu_per_channel_scalar_and_refusals() {
    let prelu = |slope: Vec<vouch_onnx::proto::TensorProto>, ins: &[&str]| {
        model(
            16,
            vec![node("PRelu", ins, &["y"], vec![])],
            slope,
            vec![input("x", &[-1, 3, 2, 2])],
            &["y"],
        )
    };
    let g = imp(&prelu(
        vec![tf("s", &[3, 1, 1], &[0.1, -0.2, 0.3])],
        &["x", "s"],
    ))
    .unwrap();
    assert_eq!(ops(&g), ["PRelu"]);
    // one positive slope is a LeakyRelu
    let g = imp(&prelu(vec![tf("s", &[1], &[0.25])], &["x", "s"])).unwrap();
    assert_eq!(g.nodes[0].op, FOp::LeakyRelu { alpha: 0.25 });
    // a slope that does not broadcast to the input
    let r = imp(&prelu(vec![tf("s", &[4], &[0.1; 4])], &["x", "s"]));
    assert!(matches!(r, Err(Error::Shape { .. })), "{r:?}");
}
