//! Reductions in `f32`: `Softmax` (with `libm`'s `expf`) and `ArgMax` along one axis, and
//! `Reduce` (sum, mean, max, min) over any set of axes.

use super::Cx;
use crate::Result;
use vouch_onnx::graph::ReduceMode;
use vouch_semantics::ReducePlan;

/// `Reduce` over `axes`: each output element sums (in the plan's row-major order), averages
/// (the sum divided by the count), maximizes or minimizes its input elements.
pub(super) fn reduce(cx: &Cx<'_>, mode: ReduceMode, axes: &[usize]) -> Result<Vec<f32>> {
    let x = cx.x;
    let plan = ReducePlan::new(&x.shape, axes).map_err(|e| cx.err(e.to_string()))?;
    let n = plan.offsets.len() as f32;
    Ok(plan
        .bases
        .iter()
        .map(|&b| {
            let vals = plan.offsets.iter().map(|&o| x.data[b + o]);
            match mode {
                ReduceMode::Sum => vals.sum(),
                ReduceMode::Mean => vals.sum::<f32>() / n,
                ReduceMode::Max => vals.fold(f32::NEG_INFINITY, f32::max),
                ReduceMode::Min => vals.fold(f32::INFINITY, f32::min),
            }
        })
        .collect())
}

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

/// onnxruntime's `SOFTMAX_ZERO` along `axis` (`ComputeSoftmaxZero` in its `ml_common.h`): with
/// `m` the largest score, a score `|x| > 1e-7` becomes `e^(x - m)`, any other `x · e^(-m)`,
/// and every value is divided by the sum of the former (a slice of zeros gives NaN, 0 / 0).
pub(super) fn softmax_zero(cx: &Cx<'_>, axis: usize) -> Result<Vec<f32>> {
    let x = cx.x;
    let (outer, len, inner) = split(&x.shape, axis);
    let mut data = vec![0f32; x.data.len()];
    for o in 0..outer {
        for i in 0..inner {
            let idx = |j: usize| (o * len + j) * inner + i;
            let m = (0..len).map(|j| x.data[idx(j)]).fold(-f32::MAX, f32::max);
            let below = libm::expf(-m);
            let mut sum = 0f32;
            for j in 0..len {
                let v = x.data[idx(j)];
                data[idx(j)] = if v.abs() > 1e-7 {
                    let e = libm::expf(v - m);
                    sum += e;
                    e
                } else {
                    v * below
                };
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
