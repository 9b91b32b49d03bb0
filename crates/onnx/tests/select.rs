//! `Slice`, `Gather`, `Split`, `Expand` and `Tile` of computed tensors lower to `Select` (one
//! index list per axis); a selection along the batch axis is refused naming the node.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, out_shape, ti};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::{Error, FOp};

/// `x [N, 3, 4]` through `Relu` (a computed tensor) into `op`.
fn after_relu(
    op: &str,
    extra: &[&str],
    attrs: Vec<A<'_>>,
    inits: Vec<vouch_onnx::proto::TensorProto>,
    outs: &[&str],
) -> Vec<u8> {
    let mut ins = vec!["r"];
    ins.extend_from_slice(extra);
    model(
        17,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            node(op, &ins, outs, attrs),
        ],
        inits,
        vec![input("x", &[-1, 3, 4])],
        outs,
    )
}

fn maps(g: &vouch_onnx::FGraph, i: usize) -> Vec<Vec<usize>> {
    match &g.nodes[i].op {
        FOp::Select { maps } => maps.clone(),
        op => panic!("not a Select: {op:?}"),
    }
}

#[test]
fn slice_with_negative_steps_and_axes() {
    let inits = vec![
        ti("s", &[2], &[-1, 0]),
        ti("e", &[2], &[i64::MIN, 3]),
        ti("a", &[2], &[-1, 1]),
        ti("st", &[2], &[-2, 2]),
    ];
    let g = imp(&after_relu(
        "Slice",
        &["s", "e", "a", "st"],
        vec![],
        inits,
        &["y"],
    ))
    .unwrap();
    assert_eq!(ops(&g), ["Relu", "Select"]);
    assert_eq!(maps(&g, 1), [vec![], vec![0, 2], vec![3, 1]]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(2)]);
    // the whole batch axis and an identity elsewhere: no node at all
    let inits = vec![ti("s", &[2], &[0, 0]), ti("e", &[2], &[i64::MAX, 3])];
    let g = imp(&after_relu("Slice", &["s", "e"], vec![], inits, &["y"])).unwrap();
    assert_eq!(ops(&g), ["Relu"]);
}

#[test]
fn a_batch_slice_is_whole_only_if_its_end_reaches_every_runnable_batch() {
    // rows of 12 elements: no batch the engine can run exceeds 2^28 / 12 rows
    let most = (vouch_semantics::MAX_ELEMENTS / 12) as i64;
    for end in [1_000_000_000, most] {
        let inits = vec![
            ti("s", &[1], &[0]),
            ti("e", &[1], &[end]),
            ti("a", &[1], &[0]),
        ];
        let g = imp(&after_relu(
            "Slice",
            &["s", "e", "a"],
            vec![],
            inits,
            &["y"],
        ))
        .unwrap();
        assert_eq!(ops(&g), ["Relu"], "end {end}");
    }
    // one row short, or a step of 2: a real selection of rows, refused
    for (end, step) in [(most - 1, 1), (i64::MAX, 2)] {
        let inits = vec![
            ti("s", &[1], &[0]),
            ti("e", &[1], &[end]),
            ti("a", &[1], &[0]),
            ti("st", &[1], &[step]),
        ];
        let e = imp(&after_relu(
            "Slice",
            &["s", "e", "a", "st"],
            vec![],
            inits,
            &["y"],
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("the batch axis"),
            "end {end} step {step}: {e}"
        );
    }
}

#[test]
fn gather_by_constant_indices_keeps_their_shape() {
    // a scalar index drops the axis
    let g = imp(&after_relu(
        "Gather",
        &["i"],
        vec![A::I("axis", 2)],
        vec![ti("i", &[], &[-1])],
        &["y"],
    ))
    .unwrap();
    assert_eq!(ops(&g), ["Relu", "Select", "Reshape"]);
    assert_eq!(maps(&g, 1), [vec![], vec![], vec![3]]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3)]);
    // a 1-D index list, repeated indices
    let g = imp(&after_relu(
        "Gather",
        &["i"],
        vec![A::I("axis", 1)],
        vec![ti("i", &[4], &[2, 0, 2, 1])],
        &["y"],
    ))
    .unwrap();
    assert_eq!(ops(&g), ["Relu", "Select"]);
    assert_eq!(maps(&g, 1), [vec![], vec![2, 0, 2, 1], vec![]]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(4), Fixed(4)]);
    // out of range
    let e = imp(&after_relu(
        "Gather",
        &["i"],
        vec![A::I("axis", 1)],
        vec![ti("i", &[1], &[3])],
        &["y"],
    ))
    .unwrap_err();
    assert!(e.to_string().contains("index 3 out of range"), "{e}");
}

#[test]
fn split_into_sizes_and_equal_parts() {
    let g = imp(&after_relu(
        "Split",
        &["s"],
        vec![A::I("axis", 2)],
        vec![ti("s", &[2], &[1, 3])],
        &["a", "b"],
    ))
    .unwrap();
    assert_eq!(ops(&g), ["Relu", "Select", "Select"]);
    assert_eq!(maps(&g, 1), [vec![], vec![], vec![0]]);
    assert_eq!(maps(&g, 2), [vec![], vec![], vec![1, 2, 3]]);
    let g = imp(&after_relu(
        "Split",
        &[],
        vec![A::I("axis", -2)],
        vec![],
        &["a", "b", "c"],
    ))
    .unwrap();
    assert_eq!(maps(&g, 3), [vec![], vec![2], vec![]]);
    // sizes that do not add up
    let e = imp(&after_relu(
        "Split",
        &["s"],
        vec![A::I("axis", 2)],
        vec![ti("s", &[2], &[1, 2])],
        &["a", "b"],
    ))
    .unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
}

#[test]
fn expand_and_tile_repeat_elements() {
    // [N, 3, 4] to [2, 1, 3, 4]: the rank grows (a Reshape to [1, N, 3, 4]), then axis 0
    // repeats; the target's 1 keeps the batch
    let g = imp(&after_relu(
        "Expand",
        &["t"],
        vec![],
        vec![ti("t", &[4], &[2, 1, 3, 4])],
        &["y"],
    ))
    .unwrap();
    assert_eq!(ops(&g), ["Relu", "Reshape", "Select"]);
    assert_eq!(maps(&g, 2), [vec![0, 0], vec![], vec![], vec![]]);
    let g = imp(&after_relu(
        "Tile",
        &["k"],
        vec![],
        vec![ti("k", &[3], &[1, 2, 1])],
        &["y"],
    ))
    .unwrap();
    assert_eq!(maps(&g, 1), [vec![], vec![0, 1, 2, 0, 1, 2], vec![]]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(6), Fixed(4)]);
}

#[test]
fn selecting_along_the_batch_axis_is_refused_naming_the_node() {
    let cases = [
        after_relu(
            "Tile",
            &["k"],
            vec![],
            vec![ti("k", &[3], &[2, 1, 1])],
            &["y"],
        ),
        after_relu(
            "Gather",
            &["i"],
            vec![A::I("axis", 0)],
            vec![ti("i", &[1], &[0])],
            &["y"],
        ),
        after_relu("Split", &[], vec![A::I("axis", 0)], vec![], &["a", "b"]),
        after_relu(
            "Slice",
            &["s", "e", "a"],
            vec![],
            vec![
                ti("s", &[1], &[1]),
                ti("e", &[1], &[2]),
                ti("a", &[1], &[0]),
            ],
            &["y"],
        ),
    ];
    for m in cases {
        let e = imp(&m).unwrap_err().to_string();
        assert!(e.contains("batch axis") && e.contains("node `n_"), "{e}");
        assert!(!e.contains(&i64::MIN.to_string()), "{e}");
    }
}
