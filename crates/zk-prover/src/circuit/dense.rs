//! Dense products: `Linear` (constant weights, so each accumulator is a linear combination with
//! no multiplication row) and `MatMul` of two signals (one product row per term), and the
//! accumulator finishing (requantization or a wide output) that `Conv` shares.

use super::{NodeIn, product};
use crate::Result;
use crate::cs::{Cs, fe};
use crate::gadgets::{self, Sig};
use vouch_engine::tensor::broadcast_index;
use vouch_semantics::Requant;

/// `Linear`: per row and output, `bias + Σ w·x` as a linear combination, finished (with the
/// output's own multiplier in a per-channel node).
pub(super) fn linear(
    cs: &mut Cs,
    nd: &NodeIn<'_>,
    weight: u32,
    bias: Option<u32>,
    rq: &Requant,
    wide: bool,
) -> Result<Vec<Sig>> {
    let x = nd.x;
    let w = &nd.pkg.consts[weight as usize];
    let (n, k) = (w.shape[0] as usize, w.shape[1] as usize);
    let (b, mults) = nd.channels(bias, n)?;
    let rows = x.sigs.len().checked_div(k).unwrap_or(0);
    let mut out = Vec::with_capacity(rows * n);
    for r in 0..rows {
        let xr = &x.sigs[r * k..(r + 1) * k];
        for o in 0..n {
            let terms = (0..k).map(|i| (&xr[i], w.data[o * k + i]));
            let acc = dot(terms, b.as_ref().map_or(0, |b| b[o]));
            let rq = vouch_semantics::channel_requant(rq, mults.as_deref(), o);
            out.push(finish(cs, acc, &rq, wide));
        }
    }
    Ok(out)
}

/// `MatMul` with batch broadcasting: one product row per term, the sum finished.
pub(super) fn matmul(cs: &mut Cs, nd: &NodeIn<'_>, rq: &Requant, wide: bool) -> Result<Vec<Sig>> {
    let (x, out_shape) = (nd.x, nd.out_shape);
    let y = nd
        .ins
        .get(1)
        .ok_or_else(|| nd.err("MatMul needs 2 inputs"))?;
    let (xr, yr) = (x.shape.len(), y.shape.len());
    let (m, k, n) = (x.shape[xr - 2], x.shape[xr - 1], y.shape[yr - 1]);
    let bshape = &out_shape[..out_shape.len() - 2];
    let xb = broadcast_index(&x.shape[..xr - 2], bshape);
    let yb = broadcast_index(&y.shape[..yr - 2], bshape);
    let mut out = Vec::new();
    for (&bx, &by) in xb.iter().zip(&yb) {
        for i in 0..m {
            for j in 0..n {
                let mut acc = Sig::constant(0);
                for t in 0..k {
                    let a = &x.sigs[bx * m * k + i * k + t];
                    let bb = &y.sigs[by * k * n + t * n + j];
                    let p = product(cs, a, bb);
                    acc = acc.plus(&p, 1);
                }
                out.push(finish(cs, acc, rq, wide));
            }
        }
    }
    Ok(out)
}

/// `bias + Σ w·s` over the nonzero constant weights, as a linear combination (`bias` is an
/// `i64`: a wide bias is exact, section 3).
pub(super) fn dot<'a>(terms: impl Iterator<Item = (&'a Sig, i32)>, bias: i64) -> Sig {
    let mut acc = Sig::constant(i128::from(bias));
    for (s, w) in terms {
        if w != 0 {
            acc = acc_plus(acc, s, i128::from(w));
        }
    }
    acc
}

#[inline]
fn acc_plus(mut acc: Sig, s: &Sig, k: i128) -> Sig {
    let (a, b) = (s.lo * k, s.hi * k);
    acc.lc.add_scaled(&s.lc, fe(k));
    acc.val += k * s.val;
    acc.lo += a.min(b);
    acc.hi += a.max(b);
    acc
}

/// An accumulator's output: materialized when wide, else requantized.
pub(super) fn finish(cs: &mut Cs, acc: Sig, rq: &Requant, wide: bool) -> Sig {
    if wide {
        acc.materialize(cs)
    } else {
        gadgets::requant(cs, &acc, rq)
    }
}
