//! Data movement without arithmetic: `Reshape`, `Transpose` (axis permutation), `Concat`,
//! `Pad`, `Select` (per-axis index maps) and `Gather` (by a computed index).

use super::NodeRun;
use crate::Result;
use crate::tensor::{Tensor, numel, strides};
use vouch_semantics::PadMode;

/// Axis permutation.
pub fn transpose(x: &Tensor, perm: &[usize]) -> Tensor {
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let src_strides = strides(&x.shape);
    let eff: Vec<usize> = perm.iter().map(|&p| src_strides[p]).collect();
    let total = x.data.len();
    let (Some(&inner), Some(&step)) = (shape.last(), eff.last()) else {
        // a scalar
        return x.clone();
    };
    let mut data = Vec::with_capacity(total);
    if total == 0 {
        return Tensor { shape, data };
    }
    // output rows (every axis but the last) by an odometer; each row reads a strided run
    let outer = shape.len() - 1;
    let mut idx = vec![0usize; outer];
    let mut off = 0usize;
    loop {
        data.extend((0..inner).map(|j| x.data[off + j * step]));
        let mut ax = outer;
        loop {
            let Some(a) = ax.checked_sub(1) else {
                return Tensor { shape, data };
            };
            idx[a] += 1;
            off += eff[a];
            if idx[a] < shape[a] {
                break;
            }
            off -= eff[a] * shape[a];
            idx[a] = 0;
            ax = a;
        }
    }
}

/// `Select` (`docs/semantics.md` section 3): output index `o` along axis `d` reads input
/// index `maps[d][o]`, or `o` where `maps[d]` is empty. Every index must be inside its axis
/// ([`run_select`] checks).
pub fn select(x: &Tensor, maps: &[Vec<usize>]) -> Tensor {
    let r = x.shape.len();
    let Some(last) = r.checked_sub(1) else {
        // a scalar: the one element
        return x.clone();
    };
    let (shape, offs) = select_offsets(&x.shape, maps);
    let total = numel(&shape).unwrap_or(0);
    let mut data = Vec::with_capacity(total);
    let inner = &offs[last];
    // The last axis read in order (no map, or a run of consecutive indices): row copies.
    let run = inner
        .first()
        .copied()
        .filter(|&o0| inner.iter().enumerate().all(|(j, &o)| o == o0 + j));
    if total > 0 {
        let mut idx = vec![0usize; last];
        loop {
            let base: usize = (0..last).map(|d| offs[d][idx[d]]).sum();
            match run {
                Some(o0) => data.extend_from_slice(&x.data[base + o0..base + o0 + inner.len()]),
                None => data.extend(inner.iter().map(|&o| x.data[base + o])),
            }
            // the next index of the outer axes (odometer); done after the last
            let mut ax = last;
            loop {
                let Some(a) = ax.checked_sub(1) else {
                    return Tensor { shape, data };
                };
                idx[a] += 1;
                if idx[a] < shape[a] {
                    break;
                }
                idx[a] = 0;
                ax = a;
            }
        }
    }
    Tensor { shape, data }
}

/// The output shape of `Select` on an input of `shape`, and per axis the input offset (index
/// times the axis's stride) of each output index.
fn select_offsets(shape: &[usize], maps: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let r = shape.len();
    let out: Vec<usize> = (0..r)
        .map(|d| match maps.get(d) {
            Some(m) if !m.is_empty() => m.len(),
            _ => shape[d],
        })
        .collect();
    let src = strides(shape);
    let offs = (0..r)
        .map(|d| match maps.get(d) {
            Some(m) if !m.is_empty() => m.iter().map(|&i| i * src[d]).collect(),
            _ => (0..out[d]).map(|i| i * src[d]).collect(),
        })
        .collect();
    (out, offs)
}

/// The output shape of `Select` on an input of `shape`, and for each output element (row
/// major) the input element it reads: the one index map the float reference and the circuit
/// share with [`select`].
pub fn select_index(shape: &[usize], maps: &[Vec<usize>]) -> (Vec<usize>, Vec<usize>) {
    let r = shape.len();
    // per axis, the input offset of each output index
    let (out, offs) = select_offsets(shape, maps);
    let total = numel(&out).unwrap_or(0);
    let mut index = Vec::with_capacity(total);
    let mut idx = vec![0usize; r];
    for _ in 0..total {
        index.push((0..r).map(|d| offs[d][idx[d]]).sum());
        for ax in (0..r).rev() {
            idx[ax] += 1;
            if idx[ax] < out[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
    (out, index)
}

/// Runs a `Select` node: one map per input axis, every index inside its axis, the output the
/// declared shape.
pub(crate) fn run_select(r: &NodeRun<'_>, maps: &[Vec<u32>]) -> Result<Tensor> {
    let x = r.x;
    let maps: Vec<Vec<usize>> = maps
        .iter()
        .map(|m| m.iter().map(|&i| i as usize).collect())
        .collect();
    let ok = maps.len() == x.shape.len()
        && maps
            .iter()
            .zip(&x.shape)
            .all(|(m, &d)| m.iter().all(|&i| i < d));
    if !ok {
        return Err(r.err(format!("maps do not select from {:?}", x.shape)));
    }
    let z = select(x, &maps);
    if z.shape != r.out_shape {
        return Err(r.err(format!("selects {:?}, not {:?}", z.shape, r.out_shape)));
    }
    Ok(z)
}

/// The output shape of `Gather` along `axis` of data of shape `x` by indices of shape `idx`
/// (`x[..axis] ++ idx ++ x[axis + 1..]`), and its geometry `(outer, n, inner)`: output
/// element `(o, p, i)` (row major, `p` over the indices) reads data element
/// `(o * n + j) * inner + i` with `j` the index [`vouch_semantics::gather_index`] of `idx[p]`.
/// `None` when `axis` is past the data's rank.
pub fn gather_shape(x: &[usize], idx: &[usize], axis: usize) -> Option<(Vec<usize>, [usize; 3])> {
    let n = *x.get(axis)?;
    let (before, after) = (x.get(..axis)?, x.get(axis + 1..)?);
    let shape = before.iter().chain(idx).chain(after).copied().collect();
    Some((shape, [before.iter().product(), n, after.iter().product()]))
}

/// `Gather` (`docs/semantics.md` section 3): `Z[o, p, i] = X[o, j(I[p]), i]` along `axis`,
/// every index value naming an element by [`vouch_semantics::gather_index`]. `None` when the
/// axis is past the rank or empty.
pub fn gather(x: &Tensor, idx: &Tensor, axis: usize) -> Option<Tensor> {
    let (shape, [outer, n, inner]) = gather_shape(&x.shape, &idx.shape, axis)?;
    let picks: Vec<usize> = idx
        .data
        .iter()
        .map(|&v| vouch_semantics::gather_index(v, n))
        .collect::<Option<_>>()?;
    let mut data = Vec::with_capacity(outer * picks.len() * inner);
    for o in 0..outer {
        for &j in &picks {
            let at = (o * n + j) * inner;
            data.extend_from_slice(x.data.get(at..at + inner)?);
        }
    }
    Some(Tensor { shape, data })
}

/// Runs a `Gather` node: inputs `[X, I]` (`X` computed or constant), the output the
/// declared shape.
pub(crate) fn run_gather(r: &NodeRun<'_>, axis: u32) -> Result<Tensor> {
    let idx = r.ins.get(1).ok_or_else(|| r.err("Gather has no indices"))?;
    let z = gather(r.x, idx, axis as usize).ok_or_else(|| {
        r.err(format!(
            "cannot gather along axis {axis} of {:?}",
            r.x.shape
        ))
    })?;
    if z.shape != r.out_shape {
        return Err(r.err(format!("gathers {:?}, not {:?}", z.shape, r.out_shape)));
    }
    Ok(z)
}

/// Concatenation along `axis`.
pub fn concat(xs: &[&Tensor], axis: usize, out_shape: &[usize]) -> Tensor {
    use rayon::prelude::*;
    let outer: usize = out_shape[..axis].iter().product();
    let inner: usize = out_shape[axis + 1..].iter().product();
    let total = numel(out_shape).unwrap_or(0);
    // Each outer index's run of every input, in order: several runs side by side in a pool
    // (each element is still one copy, so the bits do not depend on the split).
    let row = out_shape.get(axis).copied().unwrap_or(0) * inner;
    if outer > 1 && row > 0 && total > CONCAT_PAR && crate::gemm::in_parallel_pool() {
        let mut data = vec![0i32; total];
        data.par_chunks_mut(row).enumerate().for_each(|(o, dst)| {
            let mut at = 0;
            for x in xs {
                let chunk = x.shape[axis] * inner;
                dst[at..at + chunk].copy_from_slice(&x.data[o * chunk..(o + 1) * chunk]);
                at += chunk;
            }
        });
        return Tensor {
            shape: out_shape.to_vec(),
            data,
        };
    }
    let mut data = Vec::with_capacity(total);
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

/// Elements above which a `Concat` with several outer runs copies them over the pool.
const CONCAT_PAR: usize = 1 << 16;

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

/// `Pad` (`docs/semantics.md` section 3): `pads` is `[begin_0.., end_0..]`; output element
/// `o` reads the input element whose index along each axis is
/// [`PadMode::source`]`(o_a, begin_a, d_a)`, or is `value` when some axis has none.
pub fn pad(
    x: &Tensor,
    mode: PadMode,
    pads: &[usize],
    value: i32,
) -> std::result::Result<Tensor, vouch_semantics::Error> {
    let r = x.shape.len();
    let bad = vouch_semantics::Error::Domain {
        what: "pads per axis",
    };
    if pads.len() != 2 * r {
        return Err(bad);
    }
    let mut shape = Vec::with_capacity(r);
    // Per axis, the input index of each output index (`None`: the constant).
    let mut src: Vec<Vec<Option<usize>>> = Vec::with_capacity(r);
    for (a, &d) in x.shape.iter().enumerate() {
        let o = d
            .checked_add(pads[a])
            .and_then(|v| v.checked_add(pads[r + a]))
            .ok_or(bad)?;
        shape.push(o);
        src.push(
            (0..o)
                .map(|i| mode.source(i, pads[a], d))
                .collect::<std::result::Result<_, _>>()?,
        );
    }
    let total = numel(&shape).ok_or(bad)?;
    let st = strides(&x.shape);
    let mut data = Vec::with_capacity(total);
    let mut idx = vec![0usize; r];
    for _ in 0..total {
        let mut off = Some(0usize);
        for a in 0..r {
            off = match (off, src[a][idx[a]]) {
                (Some(f), Some(i)) => Some(f + i * st[a]),
                _ => None,
            };
        }
        data.push(off.map_or(value, |f| x.data[f]));
        for a in (0..r).rev() {
            idx[a] += 1;
            if idx[a] < shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    Ok(Tensor { shape, data })
}

/// Runs a `Pad` node: one begin and one end per input axis, and the padded shape is the
/// declared one.
pub(crate) fn run_pad(r: &NodeRun<'_>, mode: PadMode, pads: &[u32], value: i32) -> Result<Tensor> {
    let pads: Vec<usize> = pads.iter().map(|&p| p as usize).collect();
    let z = pad(r.x, mode, &pads, value).map_err(|e| r.sem(e))?;
    if z.shape != r.out_shape {
        return Err(r.err(format!(
            "padding {:?} by {pads:?} gives {:?}, the package declares {:?}",
            r.x.shape, z.shape, r.out_shape
        )));
    }
    Ok(z)
}
