//! `ai.onnx.ml` `TreeEnsembleClassifier` and `TreeEnsembleRegressor`: each form the importer
//! lowers (layout, thresholds, weights, base values, aggregates, post-transforms, the binary
//! one-score form, `*_as_tensor` attributes) and each refusal, naming the node.

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops};
use vouch_onnx::graph::{Aggregate, FTrees, NodeMode};
use vouch_onnx::proto::{NodeProto, TensorProto};
use vouch_onnx::{Error, FGraph, FOp};

fn ml(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<A<'_>>) -> NodeProto {
    NodeProto {
        domain: "ai.onnx.ml".into(),
        ..node(op, inputs, outputs, attrs)
    }
}

/// One tree over two features: node 0 `x0 <mode0> 0.5` (missing to true) goes to node 1
/// (true) or node 2 (false); node 1 is `x1 <mode1> -0.0` to leaves 3 and 4; node 2 a leaf.
/// Node ids are listed out of order (2, 0, 4, 1, 3) so the layout is the importer's.
fn one_tree<'a>(modes: &'a [&'a str]) -> Vec<A<'a>> {
    vec![
        A::Is("nodes_treeids", &[0, 0, 0, 0, 0]),
        A::Is("nodes_nodeids", &[2, 0, 4, 1, 3]),
        A::Is("nodes_featureids", &[0, 0, 0, 1, 0]),
        A::Ss("nodes_modes", modes),
        A::Fs("nodes_values", &[0.0, 0.5, 0.0, -0.0, 0.0]),
        A::Is("nodes_truenodeids", &[0, 1, 0, 3, 0]),
        A::Is("nodes_falsenodeids", &[0, 2, 0, 4, 0]),
        A::Is("nodes_missing_value_tracks_true", &[0, 1, 0, 0, 0]),
    ]
}

const MODES: [&str; 5] = ["LEAF", "BRANCH_LEQ", "LEAF", "BRANCH_GT", "LEAF"];

fn regressor<'a>(mut attrs: Vec<A<'a>>, extra: Vec<A<'a>>) -> Vec<u8> {
    attrs.extend(extra);
    model(
        17,
        vec![ml("TreeEnsembleRegressor", &["x"], &["y"], attrs)],
        vec![],
        vec![input("x", &[-1, 2])],
        &["y"],
    )
}

fn classifier<'a>(mut attrs: Vec<A<'a>>, extra: Vec<A<'a>>) -> Vec<u8> {
    attrs.extend(extra);
    model(
        17,
        vec![ml(
            "TreeEnsembleClassifier",
            &["x"],
            &["label", "probabilities"],
            attrs,
        )],
        vec![],
        vec![input("x", &[-1, 2])],
        &["label", "probabilities"],
    )
}

fn trees(g: &FGraph) -> &FTrees {
    g.nodes
        .iter()
        .find_map(|n| match &n.op {
            FOp::TreeEnsemble(t) => Some(t.as_ref()),
            _ => None,
        })
        .expect("a tree ensemble")
}

const TARGET_WEIGHTS: [A<'static>; 4] = [
    A::Is("target_treeids", &[0, 0, 0]),
    A::Is("target_nodeids", &[3, 2, 4]),
    A::Is("target_ids", &[0, 0, 0]),
    A::Fs("target_weights", &[1.5, -2.0, 4.0]),
];

#[test]
fn a_regressor_is_laid_out_depth_first_with_its_thresholds_and_weights() {
    let g = imp(&regressor(
        one_tree(&MODES),
        [
            TARGET_WEIGHTS.to_vec(),
            vec![
                A::Fs("base_values", &[10.0]),
                A::S("aggregate_function", "AVERAGE"),
            ],
        ]
        .concat(),
    ))
    .unwrap();
    assert_eq!(ops(&g), ["TreeEnsemble"]);
    let t = trees(&g);
    // rows: 0 = node 0, 1 = node 1 (true of 0), 2 = leaf 3, 3 = leaf 4, 4 = leaf 2
    let modes: Vec<NodeMode> = t.nodes.iter().map(|n| n.mode).collect();
    use NodeMode::{Gt, Leaf, Leq};
    assert_eq!(modes, [Leq, Gt, Leaf, Leaf, Leaf]);
    assert_eq!((t.nodes[0].a, t.nodes[0].b), (1, 4));
    assert_eq!((t.nodes[1].a, t.nodes[1].b), (2, 3));
    assert!(t.nodes[0].missing && !t.nodes[1].missing);
    assert_eq!((t.nodes[1].feature, t.nodes[1].threshold.to_bits()), (1, 0));
    assert_eq!(t.roots, [0]);
    // leaf 3 owns weight 0 (1.5), leaf 4 weight 1 (4.0), leaf 2 weight 2 (-2.0)
    let leaf = |r: usize| &t.weights[t.nodes[r].a..t.nodes[r].a + t.nodes[r].b];
    assert_eq!(leaf(2), [(0, 1.5)]);
    assert_eq!(leaf(3), [(0, 4.0)]);
    assert_eq!(leaf(4), [(0, -2.0)]);
    assert_eq!(t.base, [10.0]);
    assert_eq!(
        (t.aggregate, t.average, t.features),
        (Aggregate::Sum, true, 2)
    );
}

#[test]
fn every_aggregate_and_node_mode_is_read() {
    for (name, agg) in [
        ("MIN", Aggregate::Min),
        ("MAX", Aggregate::Max),
        ("SUM", Aggregate::Sum),
    ] {
        let g = imp(&regressor(
            one_tree(&MODES),
            [
                TARGET_WEIGHTS.to_vec(),
                vec![A::S("aggregate_function", name)],
            ]
            .concat(),
        ))
        .unwrap();
        assert_eq!((trees(&g).aggregate, trees(&g).average), (agg, false));
    }
    for (a, b) in [
        ("BRANCH_LT", NodeMode::Lt),
        ("BRANCH_GTE", NodeMode::Gte),
        ("BRANCH_EQ", NodeMode::Eq),
        ("BRANCH_NEQ", NodeMode::Neq),
    ] {
        let modes = ["LEAF", a, "LEAF", a, "LEAF"];
        let g = imp(&regressor(one_tree(&modes), TARGET_WEIGHTS.to_vec())).unwrap();
        assert_eq!(trees(&g).nodes[0].mode, b);
    }
}

fn doubles(name: &str, v: &[f64]) -> Box<TensorProto> {
    Box::new(TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: 11,
        double_data: v.to_vec(),
        ..Default::default()
    })
}

#[test]
fn as_tensor_attributes_are_read_and_thresholds_must_be_floats() {
    let mut attrs = one_tree(&MODES);
    attrs.retain(|a| !matches!(a, A::Fs("nodes_values", _)));
    let tensor_attrs = |th: f64| {
        let mut a = attrs.clone();
        a.push(A::T(
            "nodes_values_as_tensor",
            doubles("v", &[0.0, th, 0.0, 0.0, 0.0]),
        ));
        a.push(A::T(
            "target_weights_as_tensor",
            doubles("w", &[1.5, -2.0, 4.0]),
        ));
        a.push(A::T("base_values_as_tensor", doubles("b", &[0.25])));
        a.extend(TARGET_WEIGHTS[..3].iter().cloned());
        a
    };
    let g = imp(&regressor(tensor_attrs(0.75), vec![])).unwrap();
    let t = trees(&g);
    assert_eq!(
        (t.nodes[0].threshold, t.base.as_slice()),
        (0.75, &[0.25f32][..])
    );
    assert_eq!(t.weights[0], (0, 1.5));
    // 0.1 is not a float: the integer model could not compare against it exactly
    let err = imp(&regressor(tensor_attrs(0.1), vec![])).unwrap_err();
    assert!(
        matches!(&err, Error::BadAttribute { node, attr, .. } if node == "n_y" && attr == "nodes_values"),
        "{err}"
    );
}

#[test]
fn a_multiclass_classifier_gives_argmax_labels_and_its_post_transform() {
    let weights = vec![
        A::Is("class_treeids", &[0, 0, 0, 0]),
        A::Is("class_nodeids", &[3, 4, 2, 2]),
        A::Is("class_ids", &[0, 1, 2, 0]),
        A::Fs("class_weights", &[1.0, 2.0, 3.0, -1.0]),
        A::Is("classlabels_int64s", &[0, 1, 2]),
    ];
    for (post, want) in [
        ("NONE", vec!["TreeEnsemble", "ArgMax"]),
        ("SOFTMAX", vec!["TreeEnsemble", "ArgMax", "Softmax"]),
        ("LOGISTIC", vec!["TreeEnsemble", "ArgMax", "Sigmoid"]),
        ("PROBIT", vec!["TreeEnsemble", "ArgMax", "Map"]),
    ] {
        let mut extra = weights.clone();
        extra.push(A::S("post_transform", post));
        extra.push(A::Fs("base_values", &[0.5, 0.25, 0.0]));
        let g = imp(&classifier(one_tree(&MODES), extra)).unwrap();
        assert_eq!(ops(&g), want, "{post}");
        let t = trees(&g);
        assert_eq!(t.base, [0.5, 0.25, 0.0]);
        // leaf 2 (row 4) holds two weights, for classes 2 and 0
        assert_eq!(
            &t.weights[t.nodes[4].a..t.nodes[4].a + t.nodes[4].b],
            [(2, 3.0), (0, -1.0)]
        );
    }
}

#[test]
fn the_binary_one_score_form_becomes_two_columns() {
    let weights = |w: &'static [f32]| {
        vec![
            A::Is("class_treeids", &[0, 0, 0]),
            A::Is("class_nodeids", &[3, 4, 2]),
            A::Is("class_ids", &[0, 0, 0]),
            A::Fs("class_weights", w),
            A::Is("classlabels_int64s", &[0, 1]),
            A::Fs("base_values", &[0.25]),
        ]
    };
    // non-negative weights: [1 - s, s], no post-transform
    let mut extra = weights(&[0.0, 0.5, 1.0]);
    extra.push(A::S("post_transform", "LOGISTIC"));
    let g = imp(&classifier(one_tree(&MODES), extra)).unwrap();
    assert_eq!(ops(&g), ["TreeEnsemble", "ArgMax"]);
    let t = trees(&g);
    assert_eq!(t.base, [0.75, 0.25]);
    assert_eq!(&t.weights[..2], [(0, -0.0), (1, 0.0)]);
    // mixed weights: [-s, s], LOGISTIC on both
    let mut extra = weights(&[-1.0, 0.5, 1.0]);
    extra.push(A::S("post_transform", "LOGISTIC"));
    let g = imp(&classifier(one_tree(&MODES), extra)).unwrap();
    assert_eq!(ops(&g), ["TreeEnsemble", "ArgMax", "Sigmoid"]);
    let t = trees(&g);
    assert_eq!(t.base, [-0.25, 0.25]);
    assert_eq!(&t.weights[..2], [(0, 1.0), (1, -1.0)]);
}

/// CatBoost's binary export: both classes weighted on every leaf, class 0 the negated class 1.
/// onnxruntime labels it `s1 > 0`, the `ArgMax` of `[-s1, s1]`; any other pairing is refused.
#[test]
fn the_binary_two_score_form_is_the_negated_pair() {
    let weights = |w: &'static [f32]| {
        vec![
            A::Is("class_treeids", &[0, 0, 0, 0, 0, 0]),
            A::Is("class_nodeids", &[3, 3, 4, 4, 2, 2]),
            A::Is("class_ids", &[0, 1, 0, 1, 1, 0]),
            A::Fs("class_weights", w),
            A::Is("classlabels_int64s", &[0, 1]),
            A::S("post_transform", "SOFTMAX"),
        ]
    };
    let extra = weights(&[0.5, -0.5, -2.0, 2.0, 1.0, -1.0]);
    let g = imp(&classifier(one_tree(&MODES), extra)).unwrap();
    assert_eq!(ops(&g), ["TreeEnsemble", "ArgMax", "Softmax"]);
    let t = trees(&g);
    assert_eq!(t.base, [-0.0, 0.0]);
    let leaf = |i: usize| &t.weights[t.nodes[i].a..t.nodes[i].a + t.nodes[i].b];
    let pairs: Vec<_> = (0..t.nodes.len())
        .filter(|&i| t.nodes[i].mode == NodeMode::Leaf)
        .map(|i| leaf(i).to_vec())
        .collect();
    assert!(pairs.contains(&vec![(0, 0.5), (1, -0.5)]), "{pairs:?}");
    assert!(pairs.contains(&vec![(0, -1.0), (1, 1.0)]), "{pairs:?}");
    let err = imp(&classifier(
        one_tree(&MODES),
        weights(&[0.5, -0.5, -2.0, 2.5, 1.0, -1.0]),
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("TreeEnsembleClassifier") && err.contains("not the class-1 weights negated"),
        "{err}"
    );
}

/// `SOFTMAX_ZERO` over classes whose weights are one-signed (each class's score is zero exactly
/// when no tree reached a leaf weighing it): the scores, their `ArgMax` and a `SoftmaxZero`.
#[test]
fn softmax_zero_over_one_signed_classes() {
    let m = classifier(
        one_tree(&MODES),
        vec![
            A::Is("class_treeids", &[0, 0, 0]),
            A::Is("class_nodeids", &[3, 4, 2]),
            A::Is("class_ids", &[0, 1, 2]),
            A::Fs("class_weights", &[1.0, 2.0, 3.0]),
            A::Is("classlabels_int64s", &[0, 1, 2]),
            A::S("post_transform", "SOFTMAX_ZERO"),
        ],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["TreeEnsemble", "ArgMax", "SoftmaxZero"]);
    assert!(matches!(g.nodes[2].op, FOp::SoftmaxZero { axis: 1 }));
}

#[test]
fn forms_vouch_cannot_run_are_refused_naming_the_node() {
    let base_weights = || {
        vec![
            A::Is("class_treeids", &[0, 0, 0]),
            A::Is("class_nodeids", &[3, 4, 2]),
            A::Is("class_ids", &[0, 1, 2]),
            A::Fs("class_weights", &[1.0, 2.0, 3.0]),
        ]
    };
    let labels = A::Is("classlabels_int64s", &[0, 1, 2]);
    let unsupported: Vec<Vec<u8>> = vec![
        // SOFTMAX_ZERO over a class whose weights have both signs (a score may cancel)
        classifier(
            one_tree(&MODES),
            vec![
                A::Is("class_treeids", &[0, 0, 0]),
                A::Is("class_nodeids", &[3, 4, 2]),
                A::Is("class_ids", &[0, 0, 2]),
                A::Fs("class_weights", &[1.0, -2.0, 3.0]),
                labels.clone(),
                A::S("post_transform", "SOFTMAX_ZERO"),
            ],
        ),
        // PROBIT on the binary one-score form
        classifier(
            one_tree(&MODES),
            vec![
                A::Is("class_treeids", &[0, 0, 0]),
                A::Is("class_nodeids", &[3, 4, 2]),
                A::Is("class_ids", &[0, 0, 0]),
                A::Fs("class_weights", &[0.25, 0.5, 0.75]),
                A::Is("classlabels_int64s", &[0, 1]),
                A::S("post_transform", "PROBIT"),
            ],
        ),
        // SOFTMAX_ZERO with a leaf weight too small to tell from zero
        classifier(
            one_tree(&MODES),
            vec![
                A::Is("class_treeids", &[0, 0, 0]),
                A::Is("class_nodeids", &[3, 4, 2]),
                A::Is("class_ids", &[0, 1, 2]),
                A::Fs("class_weights", &[1.0, 1e-8, 3.0]),
                labels.clone(),
                A::S("post_transform", "SOFTMAX_ZERO"),
            ],
        ),
        // SOFTMAX_ZERO on the binary one-score form
        classifier(
            one_tree(&MODES),
            vec![
                A::Is("class_treeids", &[0, 0, 0]),
                A::Is("class_nodeids", &[3, 4, 2]),
                A::Is("class_ids", &[0, 0, 0]),
                A::Fs("class_weights", &[0.25, 0.5, 0.75]),
                A::Is("classlabels_int64s", &[0, 1]),
                A::S("post_transform", "SOFTMAX_ZERO"),
            ],
        ),
        classifier(one_tree(&MODES), base_weights()),
        classifier(
            one_tree(&MODES),
            [
                base_weights(),
                vec![A::Is("classlabels_int64s", &[1, 2, 3])],
            ]
            .concat(),
        ),
        // binary with weights for class 1
        classifier(
            one_tree(&MODES),
            vec![
                A::Is("class_treeids", &[0, 0]),
                A::Is("class_nodeids", &[3, 4]),
                A::Is("class_ids", &[0, 1]),
                A::Fs("class_weights", &[1.0, 2.0]),
                A::Is("classlabels_int64s", &[0, 1]),
            ],
        ),
        regressor(
            one_tree(&["LEAF", "BRANCH_MEMBER", "LEAF", "BRANCH_GT", "LEAF"]),
            TARGET_WEIGHTS.to_vec(),
        ),
        regressor(
            one_tree(&MODES),
            [
                TARGET_WEIGHTS.to_vec(),
                vec![A::S("post_transform", "LOGISTIC")],
            ]
            .concat(),
        ),
        regressor(
            one_tree(&MODES),
            [
                TARGET_WEIGHTS.to_vec(),
                vec![A::S("post_transform", "SOFTMAX_ZERO")],
            ]
            .concat(),
        ),
    ];
    for m in unsupported {
        let err = imp(&m).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedForm { node, .. } if node == "n_label" || node == "n_y"),
            "{err}"
        );
    }
    let bad = |attrs: Vec<A<'_>>, attr: &str| {
        let err = imp(&regressor(attrs, vec![])).unwrap_err();
        assert!(
            matches!(&err, Error::BadAttribute { node, attr: a, .. } if node == "n_y" && a == attr),
            "{attr}: {err}"
        );
    };
    let with = |replace: A<'static>| {
        let name = match &replace {
            A::Is(n, _) | A::Fs(n, _) | A::Ss(n, _) => *n,
            _ => unreachable!(),
        };
        let mut a: Vec<A<'static>> = one_tree(&MODES)
            .into_iter()
            .filter(|x| !matches!(x, A::Is(n, _) | A::Fs(n, _) | A::Ss(n, _) if *n == name))
            .collect();
        a.push(replace);
        a.extend(TARGET_WEIGHTS.to_vec());
        a
    };
    bad(
        with(A::Is("nodes_featureids", &[0, 2, 0, 1, 0])),
        "nodes_featureids",
    );
    bad(
        with(A::Is("nodes_truenodeids", &[0, 7, 0, 3, 0])),
        "nodes_truenodeids",
    );
    // node 1's children point back at node 0: a cycle, and the tree has no root
    bad(
        with(A::Is("nodes_truenodeids", &[0, 1, 0, 0, 0])),
        "nodes_nodeids",
    );
    bad(
        with(A::Fs("nodes_values", &[0.0, f32::NAN, 0.0, 0.0, 0.0])),
        "nodes_values",
    );
    bad(with(A::Is("nodes_nodeids", &[2, 0, 4, 1])), "nodes_nodeids");
    bad(
        with(A::Is("nodes_missing_value_tracks_true", &[0, 1])),
        "nodes_missing_value_tracks_true",
    );
    // a weight on a branch node, a target id out of range
    let mut a = one_tree(&MODES);
    a.extend([
        A::Is("target_treeids", &[0]),
        A::Is("target_nodeids", &[1]),
        A::Is("target_ids", &[0]),
        A::Fs("target_weights", &[1.0]),
    ]);
    bad(a, "target_nodeids");
    let mut a = one_tree(&MODES);
    a.extend([
        A::Is("target_treeids", &[0]),
        A::Is("target_nodeids", &[2]),
        A::Is("target_ids", &[3]),
        A::Fs("target_weights", &[1.0]),
    ]);
    bad(a, "target_ids");
    // trees over a computed tensor
    let m = model(
        17,
        vec![
            node("Relu", &["x"], &["r"], vec![]),
            ml(
                "TreeEnsembleRegressor",
                &["r"],
                &["y"],
                [one_tree(&MODES), TARGET_WEIGHTS.to_vec()].concat(),
            ),
        ],
        vec![],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    let err = imp(&m).unwrap_err();
    assert!(
        matches!(&err, Error::UnsupportedForm { node, .. } if node == "n_y"),
        "{err}"
    );
}

fn scaled_regressor(modes: &[&str], outputs: &[&str]) -> Vec<u8> {
    model(
        17,
        vec![
            ml(
                "Scaler",
                &["x"],
                &["s"],
                vec![A::Fs("offset", &[1.0, 2.0]), A::Fs("scale", &[0.5, -4.0])],
            ),
            ml(
                "TreeEnsembleRegressor",
                &["s"],
                &["y"],
                [one_tree(modes), TARGET_WEIGHTS.to_vec()].concat(),
            ),
        ],
        vec![],
        vec![input("x", &[-1, 2])],
        outputs,
    )
}

#[test]
fn a_scaler_before_the_trees_moves_onto_the_thresholds() {
    let g = imp(&scaled_regressor(&MODES, &["y"])).unwrap();
    assert_eq!(
        ops(&g),
        ["TreeEnsemble"],
        "the Scaler's Mul and Add are dropped"
    );
    assert_eq!(g.inputs.len(), 1);
    let t = trees(&g);
    // feature 0: (x - 1) * 0.5 <= 0.5  <=>  x <= 2
    assert_eq!(
        (t.nodes[0].mode, t.nodes[0].threshold),
        (NodeMode::Leq, 2.0)
    );
    // feature 1: (x - 2) * -4 > 0  <=>  x < 2 (the scale is negative)
    assert_eq!((t.nodes[1].mode, t.nodes[1].threshold), (NodeMode::Lt, 2.0));
    // an EQ split cannot move through a Scaler; a Scaler output read elsewhere stays computed
    let eq = ["LEAF", "BRANCH_EQ", "LEAF", "BRANCH_GT", "LEAF"];
    for m in [
        scaled_regressor(&eq, &["y"]),
        scaled_regressor(&MODES, &["y", "s"]),
    ] {
        let err = imp(&m).unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedForm { node, .. } if node == "n_y"),
            "{err}"
        );
    }
}

/// The opset-5 `TreeEnsemble` in the form of the ONNX backend case `single_tree` (float
/// input): branch 0 (`x0 <= 3.25`) to branch 1 or 2, leaves in their own arrays. Its layout is
/// the legacy one's; a set-membership split is a chain of `BRANCH_EQ` tests; a post-transform
/// is refused naming the node.
#[test]
fn the_opset5_tree_ensemble_is_the_legacy_layout() {
    use vouch_onnx::proto::TensorProto;
    let u8s = |name: &str, v: &[u8]| {
        Box::new(TensorProto {
            name: name.into(),
            dims: vec![v.len() as i64],
            data_type: 2,
            raw_data: v.to_vec(),
            ..Default::default()
        })
    };
    let fs = |name: &str, v: &[f32]| Box::new(common::tf(name, &[v.len() as i64], v));
    let v5 = |modes: &[u8], extra: Vec<A<'static>>| {
        let mut attrs = vec![
            A::I("n_targets", 2),
            A::Is("tree_roots", &[0]),
            A::Is("nodes_featureids", &[0, 0, 1]),
            A::T("nodes_modes", u8s("modes", modes)),
            A::T("nodes_splits", fs("splits", &[3.25, 1.2, 4.2])),
            A::Is("nodes_truenodeids", &[1, 0, 1]),
            A::Is("nodes_trueleafs", &[0, 1, 1]),
            A::Is("nodes_falsenodeids", &[2, 2, 3]),
            A::Is("nodes_falseleafs", &[0, 1, 1]),
            A::Is("leaf_targetids", &[0, 1, 0, 1]),
            A::T("leaf_weights", fs("w", &[5.23, 12.12, -12.23, 7.21])),
        ];
        attrs.extend(extra);
        model(
            17,
            vec![ml("TreeEnsemble", &["x"], &["y"], attrs)],
            vec![],
            vec![input("x", &[-1, 2])],
            &["y"],
        )
    };
    let g = imp(&v5(&[0, 1, 3], vec![])).unwrap();
    assert_eq!(ops(&g), ["TreeEnsemble"]);
    let t = trees(&g);
    let modes: Vec<NodeMode> = t.nodes.iter().map(|n| n.mode).collect();
    use NodeMode::{Gt, Leaf, Leq, Lt};
    // depth first, true subtrees first: 0, 1, leaf 0, leaf 2, 2, leaf 1, leaf 3
    assert_eq!(modes, [Leq, Lt, Leaf, Leaf, Gt, Leaf, Leaf]);
    assert_eq!(t.nodes[4].feature, 1);
    assert_eq!(t.base, [0.0, 0.0]);
    let w: Vec<(usize, f32)> = [2, 3, 5, 6]
        .iter()
        .flat_map(|&i| t.weights[t.nodes[i].a..t.nodes[i].a + t.nodes[i].b].to_vec())
        .collect();
    assert_eq!(w, [(0, 5.23), (0, -12.23), (1, 12.12), (1, 7.21)]);
    // a set-membership split: a chain of EQ tests sharing the true leaf (unfolded)
    let g = imp(&v5(
        &[0, 6, 3],
        vec![A::T("membership_values", fs("m", &[1.5, 2.5]))],
    ))
    .unwrap();
    let t = trees(&g);
    let modes: Vec<NodeMode> = t.nodes.iter().map(|n| n.mode).collect();
    use NodeMode::Eq;
    assert_eq!(modes, [Leq, Eq, Leaf, Eq, Leaf, Leaf, Gt, Leaf, Leaf]);
    assert_eq!((t.nodes[1].threshold, t.nodes[3].threshold), (1.5, 2.5));
    assert_eq!((t.nodes[1].a, t.nodes[1].b, t.nodes[3].a), (2, 3, 4));
    for (m, why) in [
        (
            v5(&[0, 1, 3], vec![A::I("post_transform", 2)]),
            "post_transform",
        ),
        (
            v5(&[0, 6, 6], vec![A::T("membership_values", fs("m", &[1.5]))]),
            "1 sets for 2",
        ),
        (
            v5(
                &[0, 6, 3],
                vec![A::T("membership_values", fs("m", &[0.5; 65]))],
            ),
            "65 values",
        ),
    ] {
        let e = imp(&m).unwrap_err().to_string();
        assert!(e.contains("TreeEnsemble") || e.contains("n_y"), "{e}");
        assert!(e.contains(why), "{e}");
    }
}

/// A regressor over `x` [N, 2] with the nodes `(id, mode, feature, true, false)` of one tree
/// and one weight per leaf id.
fn graph_of(nodes: &[(i64, &str, i64, i64, i64)], leaves: &[(i64, f32)]) -> Vec<u8> {
    let col = |f: fn(&(i64, &str, i64, i64, i64)) -> i64| nodes.iter().map(f).collect::<Vec<_>>();
    let (ids, feats, trues, falses) = (col(|n| n.0), col(|n| n.2), col(|n| n.3), col(|n| n.4));
    let modes: Vec<&str> = nodes.iter().map(|n| n.1).collect();
    let lids: Vec<i64> = leaves.iter().map(|l| l.0).collect();
    let lw: Vec<f32> = leaves.iter().map(|l| l.1).collect();
    let zeros = vec![0; nodes.len()];
    let values = vec![1.0; nodes.len()];
    let wz = vec![0; leaves.len()];
    regressor(
        vec![
            A::Is("nodes_treeids", &zeros),
            A::Is("nodes_nodeids", &ids),
            A::Is("nodes_featureids", &feats),
            A::Ss("nodes_modes", &modes),
            A::Fs("nodes_values", &values),
            A::Is("nodes_truenodeids", &trues),
            A::Is("nodes_falsenodeids", &falses),
            A::Is("target_treeids", &wz),
            A::Is("target_nodeids", &lids),
            A::Is("target_ids", &wz),
            A::Fs("target_weights", &lw),
        ],
        vec![],
    )
}

/// onnxmltools' categorical splits share a true child between chained `BRANCH_EQ` tests: the
/// shared subtree is unfolded, one copy per branch reaching it, each with its leaf weights.
#[test]
fn a_shared_child_is_unfolded_and_a_cycle_is_refused() {
    let g = imp(&graph_of(
        &[
            (0, "BRANCH_EQ", 1, 2, 1),
            (1, "BRANCH_EQ", 1, 2, 3),
            (2, "LEAF", 0, 0, 0),
            (3, "LEAF", 0, 0, 0),
        ],
        &[(2, 5.0), (3, 7.0)],
    ))
    .unwrap();
    let t = trees(&g);
    assert_eq!(t.nodes.len(), 5, "leaf 2 appears twice");
    let leaf_values: Vec<f32> = t
        .nodes
        .iter()
        .filter(|n| n.mode == vouch_onnx::graph::NodeMode::Leaf)
        .map(|n| t.weights[n.a].1)
        .collect();
    assert_eq!(leaf_values, [5.0, 5.0, 7.0]);
    // 1 -> 3 -> 1 is a cycle below the root
    let err = imp(&graph_of(
        &[
            (0, "BRANCH_LEQ", 0, 1, 2),
            (1, "BRANCH_LEQ", 0, 3, 2),
            (3, "BRANCH_LEQ", 0, 1, 2),
            (2, "LEAF", 0, 0, 0),
        ],
        &[(2, 1.0)],
    ))
    .unwrap_err();
    assert!(
        matches!(&err, Error::BadAttribute { node, .. } if node == "n_y")
            && err.to_string().contains("cycle"),
        "{err}"
    );
}
