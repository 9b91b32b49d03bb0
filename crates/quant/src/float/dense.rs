//! Dense products in `f32`: `Linear` (a constant `[N, K]` weight and optional bias) and
//! `MatMul` of two values with broadcast batch axes.

use super::Cx;
use crate::Result;
use vouch_engine::tensor::broadcast_index;

/// `Linear`: `z[i, j] = bias[j] + Σ_k x[i, k] · w[j, k]`, summed in `k` order.
pub(super) fn linear(cx: &Cx<'_>, weight: usize, bias: Option<usize>) -> Result<Vec<f32>> {
    let x = cx.x;
    let w = cx.konst(weight);
    let (n, k) = (w.shape[0], w.shape[1]);
    let m = x.data.len().checked_div(k).unwrap_or(0);
    let mut data = vec![0f32; m * n];
    for i in 0..m {
        let xr = &x.data[i * k..(i + 1) * k];
        for j in 0..n {
            let wr = &w.data[j * k..(j + 1) * k];
            let mut s = bias.map_or(0.0, |b| cx.konst(b).data[j]);
            for (a, b) in xr.iter().zip(wr) {
                s += a * b;
            }
            data[i * n + j] = s;
        }
    }
    Ok(data)
}

/// `MatMul` of two values: the last two axes multiply, the leading ones broadcast.
pub(super) fn matmul(cx: &Cx<'_>) -> Result<Vec<f32>> {
    let (x, out_shape) = (cx.x, cx.out_shape);
    let y = &cx.ins[1];
    let (xr, yr) = (x.shape.len(), y.shape.len());
    let (m, k, n) = (x.shape[xr - 2], x.shape[xr - 1], y.shape[yr - 1]);
    let bshape = &out_shape[..out_shape.len() - 2];
    let xb = broadcast_index(&x.shape[..xr - 2], bshape);
    let yb = broadcast_index(&y.shape[..yr - 2], bshape);
    let mut data = Vec::with_capacity(cx.total);
    for (&bx, &by) in xb.iter().zip(&yb) {
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f32;
                for t in 0..k {
                    s += x.data[bx * m * k + i * k + t] * y.data[by * k * n + t * n + j];
                }
                data.push(s);
            }
        }
    }
    Ok(data)
}
