//! Elementwise activations in `f32`: `Relu`, `Clip`, `LeakyRelu`, `PRelu`, and `Sigmoid`/`Tanh` with
//! `libm`'s `expf`/`tanhf`.

use super::Cx;
use crate::Result;
use vouch_engine::tensor::{broadcast_index, broadcast_shape};

/// `Relu`: `max(x, 0)`.
pub(super) fn relu(cx: &Cx<'_>) -> Result<Vec<f32>> {
    Ok(unary(cx, |v| v.max(0.0)))
}

/// `Clip`: `min(max(x, min), max)`.
pub(super) fn clip(cx: &Cx<'_>, min: f32, max: f32) -> Result<Vec<f32>> {
    Ok(unary(cx, |v| v.max(min).min(max)))
}

/// `LeakyRelu`: `x >= 0 ? x : alpha · x`.
pub(super) fn leaky_relu(cx: &Cx<'_>, alpha: f32) -> Result<Vec<f32>> {
    Ok(unary(cx, |v| if v >= 0.0 { v } else { alpha * v }))
}

/// `PRelu`: `x >= 0 ? x : slope · x`, the slope (operand 1) broadcast to `x`.
pub(super) fn prelu(cx: &Cx<'_>) -> Result<Vec<f32>> {
    let (x, slope) = (cx.x, cx.ins.get(1).ok_or_else(|| cx.err("no slope"))?);
    if broadcast_shape(&x.shape, &slope.shape).as_deref() != Some(&x.shape[..]) {
        return Err(cx.err(format!("slope {:?} does not broadcast", slope.shape)));
    }
    let idx = broadcast_index(&slope.shape, &x.shape);
    Ok(x.data
        .iter()
        .zip(&idx)
        .map(|(&v, &i)| if v >= 0.0 { v } else { slope.data[i] * v })
        .collect())
}

/// `Sigmoid`: `1 / (1 + e^-x)`.
pub(super) fn sigmoid(cx: &Cx<'_>) -> Result<Vec<f32>> {
    Ok(unary(cx, |v| 1.0 / (1.0 + libm::expf(-v))))
}

/// `Tanh`.
pub(super) fn tanh(cx: &Cx<'_>) -> Result<Vec<f32>> {
    Ok(unary(cx, libm::tanhf))
}

/// An elementwise function of one argument ([`vouch_onnx::ScalarFn`]).
pub(super) fn map(cx: &Cx<'_>, f: vouch_onnx::ScalarFn) -> Result<Vec<f32>> {
    Ok(unary(cx, |v| f.apply(v)))
}

/// `f` of every element of the first operand.
fn unary(cx: &Cx<'_>, f: impl Fn(f32) -> f32) -> Vec<f32> {
    cx.x.data.iter().map(|&v| f(v)).collect()
}
