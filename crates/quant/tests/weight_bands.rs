//! Weight bands (`docs/architecture.md`, "Weight bands"): a `Conv` whose channels' weights
//! differ in magnitude by far more than 16x is lowered as one `Conv` per band of channels of
//! like magnitude, each with its own weight scale. With one scale per tensor a small channel
//! keeps a few steps (or none): these graphs have such a channel whose output matters, and
//! the test checks both that one scale would lose it (the premise, measured on the float
//! model with only the weights rounded) and that the package keeps it.

use vouch_engine::{Engine, Options};
use vouch_onnx::{Dim, FConst, FGraph, FNode, FOp, Operand, ValueInfo};
use vouch_quant::FTensor;
use vouch_quant::explain::{WeightGrid, weight_error};

/// `y = relu(conv(x))`, `x` `[N, 2, 4, 4]`, a 3x3 kernel with pads 1 and `group` groups.
fn graph(weight: Vec<f32>, group: usize) -> FGraph {
    let info = |name: &str| ValueInfo {
        name: name.to_owned(),
        shape: vec![Dim::Batch, Dim::Fixed(2), Dim::Fixed(4), Dim::Fixed(4)],
        imputation: None,
        integer: None,
    };
    let cin = 2 / group;
    FGraph {
        values: vec![info("x"), info("z"), info("y")],
        consts: vec![
            FConst {
                name: "w".into(),
                shape: vec![2, cin, 3, 3],
                data: weight,
            },
            FConst {
                name: "b".into(),
                shape: vec![2],
                data: vec![0.25, 0.5],
            },
        ],
        nodes: vec![
            FNode {
                name: "conv".into(),
                op: FOp::Conv {
                    weight: 0,
                    bias: Some(1),
                    kernel: [3, 3],
                    strides: [1, 1],
                    pads: [1, 1, 1, 1],
                    dilations: [1, 1],
                    group,
                },
                inputs: vec![Operand::Value(0)],
                output: 1,
            },
            FNode {
                name: "relu".into(),
                op: FOp::Relu,
                inputs: vec![Operand::Value(1)],
                output: 2,
            },
        ],
        inputs: vec![0],
        outputs: vec![2],
        ..Default::default()
    }
}

/// Rows of `x` with input channel 0 times `a` and channel 1 times `b` (positive values).
fn rows(a: f32, b: f32) -> Vec<FTensor> {
    let n = 6;
    let data = (0..n * 32)
        .map(|i| {
            let v = ((i * 37 % 101) as f32 / 101.0) + 0.1;
            if (i / 16) % 2 == 0 { v * a } else { v * b }
        })
        .collect();
    vec![FTensor {
        shape: vec![n, 2, 4, 4],
        data,
    }]
}

/// The package's outputs on `x` against the float model's: `max |int - float| / max |float|`
/// over output channel `c`, and the number of `Conv` nodes of the package.
fn channel_error(g: &FGraph, x: &[FTensor], c: usize) -> (f64, usize) {
    let pkg = vouch_quant::import(g, x.to_vec(), "bands", [0; 32], |_| {}).unwrap();
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(vouch_quant::quantize_inputs(&pkg, x))
        .unwrap();
    let got = vouch_quant::dequantize(&pkg, 0, &out.outputs[0]);
    let want = vouch_quant::float::run(g, x.to_vec()).unwrap();
    let want = &want[g.outputs[0]].data;
    let (mut err, mut top) = (0f64, 0f64);
    for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
        if (i / 16) % 2 == c {
            err = err.max((a - f64::from(b)).abs());
            top = top.max(f64::from(b).abs());
        }
    }
    let convs = pkg
        .nodes
        .iter()
        .filter(|n| matches!(n.op, vouch_model::Op::Conv { .. }))
        .count();
    (err / top, convs)
}

#[test]
fn a_dense_conv_keeps_a_channel_a_million_times_smaller() {
    // output 0 reads a near-silent input channel 0 through weights of 1000 (a folded
    // BatchNormalization's dead channel), output 1 reads channel 1 through weights of 1e-3:
    // one scale of 1000 / 32767 per tensor rounds every weight of output 1 to 0
    let mut w = vec![0f32; 36];
    for k in 0..9 {
        w[k] = 1000.0;
        w[9 + k] = 0.005;
        w[18 + k] = 0.0;
        w[27 + k] = 1e-3 * (1.0 + k as f32 / 9.0);
    }
    let g = graph(w, 1);
    let x = rows(1e-6, 100.0);
    let premise = weight_error(&g, &x, 32767, WeightGrid::PerTensor).unwrap()[0];
    assert!(premise > 0.1, "one scale per tensor loses {premise}");
    let (err, convs) = channel_error(&g, &x, 1);
    assert_eq!(convs, 2, "two bands");
    assert!(err < 1e-3, "output channel 1's error {err}");
}

#[test]
fn a_depthwise_conv_keeps_a_channel_a_million_times_smaller() {
    // depthwise: channel 0 = 1000 · x0 with a near-silent x0 (below the input's step: the
    // weights multiply 0), channel 1 = 1e-3 · x1 with x1 ~ 1000
    let mut w = vec![0f32; 18];
    for k in 0..9 {
        w[k] = 1000.0 * (1.0 - k as f32 / 20.0);
        w[9 + k] = 1e-3 * (1.0 + k as f32 / 9.0);
    }
    let g = graph(w, 2);
    let x = rows(1e-6, 1000.0);
    let premise = weight_error(&g, &x, 32767, WeightGrid::PerTensor).unwrap()[0];
    assert!(premise > 0.1, "one scale per tensor loses {premise}");
    let (err, convs) = channel_error(&g, &x, 1);
    assert_eq!(convs, 2, "two bands");
    assert!(err < 1e-3, "output channel 1's error {err}");
}

#[test]
fn channels_within_the_band_ratio_stay_one_conv() {
    let w: Vec<f32> = (0..36).map(|i| 0.1 + (i % 7) as f32 * 0.05).collect();
    let g = graph(w, 1);
    let x = rows(1.0, 1.0);
    let (err, convs) = channel_error(&g, &x, 0);
    assert_eq!(convs, 1);
    assert!(err < 1e-3, "{err}");
}
