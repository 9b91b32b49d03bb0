//! `ai.onnx.ml` `SVMClassifier` and `SVMRegressor`: the `LINEAR` kernel folds the support
//! vectors into one `Linear`; `POLY`, `SIGMOID` and `RBF` kernels lower into a `Linear`, a fine
//! `Map` and a `Linear` of the dual coefficients; one-vs-one classifiers count votes; other
//! forms are refused naming the node.

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops};
use vouch_onnx::proto::NodeProto;
use vouch_onnx::{FGraph, FOp, Operand, ScalarFn};

fn ml(op: &str, outputs: &[&str], attrs: Vec<A<'_>>) -> NodeProto {
    NodeProto {
        domain: "ai.onnx.ml".into(),
        ..node(op, &["x"], outputs, attrs)
    }
}

/// A classifier over inputs of two features with `extra` attributes.
fn classifier_with(extra: Vec<A<'static>>) -> Vec<u8> {
    model(
        17,
        vec![ml("SVMClassifier", &["label", "scores"], extra)],
        vec![],
        vec![input("x", &[-1, 2])],
        &["label", "scores"],
    )
}

fn classifier(kernel: &'static str, labels: &'static [i64]) -> Vec<u8> {
    // two support vectors of two features, one per class
    classifier_with(vec![
        A::S("kernel_type", kernel),
        A::Fs("kernel_params", &[0.5, 0.25, 3.0]),
        A::Is("classlabels_ints", labels),
        A::Is("vectors_per_class", &[1, 1]),
        A::Fs("support_vectors", &[1.0, 2.0, 3.0, -1.0]),
        A::Fs("coefficients", &[0.5, -0.25]),
        A::Fs("rho", &[0.125]),
    ])
}

/// The constant data of operand-free node `i`'s weight and bias (a `Linear`).
fn linear(g: &FGraph, i: usize) -> (Vec<f32>, Vec<f32>) {
    let FOp::Linear { weight, bias } = &g.nodes[i].op else {
        panic!("node {i} is a {:?}", g.nodes[i].op)
    };
    let b = bias.map(|b| g.consts[b].data.clone()).unwrap_or_default();
    (g.consts[*weight].data.clone(), b)
}

#[test]
fn a_linear_kernel_classifier_is_one_linear() {
    let g = imp(&classifier("LINEAR", &[0, 1])).unwrap();
    assert_eq!(ops(&g), ["Linear", "ArgMax", "Select"]);
    // w = 0.5·(1, 2) - 0.25·(3, -1) = (-0.25, 1.25); rows [w, -w], bias [ρ, -ρ]
    let FOp::Linear { weight, bias } = &g.nodes[0].op else {
        panic!("not a Linear")
    };
    assert_eq!(g.consts[*weight].data, [-0.25, 1.25, 0.25, -1.25]);
    assert_eq!(g.consts[bias.unwrap()].data, [0.125, -0.125]);
    assert!(matches!(
        g.nodes[1].op,
        FOp::ArgMax {
            select_last_index: true,
            ..
        }
    ));
    assert_eq!(
        g.nodes[2].op,
        FOp::Select {
            maps: vec![vec![], vec![1, 0]]
        }
    );
}

/// `RBF`: one `Linear` writes each support vector's scaled differences `√γ (x - v_i)` and
/// `c`, `-c`; two `Select`s and a `MatMul` make `u_i = γ ‖x - v_i‖² - m c²` (an exact sum of
/// squares), clipped to the table's window `[-T/2, T/2]` with `m c² = T/2`; the kernel is
/// `e^-(u_i + T/2)`, then the coefficients and `ρ`.
#[test]
fn an_rbf_kernel_is_a_sum_of_squared_differences_and_a_fine_map() {
    let g = imp(&classifier("RBF", &[0, 1])).unwrap();
    assert_eq!(
        ops(&g),
        [
            "Linear", "Reshape", "Select", "Reshape", "Select", "Reshape", "MatMul", "Clip",
            "Reshape", "Map", "Linear", "ArgMax", "Select"
        ]
    );
    let FOp::Map {
        f: ScalarFn::RbfKernel { shift },
    } = g.nodes[9].op
    else {
        panic!("{:?}", g.nodes[9].op)
    };
    // T = ln(10^5 Σ |c_i|), Σ |c_i| = 0.75
    assert!((shift - 0.5 * (0.75e5f32).ln()).abs() < 1e-4, "{shift}");
    assert_eq!(
        g.nodes[7].op,
        FOp::Clip {
            min: -shift,
            max: shift
        }
    );
    // the graph's arithmetic on one input against exp(-γ ‖x - v‖²), γ = 0.5
    let (w, b) = linear(&g, 0);
    let pick = |i: usize| {
        let FOp::Select { maps } = &g.nodes[i].op else {
            panic!("{:?}", g.nodes[i].op)
        };
        maps.last().unwrap().clone()
    };
    let (left, right) = (pick(2), pick(4));
    let x = [0.3f32, -0.7];
    let sv = [[1.0f32, 2.0], [3.0, -1.0]];
    let diffs: Vec<f32> = w
        .chunks_exact(2)
        .zip(&b)
        .map(|(r, b)| r[0] * x[0] + r[1] * x[1] + b)
        .collect();
    for (i, v) in sv.iter().enumerate() {
        let row = &diffs[i * 4..i * 4 + 4];
        let u: f32 = left
            .iter()
            .zip(&right)
            .map(|(&l, &r)| row[l] * row[r])
            .sum();
        let d = (x[0] - v[0]).powi(2) + (x[1] - v[1]).powi(2);
        assert!((u - (0.5 * d - shift)).abs() < 1e-5, "vector {i}: {u}");
        let k = ScalarFn::RbfKernel { shift }.apply(u);
        assert!((k - (-0.5 * d).exp()).abs() < 1e-6, "vector {i}: {k}");
    }
    assert_eq!(
        linear(&g, 10),
        (vec![0.5, -0.25, -0.5, 0.25], vec![0.125, -0.125])
    );
}

/// `POLY` and `SIGMOID`: `γ x · v + c₀` then a fine `Pow` or `Tanh`. The `POLY` argument of
/// each vector is divided by `σ_i = γ ‖v_i‖ max_j ‖v_j‖ + |c₀|` and its coefficient multiplied
/// by `σ_i^3`: the same scores. The `SIGMOID` argument is clipped where `tanh` is within
/// `10^-5 / reach` of ±1 (at least 4; `reach = Σ |c_i|`).
#[test]
fn poly_and_sigmoid_kernels_map_a_scaled_dot_product() {
    let g = imp(&classifier("POLY", &[0, 1])).unwrap();
    assert_eq!(ops(&g), ["Linear", "Map", "Linear", "ArgMax", "Select"]);
    let f = ScalarFn::Pow { exponent: 3.0 };
    assert_eq!(g.nodes[1].op, FOp::Map { f });
    let g = imp(&classifier("SIGMOID", &[0, 1])).unwrap();
    let want = ["Linear", "Clip", "Map", "Linear", "ArgMax", "Select"];
    assert_eq!(ops(&g), want);
    let f = ScalarFn::Tanh;
    assert_eq!(g.nodes[2].op, FOp::Map { f });
    // reach 0.75: w = ln(2·10^5 · 0.75) / 2
    let w = 0.5 * (2e5f32 * 0.75).ln();
    assert!(
        matches!(g.nodes[1].op, FOp::Clip { min, max } if (max - w).abs() < 1e-5 && min == -max),
        "{:?}",
        g.nodes[1].op
    );
    assert_eq!(linear(&g, 0), (vec![0.5, 1.0, 1.5, -0.5], vec![0.25, 0.25]));
    // POLY: σ = 0.5 · √5 · √10 + 0.25 and 0.5 · √10 · √10 + 0.25
    let g = imp(&classifier("POLY", &[0, 1])).unwrap();
    let (w, b) = linear(&g, 0);
    let sigma = [0.5 * 50f32.sqrt() + 0.25, 5.25];
    let want_w = [
        0.5 / sigma[0],
        1.0 / sigma[0],
        1.5 / sigma[1],
        -0.5 / sigma[1],
    ];
    for (got, want) in w.iter().zip(want_w) {
        assert!((got - want).abs() < 1e-6, "{w:?}");
    }
    let (coef, rho) = linear(&g, 2);
    let x = [0.3f32, -0.7];
    let score: f32 = (0..2)
        .map(|i| {
            let u = w[2 * i] * x[0] + w[2 * i + 1] * x[1] + b[i];
            coef[i] * u * u * u
        })
        .sum::<f32>()
        + rho[0];
    let sv = [[1.0f32, 2.0], [3.0, -1.0]];
    let direct: f32 = [0.5f32, -0.25]
        .iter()
        .zip(sv)
        .map(|(c, v)| c * (0.5 * (x[0] * v[0] + x[1] * v[1]) + 0.25).powi(3))
        .sum::<f32>()
        + 0.125;
    assert!((score - direct).abs() < 1e-5, "{score} vs {direct}");
    assert_eq!(ScalarFn::Pow { exponent: 3.0 }.apply(-2.0), -8.0);
    let step = ScalarFn::Greater { than: 0.0 };
    assert_eq!((step.apply(0.0), step.apply(1e-30)), (0.0, 1.0));
}

/// Three classes of 1, 2 and 1 support vectors: three pairwise decisions (the scores), each
/// from its two classes' vectors and coefficients, and votes counted from their steps.
#[test]
fn one_vs_one_scores_are_the_pairwise_decisions_and_the_label_counts_votes() {
    let m = classifier_with(vec![
        A::S("kernel_type", "RBF"),
        A::Fs("kernel_params", &[0.5, 0.0, 3.0]),
        A::Is("classlabels_ints", &[0, 1, 2]),
        A::Is("vectors_per_class", &[1, 2, 1]),
        A::Fs("support_vectors", &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]),
        // rows: coefficients against the first and second other class
        A::Fs("coefficients", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
        A::Fs("rho", &[0.1, 0.2, 0.3]),
    ]);
    let g = imp(&m).unwrap();
    assert_eq!(
        ops(&g),
        [
            "Linear", "Reshape", "Select", "Reshape", "Select", "Reshape", "MatMul", "Clip",
            "Reshape", "Map", "Linear", "Map", "Linear", "ArgMax"
        ]
    );
    // d01: class 0 (vector 0) row 0, class 1 (vectors 1, 2) row 0
    // d02: class 0 row 1, class 2 (vector 3) row 0; d12: class 1 row 1, class 2 row 1
    let (w, b) = linear(&g, 10);
    #[rustfmt::skip]
    let want = [
        1.0, 2.0, 3.0, 0.0,
        5.0, 0.0, 0.0, 4.0,
        0.0, 6.0, 7.0, 8.0,
    ];
    assert_eq!((w, b), (want.to_vec(), vec![0.1, 0.2, 0.3]));
    assert_eq!(
        g.nodes[11].op,
        FOp::Map {
            f: ScalarFn::Greater { than: 0.0 },
        }
    );
    // votes: class 0 leads (0,1) and (0,2); class 1 trails (0,1), leads (1,2); class 2 trails
    let (w, b) = linear(&g, 12);
    #[rustfmt::skip]
    let want = [
        1.0, 1.0, 0.0,
        -1.0, 0.0, 1.0,
        0.0, -1.0, -1.0,
    ];
    assert_eq!((w, b), (want.to_vec(), vec![0.0, 1.0, 2.0]));
    assert!(matches!(
        g.nodes[13].op,
        FOp::ArgMax {
            select_last_index: false,
            ..
        }
    ));
    // the scores output is the decisions
    assert_eq!(g.outputs[1], g.nodes[10].output);
}

/// A binary classifier with Platt's `prob_a`/`prob_b`: the label is still the `ArgMax` of the
/// scores, the scores output onnxruntime's two probabilities, each a `Map` of the decision
/// `s` (column 0 of `[s, -s]`), concatenated.
#[test]
fn binary_svm_probabilities_are_maps_of_the_decision() {
    let m = classifier_with(vec![
        A::S("kernel_type", "RBF"),
        A::Fs("kernel_params", &[0.5, 0.0, 3.0]),
        A::Is("classlabels_ints", &[0, 1]),
        A::Is("vectors_per_class", &[1, 1]),
        A::Fs("support_vectors", &[1.0, 2.0, 3.0, -1.0]),
        A::Fs("coefficients", &[0.5, -0.25]),
        A::Fs("rho", &[0.125]),
        A::Fs("prob_a", &[-1.5]),
        A::Fs("prob_b", &[0.25]),
    ]);
    let g = imp(&m).unwrap();
    let names = ops(&g);
    assert_eq!(
        names[names.len() - 5..],
        ["ArgMax", "Select", "Map", "Map", "Concat"],
        "{names:?}"
    );
    let n = g.nodes.len();
    for (class, node) in [(0u8, &g.nodes[n - 3]), (1, &g.nodes[n - 2])] {
        assert_eq!(
            node.op,
            FOp::Map {
                f: ScalarFn::SvmProbability {
                    a: -1.5,
                    b: 0.25,
                    class
                }
            }
        );
    }
    // onnxruntime's coupling of two classes is not exactly [r, 1 - r]: at a decision of 0 Platt's
    // r is 1 - logistic(0.25) = 0.4378; the coupled probabilities sum to 1
    let p = vouch_onnx::scalar::svm_binary_probability(0.0, -1.5, 0.25);
    assert!((p[0] + p[1] - 1.0).abs() < 1e-6, "{p:?}");
    assert!((p[0] - 0.4378).abs() < 3e-3, "{p:?}");
    assert_eq!(g.outputs[1], g.nodes[n - 1].output);
}

/// An `RBF` SVM whose one-`Linear` form would hold more than `2^20` weights (1300 vectors of
/// 28 features: `1300 · 30 · 28`) takes the rows `[√γ (x - v_i), c, -c]` as a `Linear` of
/// `[√γ x, 0, 0]` minus constant rows `[√γ v_i, -c, c]`; the same `u_i`.
#[test]
fn a_large_rbf_svm_subtracts_constant_rows() {
    const S: usize = 1300;
    const K: usize = 28;
    let sv: Vec<f32> = (0..S * K)
        .map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0)
        .collect();
    let coef: Vec<f32> = (0..S)
        .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
        .collect();
    let sv: &'static [f32] = Box::leak(sv.into_boxed_slice());
    let coef: &'static [f32] = Box::leak(coef.into_boxed_slice());
    let m = model(
        17,
        vec![ml(
            "SVMRegressor",
            &["y"],
            vec![
                A::S("kernel_type", "RBF"),
                A::Fs("kernel_params", &[0.05, 0.0, 3.0]),
                A::I("n_supports", S as i64),
                A::Fs("support_vectors", sv),
                A::Fs("coefficients", coef),
                A::Fs("rho", &[0.5]),
            ],
        )],
        vec![],
        vec![input("x", &[-1, K as i64])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(
        ops(&g),
        [
            "Linear", "Reshape", "Sub", "Select", "Reshape", "Select", "Reshape", "MatMul", "Clip",
            "Reshape", "Map", "Linear"
        ]
    );
    let FOp::Map {
        f: ScalarFn::RbfKernel { shift },
    } = g.nodes[10].op
    else {
        panic!("{:?}", g.nodes[10].op)
    };
    let (w, b) = linear(&g, 0);
    assert_eq!((w.len(), b.len()), ((K + 2) * K, K + 2));
    let Operand::Const(vc) = g.nodes[2].inputs[1] else {
        panic!("{:?}", g.nodes[2].inputs)
    };
    let v = &g.consts[vc].data;
    let pick = |i: usize| {
        let FOp::Select { maps } = &g.nodes[i].op else {
            panic!("{:?}", g.nodes[i].op)
        };
        maps.last().unwrap().clone()
    };
    let (left, right) = (pick(3), pick(5));
    let x: Vec<f32> = (0..K).map(|j| j as f32 / 10.0 - 1.0).collect();
    let y: Vec<f32> = w
        .chunks_exact(K)
        .zip(&b)
        .map(|(r, b)| r.iter().zip(&x).map(|(a, c)| a * c).sum::<f32>() + b)
        .collect();
    for i in [0, 777, S - 1] {
        let row: Vec<f32> = y
            .iter()
            .zip(&v[i * (K + 2)..])
            .map(|(a, c)| a - c)
            .collect();
        let u: f32 = left
            .iter()
            .zip(&right)
            .map(|(&l, &r)| row[l] * row[r])
            .sum();
        let d: f32 = (0..K).map(|j| (x[j] - sv[i * K + j]).powi(2)).sum();
        assert!(
            (u - (0.05 * d - shift)).abs() < 1e-4,
            "vector {i}: {u} vs {}",
            0.05 * d - shift
        );
    }
}

#[test]
fn other_svm_forms_are_refused_naming_the_node() {
    let base = |kernel: &'static str, params: &'static [f32], labels: &'static [i64]| {
        vec![
            A::S("kernel_type", kernel),
            A::Fs("kernel_params", params),
            A::Is("classlabels_ints", labels),
            A::Is("vectors_per_class", &[1, 1]),
            A::Fs("support_vectors", &[1.0, 2.0, 3.0, -1.0]),
            A::Fs("coefficients", &[0.5, -0.25]),
            A::Fs("rho", &[0.125]),
        ]
    };
    let with = |mut a: Vec<A<'static>>, extra: A<'static>| {
        a.push(extra);
        classifier_with(a)
    };
    for (m, what) in [
        (classifier("CUBIC", &[0, 1]), "unknown kernel"),
        (classifier("LINEAR", &[0, 1, 2]), "vectors_per_class"),
        (classifier("LINEAR", &[1, 2]), "0..n-1"),
        (
            classifier_with(base("RBF", &[0.5, 0.0], &[0, 1])),
            "kernel_params",
        ),
        (
            with(
                base("RBF", &[0.5, 0.0, 3.0], &[0, 1]),
                A::Fs("prob_a", &[1.0]),
            ),
            "prob_b",
        ),
        (
            classifier_with(vec![
                A::S("kernel_type", "RBF"),
                A::Fs("kernel_params", &[0.5, 0.0, 3.0]),
                A::Is("classlabels_ints", &[0, 1, 2]),
                A::Is("vectors_per_class", &[1, 1, 1]),
                A::Fs("support_vectors", &[1.0, 2.0, 3.0, -1.0, 0.5, 0.5]),
                A::Fs("coefficients", &[0.5, -0.25, 0.5, 0.5, -0.25, 0.5]),
                A::Fs("rho", &[0.125, 0.25, 0.5]),
                A::Fs("prob_a", &[-1.0, -1.5, -2.0]),
                A::Fs("prob_b", &[0.1, 0.0, -0.1]),
            ]),
            "probability outputs (prob_a, prob_b) of 3 classes",
        ),
        (
            with(
                base("RBF", &[0.5, 0.0, 3.0], &[0, 1]),
                A::S("post_transform", "LOGISTIC"),
            ),
            "post_transform",
        ),
        (
            classifier_with(vec![
                A::S("kernel_type", "RBF"),
                A::Is("classlabels_ints", &[0, 1]),
                A::Is("vectors_per_class", &[-1, 3]),
                A::Fs("support_vectors", &[1.0, 2.0, 3.0, -1.0]),
                A::Fs("coefficients", &[0.5, -0.25]),
                A::Fs("rho", &[0.125]),
            ]),
            "negative count",
        ),
        (
            classifier_with(vec![
                A::S("kernel_type", "RBF"),
                A::Is("classlabels_ints", &[0, 1]),
                A::Is("vectors_per_class", &[1, 1]),
                A::Fs("support_vectors", &[1.0, 2.0, 3.0]),
                A::Fs("coefficients", &[0.5, -0.25]),
                A::Fs("rho", &[0.125]),
            ]),
            "3 values for 2 vectors of 2 features",
        ),
    ] {
        let e = imp(&m).unwrap_err().to_string();
        assert!(e.contains("n_label") && e.contains(what), "{e}");
    }
    let one_class = model(
        17,
        vec![ml(
            "SVMRegressor",
            &["y"],
            vec![A::I("one_class", 1), A::I("n_supports", 1)],
        )],
        vec![],
        vec![input("x", &[-1, 2])],
        &["y"],
    );
    let e = imp(&one_class).unwrap_err().to_string();
    assert!(e.contains("SVMRegressor") && e.contains("one-class"), "{e}");
}
