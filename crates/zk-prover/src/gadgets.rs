//! Gadgets over integer signals: each returns the output signal with its value and static
//! bounds, and adds the constraints that make that output the only one possible.
//!
//! | gadget | cost (constraints) |
//! |---|---|
//! | [`max0`] `max(x, 0)` | `K + 3`, `K` = bits of the input range |
//! | [`clamp`] both sides | `K + 6` when `hi - lo + 1` is a power of two ([`clamp_pow2`]), else `2K + 6` |
//! | [`requant`] | `s` (remainder bits) + a clamp or a range check |
//! | [`lookup`] 256-entry table | 51 (two one-hot nibbles, 16 products) |
//! | [`argmax`] over `L` | `L·(K + 3) + 1` |
//! | [`div_floor_const`] | bits of the remainder and of the quotient range |

use crate::cs::{Cs, Lc, bitlen, fe};
use ark_ff::Field;
use vouch_semantics::Requant;

/// An integer signal: a linear combination, its value, and bounds every honest value obeys.
#[derive(Debug, Clone, PartialEq)]
pub struct Sig {
    /// The linear combination.
    pub lc: Lc,
    /// The value.
    pub val: i128,
    /// Lower bound.
    pub lo: i128,
    /// Upper bound.
    pub hi: i128,
}

impl Sig {
    /// A constant.
    pub fn constant(c: i128) -> Self {
        Self {
            lc: Lc::constant(c),
            val: c,
            lo: c,
            hi: c,
        }
    }
    /// A fresh variable with bounds (the caller constrains it).
    pub fn var(cs: &mut Cs, val: i128, lo: i128, hi: i128) -> Self {
        let v = cs.alloc_int(val);
        Self {
            lc: Lc::var(v),
            val,
            lo,
            hi,
        }
    }
    /// `self + k·other`.
    pub fn plus(&self, other: &Sig, k: i128) -> Self {
        let (a, b) = (other.lo * k, other.hi * k);
        Self {
            lc: self.lc.clone().plus(&other.lc, k),
            val: self.val + k * other.val,
            lo: self.lo + a.min(b),
            hi: self.hi + a.max(b),
        }
    }
    /// `k·self + c`.
    pub fn affine(&self, k: i128, c: i128) -> Self {
        let (a, b) = (self.lo * k, self.hi * k);
        Self {
            lc: self.lc.scaled(k).plus_const(c),
            val: k * self.val + c,
            lo: a.min(b) + c,
            hi: a.max(b) + c,
        }
    }
    /// Replaces a long combination by one variable (one constraint) so later uses stay small.
    pub fn materialize(self, cs: &mut Cs) -> Self {
        if self.lc.0.len() <= 2 {
            return self;
        }
        let v = Sig::var(cs, self.val, self.lo, self.hi);
        cs.enforce_zero(self.lc.plus(&v.lc, -1));
        v
    }
}

/// `max(x, 0)`.
pub fn max0(cs: &mut Cs, x: &Sig) -> Sig {
    if x.lo >= 0 {
        return x.clone();
    }
    if x.hi <= 0 {
        return Sig::constant(0);
    }
    let pos = x.val > 0;
    let b = cs.alloc_bool(pos);
    let pv = if pos { x.val } else { 0 };
    let p = cs.alloc_int(pv);
    cs.enforce(Lc::var(b), x.lc.clone(), Lc::var(p));
    // b = 1: x - 1 >= 0; b = 0: -x >= 0. Both are 2p - b - x.
    let v = Lc::var(p).scaled(2).plus(&Lc::var(b), -1).plus(&x.lc, -1);
    let vv = 2 * pv - i128::from(pos) - x.val;
    cs.range(v, vv, bitlen((x.hi - 1).max(-x.lo)));
    Sig {
        lc: Lc::var(p),
        val: pv,
        lo: 0,
        hi: x.hi,
    }
}

/// `max(x, y)`.
pub fn max(cs: &mut Cs, x: &Sig, y: &Sig) -> Sig {
    let d = max0(cs, &x.plus(y, -1));
    let mut out = y.plus(&d, 1);
    out.lo = x.lo.max(y.lo);
    out.hi = x.hi.max(y.hi);
    out
}

/// `clamp(x, lo, hi)` for `lo <= hi`; returns `None` if neither side could bind (the caller
/// decides whether `x` needs a range check).
pub fn clamp(cs: &mut Cs, x: &Sig, lo: i128, hi: i128) -> Option<Sig> {
    let width = hi - lo + 1;
    if x.lo < lo && x.hi > hi && width > 0 && (width as u128).is_power_of_two() {
        return Some(clamp_pow2(cs, x, lo, width.trailing_zeros()));
    }
    let mut y = x.clone();
    let mut touched = false;
    if y.lo < lo {
        y = max0(cs, &y.affine(1, -lo)).affine(1, lo);
        touched = true;
    }
    if y.hi > hi {
        y = max0(cs, &y.affine(-1, hi)).affine(-1, hi);
        touched = true;
    }
    if !touched {
        return None;
    }
    y.lo = y.lo.max(lo).min(hi);
    y.hi = y.hi.min(hi).max(lo);
    Some(y)
}

/// `clamp(x, lo, lo + 2^g - 1)` from one bit decomposition, for an `x` that can pass both
/// bounds (a fused ReLU onto `act8`/`act16`, or a full activation range).
///
/// With `y = x - lo` and `B >= g` the smallest width with `y ∈ [-2^B, 2^B)`: `B` boolean bits
/// `b_i` and one row `t · (t - 2^B) = 0` on `t = y + 2^B - Σ 2^i b_i` prove the two's
/// complement of `y` (`p = t / 2^B` is 1 exactly when `y >= 0`). `y >= 2^g` (given `y >= 0`)
/// is "some bit at or above `g` is set": an is-zero test on their sum (three rows and one
/// inverse, pinned to 0 when the sum is 0 so no variable is free). The result
/// `lo + p·(1 - big)·low + p·big·(2^g - 1)` (`low` the bits below `g`) takes two product rows:
/// `B + 6` rows against `2K + 6` for two `max0`s.
pub fn clamp_pow2(cs: &mut Cs, x: &Sig, lo: i128, g: u32) -> Sig {
    let y = x.affine(1, -lo);
    let mut b = g;
    while y.lo < -(1i128 << b) || y.hi >= 1i128 << b {
        b += 1;
    }
    let top = 1i128 << b;
    let u = y.val + top; // in [0, 2^(B+1))
    let mut bits = Vec::with_capacity(b as usize);
    let mut all = Lc::default();
    for i in 0..b {
        let v = cs.alloc_bool((u >> i) & 1 == 1);
        all.0.push((v, fe(1i128 << i)));
        bits.push(v);
    }
    // t = y + 2^B - Σ 2^i b_i ∈ {0, 2^B}
    let t = y.lc.clone().plus_const(top).plus(&all, -1);
    cs.enforce(t.clone(), t.clone().plus_const(-top), Lc::default());
    let pos = y.val >= 0;
    // p = t / 2^B as a combination: the coefficients of t times 2^-B.
    let inv_top = fe(top).inverse().unwrap_or_default();
    let mut p = Lc::default();
    p.add_scaled(&t, inv_top);
    let ceiling = (1i128 << g) - 1;
    let mut low = Lc::default();
    for (i, &v) in bits.iter().enumerate().take(g as usize) {
        low.0.push((v, fe(1i128 << i)));
    }
    let (big, big_v) = if b > g {
        let mut high = Lc::default();
        for &v in &bits[g as usize..] {
            high.0.push((v, fe(1)));
        }
        let hv: i128 = (g..b).map(|i| (u >> i) & 1).sum();
        let inv = cs.alloc(fe(hv).inverse().unwrap_or_default());
        let big = cs.alloc_int(i128::from(hv != 0));
        let not_big = Lc::constant(1).plus(&Lc::var(big), -1);
        cs.enforce(high.clone(), Lc::var(inv), Lc::var(big));
        cs.enforce(high, not_big.clone(), Lc::default());
        // inv = 0 when the sum is 0, so no variable is left free
        cs.enforce(not_big, Lc::var(inv), Lc::default());
        (Lc::var(big), hv != 0)
    } else {
        (Lc::default(), false)
    };
    // v = p·big; z = lo + (p - v)·low + v·(2^g - 1)
    let v_val = i128::from(pos && big_v);
    let v = cs.alloc_int(v_val);
    cs.enforce(p.clone(), big, Lc::var(v));
    let low_val = (u - top).rem_euclid(1i128 << g);
    let w_val = if pos && !big_v { low_val } else { 0 };
    let w = cs.alloc_int(w_val);
    cs.enforce(p.plus(&Lc::var(v), -1), low, Lc::var(w));
    let z = Lc::var(w).plus(&Lc::var(v), ceiling).plus_const(lo);
    let zv = lo + w_val + v_val * ceiling;
    debug_assert_eq!(zv, x.val.clamp(lo, lo + ceiling));
    Sig {
        lc: z,
        val: zv,
        lo: x.lo.max(lo).min(lo + ceiling),
        hi: x.hi.min(lo + ceiling).max(lo),
    }
}

/// `requant(x, M, s, lo, hi) = clamp(round_shift(x·M, s), lo, hi)` (`docs/semantics.md` §2).
pub fn requant(cs: &mut Cs, x: &Sig, rq: &Requant) -> Sig {
    let m = i128::from(rq.m);
    let (lo, hi) = (i128::from(rq.lo), i128::from(rq.hi));
    let half = if rq.s == 0 { 0 } else { 1i128 << (rq.s - 1) };
    let t = x.affine(m, half);
    let r = if rq.s == 0 {
        t
    } else {
        let d = 1i128 << rq.s;
        let rv = t.val.div_euclid(d);
        let rem = t.val.rem_euclid(d);
        let r = Sig::var(cs, rv, t.lo.div_euclid(d), t.hi.div_euclid(d));
        // t = r·2^s + rem with rem ∈ [0, 2^s)
        cs.range(t.lc.clone().plus(&r.lc, -d), rem, rq.s);
        r
    };
    match clamp(cs, &r, lo, hi) {
        Some(z) => z,
        None => {
            if rq.s > 0 {
                // r is otherwise free (any remainder would do): pin it to its range.
                cs.range(
                    r.lc.clone().plus_const(-r.lo),
                    r.val - r.lo,
                    bitlen(r.hi - r.lo),
                );
            }
            r
        }
    }
}

/// `T[idx]` for `idx ∈ [0, n)` and an `n`-entry table, `n = 2^k` with `k >= 2`; also proves
/// the index range. The index is split into its high `k - k/2` and low `k/2` bits, each as a
/// one-hot vector (a 256-entry table: two of 16), and each row of the table is selected by
/// the product of its high bit with the low one-hot's combination.
pub fn lookup(cs: &mut Cs, idx: &Sig, table: &[i128]) -> Sig {
    let n = table.len().max(4).next_power_of_two();
    let k = n.trailing_zeros();
    let (lo_bits, hi_bits) = (k / 2, k - k / 2);
    let (rows, cols) = (1usize << hi_bits, 1usize << lo_bits);
    let u = idx.val.clamp(0, n as i128 - 1);
    let (hn, ln) = (u >> lo_bits, u & (cols as i128 - 1));
    let e: Vec<_> = (0..rows).map(|i| cs.alloc_bool(i as i128 == hn)).collect();
    let f: Vec<_> = (0..cols).map(|j| cs.alloc_bool(j as i128 == ln)).collect();
    let sum = |vs: &[u32]| {
        let mut l = Lc::default();
        for &v in vs {
            l.0.push((v, fe(1)));
        }
        l
    };
    cs.enforce_zero(sum(&e).plus_const(-1));
    cs.enforce_zero(sum(&f).plus_const(-1));
    let mut link = idx.lc.scaled(-1);
    for i in 0..rows.max(cols) {
        if let Some(&ei) = e.get(i) {
            link.0.push((ei, fe((cols * i) as i128)));
        }
        if let Some(&fi) = f.get(i) {
            link.0.push((fi, fe(i as i128)));
        }
    }
    cs.enforce_zero(link);
    let t = |k: usize| table.get(k).copied().unwrap_or(0);
    let mut out = Lc::default();
    for (i, &ei) in e.iter().enumerate() {
        let row: Vec<i128> = (0..cols).map(|j| t(cols * i + j)).collect();
        if row.iter().all(|&v| v == row[0]) {
            out.0.push((ei, fe(row[0])));
            continue;
        }
        let mut rl = Lc::default();
        for (j, &fj) in f.iter().enumerate() {
            if row[j] != 0 {
                rl.0.push((fj, fe(row[j])));
            }
        }
        let gv = if i as i128 == hn { row[ln as usize] } else { 0 };
        let g = cs.alloc_int(gv);
        cs.enforce(Lc::var(ei), rl, Lc::var(g));
        out.0.push((g, fe(1)));
    }
    let val = t(u as usize);
    Sig {
        lc: out,
        val,
        lo: table.iter().copied().min().unwrap_or(0).min(0),
        hi: table.iter().copied().max().unwrap_or(0).max(0),
    }
}

/// One-hot selection of the maximum of `xs` at index `best` (which the caller computed);
/// proves `m = xs[best] >= xs[j]` for all `j`, strictly for `j` before `best` when `first`
/// (after `best` when not `first`) if `strict` is set. Returns (index signal, max signal).
pub fn argmax(cs: &mut Cs, xs: &[Sig], best: usize, first: bool, strict: bool) -> (Sig, Sig) {
    let n = xs.len();
    let e: Vec<_> = (0..n).map(|j| cs.alloc_bool(j == best)).collect();
    let mut s = Lc::constant(-1);
    for &v in &e {
        s.0.push((v, fe(1)));
    }
    cs.enforce_zero(s);
    let mut m = Lc::default();
    for (j, x) in xs.iter().enumerate() {
        let pv = if j == best { x.val } else { 0 };
        let p = cs.alloc_int(pv);
        cs.enforce(Lc::var(e[j]), x.lc.clone(), Lc::var(p));
        m.0.push((p, fe(1)));
    }
    let mv = xs.get(best).map_or(0, |x| x.val);
    let lo = xs.iter().map(|x| x.lo).min().unwrap_or(0);
    let hi = xs.iter().map(|x| x.hi).max().unwrap_or(0);
    let k = bitlen(hi - lo);
    let mut idx = Lc::default();
    for (j, x) in xs.iter().enumerate() {
        idx.0.push((e[j], fe(j as i128)));
        // c = 1 where ties are allowed.
        let (c_lc, c_val) = if !strict {
            (Lc::constant(1), 1)
        } else {
            let range: Vec<usize> = if first {
                (0..=j).collect()
            } else {
                (j..n).collect()
            };
            let mut c = Lc::default();
            for &i in &range {
                c.0.push((e[i], fe(1)));
            }
            (c, i128::from(range.contains(&best)))
        };
        let gap = m.clone().plus(&x.lc, -1).plus_const(-1).plus(&c_lc, 1);
        cs.range(gap, mv - x.val - 1 + c_val, k);
    }
    (
        Sig {
            lc: idx,
            val: best as i128,
            lo: 0,
            hi: n as i128 - 1,
        },
        Sig {
            lc: m,
            val: mv,
            lo,
            hi,
        },
    )
}

/// `floor(num / den)` for a positive constant `den`, with the quotient range-checked.
pub fn div_floor_const(cs: &mut Cs, num: &Sig, den: i128) -> Sig {
    if den == 1 {
        return num.clone();
    }
    let qv = num.val.div_euclid(den);
    let rv = num.val.rem_euclid(den);
    let (qlo, qhi) = (num.lo.div_euclid(den), num.hi.div_euclid(den));
    let rb = bitlen(den - 1);
    let rem = cs.bits(rv, rb);
    if den.count_ones() != 1 {
        cs.range(rem.scaled(-1).plus_const(den - 1), den - 1 - rv, rb);
    }
    let q = cs.bits(qv - qlo, bitlen(qhi - qlo)).plus_const(qlo);
    cs.enforce_zero(num.lc.clone().plus(&q, -den).plus(&rem, -1));
    Sig {
        lc: q,
        val: qv,
        lo: qlo,
        hi: qhi,
    }
    .materialize(cs)
}
