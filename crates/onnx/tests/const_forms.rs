//! Constant forms real detectors and recurrent models use: `Expand` of a constant (a YOLOv8
//! anchor grid) folds at import into the broadcast constant, within the import's budget for
//! derived constants, and is refused naming the node when it would take the batch size;
//! `ConstantOfShape` of a shape holding the batch size (an LSTM's zero initial state) is the
//! constant with that axis at 1, which broadcasts to the rows.

mod common;

use common::{A, imp, input, model, node, ops, out_shape, tf, ti};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::{FOp, Operand};

/// The constant operand of the graph's only node.
fn const_operand(g: &vouch_onnx::FGraph) -> &vouch_onnx::FConst {
    let c = g.nodes[0]
        .inputs
        .iter()
        .find_map(|o| match o {
            Operand::Const(c) => Some(*c),
            Operand::Value(_) => None,
        })
        .expect("a constant operand");
    &g.consts[c]
}

#[test]
fn expand_of_a_constant_folds_to_the_broadcast() {
    // a [2, 1] column expanded to [3, 2, 4] (a leading axis, a repeated one), added to x
    let bytes = model(
        13,
        vec![
            node("Expand", &["col", "shape"], &["grid"], vec![]),
            node("Add", &["x", "grid"], &["y"], vec![]),
        ],
        vec![
            tf("col", &[2, 1], &[1.5, -2.0]),
            ti("shape", &[3], &[3, 2, 4]),
        ],
        vec![input("x", &[-1, 3, 2, 4])],
        &["y"],
    );
    let g = imp(&bytes).unwrap();
    assert_eq!(ops(&g), ["Add"], "no node for the folded Expand");
    let c = const_operand(&g);
    assert_eq!(c.shape, [3, 2, 4]);
    let want: Vec<f32> = (0..24)
        .map(|i| if (i / 4) % 2 == 0 { 1.5 } else { -2.0 })
        .collect();
    assert_eq!(c.data, want);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(2), Fixed(4)]);

    // a target axis of 1 keeps the constant's size (numpy broadcasting, as ONNX defines it)
    let bytes = model(
        13,
        vec![
            node("Expand", &["col", "shape"], &["grid"], vec![]),
            node("Add", &["x", "grid"], &["y"], vec![]),
        ],
        vec![tf("col", &[2, 1], &[1.5, -2.0]), ti("shape", &[2], &[1, 3])],
        vec![input("x", &[-1, 2, 3])],
        &["y"],
    );
    let g = imp(&bytes).unwrap();
    assert_eq!(const_operand(&g).shape, [2, 3]);
}

#[test]
fn expand_of_a_constant_is_refused_past_the_fold_bound_or_to_the_batch() {
    // 2^27 elements: past the import's budget for derived constants (2^26 elements plus four
    // times the initializers'), refused before allocating
    let bytes = model(
        13,
        vec![
            node("Expand", &["one", "shape"], &["big"], vec![]),
            node("Add", &["x", "big"], &["y"], vec![]),
        ],
        vec![
            tf("one", &[1], &[1.0]),
            ti("shape", &[2], &[1 << 14, 1 << 13]),
        ],
        vec![input("x", &[-1, 1 << 13])],
        &["y"],
    );
    let e = imp(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("n_big") && e.contains("cannot expand a constant"),
        "{e}"
    );

    // the target shape read from a batched value holds the batch size
    let bytes = model(
        13,
        vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Expand", &["one", "s"], &["b"], vec![]),
            node("Add", &["x", "b"], &["y"], vec![]),
        ],
        vec![tf("one", &[1], &[1.0])],
        vec![input("x", &[-1, 4])],
        &["y"],
    );
    let e = imp(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("n_b") && e.contains("[N, 4]") && e.contains("batch size"),
        "{e}"
    );
    assert!(!e.contains("9223372036854775808"), "{e}");
}

#[test]
fn constant_of_shape_holding_the_batch_is_one_row_that_broadcasts() {
    // zeros(Shape(x)[0], 1, 3) + 0.25, added to x [N, 1, 3]: an initial state's pattern
    let bytes = model(
        13,
        vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Gather", &["s", "i0"], &["n"], vec![A::I("axis", 0)]),
            node("Unsqueeze", &["n", "ax"], &["n1"], vec![]),
            node("Concat", &["n1", "rest"], &["shape"], vec![A::I("axis", 0)]),
            node(
                "ConstantOfShape",
                &["shape"],
                &["z"],
                vec![A::T("value", Box::new(tf("v", &[1], &[0.25])))],
            ),
            node("Add", &["x", "z"], &["y"], vec![]),
        ],
        vec![
            ti("i0", &[], &[0]),
            ti("ax", &[1], &[0]),
            ti("rest", &[2], &[1, 3]),
        ],
        vec![input("x", &[-1, 1, 3])],
        &["y"],
    );
    let g = imp(&bytes).unwrap();
    assert_eq!(ops(&g), ["Add"]);
    assert!(matches!(g.nodes[0].op, FOp::Add));
    let c = const_operand(&g);
    assert_eq!(
        (c.shape.as_slice(), c.data.as_slice()),
        (&[1, 1, 3][..], &[0.25; 3][..])
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(1), Fixed(3)]);
}
