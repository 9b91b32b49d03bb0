//! The importer's comparisons, logic ops, `Where`, `CastLike`, and the folds on constants that
//! exported attention and normalization bodies need (`Mod`, reductions of a constant mask).

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, tf, ti};
use vouch_onnx::graph::BoolOp;
use vouch_onnx::proto::{NodeProto, TensorProto};
use vouch_onnx::{FOp, Operand};

/// The data of the constant operand `i` of node `n`.
fn const_data(g: &vouch_onnx::FGraph, n: usize, i: usize) -> (Vec<usize>, Vec<f32>) {
    let Operand::Const(c) = g.nodes[n].inputs[i] else {
        panic!("operand {i} of node {n} is not a constant")
    };
    (g.consts[c].shape.clone(), g.consts[c].data.clone())
}

/// `x + folded` where `folded` is the output of `nodes` on constants: the folded constant.
fn folded(mut nodes: Vec<NodeProto>, inits: Vec<TensorProto>) -> (Vec<usize>, Vec<f32>) {
    nodes.push(node("Add", &["x", "k"], &["y"], vec![]));
    let m = model(18, nodes, inits, vec![input("x", &[-1, 2, 1])], &["y"]);
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Add"]);
    const_data(&g, 0, 1)
}

#[test]
fn mod_folds_on_constants_with_either_sign_rule() {
    let a = tf("a", &[4], &[5.0, -5.0, 5.0, -5.0]);
    let b = tf("b", &[4], &[3.0, 3.0, -3.0, -3.0]);
    // fmod = 1: the sign of the dividend (C's fmod)
    let (_, d) = folded(
        vec![node("Mod", &["a", "b"], &["k"], vec![A::I("fmod", 1)])],
        vec![a.clone(), b.clone()],
    );
    assert_eq!(d, [2.0, -2.0, 2.0, -2.0]);
    // fmod = 0 on integers: the sign of the divisor (Python's %)
    let (_, d) = folded(
        vec![node("Mod", &["ai", "bi"], &["k"], vec![])],
        vec![
            ti("ai", &[4], &[5, -5, 5, -5]),
            ti("bi", &[4], &[3, 3, -3, -3]),
        ],
    );
    assert_eq!(d, [2.0, 1.0, -1.0, -2.0]);
    // a zero divisor does not fold; a computed dividend is refused, naming the node
    let m = model(
        18,
        vec![
            node("Mod", &["ai", "z"], &["k"], vec![]),
            node("Add", &["x", "k"], &["y"], vec![]),
        ],
        vec![ti("ai", &[1], &[5]), ti("z", &[1], &[0])],
        vec![input("x", &[-1, 1])],
        &["y"],
    );
    let e = imp(&m).unwrap_err().to_string();
    assert!(e.contains("Mod") && e.contains("does not fold"), "{e}");
    let m = model(
        18,
        vec![node("Mod", &["x", "b"], &["y"], vec![A::I("fmod", 1)])],
        vec![tf("b", &[1], &[3.0])],
        vec![input("x", &[-1, 1])],
        &["y"],
    );
    let e = imp(&m).unwrap_err().to_string();
    assert!(e.contains("Mod of a computed tensor"), "{e}");
}

#[test]
fn reductions_of_constants_fold() {
    let t = tf("t", &[2, 3], &[1.0, -2.0, 3.0, 4.0, 5.0, -6.0]);
    let axes = ti("axes", &[1], &[1]);
    let (s, d) = folded(
        vec![node("ReduceMax", &["t", "axes"], &["k"], vec![])],
        vec![t.clone(), axes.clone()],
    );
    assert_eq!((s, d), (vec![2, 1], vec![3.0, 5.0]));
    let (s, d) = folded(
        vec![node(
            "ReduceSum",
            &["t", "axes"],
            &["k"],
            vec![A::I("keepdims", 0)],
        )],
        vec![t.clone(), axes],
    );
    assert_eq!((s, d), (vec![2], vec![2.0, 3.0]));
    // no axes: every axis
    let (s, d) = folded(vec![node("ReduceMin", &["t"], &["k"], vec![])], vec![t]);
    assert_eq!((s, d), (vec![1, 1], vec![-6.0]));
}

#[test]
fn where_folds_on_constants_and_is_one_node_otherwise() {
    let (s, d) = folded(
        vec![node("Where", &["c", "p", "q"], &["k"], vec![])],
        vec![
            common::tb("c", true),
            tf("p", &[2], &[1.0, 2.0]),
            tf("q", &[2], &[3.0, 4.0]),
        ],
    );
    assert_eq!((s, d), (vec![2], vec![1.0, 2.0]));
    let m = model(
        18,
        vec![
            node("Greater", &["x", "t"], &["c"], vec![]),
            node("Where", &["c", "x", "q"], &["y"], vec![]),
        ],
        vec![tf("t", &[3], &[0.0, 1.0, 2.0]), tf("q", &[1], &[-1.0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Logic", "Where"]);
    assert_eq!(
        g.nodes[0].op,
        FOp::Logic {
            op: BoolOp::Greater
        }
    );
    assert_eq!(
        g.nodes[1].inputs[..2],
        [
            Operand::Value(g.nodes[0].output),
            Operand::Value(g.inputs[0])
        ]
    );
}

/// A logic op's constant operand is stored as 0/1; `Not` takes one operand; a float tensor
/// as a condition is refused.
#[test]
fn logic_operands_are_bools() {
    let m = model(
        18,
        vec![
            node("Less", &["x", "t"], &["l"], vec![]),
            node("And", &["l", "m"], &["a"], vec![]),
            node("Not", &["a"], &["y"], vec![]),
        ],
        vec![tf("t", &[1], &[0.5]), tf("m", &[3], &[2.0, 0.0, -1.0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Logic", "Logic", "Logic"]);
    assert_eq!(const_data(&g, 1, 1).1, [1.0, 0.0, 1.0]);
    assert_eq!(g.nodes[2].inputs.len(), 1);
    let m = model(
        18,
        vec![node("Where", &["x", "x", "x"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let e = imp(&m).unwrap_err().to_string();
    assert!(e.contains("is not a bool computed by a comparison"), "{e}");
}

/// `CastLike` to a float is the value itself; to an integer type of a float value it is
/// refused, as `Cast` is.
#[test]
fn cast_like_is_a_cast_to_the_other_operands_type() {
    let m = model(
        18,
        vec![
            node("CastLike", &["x", "f"], &["c"], vec![]),
            node("Relu", &["c"], &["y"], vec![]),
        ],
        vec![tf("f", &[1], &[0.0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    assert_eq!(ops(&imp(&m).unwrap()), ["Relu"]);
    let m = model(
        18,
        vec![node("CastLike", &["x", "i"], &["y"], vec![])],
        vec![ti("i", &[1], &[0])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let e = imp(&m).unwrap_err().to_string();
    assert!(
        e.contains("CastLike of a float tensor to an integer type"),
        "{e}"
    );
}

/// `LayerNormalization` is `Reduce` mean, `Sub`, `Mul`, `Reduce` mean, a `Map`, `Mul` and
/// `Add` (its forms are the ONNX node cases); over the batch axis it is refused.
#[test]
fn layer_norm_lowers_to_existing_ops_and_never_spans_the_batch() {
    let ln = |axis: i64| {
        model(
            18,
            vec![node(
                "LayerNormalization",
                &["x", "s", "b"],
                &["y"],
                vec![A::I("axis", axis)],
            )],
            vec![
                tf("s", &[3], &[1.0, 2.0, 0.5]),
                tf("b", &[3], &[0.0, 1.0, -1.0]),
            ],
            vec![input("x", &[-1, 3])],
            &["y"],
        )
    };
    let g = imp(&ln(-1)).unwrap();
    assert_eq!(
        ops(&g),
        ["Reduce", "Sub", "Mul", "Reduce", "Map", "Mul", "Mul", "Add"]
    );
    let e = imp(&ln(0)).unwrap_err().to_string();
    assert!(e.contains("over the batch axis 0"), "{e}");
}
