//! Elementwise arithmetic with broadcasting: `Add` (a linear combination, requantized), `Mul`
//! (one product row per element, requantized), `Rescale`, and n-ary `Max` and `Min` (a chain
//! of max gadgets, on negated signals for the minimum).

use super::{NodeIn, STensor, product};
use crate::Result;
use crate::cs::Cs;
use crate::gadgets::{self, Sig};
use vouch_engine::tensor::{broadcast_index, broadcast_shape};
use vouch_semantics::Requant;

/// `Add`: `requant(ma·x + mb·y)`.
pub(super) fn add(
    cs: &mut Cs,
    nd: &NodeIn<'_>,
    ma: i64,
    mb: i64,
    rq: &Requant,
) -> Result<Vec<Sig>> {
    let y = nd.ins.get(1).ok_or_else(|| nd.err("Add needs 2 inputs"))?;
    Ok(zip_broadcast(nd.x, y, nd.out_shape)
        .into_iter()
        .map(|(a, b)| {
            let t = a.affine(i128::from(ma), 0).plus(b, i128::from(mb));
            gadgets::requant(cs, &t, rq)
        })
        .collect())
}

/// `Mul`: `requant(x·y)`.
pub(super) fn mul(cs: &mut Cs, nd: &NodeIn<'_>, rq: &Requant) -> Result<Vec<Sig>> {
    let y = nd.ins.get(1).ok_or_else(|| nd.err("Mul needs 2 inputs"))?;
    Ok(zip_broadcast(nd.x, y, nd.out_shape)
        .into_iter()
        .map(|(a, b)| {
            let p = product(cs, a, b);
            gadgets::requant(cs, &p, rq)
        })
        .collect())
}

/// `Rescale`: `requant(x)`.
pub(super) fn rescale(cs: &mut Cs, nd: &NodeIn<'_>, rq: &Requant) -> Result<Vec<Sig>> {
    Ok(nd
        .x
        .sigs
        .iter()
        .map(|s| gadgets::requant(cs, s, rq))
        .collect())
}

/// `Max` (`is_max`) or `Min` of every operand, broadcast to the output.
pub(super) fn min_max(cs: &mut Cs, nd: &NodeIn<'_>, is_max: bool) -> Result<Vec<Sig>> {
    let sign = if is_max { 1 } else { -1 };
    let mut acc: Vec<Sig> = Vec::new();
    for (i, t) in nd.ins.iter().enumerate() {
        let idx = broadcast_index(&t.shape, nd.out_shape);
        let sigs = idx
            .iter()
            .map(|&j| t.sigs.get(j).map(|s| s.affine(sign, 0)))
            .collect::<Option<Vec<Sig>>>()
            .ok_or_else(|| nd.err("operand does not broadcast"))?;
        acc = if i == 0 {
            sigs
        } else {
            acc.iter()
                .zip(&sigs)
                .map(|(a, b)| gadgets::max(cs, b, a))
                .collect()
        };
    }
    Ok(acc.iter().map(|s| s.affine(sign, 0)).collect())
}

/// The element pairs of `x` and `y` broadcast together (to `out` if they do not broadcast).
fn zip_broadcast<'a>(x: &'a STensor, y: &'a STensor, out: &[usize]) -> Vec<(&'a Sig, &'a Sig)> {
    let shape = broadcast_shape(&x.shape, &y.shape).unwrap_or_else(|| out.to_vec());
    let xi = broadcast_index(&x.shape, &shape);
    let yi = broadcast_index(&y.shape, &shape);
    xi.iter()
        .zip(&yi)
        .map(|(&a, &b)| (&x.sigs[a], &y.sigs[b]))
        .collect()
}
