//! Elementwise arithmetic in `f32` with numpy broadcasting: `Add`, `Sub`, `Mul`, n-ary
//! `Max` and `Min`, the comparisons and logic ops (`Logic`, outputs `0`/`1`) and `Where`.

use super::Cx;
use crate::Result;
use vouch_engine::tensor::{broadcast_index, broadcast_shape};
use vouch_onnx::graph::BoolOp;

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

/// `Logic`: the comparison or logic op `op` as `1.0` (true) or `0.0` (false).
pub(super) fn logic(cx: &Cx<'_>, op: BoolOp) -> Result<Vec<f32>> {
    let b = |c: bool| if c { 1.0 } else { 0.0 };
    if op.arity() == 1 {
        return Ok(cx.x.data.iter().map(|&a| b(op.apply(a, 0.0))).collect());
    }
    binary(cx, |p, q| b(op.apply(p, q)))
}

/// `Where`: `x` where the condition (operand 0) is non-zero, else `y`.
pub(super) fn select_where(cx: &Cx<'_>) -> Result<Vec<f32>> {
    let out_shape = cx.out_shape;
    let [c, x, y] = cx.ins else {
        return Err(cx.err("Where needs 3 operands"));
    };
    let mut idx = Vec::with_capacity(3);
    for t in [c, x, y] {
        if broadcast_shape(&t.shape, out_shape).as_deref() != Some(out_shape) {
            return Err(cx.err(format!("cannot broadcast {:?} to {out_shape:?}", t.shape)));
        }
        idx.push(broadcast_index(&t.shape, out_shape));
    }
    Ok(idx[0]
        .iter()
        .zip(&idx[1])
        .zip(&idx[2])
        .map(|((&i, &j), &k)| {
            if c.data[i] != 0.0 {
                x.data[j]
            } else {
                y.data[k]
            }
        })
        .collect())
}
