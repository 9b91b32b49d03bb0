//! A mean of squares over the last axis (`ReduceMean(Pow(x, 2))`, a LayerNorm's variance as
//! exporters write it) is an exact sum of squares (`MatMul` of `x` as a row by `x` as a column)
//! and a `Mul` by `1/C`: a tensor of squares, held at the largest square's scale, leaves a token
//! of small values a few steps per square (`crates/onnx/src/lower/mean_square.rs`).

mod one_node;

use vouch_engine::{Engine, Options};
use vouch_model::Op;
use vouch_quant::FTensor;
use vouch_task::Mode;
use vouch_task::modes::check_mode;

/// Tokens per row and channels per token.
const T: usize = 8;
const C: usize = 96;

/// `y = ReduceMean(Pow(x, 2), axes = [-1])` over `x` of `[N, T, C]` (opset 13).
fn model() -> Vec<u8> {
    let dims = [-1, T as i64, C as i64];
    one_node::graph(
        vec![
            one_node::node("Pow", &["x", "two"], "sq", vec![]),
            one_node::node(
                "ReduceMean",
                &["sq"],
                "y",
                vec![one_node::ints("axes", &[-1])],
            ),
        ],
        vec![one_node::init("two", &[], &[2.0])],
        vec![one_node::value_info("x", 1, Some(&dims))],
        vec![one_node::value_info("y", 1, None)],
    )
}

#[test]
fn a_small_token_keeps_its_mean_square() {
    // token 0 of each row holds one value of 20 (its square, 400, sets a squares tensor's
    // scale near 0.024 per step at 16 bits); the others hold values in (-0.15, 0.15), squares
    // under one such step
    let rows = 4;
    let mut data = vec![0f32; rows * T * C];
    for (i, v) in data.iter_mut().enumerate() {
        let f = (i as f32 * 0.618_034).fract();
        *v = 0.3 * f - 0.15;
    }
    for r in 0..rows {
        data[r * T * C] = 20.0;
    }
    let x = vec![FTensor {
        shape: vec![rows, T, C],
        data: data.clone(),
    }];
    let g = vouch_onnx::import(&model(), &Default::default()).unwrap();
    let pkg = vouch_quant::import(&g, x.clone(), "mean_square", [0; 32], |_| {}).unwrap();
    assert!(
        pkg.nodes.iter().any(|n| matches!(n.op, Op::MatMul { .. })),
        "the sum of squares is a MatMul"
    );
    assert!(
        !pkg.nodes.iter().any(|n| matches!(n.op, Op::Lut { .. })),
        "no table of squares is left"
    );
    for mode in [Mode::Optimistic, Mode::Committee, Mode::Zk] {
        check_mode(&pkg, mode).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
    }
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(vouch_quant::quantize_inputs(&pkg, &x))
        .unwrap();
    let got = vouch_quant::dequantize(&pkg, 0, &out.outputs[0]);
    let mut worst = 0f64;
    for (k, row) in data.chunks(C).enumerate() {
        let want = row.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / C as f64;
        if k % T != 0 {
            worst = worst.max((got[k] - want).abs() / want);
        }
    }
    // 1.2% as an exact sum; the squares as a `Pow` table's output, each rounded at the
    // largest square's scale, then a fine mean: 10.1%
    assert!(worst < 0.02, "small tokens' mean squares within {worst}");
}
