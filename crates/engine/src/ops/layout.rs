//! Data movement without arithmetic: `Reshape`, `Transpose` (axis permutation) and `Concat`.

use super::NodeRun;
use crate::Result;
use crate::tensor::{Tensor, numel, strides};

/// Axis permutation.
pub fn transpose(x: &Tensor, perm: &[usize]) -> Tensor {
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let src_strides = strides(&x.shape);
    let eff: Vec<usize> = perm.iter().map(|&p| src_strides[p]).collect();
    let total = x.data.len();
    let mut data = Vec::with_capacity(total);
    let mut idx = vec![0usize; shape.len()];
    let mut off = 0usize;
    for _ in 0..total {
        data.push(x.data[off]);
        for ax in (0..shape.len()).rev() {
            idx[ax] += 1;
            off += eff[ax];
            if idx[ax] < shape[ax] {
                break;
            }
            off -= eff[ax] * shape[ax];
            idx[ax] = 0;
        }
    }
    Tensor { shape, data }
}

/// Concatenation along `axis`.
pub fn concat(xs: &[&Tensor], axis: usize, out_shape: &[usize]) -> Tensor {
    let outer: usize = out_shape[..axis].iter().product();
    let inner: usize = out_shape[axis + 1..].iter().product();
    let mut data = Vec::with_capacity(numel(out_shape).unwrap_or(0));
    for o in 0..outer {
        for x in xs {
            let chunk = x.shape[axis] * inner;
            data.extend_from_slice(&x.data[o * chunk..(o + 1) * chunk]);
        }
    }
    Tensor {
        shape: out_shape.to_vec(),
        data,
    }
}

/// Runs a `Reshape` node: the same elements under the declared shape.
pub(crate) fn run_reshape(r: &NodeRun<'_>) -> Result<Tensor> {
    let (x, out_shape) = (r.x, r.out_shape);
    if numel(out_shape) != Some(x.data.len()) {
        return Err(r.err(format!("cannot reshape {:?} to {out_shape:?}", x.shape)));
    }
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data: x.data.clone(),
    })
}

/// Runs a `Transpose` node: `perm` must be a permutation of the input's axes.
pub(crate) fn run_transpose(r: &NodeRun<'_>, perm: &[u32]) -> Result<Tensor> {
    let x = r.x;
    let perm: Vec<usize> = perm.iter().map(|&p| p as usize).collect();
    let mut seen = vec![false; x.shape.len()];
    if perm.len() != x.shape.len()
        || perm
            .iter()
            .any(|&p| p >= seen.len() || std::mem::replace(&mut seen[p], true))
    {
        return Err(r.err("bad permutation"));
    }
    Ok(transpose(x, &perm))
}

/// Runs a `Concat` node: every input agrees with the output off `axis`, and their sizes
/// along `axis` add up to it.
pub(crate) fn run_concat(r: &NodeRun<'_>, axis: u32) -> Result<Tensor> {
    let out_shape = r.out_shape;
    let a = axis as usize;
    let refs: Vec<&Tensor> = r.ins.clone();
    let ok = a < out_shape.len()
        && refs.iter().all(|t| {
            t.shape.len() == out_shape.len()
                && t.shape
                    .iter()
                    .zip(out_shape)
                    .enumerate()
                    .all(|(i, (d, o))| i == a || d == o)
        })
        && refs.iter().map(|t| t.shape[a]).sum::<usize>() == out_shape[a];
    if !ok {
        return Err(r.err("inputs do not concatenate to the declared shape"));
    }
    Ok(concat(&refs, a, out_shape))
}
