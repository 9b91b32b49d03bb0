//! Reductions: the integer `Softmax` and `ArgMax` along one axis, and `Reduce` (sum, mean,
//! max, min) over any set of axes.

use super::{NodeRun, SemResult};
use crate::Result;
use crate::tensor::{Tensor, numel};
use vouch_semantics::{ReduceMode, ReducePlan, Requant, softmax_slice};

/// Splits a shape at `axis` into (outer, len, inner).
fn split_axis(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let inner = shape[axis + 1..].iter().product();
    (outer, shape[axis], inner)
}

/// Integer softmax along `axis`.
pub fn softmax(x: &Tensor, axis: usize, table: &[i32], rq: &Requant) -> SemResult<Tensor> {
    let (outer, len, inner) = split_axis(&x.shape, axis);
    let mut data = vec![0i32; x.data.len()];
    let mut slice = vec![0i32; len];
    let mut res = vec![0i32; len];
    for o in 0..outer {
        for i in 0..inner {
            for (j, s) in slice.iter_mut().enumerate() {
                *s = x.data[(o * len + j) * inner + i];
            }
            softmax_slice(&slice, table, rq, &mut res)?;
            for (j, r) in res.iter().enumerate() {
                data[(o * len + j) * inner + i] = *r;
            }
        }
    }
    Ok(Tensor {
        shape: x.shape.clone(),
        data,
    })
}

/// Index of the maximum along `axis` (first, or last with `select_last_index`).
pub fn argmax(x: &Tensor, axis: usize, out_shape: &[usize], last: bool) -> Tensor {
    let (outer, len, inner) = split_axis(&x.shape, axis);
    let mut data = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let mut best = 0usize;
            for j in 1..len {
                let (v, b) = (
                    x.data[(o * len + j) * inner + i],
                    x.data[(o * len + best) * inner + i],
                );
                if v > b || (last && v == b) {
                    best = j;
                }
            }
            data.push(best as i32);
        }
    }
    Tensor {
        shape: out_shape.to_vec(),
        data,
    }
}

/// Runs a `Softmax` node: the axis must exist and be non-empty.
pub(crate) fn run_softmax(r: &NodeRun<'_>, axis: u32, table: u32, rq: &Requant) -> Result<Tensor> {
    let x = r.x;
    if axis as usize >= x.shape.len() || x.shape[axis as usize] == 0 {
        return Err(r.err("axis out of range"));
    }
    softmax(x, axis as usize, r.konst(table), rq).map_err(|e| r.sem(e))
}

/// Runs an `ArgMax` node: the axis must exist, be non-empty and reduce to the output.
pub(crate) fn run_argmax(r: &NodeRun<'_>, axis: u32, select_last_index: bool) -> Result<Tensor> {
    let x = r.x;
    let a = axis as usize;
    if a >= x.shape.len()
        || x.shape[a] == 0
        || numel(r.out_shape) != Some(x.data.len() / x.shape[a])
    {
        return Err(r.err("axis out of range"));
    }
    Ok(argmax(x, a, r.out_shape, select_last_index))
}

/// `Reduce`: `requant(R(X), M, s, lo, hi)` per output element, `R` the [`ReduceMode`] over the
/// elements the [`ReducePlan`] of `axes` assigns it.
pub fn reduce(
    x: &Tensor,
    mode: ReduceMode,
    axes: &[usize],
    rq: &Requant,
    out_shape: &[usize],
) -> SemResult<Tensor> {
    let plan = ReducePlan::new(&x.shape, axes)?;
    let data = plan
        .bases
        .iter()
        .map(|&b| {
            let r = mode.combine(
                plan.offsets
                    .iter()
                    .map(|&o| i64::from(x.data.get(b + o).copied().unwrap_or(0))),
            )?;
            rq.apply(r)
        })
        .collect::<SemResult<Vec<_>>>()?;
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data,
    })
}

/// Runs a `Reduce` node: the axes exist, and the output has the input's shape with each
/// reduced axis at 1 (`keepdims`) or removed.
pub(crate) fn run_reduce(
    r: &NodeRun<'_>,
    mode: ReduceMode,
    axes: &[u32],
    keepdims: bool,
    rq: &Requant,
) -> Result<Tensor> {
    let x = r.x;
    let axes: Vec<usize> = axes.iter().map(|&a| a as usize).collect();
    let want: Vec<usize> = x
        .shape
        .iter()
        .enumerate()
        .filter_map(|(a, &d)| match (axes.contains(&a), keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    if axes.iter().any(|&a| a >= x.shape.len()) || want != r.out_shape {
        return Err(r.err(format!(
            "reducing axes {axes:?} of {:?} does not give {:?}",
            x.shape, r.out_shape
        )));
    }
    reduce(x, mode, &axes, rq, r.out_shape).map_err(|e| r.sem(e))
}
