//! The `ai.onnx.ml` preprocessing ops `Normalizer` and `Binarizer`: how they lower, and what
//! is refused (naming the node).

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, out_shape};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::{Error, FOp, ScalarFn};

/// A one-node `ai.onnx.ml` model over an input of `dims`.
fn ml(op: &str, attrs: Vec<A<'_>>, dims: &[i64]) -> Vec<u8> {
    let mut n = node(op, &["x"], &["y"], attrs);
    n.domain = "ai.onnx.ml".into();
    model(17, vec![n], vec![], vec![input("x", dims)], &["y"])
}

/// The functions of the graph's `Map` nodes, in order.
fn maps(g: &vouch_onnx::FGraph) -> Vec<ScalarFn> {
    g.nodes
        .iter()
        .filter_map(|n| match n.op {
            FOp::Map { f } => Some(f),
            _ => None,
        })
        .collect()
}

#[test]
fn l2_normalizer_is_two_passes_of_squares_sum_and_rsqrt() {
    let g = imp(&ml("Normalizer", vec![A::S("norm", "L2")], &[-1, 4])).unwrap();
    let pass = ["Mul", "Reduce", "Map", "Mul"];
    assert_eq!(ops(&g), [pass, pass].concat());
    assert_eq!(maps(&g), [ScalarFn::Rsqrt, ScalarFn::Rsqrt]);
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(4)]);
    assert_eq!(g.values[g.outputs[0]].name, "y");
    // a fixed row count is rows too
    let g = imp(&ml("Normalizer", vec![A::S("norm", "L1")], &[2, 4])).unwrap();
    assert_eq!(out_shape(&g, 0), [Fixed(2), Fixed(4)]);
    assert_eq!(g.values[g.nodes[2].output].shape, [Fixed(2), Fixed(1)]);
}

#[test]
fn l1_normalizer_sums_magnitudes_as_a_linear_over_relu_and_x() {
    let g = imp(&ml("Normalizer", vec![A::S("norm", "L1")], &[-1, 3])).unwrap();
    let pass = ["Relu", "Concat", "Linear", "Map", "Mul"];
    assert_eq!(ops(&g), [pass, pass].concat());
    let FOp::Linear { weight, bias: None } = g.nodes[2].op else {
        panic!("{:?}", g.nodes[2].op)
    };
    assert_eq!(g.consts[weight].shape, [1, 6]);
    assert_eq!(g.consts[weight].data, [2., 2., 2., -1., -1., -1.]);
    assert_eq!(maps(&g), [ScalarFn::InverseOrOne, ScalarFn::InverseOrOne]);
}

/// `MAX` is the default norm, onnxruntime's largest value (not magnitude): the first factor
/// divides by its magnitude, the second by the (then ±1) maximum, keeping its sign.
#[test]
fn max_normalizer_is_the_default() {
    let g = imp(&ml("Normalizer", vec![], &[-1, 3])).unwrap();
    let pass = ["Reduce", "Map", "Mul"];
    assert_eq!(ops(&g), [pass, pass].concat());
    assert_eq!(
        maps(&g),
        [ScalarFn::InverseAbsOrOne, ScalarFn::InverseOrOne]
    );
    let x = [-3.0_f32, -1.0, -2.0];
    let m = x.iter().fold(f32::MIN, |m, &v| m.max(v));
    let c = ScalarFn::InverseAbsOrOne.apply(m);
    let y: Vec<f32> = x.iter().map(|v| v * c).collect();
    let r = ScalarFn::InverseOrOne.apply(y.iter().fold(f32::MIN, |m, &v| m.max(v)));
    let z: Vec<f32> = y.iter().map(|v| v * r).collect();
    assert_eq!(z, [3.0, 1.0, 2.0], "x / max(x), as onnxruntime");
}

#[test]
fn normalizer_factors_leave_a_zero_row_unchanged() {
    for f in [
        ScalarFn::Rsqrt,
        ScalarFn::InverseOrOne,
        ScalarFn::InverseAbsOrOne,
    ] {
        assert!(f.apply(0.0).is_finite(), "{f:?}");
    }
    assert_eq!(ScalarFn::Rsqrt.apply(4.0), 0.5);
    assert_eq!(ScalarFn::InverseOrOne.apply(0.0), 1.0);
    assert_eq!(ScalarFn::InverseAbsOrOne.apply(-4.0), 0.25);
}

#[test]
fn normalizer_refusals_name_the_node() {
    for (attrs, dims, why) in [
        (vec![A::S("norm", "L3")], &[-1, 3][..], "L3"),
        (vec![A::S("norm", "L2")], &[-1, 2, 3][..], "[N, F]"),
        (vec![A::S("norm", "L2")], &[-1, 300][..], "300 features"),
    ] {
        let err = imp(&ml("Normalizer", attrs, dims)).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::UnsupportedForm { node, .. } | Error::BadAttribute { node, .. }
                    if node == "n_y"
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(why), "{err}");
    }
}

#[test]
fn binarizer_is_a_strict_step_map() {
    let g = imp(&ml("Binarizer", vec![A::F("threshold", 0.5)], &[-1, 3])).unwrap();
    assert_eq!(ops(&g), ["Map"]);
    let [f] = maps(&g)[..] else { panic!() };
    assert_eq!(f, ScalarFn::Greater { than: 0.5 });
    assert_eq!(f.apply(0.5), 0.0, "x > threshold, strictly");
    assert_eq!(f.apply(0.500_001), 1.0);
    assert_eq!(f.apply(-7.0), 0.0);
}

#[test]
fn binarizer_without_a_threshold_is_refused_naming_the_node() {
    let err = imp(&ml("Binarizer", vec![], &[-1, 3])).unwrap_err();
    assert!(
        matches!(&err, Error::BadAttribute { node, .. } if node == "n_y"),
        "{err:?}"
    );
    assert!(err.to_string().contains("threshold"), "{err}");
}

/// onnxruntime's `PROBIT`: `√2 · erfinv(2x - 1)` with Winitzki's approximation of `erfinv`
/// (within about 2e-3 of the true quantile), 0 at one half, NaN outside `[0, 1]`.
#[test]
fn probit_is_onnxruntimes_approximation() {
    let p = ScalarFn::Probit;
    assert_eq!(p.apply(0.5), 0.0);
    assert!(
        (p.apply(0.975) - 1.959_964).abs() < 5e-3,
        "{}",
        p.apply(0.975)
    );
    assert!((p.apply(0.025) + p.apply(0.975)).abs() < 1e-5);
    assert!(p.apply(1.5).is_nan() && p.apply(-0.5).is_nan());
}

/// `ArgMax` over three scores, then a `LabelEncoder` with `attrs`.
fn encoded_argmax(attrs: Vec<A<'_>>) -> Vec<u8> {
    let mut enc = node("LabelEncoder", &["idx"], &["label"], attrs);
    enc.domain = "ai.onnx.ml".into();
    model(
        17,
        vec![
            node(
                "ArgMax",
                &["x"],
                &["idx"],
                vec![A::I("axis", 1), A::I("keepdims", 0)],
            ),
            enc,
        ],
        vec![],
        vec![input("x", &[-1, 3])],
        &["label"],
    )
}

/// A `LabelEncoder` mapping every class index to itself (keys in any order, the default
/// unused) is the identity on the `ArgMax` and emits nothing.
#[test]
fn label_encoder_identity_on_class_indices_disappears() {
    let g = imp(&encoded_argmax(vec![
        A::Is("keys_int64s", &[2, 0, 1, 7]),
        A::Is("values_int64s", &[2, 0, 1, 9]),
    ]))
    .unwrap();
    assert_eq!(ops(&g), ["ArgMax"]);
    assert_eq!(g.values[g.outputs[0]].shape, [Batch]);
}

#[test]
fn label_encoder_refusals_name_the_node() {
    for (attrs, why) in [
        // class 2 becomes 5
        (
            vec![
                A::Is("keys_int64s", &[0, 1, 2]),
                A::Is("values_int64s", &[0, 1, 5]),
            ],
            "identity",
        ),
        // class 2 is missing: the default -1
        (
            vec![
                A::Is("keys_int64s", &[0, 1]),
                A::Is("values_int64s", &[0, 1]),
            ],
            "identity",
        ),
        (
            vec![
                A::Is("keys_int64s", &[0, 1, 2]),
                A::Fs("values_floats", &[0.0, 1.0, 2.0]),
            ],
            "identity",
        ),
        (
            vec![
                A::Is("keys_int64s", &[0, 1, 2]),
                A::Ss("values_strings", &["a", "b", "c"]),
            ],
            "string",
        ),
        (vec![A::Ss("classes_strings", &["a", "b", "c"])], "string"),
    ] {
        let err = imp(&encoded_argmax(attrs)).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedForm { node, op, .. } if node == "n_label" && op == "LabelEncoder"),
            "{err:?}"
        );
        assert!(err.to_string().contains(why), "{err}");
    }
}

/// On a constant the mapping folds: keys not given take the default.
#[test]
fn label_encoder_folds_on_constants() {
    let mut enc = node(
        "LabelEncoder",
        &["k"],
        &["v"],
        vec![
            A::Is("keys_int64s", &[1, 2]),
            A::Fs("values_floats", &[0.5, 2.5]),
            A::F("default_float", 9.0),
        ],
    );
    enc.domain = "ai.onnx.ml".into();
    let m = model(
        17,
        vec![enc, node("Add", &["x", "v"], &["y"], vec![])],
        vec![common::ti("k", &[3], &[2, 1, 4])],
        vec![input("x", &[-1, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Add"]);
    let vouch_onnx::Operand::Const(c) = g.nodes[0].inputs[1] else {
        panic!("{:?}", g.nodes[0].inputs)
    };
    assert_eq!(g.consts[c].data, [2.5, 0.5, 9.0]);
}

/// A `LinearRegressor` with `post_transform` PROBIT is its `Linear` through the probit table;
/// `SOFTMAX_ZERO` on a regressor (one score) is refused with its reason.
#[test]
fn linear_regressor_probit_and_softmax_zero() {
    let reg = |post: &str| {
        ml(
            "LinearRegressor",
            vec![
                A::Fs("coefficients", &[0.1, 0.2]),
                A::Fs("intercepts", &[0.5]),
                A::S("post_transform", post),
            ],
            &[-1, 2],
        )
    };
    let g = imp(&reg("PROBIT")).unwrap();
    assert_eq!(ops(&g), ["Linear", "Map"]);
    assert_eq!(maps(&g), [ScalarFn::Probit]);
    assert_eq!(g.values[g.outputs[0]].name, "y");
    let err = imp(&reg("SOFTMAX_ZERO")).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedForm { node, .. } if node == "n_y"),
        "{err:?}"
    );
    assert!(err.to_string().contains("SOFTMAX_ZERO"), "{err}");
}
