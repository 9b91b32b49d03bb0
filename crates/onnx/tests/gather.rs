//! `Gather` by computed indices lowers to `FOp::Gather`: a constant table picked by an
//! `ArgMax` output or by an integer graph input (token ids); refused, naming the node, when the
//! indices are computed floats or when a batched computed tensor is picked by batched indices.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, out_shape, tf};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::FOp;
use vouch_onnx::proto::type_proto;

fn table() -> vouch_onnx::proto::TensorProto {
    tf("t", &[4, 2], &[0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 1.0, -2.0])
}

#[test]
fn a_constant_table_picked_by_an_argmax_is_a_gather() {
    let m = model(
        17,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            node(
                "ArgMax",
                &["r"],
                &["i"],
                vec![A::I("axis", 2), A::I("keepdims", 0)],
            ),
            node("Gather", &["t", "i"], &["y"], vec![A::I("axis", 0)]),
        ],
        vec![table()],
        vec![input("x", &[-1, 3, 4])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Relu", "ArgMax", "Gather"]);
    assert_eq!(g.nodes[2].op, FOp::Gather { axis: 0 });
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(2)]);
}

#[test]
fn token_ids_of_an_integer_input_index_an_embedding() {
    let mut ids = input("ids", &[-1, 5]);
    if let Some(type_proto::Value::TensorType(t)) =
        ids.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.elem_type = 7; // int64
    }
    let m = model(
        17,
        vec![node("Gather", &["t", "ids"], &["y"], vec![])],
        vec![table()],
        vec![ids],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Gather"]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(5), Fixed(2)]);
}

#[test]
fn float_indices_and_batched_pairs_are_refused_naming_the_node() {
    // a computed float tensor as indices
    let m = model(
        17,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            node("Gather", &["t", "r"], &["y"], vec![]),
        ],
        vec![table()],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let e = imp(&m).unwrap_err().to_string();
    assert!(e.contains("not exact integers"), "{e}");
    // a batched computed tensor picked by batched indices
    let m = model(
        17,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            node(
                "ArgMax",
                &["r"],
                &["i"],
                vec![A::I("axis", 1), A::I("keepdims", 0)],
            ),
            node("Gather", &["r", "i"], &["y"], vec![A::I("axis", 2)]),
        ],
        vec![],
        vec![input("x", &[-1, 3, 4])],
        &["y"],
    );
    let e = imp(&m).unwrap_err().to_string();
    assert!(e.contains("rows would mix"), "{e}");
    assert!(e.contains("Gather"), "names the node: {e}");
}
