//! The magnitude of a pair, `Sqrt(Pow(re, 2) + Pow(im, 2))` (an STFT spectrum's, as silero VAD
//! computes it), is lowered to the largest of 128 projections (`vouch_onnx` `lower/magnitude`):
//! the float reference stays within the documented `1.5e-4` of `sqrt(re² + im²)`, and the
//! integer package keeps small magnitudes to a few output steps (through the squares, 16-bit
//! rounding of `re² + im²` cost up to `sqrt(step)`: 0.07 on this data).

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

mod one_node;

use vouch_engine::{Engine, Options};
use vouch_onnx::graph::FOp;
use vouch_onnx::proto::{NodeProto, TensorProto, ValueInfoProto};
use vouch_quant::FTensor;

const COLS: usize = 64;

fn vi(name: &str, dims: Option<&[i64]>) -> ValueInfoProto {
    one_node::value_info(name, 1, dims)
}

fn node(op: &str, inputs: &[&str], out: &str) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: vec![out.into()],
        name: out.into(),
        op_type: op.into(),
        ..Default::default()
    }
}

/// `y = Sqrt(Pow(re, 2) + Pow(im, 2))`, `re` and `im` of `[N, COLS]`.
fn model() -> Vec<u8> {
    one_node::graph(
        vec![
            node("Pow", &["re", "two"], "p"),
            node("Pow", &["im", "two"], "q"),
            node("Add", &["p", "q"], "s"),
            node("Sqrt", &["s"], "y"),
        ],
        vec![TensorProto {
            name: "two".into(),
            data_type: 1,
            float_data: vec![2.0],
            ..Default::default()
        }],
        vec![
            vi("re", Some(&[-1, COLS as i64])),
            vi("im", Some(&[-1, COLS as i64])),
        ],
        vec![vi("y", None)],
    )
}

/// `rows` pairs at every angle, most of them small (a spectrum's tail), a few up to ~18.
fn pairs(rows: usize, seed: usize) -> (FTensor, FTensor) {
    let n = rows * COLS;
    let (mut re, mut im) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for k in 0..n {
        let h = (k * 7919 + seed * 104_729) % 10_007;
        let angle = h as f32 * 0.000_627_9 * 7.0;
        let r = if k % 9 == 0 {
            18.0 * (h % 97) as f32 / 96.0
        } else {
            0.2 * (h % 101) as f32 / 100.0
        };
        re.push(r * angle.cos());
        im.push(r * angle.sin());
    }
    let t = |data| FTensor {
        shape: vec![rows, COLS],
        data,
    };
    (t(re), t(im))
}

/// `sqrt(re² + im²)` per element, in `f64`.
fn hypot(re: &FTensor, im: &FTensor) -> Vec<f64> {
    re.data
        .iter()
        .zip(&im.data)
        .map(|(&a, &b)| f64::from(a).hypot(f64::from(b)))
        .collect()
}

#[test]
fn a_pair_magnitude_keeps_small_values() {
    let g = vouch_onnx::import(&model(), &Default::default()).unwrap();
    assert!(
        g.nodes.iter().any(|n| matches!(n.op, FOp::Linear { .. }))
            && !g.nodes.iter().any(|n| matches!(n.op, FOp::Map { .. })),
        "lowered to projections, no square root table"
    );
    // the float reference: within the bound of the exact magnitude, at every size
    let (re, im) = pairs(8, 0);
    let vals = vouch_quant::float::run(&g, vec![re.clone(), im.clone()]).unwrap();
    let y = &vals[g.outputs[0]];
    let exact = hypot(&re, &im);
    for (i, (&got, &want)) in y.data.iter().zip(&exact).enumerate() {
        let rel = (f64::from(got) - want).abs() / want.max(1e-6);
        assert!(
            rel < 1.6e-4 || (f64::from(got) - want).abs() < 1e-6,
            "{i}: {got} vs {want}"
        );
    }
    // the integer package: a few output steps everywhere, the small magnitudes included
    let pkg = vouch_quant::import(&g, vec![re, im], "magnitude", [0; 32], |_| {}).unwrap();
    let (re, im) = pairs(4, 1);
    let exact = hypot(&re, &im);
    let q = vouch_quant::quantize_inputs(&pkg, &[re, im]);
    let out = Engine::new(&pkg, Options::default())
        .unwrap()
        .run(q)
        .unwrap()
        .outputs;
    let got = vouch_quant::dequantize(&pkg, 0, &out[0]);
    let top = exact.iter().copied().fold(0f64, f64::max);
    let step = top / 32767.0;
    let (mut worst, mut worst_small) = (0f64, 0f64);
    for (&g, &w) in got.iter().zip(&exact) {
        let e = (g - w).abs() - w * 1.6e-4;
        worst = worst.max(e);
        if w < 0.2 {
            worst_small = worst_small.max(e);
        }
    }
    println!(
        "max error {worst:.2e}, on magnitudes < 0.2 {worst_small:.2e}, output step {step:.2e}"
    );
    assert!(worst < 4.0 * step, "{worst} vs step {step}");
    assert!(worst_small < 4.0 * step, "{worst_small} vs step {step}");
}
