//! ONNX `InstanceNormalization`, `LRN` and `Pow` by a constant exponent are lowered by the
//! importer into existing float ops: the float reference of the lowered graph computes the
//! ONNX definitions (checked here against a direct `f64` computation of each formula).

#![allow(clippy::unwrap_used, missing_docs)]

mod one_node;

use vouch_onnx::proto::{AttributeProto, TensorProto};

/// A rank-1 float initializer.
fn init(name: &str, data: &[f32]) -> TensorProto {
    one_node::init(name, &[data.len()], data)
}

/// One node `op(inputs) -> y` on the float input `x` of `shape`, run by the float reference.
fn run(
    op: &str,
    inputs: &[&str],
    attrs: Vec<AttributeProto>,
    inits: Vec<TensorProto>,
    shape: &[usize],
    x: &[f32],
) -> Vec<f32> {
    one_node::run(13, op, inputs, attrs, inits, shape, x).1
}

/// A fixed, irregular input of `n` values in about `[-3, 3]`.
fn data(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 37 % 23) as f32 - 11.0) / 3.7 + (i % 3) as f32 * 0.1)
        .collect()
}

fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(*g) - w).abs() <= tol * w.abs().max(1.0),
            "element {i}: {g} vs {w}"
        );
    }
}

/// Each `(n, c)` slice normalized: one spatial axis of 7, and a 15 × 15 slice (225 elements,
/// past one `Reduce`'s span: averaged one axis at a time).
#[test]
fn instance_norm_normalizes_each_slice() {
    for shape in [&[2, 3, 7][..], &[1, 2, 15, 15][..]] {
        let (c, l) = (shape[1], shape[2..].iter().product::<usize>());
        let x = data(shape.iter().product());
        let scale = [0.5, -1.0, 2.0];
        let bias = [0.25, 0.0, -1.5];
        let eps = 0.01;
        let got = run(
            "InstanceNormalization",
            &["x", "s", "b"],
            vec![one_node::float("epsilon", eps)],
            vec![init("s", &scale[..c]), init("b", &bias[..c])],
            shape,
            &x,
        );
        let mut want = Vec::new();
        for (i, v) in x.chunks(l).enumerate() {
            let v: Vec<f64> = v.iter().map(|&a| f64::from(a)).collect();
            let mean = v.iter().sum::<f64>() / l as f64;
            let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / l as f64;
            let ch = i % c;
            for a in v {
                want.push(
                    f64::from(scale[ch]) * (a - mean) / (var + f64::from(eps)).sqrt()
                        + f64::from(bias[ch]),
                );
            }
        }
        assert_close(&got, &want, 1e-5);
    }
}

#[test]
fn lrn_divides_by_the_channel_window_power() {
    let (c, hw) = (5, 4);
    let x = data(c * hw);
    let (alpha, beta, bias) = (0.3f64, 0.75f64, 1.5f64);
    for size in [1usize, 2, 3, 4] {
        let got = run(
            "LRN",
            &["x"],
            vec![
                one_node::int("size", size as i64),
                one_node::float("alpha", alpha as f32),
                one_node::float("beta", beta as f32),
                one_node::float("bias", bias as f32),
            ],
            vec![],
            &[1, c, 2, 2],
            &x,
        );
        let xs: Vec<f64> = x.iter().map(|&a| f64::from(a)).collect();
        let mut want = Vec::new();
        for ch in 0..c {
            let lo = ch.saturating_sub((size - 1) / 2);
            let hi = (ch + (size - 1).div_ceil(2)).min(c - 1);
            for p in 0..hw {
                let sum: f64 = (lo..=hi).map(|i| xs[i * hw + p].powi(2)).sum();
                want.push(xs[ch * hw + p] / (bias + alpha / size as f64 * sum).powf(beta));
            }
        }
        assert_close(&got, &want, 1e-5);
    }
}

#[test]
fn pow_by_a_constant_exponent() {
    let x: Vec<f32> = data(12).iter().map(|a| a.abs()).collect();
    let got = run(
        "Pow",
        &["x", "e"],
        vec![],
        vec![init("e", &[1.5])],
        &[2, 6],
        &x,
    );
    let want: Vec<f64> = x.iter().map(|&a| f64::from(a).powf(1.5)).collect();
    assert_close(&got, &want, 1e-5);
}
