//! Integer and boolean graph inputs (exact integers, their type's range recorded), graph inputs
//! bound to constants at import (`ImportOptions::consts`: an `If` on `sr == 16000` folds),
//! and `Size` / `Range` folded to constants; each refusal names the input or the node.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{A, input, model, node, ops, tf, ti};
use std::collections::BTreeMap;
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::proto::ValueInfoProto;
use vouch_onnx::proto::type_proto;
use vouch_onnx::{Error, ImportOptions};

/// A graph input of ONNX element type `elem` (a negative dimension is the symbolic `N`).
fn typed_input(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    let mut vi = input(name, dims);
    if let Some(type_proto::Value::TensorType(t)) =
        vi.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.elem_type = elem;
    }
    vi
}

const INT64: i32 = 7;
const BOOL: i32 = 9;
const UINT8: i32 = 2;

fn with_consts(consts: &[(&str, &[f64])]) -> ImportOptions {
    ImportOptions {
        consts: consts
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
            .collect::<BTreeMap<_, _>>(),
        ..Default::default()
    }
}

/// `ids` (int64 `[N, 4]`) and `flag` (bool `[N, 1]`) cast to float, concatenated, a `Gemm`.
fn ids_and_flag() -> Vec<u8> {
    model(
        17,
        vec![
            node("Cast", &["ids"], &["x"], vec![A::I("to", 1)]),
            node("Cast", &["flag"], &["f"], vec![A::I("to", 1)]),
            node("Concat", &["x", "f"], &["h"], vec![A::I("axis", 1)]),
            node("Gemm", &["h", "w"], &["y"], vec![A::I("transB", 1)]),
        ],
        vec![tf("w", &[2, 5], &[1.0; 10])],
        vec![
            typed_input("ids", INT64, &[-1, 4]),
            typed_input("flag", BOOL, &[-1, 1]),
        ],
        &["y"],
    )
}

#[test]
fn integer_and_boolean_inputs_are_exact_inputs_with_their_type_range() {
    let g = vouch_onnx::import(&ids_and_flag(), &ImportOptions::default()).unwrap();
    let info: Vec<_> = g.inputs.iter().map(|&v| &g.values[v]).collect();
    assert_eq!(info[0].name, "ids");
    assert_eq!(info[0].integer, Some((i64::MIN, i64::MAX)));
    assert_eq!(info[0].shape, [Batch, Fixed(4)]);
    assert_eq!(info[1].integer, Some((0, 1)));
    // the casts to float disappear: the integers are the values
    assert_eq!(ops(&g), ["Concat", "Linear"]);
    // a string input is refused, naming the input and its type
    let m = model(
        17,
        vec![node("Relu", &["s"], &["y"], vec![])],
        vec![],
        vec![typed_input("s", 8, &[-1, 2])],
        &["y"],
    );
    let e = vouch_onnx::import(&m, &ImportOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("graph input `s`: element type string is neither a number nor a boolean"),
        "{e}"
    );
}

#[test]
fn a_cast_of_an_integer_input_to_a_narrower_integer_type_is_refused() {
    let cast_to = |to: i64| {
        model(
            17,
            vec![
                node("Cast", &["ids"], &["c"], vec![A::I("to", to)]),
                node("Cast", &["c"], &["y"], vec![A::I("to", 1)]),
            ],
            vec![],
            vec![typed_input("ids", INT64, &[-1, 4])],
            &["y"],
        )
    };
    // int64 -> int32: the values a package takes (at most act16's) fit
    vouch_onnx::import(&cast_to(6), &ImportOptions::default()).unwrap();
    // int64 -> uint8 would wrap: refused, naming the node
    let e = vouch_onnx::import(&cast_to(i64::from(UINT8)), &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(&e, Error::UnsupportedForm { node, .. } if node == "n_c"),
        "{e}"
    );
}

/// `x [N, 3]` times 2 when `sr == 16000`, by 0.5 otherwise: the `If` silero-vad writes on
/// its sample-rate input.
fn gain_by_rate() -> Vec<u8> {
    let gain = |name: &str, v: f32| {
        common::branch(
            vec![node(
                "Constant",
                &[],
                &[name],
                vec![A::T("value", Box::new(tf("g", &[], &[v])))],
            )],
            &[name],
        )
    };
    model(
        17,
        vec![
            node("Equal", &["sr", "rate16k"], &["c"], vec![]),
            node(
                "If",
                &["c"],
                &["g"],
                vec![
                    A::G("then_branch", gain("g_then", 2.0)),
                    A::G("else_branch", gain("g_else", 0.5)),
                ],
            ),
            node("Mul", &["x", "g"], &["y"], vec![]),
        ],
        vec![ti("rate16k", &[], &[16000])],
        vec![input("x", &[-1, 3]), typed_input("sr", INT64, &[])],
        &["y"],
    )
}

fn gain_of(g: &vouch_onnx::FGraph) -> f32 {
    assert_eq!(ops(g), ["Mul"]);
    match g.nodes[0].inputs[1] {
        vouch_onnx::Operand::Const(c) => g.consts[c].data[0],
        o => panic!("not a constant operand: {o:?}"),
    }
}

#[test]
fn an_input_bound_to_a_constant_resolves_the_if_it_decides() {
    let m = gain_by_rate();
    let g = vouch_onnx::import(&m, &with_consts(&[("sr", &[16000.0])])).unwrap();
    assert!((gain_of(&g) - 2.0).abs() < f32::EPSILON);
    // the bound input is no longer an input
    assert_eq!(g.inputs.len(), 1);
    assert_eq!(g.values[g.inputs[0]].name, "x");
    let g = vouch_onnx::import(&m, &with_consts(&[("sr", &[8000.0])])).unwrap();
    assert!((gain_of(&g) - 0.5).abs() < f32::EPSILON);
    // unbound, the condition is computed from an input (the comparison is a computed
    // boolean): refused at the `If`, as a data-dependent branch
    let e = vouch_onnx::import(&m, &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(&e, Error::UnsupportedForm { node, .. } if node == "n_g"),
        "{e}"
    );
    assert!(e.to_string().contains("data-dependent branch"), "{e}");
}

#[test]
fn a_bad_binding_is_a_clear_error() {
    let m = gain_by_rate();
    let e = vouch_onnx::import(&m, &with_consts(&[("rate", &[16000.0])])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "a constant is bound to `rate`, which is not a graph input (the inputs: x, sr)"
    );
    let e = vouch_onnx::import(&m, &with_consts(&[("sr", &[16000.5])])).unwrap_err();
    assert!(
        e.to_string()
            .contains("graph input `sr`: the constant bound to it: 16000.5 is not a int64 value"),
        "{e}"
    );
    let e = vouch_onnx::import(&m, &with_consts(&[("sr", &[8000.0, 16000.0])])).unwrap_err();
    assert!(
        e.to_string()
            .contains("2 values do not fill its declared shape"),
        "{e}"
    );
    // a float input bound to a row of values: its symbolic axis is sized by the count
    let g = vouch_onnx::import(
        &model(
            17,
            vec![node("Add", &["x", "b"], &["y"], vec![])],
            vec![],
            vec![input("x", &[-1, 3]), input("b", &[-1])],
            &["y"],
        ),
        &with_consts(&[("b", &[1.0, 2.0, 3.0])]),
    )
    .unwrap();
    assert_eq!(
        g.consts.iter().map(|c| c.shape.clone()).collect::<Vec<_>>(),
        [vec![3]]
    );
}

/// `x [N, 3, 5]`, `Range(0, Shape(x)[axis], 1)` cast to float, added to `x` (the anchor grid a
/// YOLO head builds).
fn range_over_axis(axis: i64) -> Vec<u8> {
    model(
        17,
        vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Gather", &["s", "i"], &["d"], vec![]),
            node("Range", &["zero", "d", "one"], &["r"], vec![]),
            node("Cast", &["r"], &["rf"], vec![A::I("to", 1)]),
            node("Add", &["x", "rf"], &["y"], vec![]),
        ],
        vec![
            ti("i", &[], &[axis]),
            ti("zero", &[], &[0]),
            ti("one", &[], &[1]),
        ],
        vec![input("x", &[-1, 3, 5])],
        &["y"],
    )
}

#[test]
fn range_of_a_static_size_folds_and_of_the_batch_size_is_refused() {
    let g = vouch_onnx::import(&range_over_axis(2), &ImportOptions::default()).unwrap();
    assert_eq!(ops(&g), ["Add"]);
    assert_eq!(g.consts[0].data, [0.0, 1.0, 2.0, 3.0, 4.0]);
    let e = vouch_onnx::import(&range_over_axis(0), &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(&e, Error::UnsupportedForm { node, reason, .. }
            if node == "n_r" && reason.contains("limit (input #1) is the batch size")),
        "{e}"
    );
    // a Range of a computed tensor: refused, naming the node and the form
    let m = model(
        17,
        vec![
            node("Range", &["zero", "m", "one"], &["r"], vec![]),
            node("Add", &["x", "r"], &["y"], vec![]),
        ],
        vec![tf("zero", &[], &[0.0]), tf("one", &[], &[1.0])],
        vec![input("x", &[-1, 3]), input("m", &[])],
        &["y"],
    );
    let e = vouch_onnx::import(&m, &ImportOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "node `n_r` (Range): unsupported form: a Range whose limit (input #1) is computed from \
         the input; vouch folds Range of constants only"
    );
}

#[test]
fn range_follows_onnx_on_negative_and_fractional_steps() {
    let fold = |start: i64, limit: i64, delta: i64| {
        let m = model(
            17,
            vec![
                node("Range", &["a", "b", "c"], &["r"], vec![]),
                node("Cast", &["r"], &["rf"], vec![A::I("to", 1)]),
                node("Add", &["x", "rf"], &["y"], vec![]),
            ],
            vec![
                ti("a", &[], &[start]),
                ti("b", &[], &[limit]),
                ti("c", &[], &[delta]),
            ],
            vec![input("x", &[-1, 1])],
            &["y"],
        );
        vouch_onnx::import(&m, &ImportOptions::default()).map(|g| g.consts[0].data.clone())
    };
    assert_eq!(fold(10, 4, -3).unwrap(), [10.0, 7.0]);
    assert_eq!(fold(1, 8, 3).unwrap(), [1.0, 4.0, 7.0]);
    // an empty range: a constant of no elements
    assert!(fold(4, 4, 1).is_ok_and(|d| d.is_empty()));
    assert!(fold(4, 9, -1).is_ok_and(|d| d.is_empty()));
    let e = fold(0, 4, 0).unwrap_err();
    assert!(e.to_string().contains("(delta) is zero"), "{e}");
    let m = model(
        17,
        vec![
            node("Range", &["a", "b", "c"], &["r"], vec![]),
            node("Add", &["x", "r"], &["y"], vec![]),
        ],
        vec![
            tf("a", &[], &[0.5]),
            tf("b", &[], &[2.0]),
            tf("c", &[], &[0.5]),
        ],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let g = vouch_onnx::import(&m, &ImportOptions::default()).unwrap();
    assert_eq!(g.consts[0].data, [0.5, 1.0, 1.5]);
}

#[test]
fn size_of_a_static_shape_folds_and_of_a_batched_tensor_is_refused() {
    let size_of = |dims: &[i64]| {
        model(
            17,
            vec![
                node("Relu", &["x"], &["r"], vec![]),
                node("Size", &["r"], &["n"], vec![]),
                node("Cast", &["n"], &["nf"], vec![A::I("to", 1)]),
                node("Mul", &["r", "nf"], &["y"], vec![]),
            ],
            vec![],
            vec![input("x", dims)],
            &["y"],
        )
    };
    let g = vouch_onnx::import(&size_of(&[2, 3]), &ImportOptions::default()).unwrap();
    assert_eq!(ops(&g), ["Relu", "Mul"]);
    assert_eq!(g.consts[0].data, [6.0]);
    let e = vouch_onnx::import(&size_of(&[-1, 3]), &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(&e, Error::UnsupportedForm { node, reason, .. }
            if node == "n_n" && reason.contains("batch axis")),
        "{e}"
    );
}
