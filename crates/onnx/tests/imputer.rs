//! `ai.onnx.ml` `Imputer`: on a graph input only it reads, it is the client's first step
//! (recorded on the input, no node); anywhere else it is refused naming the node.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{A, imp, input, model, node, node_in, ops};
use vouch_onnx::proto::NodeProto;

fn imputer(x: &str, y: &str, values: &'static [f32], replaced: Option<f32>) -> NodeProto {
    let mut attrs = vec![A::Fs("imputed_value_floats", values)];
    if let Some(r) = replaced {
        attrs.push(A::F("replaced_value_float", r));
    }
    NodeProto {
        domain: "ai.onnx.ml".into(),
        ..node("Imputer", &[x], &[y], attrs)
    }
}

#[test]
fn an_imputer_on_an_input_is_recorded_on_it() {
    let m = model(
        17,
        vec![
            imputer("x", "y", &[1.0, 2.0, 3.0], Some(f32::NAN)),
            node("Relu", &["y"], &["z"], vec![]),
        ],
        vec![],
        vec![input("x", &[-1, 3])],
        &["z"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Relu"]);
    let im = g.values[g.inputs[0]].imputation.as_ref().unwrap();
    assert!(f32::from_bits(im.replaced_bits).is_nan());
    assert_eq!(im.apply(4, f32::NAN), 2.0);
    // one value for every feature; the default marker is 0.0
    let m = model(
        17,
        vec![
            imputer("x", "y", &[5.0], None),
            node("Relu", &["y"], &["z"], vec![]),
        ],
        vec![],
        vec![input("x", &[-1, 3])],
        &["z"],
    );
    let g = imp(&m).unwrap();
    let im = g.values[g.inputs[0]].imputation.as_ref().unwrap();
    assert_eq!(im.apply(2, -0.0), 5.0);
}

#[test]
fn an_imputer_anywhere_else_is_refused_naming_the_node() {
    let cases = [
        // on a computed tensor
        model(
            17,
            vec![
                node("Relu", &["x"], &["r"], vec![]),
                imputer("r", "y", &[1.0, 2.0, 3.0], None),
            ],
            vec![],
            vec![input("x", &[-1, 3])],
            &["y"],
        ),
        // the raw input is read by another node too
        model(
            17,
            vec![
                imputer("x", "y", &[1.0, 2.0, 3.0], None),
                node_in("", "Add", &["x", "y"], &["z"]),
            ],
            vec![],
            vec![input("x", &[-1, 3])],
            &["z"],
        ),
        // values that do not fit the features
        model(
            17,
            vec![
                imputer("x", "y", &[1.0, 2.0], None),
                node("Relu", &["y"], &["z"], vec![]),
            ],
            vec![],
            vec![input("x", &[-1, 3])],
            &["z"],
        ),
    ];
    for m in cases {
        let e = imp(&m).unwrap_err().to_string();
        assert!(e.contains("node `n_y`"), "{e}");
    }
}
