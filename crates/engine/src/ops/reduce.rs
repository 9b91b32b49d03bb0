//! Reductions along one axis: the integer `Softmax` and `ArgMax`.

use super::{NodeRun, SemResult};
use crate::Result;
use crate::tensor::{Tensor, numel};
use vouch_semantics::{Requant, softmax_slice};

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
