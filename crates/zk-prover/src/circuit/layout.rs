//! Data movement without arithmetic: `Reshape`, `Transpose`, `Concat`, `Pad` and `Select` rearrange
//! signals (no rows), in the order the engine's kernels give to a tensor of element indices;
//! `Pad`'s constant elements are constants of the circuit. `Gather` by a computed index is a
//! one-hot selection (the one op here with rows).

use super::NodeIn;
use crate::Result;
use crate::cs::{Cs, Lc, fe};
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

/// `Gather` along `axis` by computed indices (`docs/semantics.md` section 3). Per index
/// signal `v`: `w = clamp(v, -n, n - 1)` (the clamp gadget, no rows when `v`'s bounds already
/// lie inside), then `2n` boolean flags `e_k` (`k` from `-n` to `n - 1`) with `Σ e_k = 1` and
/// `Σ k·e_k = w`: one flag is set, the one at `w`. Position `j` of the axis is picked by
/// `f_j = e_j + e_{j - n}` (a negative `w` counts from the end), so every output element is
/// `Σ_j f_j · X[.., j, ..]`: a linear combination when `X` is a constant table (no rows),
/// else one product row per `j`. Cost per index: `2n + 2` rows plus the clamp; per output
/// element of a computed `X`: `n` rows.
pub(super) fn gather(cs: &mut Cs, nd: &NodeIn<'_>, axis: u32) -> Result<Vec<Sig>> {
    let (x, idx) = match nd.ins {
        [x, idx] => (x, idx),
        _ => return Err(nd.err("Gather takes data and indices")),
    };
    let Some((_, [outer, n, inner])) =
        vouch_engine::ops::gather_shape(&x.shape, &idx.shape, axis as usize)
    else {
        return Err(nd.err("Gather axis past the data's rank"));
    };
    if n == 0 {
        return Err(nd.err("Gather from an empty axis"));
    }
    let len = n as i128;
    // per index element, the selector f_j of each axis position j
    let mut pick: Vec<(Vec<Lc>, usize)> = Vec::with_capacity(idx.sigs.len());
    for v in &idx.sigs {
        let w = crate::gadgets::clamp(cs, v, -len, len - 1).unwrap_or_else(|| v.clone());
        let at = w.val.clamp(-len, len - 1);
        let flags: Vec<_> = (-len..len).map(|k| cs.alloc_bool(k == at)).collect();
        let (mut one, mut link) = (Lc::constant(-1), w.lc.scaled(-1));
        for (&f, k) in flags.iter().zip(-len..len) {
            one.0.push((f, fe(1)));
            link.0.push((f, fe(k)));
        }
        cs.enforce_zero(one);
        cs.enforce_zero(link);
        let chosen = usize::try_from(at.rem_euclid(len)).unwrap_or(0);
        let f = (0..n)
            .map(|j| Lc::var(flags[n + j]).plus(&Lc::var(flags[j]), 1))
            .collect();
        pick.push((f, chosen));
    }
    let mut out = Vec::with_capacity(outer * pick.len() * inner);
    for o in 0..outer {
        for (f, chosen) in &pick {
            for i in 0..inner {
                let col: Vec<&Sig> = (0..n).map(|j| &x.sigs[(o * n + j) * inner + i]).collect();
                out.push(select_one(cs, f, *chosen, &col));
            }
        }
    }
    Ok(out)
}

/// `Σ_j f_j · col_j` for one-hot selectors `f` whose set one is `chosen`: a linear
/// combination when every `col_j` is a constant, else one product row per `j`.
fn select_one(cs: &mut Cs, f: &[Lc], chosen: usize, col: &[&Sig]) -> Sig {
    let constant = col.iter().all(|c| c.lc.0.iter().all(|(v, _)| *v == 0));
    let mut lc = Lc::default();
    for (j, (fj, c)) in f.iter().zip(col).enumerate() {
        if constant {
            lc = lc.plus(fj, c.val);
        } else {
            let p = cs.alloc_int(if j == chosen { c.val } else { 0 });
            cs.enforce(fj.clone(), c.lc.clone(), Lc::var(p));
            lc.0.push((p, fe(1)));
        }
    }
    Sig {
        lc,
        val: col.get(chosen).map_or(0, |c| c.val),
        lo: col.iter().map(|c| c.lo).min().unwrap_or(0),
        hi: col.iter().map(|c| c.hi).max().unwrap_or(0),
    }
}
