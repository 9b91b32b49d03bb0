//! Imports the fixture models under `testdata/models/` (written by their `gen.py`) and checks
//! the lowered op list and shapes. A missing fixture is skipped with a note.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::type_complexity,
    missing_docs
)]

mod common;

use std::path::PathBuf;

use common::ops;
use vouch_onnx::Dim::{Batch, Fixed};
use vouch_onnx::{Dim, FGraph, ImportOptions, import};

fn bytes(name: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(name)
        .join("model.onnx");
    let b = std::fs::read(&path).ok();
    if b.is_none() {
        println!("note: {} is absent; skipping", path.display());
    }
    b
}

fn load(name: &str, outputs: Option<&[&str]>) -> Option<FGraph> {
    let opts = ImportOptions {
        outputs: outputs.map(|o| o.iter().map(|s| (*s).to_owned()).collect()),
        ..Default::default()
    };
    Some(import(&bytes(name)?, &opts).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn io(g: &FGraph) -> (Vec<Vec<Dim>>, Vec<(String, Vec<Dim>)>) {
    let ins = g
        .inputs
        .iter()
        .map(|&v| g.values[v].shape.clone())
        .collect();
    let outs = g
        .outputs
        .iter()
        .map(|&v| (g.values[v].name.clone(), g.values[v].shape.clone()))
        .collect();
    (ins, outs)
}

#[test]
fn digits_logreg() {
    for name in ["digits_logreg", "digits_logreg_zipmap"] {
        let Some(g) = load(name, Some(&["probabilities"])) else {
            continue;
        };
        assert_eq!(ops(&g), ["Linear", "Softmax"], "{name}");
        assert_eq!(
            io(&g),
            (
                vec![vec![Batch, Fixed(64)]],
                vec![("probabilities".into(), vec![Batch, Fixed(10)])]
            )
        );
    }
    // The integer label output goes through ArgMax and the identity class lookup.
    if let Some(g) = load("digits_logreg", None) {
        assert_eq!(ops(&g), ["Linear", "ArgMax", "Softmax", "Reshape"]);
        let (_, outs) = io(&g);
        assert_eq!(outs[0], ("label".into(), vec![Batch]));
        assert_eq!(outs[1], ("probabilities".into(), vec![Batch, Fixed(10)]));
    }
    // The ZipMap output keeps the probabilities tensor under its own name.
    if let Some(g) = load("digits_logreg_zipmap", None) {
        let (_, outs) = io(&g);
        assert_eq!(outs[0], ("output_label".into(), vec![Batch]));
        assert_eq!(
            outs[1],
            ("output_probability".into(), vec![Batch, Fixed(10)])
        );
    }
}

#[test]
fn digits_logreg_mlops_lowers_the_ml_classifier_to_linear_softmax_and_argmax() {
    let Some(g) = load("digits_logreg_mlops", None) else {
        return;
    };
    // LinearClassifier: Linear scores, ArgMax label, Softmax post-transform; the L1
    // Normalizer on the softmax is the identity and disappears
    assert_eq!(ops(&g), ["Linear", "ArgMax", "Softmax"]);
    let (ins, outs) = io(&g);
    assert_eq!(ins, vec![vec![Batch, Fixed(64)]]);
    assert_eq!(outs[0], ("label".into(), vec![Batch]));
    assert_eq!(outs[1], ("probabilities".into(), vec![Batch, Fixed(10)]));
}

#[test]
fn digits_mlp() {
    let Some(g) = load("digits_mlp", Some(&["probabilities"])) else {
        return;
    };
    assert_eq!(ops(&g), ["Linear", "Relu", "Linear", "Softmax"]);
    assert_eq!(
        io(&g),
        (
            vec![vec![Batch, Fixed(64)]],
            vec![("probabilities".into(), vec![Batch, Fixed(10)])]
        )
    );
    let Some(g) = load("digits_mlp", None) else {
        return;
    };
    assert_eq!(
        ops(&g),
        ["Linear", "Relu", "Linear", "Softmax", "ArgMax", "Reshape"]
    );
}

#[test]
fn mlps() {
    for (name, i, h, o) in [("mlp_784_128_10", 784, 128, 10), ("mlp_10_20_2", 10, 20, 2)] {
        let Some(g) = load(name, None) else { continue };
        assert_eq!(ops(&g), ["Linear", "Relu", "Linear"], "{name}");
        assert_eq!(
            io(&g),
            (
                vec![vec![Batch, Fixed(i)]],
                vec![("logits".into(), vec![Batch, Fixed(o)])]
            )
        );
        assert_eq!(g.values[g.nodes[0].output].shape, [Batch, Fixed(h)]);
        assert_eq!(g.consts.len(), 4, "two weights, two biases");
    }
}

#[test]
fn lenet() {
    let Some(g) = load("lenet", None) else { return };
    assert_eq!(
        ops(&g),
        [
            "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Reshape", "Linear", "Relu",
            "Linear", "Relu", "Linear"
        ]
    );
    assert_eq!(
        io(&g),
        (
            vec![vec![Batch, Fixed(1), Fixed(28), Fixed(28)]],
            vec![("logits".into(), vec![Batch, Fixed(10)])]
        )
    );
    assert_eq!(g.values[g.nodes[6].output].shape, [Batch, Fixed(400)]);
}

#[test]
fn cnn_ops() {
    let Some(g) = load("cnn_ops", None) else {
        return;
    };
    let expected = [
        "Conv",
        "LeakyRelu",
        "Conv",
        "Sigmoid",
        "AveragePool",
        "Conv",
        "Tanh",
        "Concat",
        "Sub",
        "Mul",
        "Add",
        "Mul",
        "GlobalAveragePool",
        "Reshape",
        "Reshape",
        "Transpose",
        "Reshape",
        "Add",
        "Linear",
        "Reshape",
        "Linear",
        "Clip",
        "Softmax",
        "ArgMax",
    ];
    assert_eq!(
        ops(&g),
        expected,
        "BatchNormalization folds into conv1, Div becomes Mul"
    );
    let (ins, outs) = io(&g);
    assert_eq!(ins, [vec![Batch, Fixed(3), Fixed(12), Fixed(12)]]);
    assert_eq!(
        outs,
        [
            ("logits".into(), vec![Batch, Fixed(10)]),
            ("probs".into(), vec![Batch, Fixed(10)]),
            ("label".into(), vec![Batch]),
        ]
    );
}

#[test]
fn upsample_net() {
    let g = load("upsample_net", None).expect("testdata/models/upsample_net/model.onnx");
    let expected = [
        "Conv",
        "Relu",
        "Conv",
        "Relu",
        // ConvTranspose 2x2 stride 2: a 1x1 Conv to C_out x 2 x 2 channels, interleaved
        "Conv",
        "Reshape",
        "Transpose",
        "Reshape",
        "Relu",
        // Resize nearest x2: one Select
        "Select",
        // ConvTranspose 3x3 stride 2, pad 1, output_padding 1, group 2: zeros between
        // elements (a Pad of one zero, a Select), a Conv with pads
        "Pad",
        "Select",
        "Conv",
        // Resize bilinear to 8x8: width, then height between Transposes
        "Linear",
        "Transpose",
        "Linear",
        "Transpose",
        // Sum of three
        "Add",
        "Add",
        "Relu",
        "Conv",
    ];
    assert_eq!(ops(&g), expected);
    let (ins, outs) = io(&g);
    assert_eq!(ins, [vec![Batch, Fixed(1), Fixed(8), Fixed(8)]]);
    assert_eq!(
        outs,
        [("recon".into(), vec![Batch, Fixed(1), Fixed(8), Fixed(8)])]
    );
}
