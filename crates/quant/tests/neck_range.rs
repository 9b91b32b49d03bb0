//! Values a spatial upsampling reaches (a detector's feature-pyramid neck and heads) have
//! their calibrated ranges widened twice past the `act16` headroom
//! (`crates/quant/src/quantize/neck.rs`), the value an upsampling reads included: a held-out
//! product three times past what the calibration rows reached is represented when a nearest
//! `Resize` reads it, and clips where nothing upsamples.

#![allow(clippy::unwrap_used, missing_docs)]

mod one_node;

use vouch_engine::{Engine, Options};
use vouch_quant::FTensor;

/// `y = U(a · b)` over `a`, `b` of `[N, 1, 2, 2]`, `U` a nearest 2x `Resize` of both spatial
/// axes when `upsample`, else the identity (`y` is `[N, 1, 4, 4]` or `[N, 1, 2, 2]`): the
/// product is the value the upsampling reads.
fn model(upsample: bool) -> Vec<u8> {
    let dims = [-1, 1, 2, 2];
    let mut initializer = Vec::new();
    let node = if upsample {
        initializer.push(one_node::init("scales", &[4], &[1.0, 1.0, 2.0, 2.0]));
        vec![
            one_node::node("Mul", &["a", "b"], "p", vec![]),
            one_node::node(
                "Resize",
                &["p", "", "scales"],
                "y",
                vec![one_node::string("mode", "nearest")],
            ),
        ]
    } else {
        vec![one_node::node("Mul", &["a", "b"], "y", vec![])]
    };
    one_node::graph(
        node,
        initializer,
        vec![
            one_node::value_info("a", 1, Some(&dims)),
            one_node::value_info("b", 1, Some(&dims)),
        ],
        vec![one_node::value_info("y", 1, None)],
    )
}

/// Rows of `[1, 2, 2]` holding `v[r]` everywhere.
fn rows(v: &[f32]) -> FTensor {
    FTensor {
        shape: vec![v.len(), 1, 2, 2],
        data: v.iter().flat_map(|&x| [x; 4]).collect(),
    }
}

/// The largest `|y - a · b|` on held-out rows whose product is three times the calibrated
/// largest product (every operand within its calibrated range).
fn held_out_error(upsample: bool) -> f64 {
    // products at most 2 (4 · 0.5 and 0.5 · 4); each operand reaches 4
    let cal = vec![rows(&[4.0, 0.5, 1.0]), rows(&[0.5, 4.0, 1.0])];
    let g = vouch_onnx::import(&model(upsample), &Default::default()).unwrap();
    let pkg = vouch_quant::import(&g, cal, "neck", [0; 32], |_| {}).unwrap();
    let (a, b) = ([2.5f32, 2.0, 1.5], [2.4f32, 3.0, 4.0]);
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(vouch_quant::quantize_inputs(&pkg, &[rows(&a), rows(&b)]))
        .unwrap();
    let got = vouch_quant::dequantize(&pkg, 0, &out.outputs[0]);
    let per_row = got.len() / a.len();
    got.iter()
        .enumerate()
        .map(|(i, &y)| {
            let r = i / per_row;
            (y - f64::from(a[r]) * f64::from(b[r])).abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn an_upsampled_product_past_its_calibrated_range_is_represented() {
    // a product of 6 at a range of 2 · 2 · 2 = 8: within a few steps (8 / 32767) of the inputs'
    let err = held_out_error(true);
    assert!(err < 2e-3, "upsampled product off by {err}");
}

#[test]
fn without_an_upsampling_the_product_keeps_the_plain_headroom() {
    // the same product clips at twice the calibrated range (4): off by 2
    let err = held_out_error(false);
    assert!(
        err > 1.9,
        "product off by only {err}: widened without an upsampling"
    );
}
