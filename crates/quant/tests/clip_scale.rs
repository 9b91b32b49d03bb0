//! A `Clip` fused into an accumulator's requantization bounds the output scale
//! (`docs/semantics.md` section 5, "Clipped accumulators"): the value never passes the clip
//! bounds, so the headroom of twice the calibrated range stops there; a `Relu` (no upper
//! bound) keeps the headroom.

use vouch_engine::{Engine, Options};
use vouch_onnx::{Dim, FConst, FGraph, FNode, FOp, Operand, ValueInfo};
use vouch_quant::FTensor;

/// `y = f(x · wᵀ + b)` with `x` `[N, 2]`, two outputs, `f` the op after the `Linear`.
fn graph(after: FOp) -> FGraph {
    let info = |name: &str| ValueInfo {
        name: name.to_owned(),
        shape: vec![Dim::Batch, Dim::Fixed(2)],
        imputation: None,
        integer: None,
        grid: None,
        declared_range: None,
    };
    FGraph {
        values: vec![info("x"), info("z"), info("y")],
        consts: vec![
            FConst {
                name: "w".into(),
                shape: vec![2, 2],
                data: vec![0.5, -0.25, 0.125, 0.75],
            },
            FConst {
                name: "b".into(),
                shape: vec![2],
                data: vec![0.1, -0.05],
            },
        ],
        nodes: vec![
            FNode {
                name: "linear".into(),
                op: FOp::Linear {
                    weight: 0,
                    bias: Some(1),
                },
                inputs: vec![Operand::Value(0)],
                output: 1,
            },
            FNode {
                name: "after".into(),
                op: after,
                inputs: vec![Operand::Value(1)],
                output: 2,
            },
        ],
        inputs: vec![0],
        outputs: vec![2],
        ..Default::default()
    }
}

/// Imports `g` calibrated on `x` and returns the output's scale and the dequantized outputs.
fn run(g: &FGraph, x: &[f32]) -> (f64, Vec<f64>) {
    let cal = vec![FTensor {
        shape: vec![x.len() / 2, 2],
        data: x.to_vec(),
    }];
    let pkg = vouch_quant::import(g, cal.clone(), "t", [0; 32], |_| {}).unwrap();
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(vouch_quant::quantize_inputs(&pkg, &cal))
        .unwrap();
    let scale = pkg.values[pkg.outputs[0].value as usize].scale;
    (scale, vouch_quant::dequantize(&pkg, 0, &out.outputs[0]))
}

#[test]
fn a_clip_bounds_the_output_scale_and_a_relu_keeps_the_headroom() {
    // outputs reach 0.725 over calibration: twice that passes the clip at 1
    let x = [1.0f32, -0.4, -0.8, 0.6, 0.2, 0.3, 0.0, -0.9];
    let clip = graph(FOp::Clip {
        min: -1.0,
        max: 1.0,
    });
    let (s, y) = run(&clip, &x);
    assert_eq!(s, 1.0 / 32767.0);
    let w = [0.5f64, -0.25, 0.125, 0.75];
    let b = [0.1f64, -0.05];
    for (j, got) in y.iter().enumerate() {
        let (r, n) = (j / 2, j % 2);
        let z = f64::from(x[2 * r]) * w[2 * n] + f64::from(x[2 * r + 1]) * w[2 * n + 1] + b[n];
        assert!((got - z.clamp(-1.0, 1.0)).abs() <= s, "{j}: {got} vs {z}");
    }
    // a Relu has no upper bound: twice the calibrated range, as every act16 output
    let (s_relu, _) = run(&graph(FOp::Relu), &x);
    assert!(s_relu > s, "{s_relu}");
    // a clip wider than twice the range leaves the scale alone
    let wide = graph(FOp::Clip {
        min: -100.0,
        max: 100.0,
    });
    let (s_wide, _) = run(&wide, &x);
    assert!(
        (s_wide / (2.0 * 0.725 / 32767.0) - 1.0).abs() < 1e-6,
        "{s_wide}"
    );
}
