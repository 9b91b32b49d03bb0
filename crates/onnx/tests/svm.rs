//! `ai.onnx.ml` `SVMClassifier` and `SVMRegressor`: the `LINEAR` kernel folds the support
//! vectors into one `Linear`; other forms are refused naming the node.

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops};
use vouch_onnx::FOp;
use vouch_onnx::proto::NodeProto;

fn ml(op: &str, outputs: &[&str], attrs: Vec<A<'_>>) -> NodeProto {
    NodeProto {
        domain: "ai.onnx.ml".into(),
        ..node(op, &["x"], outputs, attrs)
    }
}

fn classifier(kernel: &str, labels: &'static [i64]) -> Vec<u8> {
    // two support vectors of two features, one per class
    let attrs = vec![
        A::S("kernel_type", kernel),
        A::Is("classlabels_ints", labels),
        A::Is("vectors_per_class", &[1, 1]),
        A::Fs("support_vectors", &[1.0, 2.0, 3.0, -1.0]),
        A::Fs("coefficients", &[0.5, -0.25]),
        A::Fs("rho", &[0.125]),
    ];
    model(
        17,
        vec![ml("SVMClassifier", &["label", "scores"], attrs)],
        vec![],
        vec![input("x", &[-1, 2])],
        &["label", "scores"],
    )
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

#[test]
fn other_svm_forms_are_refused_naming_the_node() {
    for (m, what) in [
        (classifier("RBF", &[0, 1]), "kernel_type RBF"),
        (classifier("LINEAR", &[0, 1, 2]), "binary"),
    ] {
        let e = imp(&m).unwrap_err().to_string();
        assert!(e.contains("SVMClassifier") && e.contains(what), "{e}");
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
