//! Elementwise arithmetic in `f32` with numpy broadcasting: `Add`, `Sub`, `Mul`, and n-ary
//! `Max` and `Min`.

use super::Cx;
use crate::Result;
use vouch_engine::tensor::{broadcast_index, broadcast_shape};

/// `Add`: `x + y`.
pub(super) fn add(cx: &Cx<'_>) -> Result<Vec<f32>> {
    binary(cx, |a, b| a + b)
}

/// `Sub`: `x - y`.
pub(super) fn sub(cx: &Cx<'_>) -> Result<Vec<f32>> {
    binary(cx, |a, b| a - b)
}

/// `Mul`: `x · y`.
pub(super) fn mul(cx: &Cx<'_>) -> Result<Vec<f32>> {
    binary(cx, |a, b| a * b)
}

/// `f` of the first two operands, broadcast to the output shape.
fn binary(cx: &Cx<'_>, f: impl Fn(f32, f32) -> f32) -> Result<Vec<f32>> {
    let (x, out_shape) = (cx.x, cx.out_shape);
    let y = &cx.ins[1];
    if broadcast_shape(&x.shape, &y.shape).as_deref() != Some(out_shape) {
        return Err(cx.err(format!("cannot broadcast {:?} with {:?}", x.shape, y.shape)));
    }
    let (xi, yi) = (
        broadcast_index(&x.shape, out_shape),
        broadcast_index(&y.shape, out_shape),
    );
    let data = xi
        .iter()
        .zip(&yi)
        .map(|(&a, &b)| f(x.data[a], y.data[b]))
        .collect();
    Ok(data)
}

/// `Max` of every operand, broadcast to the output shape.
pub(super) fn max(cx: &Cx<'_>) -> Result<Vec<f32>> {
    nary(cx, f32::max)
}

/// `Min` of every operand, broadcast to the output shape.
pub(super) fn min(cx: &Cx<'_>) -> Result<Vec<f32>> {
    nary(cx, f32::min)
}

/// `f` folded over every operand, each broadcast to the output shape.
fn nary(cx: &Cx<'_>, f: impl Fn(f32, f32) -> f32) -> Result<Vec<f32>> {
    let out_shape = cx.out_shape;
    let mut data: Option<Vec<f32>> = None;
    for t in cx.ins {
        if broadcast_shape(&t.shape, out_shape).as_deref() != Some(out_shape) {
            return Err(cx.err(format!("cannot broadcast {:?} to {out_shape:?}", t.shape)));
        }
        let idx = broadcast_index(&t.shape, out_shape);
        data = Some(match data {
            None => idx.iter().map(|&i| t.data[i]).collect(),
            Some(d) => d.iter().zip(&idx).map(|(&a, &i)| f(a, t.data[i])).collect(),
        });
    }
    data.ok_or_else(|| cx.err("no operands"))
}
