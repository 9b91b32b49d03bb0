//! Input shapes real models use: symbolic axes after the batch bound by given shapes or the
//! calibration rows' shapes (or refused, naming the input and the axis), a batch fixed at 1 read
//! as the rows axis (or kept, with the reason), `Reshape` to a literal batch (`[1, -1]`,
//! `[1, C, H, W]`), and the messages a user sees: no internal marker value in any of them.

mod common;

use common::{A, imp, model, node, node_in, ops, out_shape, tf, ti};
use std::collections::BTreeMap;
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::proto::{ValueInfoProto, tensor_shape_proto, type_proto};
use vouch_onnx::{BatchAxis, Error, FGraph, ImportOptions, import};

/// The symbolic batch marker's value (`i64::MIN`), which must never reach a message.
const MARKER: &str = "9223372036854775808";

/// A float input whose axes are sizes (`"3"`) or `dim_param` names (`"height"`; `""` for an
/// axis with no value).
fn input_p(name: &str, dims: &[&str]) -> ValueInfoProto {
    use tensor_shape_proto::dimension::Value;
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: match d.parse::<i64>() {
                Ok(n) => Some(Value::DimValue(n)),
                Err(_) if d.is_empty() => None,
                Err(_) => Some(Value::DimParam((*d).into())),
            },
            denotation: String::new(),
        })
        .collect();
    common::float_input(name, dim)
}

/// `Conv(3 -> 2, 3x3, pad 1)` then `GlobalAveragePool` over an image of symbolic size.
fn image_model(dims: &[&str]) -> Vec<u8> {
    model(
        13,
        vec![
            node(
                "Conv",
                &["image", "w"],
                &["c"],
                vec![A::Is("kernel_shape", &[3, 3]), A::Is("pads", &[1, 1, 1, 1])],
            ),
            node("GlobalAveragePool", &["c"], &["y"], vec![]),
        ],
        vec![tf("w", &[2, 3, 3, 3], &[0.1; 54])],
        vec![input_p("image", dims)],
        &["y"],
    )
}

fn with(shapes: &[(&str, &[usize])], samples: &[(&str, &[usize])]) -> ImportOptions {
    let map = |v: &[(&str, &[usize])]| -> BTreeMap<String, Vec<usize>> {
        v.iter()
            .map(|(n, d)| ((*n).to_owned(), d.to_vec()))
            .collect()
    };
    ImportOptions {
        shapes: map(shapes),
        sample_shapes: map(samples),
        ..Default::default()
    }
}

fn input_shape(g: &FGraph) -> Vec<vouch_onnx::Dim> {
    g.values[g.inputs[0]].shape.clone()
}

#[test]
fn a_symbolic_image_size_is_bound_by_shape_or_calibration_or_named() {
    let m = image_model(&["N", "3", "height", "width"]);
    // nothing binds it: the input, the axis and the flag are named
    let e = imp(&m).unwrap_err();
    assert!(
        matches!(&e, Error::UnboundDim { input, axis: 2, param, .. }
            if input == "image" && param == "`height`"),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains("--shape image=1x3xheightxwidth"), "{msg}");
    assert!(!msg.contains(MARKER), "{msg}");
    // a given shape: the batch stays symbolic whatever size is given there
    let g = import(&m, &with(&[("image", &[1, 3, 10, 12])], &[])).unwrap();
    assert_eq!(input_shape(&g), [Batch, Fixed(3), Fixed(10), Fixed(12)]);
    assert_eq!(
        g.values[g.nodes[0].output].shape,
        [Batch, Fixed(2), Fixed(10), Fixed(12)]
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2), Fixed(1), Fixed(1)]);
    assert_eq!(g.batch, BatchAxis::AsDeclared);
    // the calibration rows' shape
    let g = import(&m, &with(&[], &[("image", &[7, 3, 9, 5])])).unwrap();
    assert_eq!(input_shape(&g), [Batch, Fixed(3), Fixed(9), Fixed(5)]);
    // a given shape wins over the calibration rows
    let g = import(
        &m,
        &with(&[("image", &[1, 3, 4, 4])], &[("image", &[7, 3, 9, 5])]),
    )
    .unwrap();
    assert_eq!(input_shape(&g), [Batch, Fixed(3), Fixed(4), Fixed(4)]);
    // an axis with no name at all
    let e = imp(&image_model(&["N", "3", "8", ""])).unwrap_err();
    assert!(
        matches!(&e, Error::UnboundDim { axis: 3, param, .. } if param == "unnamed"),
        "{e:?}"
    );
    assert!(e.to_string().contains("image=1x3x8x?"), "{e}");
}

#[test]
fn a_given_shape_must_fit_the_model() {
    let m = image_model(&["N", "3", "height", "width"]);
    for (shape, want) in [
        (&[1, 3, 8][..], "3 axes, the model's (1x3xheightxwidth) 4"),
        (
            &[1, 4, 8, 8][..],
            "axis 1 is 3 in the model, 4 in the shape given for it",
        ),
    ] {
        let e = import(&m, &with(&[("image", shape)], &[])).unwrap_err();
        assert!(
            matches!(&e, Error::Input { name, reason } if name == "image" && reason.contains(want)),
            "{e:?}"
        );
    }
    let e = import(&m, &with(&[("img", &[1, 3, 8, 8])], &[])).unwrap_err();
    assert!(
        matches!(&e, Error::ShapeName { name, inputs } if name == "img" && inputs == "image"),
        "{e:?}"
    );
    // calibration rows of another size are not checked here (the rows are checked when read)
    let g = import(&m, &with(&[], &[("image", &[2, 4, 8, 8])])).unwrap();
    assert_eq!(input_shape(&g), [Batch, Fixed(3), Fixed(8), Fixed(8)]);
}

#[test]
fn a_dim_param_bound_on_one_input_binds_it_on_the_others() {
    let m = model(
        13,
        vec![node("Add", &["a", "b"], &["y"], vec![])],
        vec![],
        vec![input_p("a", &["N", "seq"]), input_p("b", &["N", "seq"])],
        &["y"],
    );
    let g = import(&m, &with(&[("a", &[1, 6])], &[])).unwrap();
    assert_eq!(g.values[g.inputs[1]].shape, [Batch, Fixed(6)]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(6)]);
}

/// `Gemm` of an input `[1, 3]` (a batch fixed at 1).
fn fixed_batch_gemm() -> Vec<u8> {
    model(
        13,
        vec![node("Gemm", &["x", "w"], &["y"], vec![A::I("transB", 1)])],
        vec![tf("w", &[2, 3], &[1., 2., 3., 4., 5., 6.])],
        vec![common::input("x", &[1, 3])],
        &["y"],
    )
}

#[test]
fn a_batch_fixed_at_one_is_read_as_the_rows() {
    let g = imp(&fixed_batch_gemm()).unwrap();
    assert_eq!(g.batch, BatchAxis::FixedOneAsRows);
    assert_eq!(input_shape(&g), [Batch, Fixed(3)]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(2)]);
    // kept as declared on request
    let opts = ImportOptions {
        keep_fixed_batch: true,
        ..Default::default()
    };
    let g = import(&fixed_batch_gemm(), &opts).unwrap();
    assert_eq!(g.batch, BatchAxis::AsDeclared);
    assert_eq!(input_shape(&g), [Fixed(1), Fixed(3)]);
}

#[test]
fn a_batch_fixed_at_one_beside_a_wholly_fixed_state_is_read_as_the_rows() {
    // silero VAD's OpenVINO export: `input` [1, 3] and `state` [2, 1, 3], both fixed
    let m = model(
        13,
        vec![
            node("Slice", &["state", "s0", "s1", "ax"], &["h"], vec![]),
            node("Reshape", &["h", "row"], &["h2"], vec![]),
            node("Add", &["x", "h2"], &["y"], vec![]),
        ],
        vec![
            ti("s0", &[1], &[0]),
            ti("s1", &[1], &[1]),
            ti("ax", &[1], &[0]),
            ti("row", &[2], &[1, 3]),
        ],
        vec![
            common::input("x", &[1, 3]),
            common::input("state", &[2, 1, 3]),
        ],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(g.batch, BatchAxis::FixedOneAsRows);
    assert_eq!(input_shape(&g), [Batch, Fixed(3)]);
    assert_eq!(g.values[g.inputs[1]].shape, [Fixed(2), Fixed(1), Fixed(3)]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3)]);
    // an input with a symbolic axis 0 next to it: as declared
    let m = model(
        13,
        vec![node("Add", &["x", "z"], &["y"], vec![])],
        vec![],
        vec![common::input("x", &[1, 3]), common::input("z", &[-1, 3])],
        &["y"],
    );
    assert_eq!(imp(&m).unwrap().batch, BatchAxis::AsDeclared);
}

#[test]
fn a_batch_one_constant_concatenated_joins_every_row() {
    // a class token `[1, 1, 2]` before the sequence, either order
    for inputs in [["tok", "x"], ["x", "tok"]] {
        let m = model(
            13,
            vec![node("Concat", &inputs, &["y"], vec![A::I("axis", 1)])],
            vec![tf("tok", &[1, 1, 2], &[1., 2.])],
            vec![common::input("x", &[1, 3, 2])],
            &["y"],
        );
        let g = imp(&m).unwrap();
        assert_eq!(g.batch, BatchAxis::FixedOneAsRows, "{inputs:?}");
        assert_eq!(out_shape(&g, 0), [Batch, Fixed(4), Fixed(2)], "{inputs:?}");
    }
    // a constant of batch 2 does not
    let m = model(
        13,
        vec![node("Concat", &["tok", "x"], &["y"], vec![A::I("axis", 1)])],
        vec![tf("tok", &[2, 1, 2], &[1., 2., 3., 4.])],
        vec![common::input("x", &[-1, 3, 2])],
        &["y"],
    );
    assert!(matches!(imp(&m), Err(Error::Shape { .. })));
}

#[test]
fn a_graph_that_reads_across_axis_0_keeps_its_batch_fixed_and_says_why() {
    // a sum over every axis, the batch's included: only the model's one row makes sense
    let m = model(
        13,
        vec![node(
            "ReduceSum",
            &["x", "axes"],
            &["y"],
            vec![A::I("keepdims", 0)],
        )],
        vec![ti("axes", &[2], &[0, 1])],
        vec![common::input("x", &[1, 4])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    let BatchAxis::FixedOne(why) = &g.batch else {
        panic!("{:?}", g.batch)
    };
    assert!(why.contains("n_y"), "{why}");
    assert!(!why.contains(MARKER), "{why}");
    assert_eq!(input_shape(&g), [Fixed(1), Fixed(4)]);
    assert_eq!(out_shape(&g, 0), Vec::<vouch_onnx::Dim>::new());
}

#[test]
fn reshape_to_a_literal_batch() {
    // symbolic batch: `[1, -1]` and `[1, C, H, W]` keep the batch axis
    for (input, target, want) in [
        (
            &[-1i64, 2, 3, 4][..],
            &[1i64, -1][..],
            vec![Batch, Fixed(24)],
        ),
        (
            &[-1, 24],
            &[1, 2, 3, 4],
            vec![Batch, Fixed(2), Fixed(3), Fixed(4)],
        ),
        (&[-1, 2, 12], &[1, 6, -1], vec![Batch, Fixed(6), Fixed(4)]),
        // the fixed-batch model (read as rows)
        (&[1, 2, 3, 4], &[1, -1], vec![Batch, Fixed(24)]),
        (
            &[1, 24],
            &[1, 2, 3, 4],
            vec![Batch, Fixed(2), Fixed(3), Fixed(4)],
        ),
    ] {
        let m = model(
            13,
            vec![
                node("Reshape", &["x", "s"], &["r"], vec![]),
                node("Relu", &["r"], &["y"], vec![]),
            ],
            vec![ti("s", &[target.len() as i64], target)],
            vec![common::input("x", input)],
            &["y"],
        );
        let g = imp(&m).unwrap_or_else(|e| panic!("{input:?} -> {target:?}: {e}"));
        assert_eq!(out_shape(&g, 0), want, "{input:?} -> {target:?}");
        assert_eq!(ops(&g), ["Reshape", "Relu"]);
        assert_eq!(input_shape(&g)[0], Batch);
    }
    // a count that does not fit names the shapes as a user reads them
    let m = model(
        13,
        vec![node("Reshape", &["x", "s"], &["y"], vec![])],
        vec![ti("s", &[2], &[1, 5])],
        vec![common::input("x", &[-1, 24])],
        &["y"],
    );
    let msg = imp(&m).unwrap_err().to_string();
    assert!(msg.contains("[N, 24]") && msg.contains("[1, 5]"), "{msg}");
    assert!(!msg.contains("Fixed") && !msg.contains("Batch"), "{msg}");
}

#[test]
fn unsupported_ops_and_forms_say_op_domain_node_and_form() {
    let m = model(
        13,
        vec![node_in("com.example", "FancyOp", &["x"], &["y"])],
        vec![],
        vec![common::input("x", &[-1, 4])],
        &["y"],
    );
    let msg = imp(&m).unwrap_err().to_string();
    assert_eq!(
        msg,
        "unsupported operator `FancyOp` (domain `com.example`) at node `n_y`"
    );
    let m = model(
        13,
        vec![node("NonMaxSuppression", &["x"], &["y"], vec![])],
        vec![],
        vec![common::input("x", &[-1, 4])],
        &["y"],
    );
    let msg = imp(&m).unwrap_err().to_string();
    assert!(
        msg.contains("`NonMaxSuppression` (domain `ai.onnx`) at node `n_y`"),
        "{msg}"
    );
    // a supported op in a form vouch does not run: the form is named
    let m = model(
        13,
        vec![node("Gather", &["x", "i"], &["y"], vec![A::I("axis", 0)])],
        vec![ti("i", &[1], &[0])],
        vec![common::input("x", &[-1, 4])],
        &["y"],
    );
    let e = imp(&m).unwrap_err();
    assert!(
        matches!(&e, Error::UnsupportedForm { op, node, reason } if op == "Gather" && node == "n_y" && reason.contains("batch axis")),
        "{e:?}"
    );
    // a shape holding the batch size, used where a fixed size is needed: no marker value
    let m = model(
        13,
        vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Expand", &["one", "s"], &["k"], vec![]),
            node("Add", &["x", "k"], &["y"], vec![]),
        ],
        vec![common::tf("one", &[1], &[1.0])],
        vec![common::input("x", &[-1, 4])],
        &["y"],
    );
    let msg = imp(&m).unwrap_err().to_string();
    assert!(msg.contains("batch size"), "{msg}");
    assert!(!msg.contains(MARKER), "{msg}");
    // a string graph input (integer ones are read exactly): the element type by its ONNX name
    let mut x = common::input("ids", &[-1, 4]);
    if let Some(type_proto::Value::TensorType(t)) = x.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        t.elem_type = 8;
    }
    let m = model(
        13,
        vec![node("Relu", &["ids"], &["y"], vec![])],
        vec![],
        vec![x],
        &["y"],
    );
    let msg = imp(&m).unwrap_err().to_string();
    assert!(msg.contains("`ids`") && msg.contains("string"), "{msg}");
}

/// A model that reads across its symbolic axis 0 (a sequence, not rows): the sum over it.
fn sequence_sum() -> Vec<u8> {
    model(
        13,
        vec![node(
            "ReduceSum",
            &["x", "axes"],
            &["y"],
            vec![A::I("keepdims", 0)],
        )],
        vec![ti("axes", &[1], &[0])],
        vec![input_p("x", &["sequence_length", "3"])],
        &["y"],
    )
}

#[test]
fn a_dimension_bound_by_name_fixes_axis_0_too() {
    // as declared, axis 0 is the batch, whose rows a sum may not join
    let e = imp(&sequence_sum()).unwrap_err().to_string();
    assert!(e.contains("batch axis 0"), "{e}");
    // bound by its dim_param name, it is a fixed sequence the graph reads across
    let opts = ImportOptions {
        dims: [("sequence_length".to_owned(), 5)].into(),
        ..Default::default()
    };
    let g = import(&sequence_sum(), &opts).unwrap();
    assert_eq!(input_shape(&g), [Fixed(5), Fixed(3)]);
    assert_eq!(out_shape(&g, 0), [Fixed(3)]);
    // a name no input declares is refused, listing the names they do
    let opts = ImportOptions {
        dims: [("seq".to_owned(), 5)].into(),
        ..Default::default()
    };
    let e = import(&sequence_sum(), &opts).unwrap_err().to_string();
    assert!(e.contains("`seq`") && e.contains("sequence_length"), "{e}");
    assert!(!e.contains(MARKER), "{e}");
}
