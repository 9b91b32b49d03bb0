//! Reductions along one axis in `f32`: `Softmax` (with `libm`'s `expf`) and `ArgMax`.

use super::Cx;
use crate::Result;

/// `Softmax` along `axis`: `e^(x - max) / Σ e^(x - max)`, summed in axis order.
pub(super) fn softmax(cx: &Cx<'_>, axis: usize) -> Result<Vec<f32>> {
    let x = cx.x;
    let (outer, len, inner) = split(&x.shape, axis);
    let mut data = vec![0f32; x.data.len()];
    for o in 0..outer {
        for i in 0..inner {
            let idx = |j: usize| (o * len + j) * inner + i;
            let m = (0..len)
                .map(|j| x.data[idx(j)])
                .fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for j in 0..len {
                let e = libm::expf(x.data[idx(j)] - m);
                data[idx(j)] = e;
                sum += e;
            }
            for j in 0..len {
                data[idx(j)] /= sum;
            }
        }
    }
    Ok(data)
}

/// `ArgMax` along `axis`: the first (or, with `select_last_index`, the last) index of the
/// largest value, as an `f32`.
pub(super) fn argmax(cx: &Cx<'_>, axis: usize, select_last_index: bool) -> Result<Vec<f32>> {
    let x = cx.x;
    let (outer, len, inner) = split(&x.shape, axis);
    let mut data = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0;
            for j in 1..len {
                let (v, b) = (
                    x.data[(o * len + j) * inner + i],
                    x.data[(o * len + best) * inner + i],
                );
                if v > b || (select_last_index && v == b) {
                    best = j;
                }
            }
            data.push(best as f32);
        }
    }
    Ok(data)
}

/// The element counts before, along and after `axis`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}
