//! A `Concat` along the last axis of `Linear`s of one input, each maybe times a scalar
//! constant, is one `Linear` of the stacked rows (`lower/linear_stack.rs`): skl2onnx's binary
//! linear SVM scores `Concat(score · -1, score)`. Where another node reads a part, or the
//! parts read different inputs, the `Concat` stays.

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{imp, input, model, node, ops, tf};
use vouch_onnx::FOp;

/// `x [N, 2]`: `score = x · W + b` (`MatMul`, `Add`), `neg = score · -1`, then `Concat` of
/// `first` and `second` along axis 1, and `extra` nodes; outputs `outs`.
fn scores(
    first: &str,
    second: &str,
    extra: Vec<vouch_onnx::proto::NodeProto>,
    outs: &[&str],
) -> Vec<u8> {
    let mut nodes = vec![
        node("MatMul", &["x", "w"], &["mm"], vec![]),
        node("Add", &["mm", "b"], &["score"], vec![]),
        node("Mul", &["score", "minus"], &["neg"], vec![]),
        node(
            "Concat",
            &[first, second],
            &["both"],
            vec![common::A::I("axis", 1)],
        ),
    ];
    nodes.extend(extra);
    model(
        17,
        nodes,
        vec![
            tf("w", &[2, 1], &[0.5, -2.0]),
            tf("b", &[1], &[0.25]),
            tf("minus", &[], &[-1.0]),
        ],
        vec![input("x", &[-1, 2])],
        outs,
    )
}

#[test]
fn a_concat_of_a_linear_and_its_negation_is_one_linear() {
    let g = imp(&scores("neg", "score", vec![], &["both"])).unwrap();
    assert_eq!(ops(&g), ["Linear"]);
    let FOp::Linear { weight, bias } = &g.nodes[0].op else {
        panic!("{:?}", g.nodes[0].op)
    };
    // rows [-w, w], bias [-b, b]
    assert_eq!(g.consts[*weight].data, [-0.5, 2.0, 0.5, -2.0]);
    assert_eq!(g.consts[*weight].shape, [2, 2]);
    assert_eq!(g.consts[bias.unwrap()].data, [-0.25, 0.25]);
    assert_eq!(g.outputs, [g.nodes[0].output]);
    assert_eq!(g.values[g.outputs[0]].name, "both");
    // the order of the parts is the Concat's
    let g = imp(&scores("score", "neg", vec![], &["both"])).unwrap();
    let FOp::Linear { weight, .. } = &g.nodes[0].op else {
        panic!("{:?}", g.nodes[0].op)
    };
    assert_eq!(g.consts[*weight].data, [0.5, -2.0, -0.5, 2.0]);
}

#[test]
fn a_part_read_elsewhere_keeps_the_concat() {
    // the score is also an output
    let g = imp(&scores("neg", "score", vec![], &["both", "score"])).unwrap();
    assert_eq!(ops(&g), ["Linear", "Mul", "Concat"]);
    // the negation is also read by a Relu
    let relu = node("Relu", &["neg"], &["r"], vec![]);
    let g = imp(&scores("neg", "score", vec![relu], &["both", "r"])).unwrap();
    assert!(ops(&g).contains(&"Concat".to_owned()), "{:?}", ops(&g));
    // a part that is the input itself, not a Linear
    let g = imp(&scores("score", "x", vec![], &["both"])).unwrap();
    assert!(ops(&g).contains(&"Concat".to_owned()), "{:?}", ops(&g));
}
