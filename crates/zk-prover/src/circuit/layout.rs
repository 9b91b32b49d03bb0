//! Data movement without arithmetic: `Reshape`, `Transpose`, `Concat`, `Pad` and `Select` rearrange
//! signals (no rows), in the order the engine's kernels give to a tensor of element indices;
//! `Pad`'s constant elements are constants of the circuit.

use super::NodeIn;
use crate::Result;
use crate::cs::Cs;
use crate::gadgets::Sig;
use vouch_engine::Tensor;
use vouch_engine::tensor::numel;
use vouch_model::PadMode;

/// `Reshape`: the same signals.
pub(super) fn reshape(_cs: &mut Cs, nd: &NodeIn<'_>) -> Result<Vec<Sig>> {
    Ok(nd.x.sigs.clone())
}

/// `Transpose`: the signals permuted as [`vouch_engine::ops::transpose`] permutes elements.
pub(super) fn transpose(_cs: &mut Cs, nd: &NodeIn<'_>, perm: &[u32]) -> Result<Vec<Sig>> {
    let x = nd.x;
    let perm: Vec<usize> = perm.iter().map(|&p| p as usize).collect();
    let idx = index_tensor(&x.shape, 0);
    Ok(vouch_engine::ops::transpose(&idx, &perm)
        .data
        .iter()
        .map(|&i| x.sigs[i as usize].clone())
        .collect())
}

/// `Select`: each output signal is the input signal [`vouch_engine::ops::select_index`] names
/// (no rows).
pub(super) fn select(_cs: &mut Cs, nd: &NodeIn<'_>, maps: &[Vec<u32>]) -> Result<Vec<Sig>> {
    let x = nd.x;
    let maps: Vec<Vec<usize>> = maps
        .iter()
        .map(|m| m.iter().map(|&i| i as usize).collect())
        .collect();
    if maps.len() != x.shape.len()
        || maps
            .iter()
            .zip(&x.shape)
            .any(|(m, &d)| m.iter().any(|&i| i >= d))
    {
        return Err(super::div(nd.name, "Select maps outside the input"));
    }
    let (_, src) = vouch_engine::ops::select_index(&x.shape, &maps);
    Ok(src.into_iter().map(|i| x.sigs[i].clone()).collect())
}

/// `Concat`: the signals of every input, ordered as [`vouch_engine::ops::concat`] orders
/// elements.
pub(super) fn concat(_cs: &mut Cs, nd: &NodeIn<'_>, axis: u32) -> Result<Vec<Sig>> {
    let mut off = 0usize;
    let mut all = Vec::new();
    let idx: Vec<Tensor> = nd
        .ins
        .iter()
        .map(|t| {
            let it = index_tensor(&t.shape, off);
            off += t.sigs.len();
            all.extend(t.sigs.iter().cloned());
            it
        })
        .collect();
    let refs: Vec<&Tensor> = idx.iter().collect();
    Ok(
        vouch_engine::ops::concat(&refs, axis as usize, nd.out_shape)
            .data
            .iter()
            .map(|&i| all[i as usize].clone())
            .collect(),
    )
}

/// `Pad`: each output element is the input signal [`vouch_engine::ops::pad`] reads for it (an
/// index tensor padded with the marker -1), or the constant `value`.
pub(super) fn pad(
    _cs: &mut Cs,
    nd: &NodeIn<'_>,
    mode: PadMode,
    pads: &[u32],
    value: i32,
) -> Result<Vec<Sig>> {
    let x = nd.x;
    let pads: Vec<usize> = pads.iter().map(|&p| p as usize).collect();
    let idx = index_tensor(&x.shape, 0);
    let z = vouch_engine::ops::pad(&idx, mode, &pads, -1).map_err(|e| nd.err(&e.to_string()))?;
    Ok(z.data
        .iter()
        .map(|&i| match usize::try_from(i) {
            Ok(i) => x.sigs[i].clone(),
            Err(_) => Sig::constant(i128::from(value)),
        })
        .collect())
}

/// A tensor of the element indices `off, off + 1, …` in `shape`.
fn index_tensor(shape: &[usize], off: usize) -> Tensor {
    let n = numel(shape).unwrap_or(0);
    Tensor {
        shape: shape.to_vec(),
        data: (0..n).map(|i| (off + i) as i32).collect(),
    }
}
