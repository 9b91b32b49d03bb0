//! Reductions: the integer `Softmax` (argmax for the maximum, a table lookup per element, a
//! division by the sum) and `ArgMax` (the argmax gadget's index) along one axis, and `Reduce`
//! over any axes (a linear sum, `div_round` as a division by a constant, or a chain of max
//! gadgets, then the requantization).

use super::NodeIn;
use crate::Result;
use crate::cs::Cs;
use crate::gadgets::{self, Sig};
use vouch_semantics::{ReduceMode, ReducePlan, Requant};

/// `Reduce` over `axes`: per output element, the elements of the engine's [`ReducePlan`].
pub(super) fn reduce(
    cs: &mut Cs,
    nd: &NodeIn<'_>,
    mode: ReduceMode,
    axes: &[u32],
    rq: &Requant,
) -> Result<Vec<Sig>> {
    let x = nd.x;
    let axes: Vec<usize> = axes.iter().map(|&a| a as usize).collect();
    let plan = ReducePlan::new(&x.shape, &axes).map_err(|_| nd.err("bad reduce axes"))?;
    let n = plan.offsets.len() as i128;
    let mut out = Vec::with_capacity(plan.bases.len());
    for &b in &plan.bases {
        let xs = plan
            .offsets
            .iter()
            .map(|&o| x.sigs.get(b + o))
            .collect::<Option<Vec<&Sig>>>()
            .ok_or_else(|| nd.err("reduce reads outside its input"))?;
        let (first, rest) = xs.split_first().ok_or_else(|| nd.err("empty reduction"))?;
        let sum = || rest.iter().fold((*first).clone(), |acc, s| acc.plus(s, 1));
        let r = match mode {
            ReduceMode::Sum => sum(),
            // div_round(a, n) = floor((2a + n) / 2n)
            ReduceMode::Mean => gadgets::div_floor_const(cs, &sum().affine(2, n), 2 * n),
            ReduceMode::Max => rest
                .iter()
                .fold((*first).clone(), |m, s| gadgets::max(cs, s, &m)),
            ReduceMode::Min => rest
                .iter()
                .fold(first.affine(-1, 0), |m, s| {
                    gadgets::max(cs, &s.affine(-1, 0), &m)
                })
                .affine(-1, 0),
        };
        let r = r.materialize(cs);
        out.push(gadgets::requant(cs, &r, rq));
    }
    Ok(out)
}

/// `Softmax` along `axis`, slice by slice.
pub(super) fn softmax(
    cs: &mut Cs,
    nd: &NodeIn<'_>,
    axis: u32,
    table: u32,
    rq: &Requant,
) -> Result<Vec<Sig>> {
    let x = nd.x;
    let t: Vec<i128> = nd.konst(table)?.iter().map(|&v| i128::from(v)).collect();
    let mut out = vec![Sig::constant(0); x.sigs.len()];
    for idxs in slices(&x.shape, axis as usize) {
        let xs: Vec<Sig> = idxs.iter().map(|&i| x.sigs[i].clone()).collect();
        for (i, z) in idxs.iter().zip(softmax_slice(cs, &xs, &t, rq)) {
            out[*i] = z;
        }
    }
    Ok(out)
}

/// `ArgMax` along `axis` (first index of the maximum, or last with `select_last_index`).
pub(super) fn argmax(
    cs: &mut Cs,
    nd: &NodeIn<'_>,
    axis: u32,
    select_last_index: bool,
) -> Result<Vec<Sig>> {
    let x = nd.x;
    Ok(slices(&x.shape, axis as usize)
        .into_iter()
        .map(|idxs| {
            let xs: Vec<Sig> = idxs.iter().map(|&i| x.sigs[i].clone()).collect();
            let mut best = 0;
            for j in 1..xs.len() {
                if xs[j].val > xs[best].val || (select_last_index && xs[j].val == xs[best].val) {
                    best = j;
                }
            }
            gadgets::argmax(cs, &xs, best, !select_last_index, true).0
        })
        .collect())
}

/// The softmax of one slice.
fn softmax_slice(cs: &mut Cs, xs: &[Sig], table: &[i128], rq: &Requant) -> Vec<Sig> {
    let mut best = 0;
    for j in 1..xs.len() {
        if xs[j].val > xs[best].val {
            best = j;
        }
    }
    let (_, m) = gadgets::argmax(cs, xs, best, true, false);
    let m = m.materialize(cs);
    let es: Vec<Sig> = xs
        .iter()
        .map(|x| {
            // m >= x is proven by the argmax gaps; k = requant(m - x, M, s, 0, 255).
            let mut d = m.plus(x, -1);
            d.lo = d.lo.max(0);
            let k = gadgets::requant(cs, &d, rq);
            gadgets::lookup(cs, &k, table).materialize(cs)
        })
        .collect();
    let mut s = Sig::constant(0);
    for e in &es {
        s = s.plus(e, 1);
    }
    let s = s.materialize(cs);
    let smax = s.hi.max(1);
    let kr = crate::cs::bitlen(2 * smax - 1);
    es.iter()
        .map(|e| {
            // z = floor((254 e + S) / 2S): z·2S = num - rem, rem ∈ [0, 2S), z ∈ [0, 127].
            let num = e.affine(254, 0).plus(&s, 1);
            let zv = if s.val > 0 {
                num.val.div_euclid(2 * s.val)
            } else {
                0
            };
            let rv = num.val - zv * 2 * s.val;
            let z = cs.bits(zv, 7);
            let rem = cs.bits(rv, kr);
            cs.range(
                s.lc.scaled(2).plus_const(-1).plus(&rem, -1),
                2 * s.val - 1 - rv,
                kr,
            );
            cs.enforce(z.clone(), s.lc.scaled(2), num.lc.clone().plus(&rem, -1));
            Sig {
                lc: z,
                val: zv,
                lo: 0,
                hi: 127,
            }
            .materialize(cs)
        })
        .collect()
}

/// Element indices of each slice along `axis`.
fn slices(shape: &[usize], axis: usize) -> Vec<Vec<usize>> {
    let outer: usize = shape[..axis.min(shape.len())].iter().product();
    let len = shape.get(axis).copied().unwrap_or(1);
    let inner: usize = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            out.push((0..len).map(|j| (o * len + j) * inner + i).collect());
        }
    }
    out
}
