//! Data movement in `f32`: `Reshape`, `Transpose`, `Concat`, `Pad`, `Select` and `Gather`.

use super::Cx;
use crate::Result;
use vouch_engine::tensor::strides;
use vouch_onnx::graph::PadMode;

/// `Reshape`: the input data unchanged.
pub(super) fn reshape(cx: &Cx<'_>) -> Result<Vec<f32>> {
    Ok(cx.x.data.clone())
}

/// `Transpose`: output axis `a` reads input axis `perm[a]`.
pub(super) fn transpose(cx: &Cx<'_>, perm: &[usize]) -> Result<Vec<f32>> {
    let (x, out_shape, total) = (cx.x, cx.out_shape, cx.total);
    let src = strides(&x.shape);
    let mut data = Vec::with_capacity(total);
    let ost = strides(out_shape);
    for i in 0..total {
        let mut off = 0;
        for (ax, &p) in perm.iter().enumerate() {
            off += (i / ost[ax]) % out_shape[ax] * src[p];
        }
        data.push(x.data[off]);
    }
    Ok(data)
}

/// `Select`: each output element reads the input element the engine's index map names.
pub(super) fn select(cx: &Cx<'_>, maps: &[Vec<usize>]) -> Result<Vec<f32>> {
    let (_, src) = vouch_engine::ops::select_index(&cx.x.shape, maps);
    Ok(src.into_iter().map(|i| cx.x.data[i]).collect())
}

/// `Gather` along `axis` by the computed indices (operand 1, exact integers as floats): an
/// index counts from the end once when negative, then clamps to the axis
/// ([`vouch_semantics::gather_index`]; onnxruntime refuses an index outside `[-n, n)`).
pub(super) fn gather(cx: &Cx<'_>, axis: usize) -> Result<Vec<f32>> {
    let (x, idx) = (cx.x, cx.ins.get(1).ok_or_else(|| cx.err("no indices"))?);
    let n = *x
        .shape
        .get(axis)
        .ok_or_else(|| cx.err("axis past the data's rank"))?;
    let outer: usize = x.shape[..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    let mut data = Vec::with_capacity(cx.total);
    for o in 0..outer {
        for &v in &idx.data {
            let j = vouch_semantics::gather_index(v as i32, n)
                .ok_or_else(|| cx.err("gathering from an empty axis"))?;
            let at = (o * n + j) * inner;
            data.extend_from_slice(&x.data[at..at + inner]);
        }
    }
    Ok(data)
}

/// `Concat` along `axis`: for each outer index, every operand's slab in operand order. An
/// operand with fewer outer slabs (a constant of batch 1 joining every row) repeats them.
pub(super) fn concat(cx: &Cx<'_>, axis: usize) -> Result<Vec<f32>> {
    let out_shape = cx.out_shape;
    let outer: usize = out_shape[..axis].iter().product();
    let inner: usize = out_shape[axis + 1..].iter().product();
    let mut data = Vec::with_capacity(cx.total);
    for o in 0..outer {
        for t in cx.ins {
            let chunk = t.shape[axis] * inner;
            let slabs = t.shape[..axis].iter().product::<usize>().max(1);
            let k = o % slabs;
            let slab = t
                .data
                .get(k * chunk..(k + 1) * chunk)
                .ok_or_else(|| cx.err("operand shapes do not concatenate"))?;
            data.extend_from_slice(slab);
        }
    }
    Ok(data)
}

/// `Pad`: output element `o` reads, along each axis `a`, input index
/// [`PadMode::source`]`(o_a, begin_a, d_a)`, or is `value` where some axis reads none.
pub(super) fn pad(cx: &Cx<'_>, mode: PadMode, pads: &[usize], value: f32) -> Result<Vec<f32>> {
    let (x, out_shape) = (cx.x, cx.out_shape);
    let r = x.shape.len();
    if pads.len() != 2 * r || out_shape.len() != r {
        return Err(cx.err("pads do not match the input rank"));
    }
    let src = strides(&x.shape);
    let ost = strides(out_shape);
    let mut data = Vec::with_capacity(cx.total);
    for i in 0..cx.total {
        let mut off = Some(0usize);
        for a in 0..r {
            let o = (i / ost[a]) % out_shape[a];
            let s = mode
                .source(o, pads[a], x.shape[a])
                .map_err(|e| cx.err(e.to_string()))?;
            off = off.zip(s).map(|(f, s)| f + s * src[a]);
        }
        data.push(off.map_or(value, |f| x.data[f]));
    }
    Ok(data)
}
