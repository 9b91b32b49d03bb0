//! Elementwise activations: `Relu`, `Clip` (the clamp gadgets), `LeakyRelu` (a sign bit
//! selecting `x` or its requantization), `PRelu` (the same with the requantization of `x`
//! times its constant slope) and `Lut` (a 256-entry table lookup).

use super::NodeIn;
use crate::Result;
use crate::cs::{Cs, Lc};
use crate::gadgets::{self, Sig};
use vouch_semantics::Requant;

/// `Relu`: `max(x, 0)`.
pub(super) fn relu(cs: &mut Cs, nd: &NodeIn<'_>) -> Result<Vec<Sig>> {
    Ok(nd.x.sigs.iter().map(|s| gadgets::max0(cs, s)).collect())
}

/// `Clip`: `clamp(x, lo, hi)` (`x` itself, no rows, when neither bound can bind).
pub(super) fn clip(cs: &mut Cs, nd: &NodeIn<'_>, lo: i32, hi: i32) -> Result<Vec<Sig>> {
    Ok(nd
        .x
        .sigs
        .iter()
        .map(|s| gadgets::clamp(cs, s, i128::from(lo), i128::from(hi)).unwrap_or_else(|| s.clone()))
        .collect())
}

/// `LeakyRelu`: `x` where `x >= 0`, else `requant(x)`.
pub(super) fn leaky_relu(cs: &mut Cs, nd: &NodeIn<'_>, rq: &Requant) -> Result<Vec<Sig>> {
    Ok(nd.x.sigs.iter().map(|s| leaky(cs, s, s, rq)).collect())
}

/// `PRelu`: `x` where `x >= 0`, else `requant(x · S)` with the constant slope `S` broadcast
/// to `x` (the product by a constant adds no row).
pub(super) fn prelu(cs: &mut Cs, nd: &NodeIn<'_>, slope: u32, rq: &Requant) -> Result<Vec<Sig>> {
    let c = nd
        .pkg
        .consts
        .get(slope as usize)
        .ok_or_else(|| nd.err("missing slope constant"))?;
    let shape: Vec<usize> = c.shape.iter().map(|&d| d as usize).collect();
    let idx = vouch_engine::tensor::broadcast_index(&shape, &nd.x.shape);
    if idx.len() != nd.x.sigs.len() {
        return Err(nd.err("slope does not broadcast"));
    }
    Ok(nd
        .x
        .sigs
        .iter()
        .zip(&idx)
        .map(|(s, &i)| {
            let k = i128::from(c.data.get(i).copied().unwrap_or(0));
            leaky(cs, s, &s.affine(k, 0), rq)
        })
        .collect())
}

/// `Lut`: `T[x + n/2]` for an `n`-entry table, one lookup per element.
pub(super) fn lut(cs: &mut Cs, nd: &NodeIn<'_>, table: u32) -> Result<Vec<Sig>> {
    let t: Vec<i128> = nd.konst(table)?.iter().map(|&v| i128::from(v)).collect();
    let half = (t.len() / 2) as i128;
    Ok(nd
        .x
        .sigs
        .iter()
        .map(|s| gadgets::lookup(cs, &s.affine(1, half), &t).materialize(cs))
        .collect())
}

/// One `LeakyRelu` element (`x` itself when `x >= 0`, else `requant(neg)`, where `neg` is
/// `x` or `x` times a `PRelu` slope): no rows when the sign of `x` is known from its bounds.
fn leaky(cs: &mut Cs, x: &Sig, neg: &Sig, rq: &Requant) -> Sig {
    if x.lo >= 0 {
        return x.clone();
    }
    let n = gadgets::requant(cs, neg, rq);
    if x.hi < 0 {
        return n;
    }
    let pos = x.val >= 0;
    let b = cs.alloc_bool(pos);
    let pv = if pos { x.val } else { 0 };
    let p = cs.alloc_int(pv);
    cs.enforce(Lc::var(b), x.lc.clone(), Lc::var(p));
    // b = 1: x >= 0; b = 0: -x - 1 >= 0. Both are 2p - x - 1 + b.
    let v = Lc::var(p)
        .scaled(2)
        .plus(&x.lc, -1)
        .plus_const(-1)
        .plus(&Lc::var(b), 1);
    cs.range(
        v,
        2 * pv - x.val - 1 + i128::from(pos),
        crate::cs::bitlen(x.hi.max(-x.lo - 1)),
    );
    let qv = if pos { 0 } else { n.val - x.val };
    let q = cs.alloc_int(qv);
    cs.enforce(
        Lc::constant(1).plus(&Lc::var(b), -1),
        n.lc.clone().plus(&x.lc, -1),
        Lc::var(q),
    );
    Sig {
        lc: x.lc.clone().plus(&Lc::var(q), 1),
        val: x.val + qv,
        lo: x.lo.min(n.lo),
        hi: x.hi.max(n.hi),
    }
}
