//! A `ReduceMean` whose calibrated output range is far below its input's (a variance, whose
//! input scale the largest square sets) is lowered as a `Reduce` `sum` requantized by
//! `s_x / (n · s_z)` onto its own output scale: a `mean` rounds at the input's scale, which
//! leaves a small row mean a few steps.

use vouch_engine::{Engine, Options};
use vouch_model::{Op, ReduceMode};
use vouch_onnx::{Dim, FGraph, FNode, FOp, Operand, ValueInfo};
use vouch_quant::FTensor;

const N: usize = 64;

fn graph() -> FGraph {
    let info = |name: &str, n: usize| ValueInfo {
        name: name.to_owned(),
        shape: vec![Dim::Batch, Dim::Fixed(n)],
        imputation: None,
        integer: None,
        grid: None,
        declared_range: None,
    };
    FGraph {
        values: vec![info("x", N), info("y", 1)],
        nodes: vec![FNode {
            name: "mean".into(),
            op: FOp::Reduce {
                mode: ReduceMode::Mean,
                axes: vec![1],
                keepdims: true,
            },
            inputs: vec![Operand::Value(0)],
            output: 1,
        }],
        inputs: vec![0],
        outputs: vec![1],
        ..Default::default()
    }
}

#[test]
fn a_small_mean_keeps_its_own_scale() {
    // row 0: one outlier of 100 (it sets the input's scale); rows 1..: values in [0.02, 0.04)
    let rows = 7;
    let mut data = vec![0f32; rows * N];
    data[0] = 100.0;
    for r in 1..rows {
        for i in 0..N {
            let f = ((r * N + i) as f32 * 0.618_034).fract();
            data[r * N + i] = 0.02 + 0.02 * f;
        }
    }
    let x = vec![FTensor {
        shape: vec![rows, N],
        data: data.clone(),
    }];
    let g = graph();
    let pkg = vouch_quant::import(&g, x.clone(), "mean", [0; 32], |_| {}).unwrap();
    assert!(
        pkg.nodes.iter().any(|n| matches!(
            n.op,
            Op::Reduce {
                mode: ReduceMode::Sum,
                ..
            }
        )),
        "the mean is a requantized sum"
    );
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(vouch_quant::quantize_inputs(&pkg, &x))
        .unwrap();
    let got = vouch_quant::dequantize(&pkg, 0, &out.outputs[0]);
    let s_x = pkg.values[pkg.inputs[0].value as usize].scale;
    let (mut new_err, mut old_err) = (0f64, 0f64);
    for r in 1..rows {
        // the mean of the quantized inputs: what any lowering can reach
        let want: f64 = data[r * N..(r + 1) * N]
            .iter()
            .map(|&v| (f64::from(v) / s_x).round() * s_x)
            .sum::<f64>()
            / N as f64;
        new_err = new_err.max((got[r] - want).abs() / want);
        // that mean rounded at the input's scale (the plain `mean`)
        old_err = old_err.max(((want / s_x).round() * s_x - want).abs() / want);
    }
    assert!(
        old_err > 0.01,
        "a mean at the input's scale loses {old_err}"
    );
    assert!(new_err < 0.003, "row means within {new_err}");
}
