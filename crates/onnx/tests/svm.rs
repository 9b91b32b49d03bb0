//! `ai.onnx.ml` `SVMClassifier` and `SVMRegressor`: the `LINEAR` kernel folds the support
//! vectors into one `Linear`; `POLY`, `SIGMOID` and `RBF` kernels lower into bands (each a
//! `Linear` of the argument clipped to the band and a fine `Map`), side by side, and a `Linear`
//! of the dual coefficients, whose arithmetic (a float evaluation of the lowered graph) is the
//! kernel's scores; one-vs-one classifiers count votes; other forms are refused naming the node.

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops};

#[path = "common/eval.rs"]
mod eval;
use vouch_onnx::proto::NodeProto;
use vouch_onnx::{FGraph, FOp, ScalarFn};

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

/// The bands' `Map`s of a lowered kernel, in order.
fn band_maps(g: &FGraph) -> Vec<ScalarFn> {
    g.nodes
        .iter()
        .filter_map(|n| match n.op {
            FOp::Map { f } if !matches!(f, ScalarFn::Greater { .. }) => Some(f),
            _ => None,
        })
        .collect()
}

/// The gain of a band's `Map` (its values are `gain` times the band's part of the kernel).
fn gain(f: &ScalarFn) -> f32 {
    match *f {
        ScalarFn::RbfKernel { gain, .. }
        | ScalarFn::TanhBand { gain, .. }
        | ScalarFn::PowBand { gain, .. } => gain,
        other => panic!("not a band: {other:?}"),
    }
}

/// The decision `s` of the binary test classifier (two vectors, coefficients `0.5`, `-0.25`,
/// `ρ = 0.125`) with kernel `k`, and the graph's scores output `[-s, s]` at `x`.
fn binary_decision(
    g: &FGraph,
    x: [f32; 2],
    k: impl Fn([f32; 2], [f32; 2]) -> f32,
) -> (f32, Vec<f32>) {
    let sv = [[1.0f32, 2.0], [3.0, -1.0]];
    let s = 0.5 * k(x, sv[0]) - 0.25 * k(x, sv[1]) + 0.125;
    let vals = eval::run(g, &x);
    (s, vals[g.outputs[1]].clone())
}

/// `RBF`: per band one `Linear` writes each support vector's scaled differences `√γ (x - v_i)`
/// and `c`, `-c`, clipped to `±√e_b`; two `Select`s and a `MatMul` make `γ ‖x - v_i‖²` minus
/// the band's centre (an exact sum of squares), clipped to the band's window; each band's
/// table is `gain · (e^-clamp(d, lo, hi) - e^-hi)` and the bands, side by side, meet the
/// coefficients over their gains: the graph's arithmetic is `Σ_i c_i e^-γ‖x - v_i‖² + ρ` for
/// distances in every band.
#[test]
fn an_rbf_kernel_is_bands_of_exact_sums_of_squares() {
    let g = imp(&classifier("RBF", &[0, 1])).unwrap();
    let band = [
        "Linear", "Clip", "Reshape", "Select", "Reshape", "Select", "Reshape", "MatMul", "Clip",
        "Reshape", "Map",
    ];
    let mut want: Vec<&str> = band.repeat(3);
    want.extend(["Concat", "Linear", "ArgMax", "Select"]);
    assert_eq!(ops(&g), want);
    // the window's end: T = ln(10^5 Σ |c_i|), Σ |c_i| = 0.75; edges 1.5 and 4 below it
    let end = (0.75e5f32).ln();
    let maps = band_maps(&g);
    let edges = [(0.0, 1.5), (1.5, 4.0), (4.0, end)];
    for (f, (lo, e)) in maps.iter().zip(edges) {
        let ScalarFn::RbfKernel {
            shift, lo: l, hi, ..
        } = *f
        else {
            panic!("{f:?}")
        };
        assert_eq!(l, lo);
        assert!((shift - 0.5 * (lo + e)).abs() < 1e-5, "{f:?}");
        assert_eq!(hi, if e == end { f32::INFINITY } else { e });
    }
    // distances γ ‖x - v‖² in every band (γ = 0.5): on a vector, near, mid and far
    let rbf =
        |x: [f32; 2], v: [f32; 2]| (-0.5 * ((x[0] - v[0]).powi(2) + (x[1] - v[1]).powi(2))).exp();
    for x in [
        [1.0f32, 2.0],
        [1.5, 1.2],
        [2.2, 0.3],
        [0.3, -0.7],
        [6.0, 5.0],
    ] {
        let (s, got) = binary_decision(&g, x, rbf);
        assert!(
            (got[1] - s).abs() < 2e-5 && (got[0] + s).abs() < 2e-5,
            "{x:?}: {got:?} vs {s}"
        );
    }
    // each vector's kernel is its bands' values over their gains
    let vals = eval::run(&g, &[1.5, 1.2]);
    let kv = &vals[g.nodes[33].output];
    for (i, v) in [[1.0f32, 2.0], [3.0, -1.0]].into_iter().enumerate() {
        let k: f32 = (0..3).map(|b| kv[2 * b + i] / gain(&maps[b])).sum();
        assert!((k - rbf([1.5, 1.2], v)).abs() < 1e-6, "vector {i}: {k}");
    }
}

/// `POLY` and `SIGMOID`: per band a `Linear` of `(γ x · v_i + c₀) / σ_i`, clipped to the band's
/// edge, and a `Map` of the band's part of `a^d` or `tanh a` (times its gain). The `POLY`
/// divisors carry each vector's coefficient, `σ_i = Z / |c_i|^(1/3)`, `Z = max_j |c_j|^(1/3)
/// (γ ‖v_j‖ max ‖v‖ + |c₀|)`; the `SIGMOID` argument is clipped where `tanh` is within `10^-5
/// / reach` of ±1 (`reach = Σ |c_i|`). The graph's arithmetic is the kernel's scores.
#[test]
fn poly_and_sigmoid_kernels_are_bands_of_a_scaled_dot_product() {
    let g = imp(&classifier("SIGMOID", &[0, 1])).unwrap();
    let want = [
        "Linear", "Clip", "Map", "Linear", "Clip", "Map", "Concat", "Linear", "ArgMax", "Select",
    ];
    assert_eq!(ops(&g), want);
    // reach 0.75: w = ln(2·10^5 · 0.75) / 2
    let w = 0.5 * (2e5f32 * 0.75).ln();
    for (i, e) in [(1, 1.0), (4, w)] {
        assert!(
            matches!(g.nodes[i].op, FOp::Clip { min, max } if (max - e).abs() < 1e-5 && min == -max),
            "{:?}",
            g.nodes[i].op
        );
    }
    let maps = band_maps(&g);
    assert!(
        matches!(
            maps[..],
            [
                ScalarFn::TanhBand { lo: 0.0, .. },
                ScalarFn::TanhBand { lo: 1.0, .. }
            ]
        ),
        "{maps:?}"
    );
    assert_eq!(linear(&g, 0), (vec![0.5, 1.0, 1.5, -0.5], vec![0.25, 0.25]));
    let tanh = |x: [f32; 2], v: [f32; 2]| (0.5 * (x[0] * v[0] + x[1] * v[1]) + 0.25).tanh();
    for x in [[0.3f32, -0.7], [0.5, 0.4], [2.0, 1.0], [-3.0, 4.0]] {
        let (s, got) = binary_decision(&g, x, tanh);
        assert!((got[1] - s).abs() < 1e-5, "{x:?}: {got:?} vs {s}");
    }

    let g = imp(&classifier("POLY", &[0, 1])).unwrap();
    let want = [
        "Linear", "Clip", "Map", "Linear", "Clip", "Map", "Linear", "Map", "Concat", "Linear",
        "ArgMax", "Select",
    ];
    assert_eq!(ops(&g), want);
    let maps = band_maps(&g);
    assert!(
        matches!(
            maps[..],
            [
                ScalarFn::PowBand { lo: 0.0, .. },
                ScalarFn::PowBand { lo: 0.25, .. },
                ScalarFn::PowBand {
                    lo: 0.5,
                    gain: 1.0,
                    ..
                }
            ]
        ),
        "{maps:?}"
    );
    // β = 0.5 · √5 · √10 + 0.25 and 0.5 · √10 · √10 + 0.25; w = 0.5^(1/3), 0.25^(1/3)
    let beta = [0.5 * 50f32.sqrt() + 0.25, 5.25];
    let wt = [0.5f32.cbrt(), 0.25f32.cbrt()];
    let z = (beta[0] * wt[0]).max(beta[1] * wt[1]);
    let sigma = [z / wt[0], z / wt[1]];
    let (w, _) = linear(&g, 0);
    let want_w = [
        0.5 / sigma[0],
        1.0 / sigma[0],
        1.5 / sigma[1],
        -0.5 / sigma[1],
    ];
    for (got, want) in w.iter().zip(want_w) {
        assert!((got - want).abs() < 1e-6, "{w:?}");
    }
    let cube = |x: [f32; 2], v: [f32; 2]| (0.5 * (x[0] * v[0] + x[1] * v[1]) + 0.25).powi(3);
    for x in [[0.3f32, -0.7], [0.1, 0.05], [1.0, 1.0], [4.0, -3.0]] {
        let (s, got) = binary_decision(&g, x, cube);
        assert!(
            (got[1] - s).abs() < 1e-5 * s.abs().max(1.0),
            "{x:?}: {got:?} vs {s}"
        );
    }
    assert_eq!(ScalarFn::Pow { exponent: 3.0 }.apply(-2.0), -8.0);
    let band = ScalarFn::PowBand {
        gain: 2.0,
        exponent: 3.0,
        lo: 0.5,
    };
    assert_eq!((band.apply(0.25), band.apply(-1.0)), (0.0, -1.75));
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
    let names = ops(&g);
    let n = names.len();
    assert_eq!(
        names[n - 5..],
        ["Concat", "Linear", "Map", "Linear", "ArgMax"],
        "{names:?}"
    );
    // d01: class 0 (vector 0) row 0, class 1 (vectors 1, 2) row 0
    // d02: class 0 row 1, class 2 (vector 3) row 0; d12: class 1 row 1, class 2 row 1
    // (each band's block of the coefficients over its gain)
    let (w, b) = linear(&g, n - 4);
    #[rustfmt::skip]
    let want = [
        1.0, 2.0, 3.0, 0.0,
        5.0, 0.0, 0.0, 4.0,
        0.0, 6.0, 7.0, 8.0,
    ];
    let maps = band_maps(&g);
    assert_eq!(w.len(), 12 * maps.len());
    for (row, want) in w.chunks_exact(4 * maps.len()).zip(want.chunks_exact(4)) {
        for (block, f) in row.chunks_exact(4).zip(&maps) {
            for (got, want) in block.iter().zip(want) {
                assert!((got * gain(f) - want).abs() < 1e-5, "{row:?}");
            }
        }
    }
    assert_eq!(b, vec![0.1, 0.2, 0.3]);
    assert_eq!(
        g.nodes[n - 3].op,
        FOp::Map {
            f: ScalarFn::Greater { than: 0.0 },
        }
    );
    // votes: class 0 leads (0,1) and (0,2); class 1 trails (0,1), leads (1,2); class 2 trails
    let (w, b) = linear(&g, n - 2);
    #[rustfmt::skip]
    let want = [
        1.0, 1.0, 0.0,
        -1.0, 0.0, 1.0,
        0.0, -1.0, -1.0,
    ];
    assert_eq!((w, b), (want.to_vec(), vec![0.0, 1.0, 2.0]));
    assert!(matches!(
        g.nodes[n - 1].op,
        FOp::ArgMax {
            select_last_index: false,
            ..
        }
    ));
    // the scores output is the decisions
    assert_eq!(g.outputs[1], g.nodes[n - 4].output);
    // at x = (0.5, 0.5): the decisions and the label from them
    let sv = [[1.0f32, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]];
    let k: Vec<f32> = sv
        .iter()
        .map(|v| (-0.5 * ((0.5 - v[0]).powi(2) + (0.5 - v[1]).powi(2))).exp())
        .collect();
    let d = [
        k[0] + 2.0 * k[1] + 3.0 * k[2] + 0.1,
        5.0 * k[0] + 4.0 * k[3] + 0.2,
        6.0 * k[1] + 7.0 * k[2] + 8.0 * k[3] + 0.3,
    ];
    let vals = eval::run(&g, &[0.5, 0.5]);
    for (got, want) in vals[g.outputs[1]].iter().zip(d) {
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    }
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

/// An `RBF` SVM whose one-`Linear`-per-band form would hold more than `2^20` weights (1300
/// vectors of 28 features: `3 · 1300 · 30 · 28`) takes each band's rows `[√γ (x - v_i), c,
/// -c]` as a `Linear` of `[√γ x, 0, 0]` minus constant rows `[√γ v_i, -c, c]`, clipped: the
/// same scores.
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
    let band = [
        "Linear", "Reshape", "Sub", "Clip", "Select", "Reshape", "Select", "Reshape", "MatMul",
        "Clip", "Reshape", "Map",
    ];
    let mut want: Vec<&str> = band.repeat(3);
    want.extend(["Concat", "Linear"]);
    assert_eq!(ops(&g), want);
    for i in [0, 12, 24] {
        let (w, b) = linear(&g, i);
        assert_eq!((w.len(), b.len()), ((K + 2) * K, K + 2));
    }
    // the graph's arithmetic: Σ_i c_i e^-γ‖x - v_i‖² + ρ
    for shift in [0.0f32, 0.3] {
        let x: Vec<f32> = (0..K).map(|j| j as f32 / 10.0 - 1.0 + shift).collect();
        let want: f32 = (0..S)
            .map(|i| {
                let d: f32 = (0..K).map(|j| (x[j] - sv[i * K + j]).powi(2)).sum();
                coef[i] * (-0.05 * d).exp()
            })
            .sum::<f32>()
            + 0.5;
        let got = eval::run(&g, &x)[g.outputs[0]][0];
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
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
