//! ONNX `Pad`: its forms by opset, constant folding, and every refused form (an error naming
//! the node, never a panic).

#![allow(clippy::unwrap_used, clippy::float_cmp, missing_docs)]

mod common;

use common::{A, imp, input, model, node, ops, out_shape, tf, ti};
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::graph::PadMode;
use vouch_onnx::{Error, FOp};

fn pad18(mode: &str, pads: &[i64], axes: Option<&[i64]>) -> Vec<u8> {
    let mut inits = vec![ti("p", &[pads.len() as i64], pads), tf("v", &[], &[1.5])];
    let mut ins = vec!["x", "p", "v"];
    if let Some(a) = axes {
        inits.push(ti("a", &[a.len() as i64], a));
        ins.push("a");
    }
    model(
        18,
        vec![node("Pad", &ins, &["y"], vec![A::S("mode", mode)])],
        inits,
        vec![input("x", &[-1, 3, 4])],
        &["y"],
    )
}

#[test]
fn pads_value_and_axes_from_constant_inputs() {
    let g = imp(&pad18("constant", &[0, 1, 2, 0, 0, 3], None)).unwrap();
    assert_eq!(ops(&g), ["Pad"]);
    assert_eq!(
        g.nodes[0].op,
        FOp::Pad {
            mode: PadMode::Constant,
            pads: vec![0, 1, 2, 0, 0, 3],
            value: 1.5
        }
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(4), Fixed(9)]);
    // axes (opset 18), negative and out of order: the pads land on their axes
    let g = imp(&pad18("reflect", &[1, 2, 3, 1], Some(&[-1, 1][..]))).unwrap();
    assert_eq!(
        g.nodes[0].op,
        FOp::Pad {
            mode: PadMode::Reflect,
            pads: vec![0, 2, 1, 0, 1, 3],
            value: 0.0
        }
    );
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(6), Fixed(8)]);
}

#[test]
fn opset_2_attributes_and_wrap() {
    let m = model(
        6,
        vec![node(
            "Pad",
            &["x"],
            &["y"],
            vec![
                A::S("mode", "edge"),
                A::Is("pads", &[0, 0, 3, 0, 0, 1, 4, 2]),
                A::F("value", 9.0),
            ],
        )],
        vec![],
        vec![input("x", &[1, 2, 3, 3])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    // the batch fixed at 1 is read as the rows (`tests/shapes.rs`)
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(3), Fixed(10), Fixed(5)]);
    assert!(matches!(
        g.nodes[0].op,
        FOp::Pad {
            mode: PadMode::Edge,
            value: 0.0,
            ..
        }
    ));
    // wrap may repeat the axis more than once
    let g = imp(&pad18("wrap", &[0, 5, 0, 0, 7, 1], None)).unwrap();
    assert_eq!(out_shape(&g, 0), [Batch, Fixed(15), Fixed(5)]);
}

#[test]
fn a_constant_input_is_folded() {
    let m = model(
        13,
        vec![
            node("Pad", &["k", "p", "v"], &["kp"], vec![]),
            node("Add", &["x", "kp"], &["y"], vec![]),
        ],
        vec![
            tf("k", &[2], &[1., 2.]),
            ti("p", &[2], &[1, 2]),
            tf("v", &[], &[-3.]),
        ],
        vec![input("x", &[-1, 5])],
        &["y"],
    );
    let g = imp(&m).unwrap();
    assert_eq!(ops(&g), ["Add"]);
    assert_eq!(g.consts[0].data, [-3., 1., 2., -3., -3.]);
}

fn refused(bytes: &[u8]) -> String {
    let e = imp(bytes).unwrap_err();
    assert!(
        matches!(
            e,
            Error::UnsupportedForm { .. } | Error::BadAttribute { .. } | Error::BadInput { .. }
        ),
        "{e}"
    );
    let msg = e.to_string();
    assert!(msg.contains("n_y"), "{msg}");
    msg
}

#[test]
fn refused_forms_name_the_node() {
    // negative pads (cropping)
    assert!(refused(&pad18("constant", &[0, -1, 0, 0, 0, 0], None)).contains("negative"));
    // a reflection as long as its axis
    assert!(refused(&pad18("reflect", &[0, 0, 4, 0, 0, 0], None)).contains("reflect"));
    // the batch axis
    assert!(refused(&pad18("constant", &[1, 0, 0, 0, 0, 0], None)).contains("batch"));
    // an unknown mode, named
    assert!(refused(&pad18("mirror", &[0, 0, 0, 0, 0, 0], None)).contains("mirror"));
    // pads of the wrong length, repeated axes
    refused(&pad18("constant", &[0, 0, 0, 0], None));
    refused(&pad18("constant", &[1, 1, 1, 1], Some(&[2, -1][..])));
    // pads computed at run time
    let m = model(
        13,
        vec![node("Pad", &["x", "p"], &["y"], vec![])],
        vec![],
        vec![input("x", &[-1, 3]), input("p", &[4])],
        &["y"],
    );
    refused(&m);
}
