//! A minimal R1CS builder: variables, linear combinations and `A·B = C` rows, with the
//! assignment carried alongside (every circuit is built from a concrete execution; the setup
//! uses an execution on the all-zero input, since the shape never depends on values).

use ark_ff::{Field, One, PrimeField, Zero};
use vouch_zk::Fr;

/// A variable index: 0 is the constant one, `1..=num_public` the public inputs.
pub type Var = u32;

/// A linear combination `Σ coeff · var`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lc(pub Vec<(Var, Fr)>);

/// A field element from a signed integer.
#[inline]
pub fn fe(v: i128) -> Fr {
    Fr::from(v)
}

impl Lc {
    /// The constant `c`.
    pub fn constant(c: i128) -> Self {
        if c == 0 {
            Self(Vec::new())
        } else {
            Self(vec![(0, fe(c))])
        }
    }
    /// One variable.
    pub fn var(v: Var) -> Self {
        Self(vec![(v, Fr::one())])
    }
    /// `self += k · other`.
    pub fn add_scaled(&mut self, other: &Lc, k: Fr) {
        if k.is_zero() {
            return;
        }
        if k.is_one() {
            self.0.extend_from_slice(&other.0);
        } else {
            self.0.extend(other.0.iter().map(|&(v, c)| (v, c * k)));
        }
    }
    /// `self + k · other`.
    pub fn plus(mut self, other: &Lc, k: i128) -> Self {
        self.add_scaled(other, fe(k));
        self
    }
    /// `self + c` for a constant.
    pub fn plus_const(mut self, c: i128) -> Self {
        if c != 0 {
            self.0.push((0, fe(c)));
        }
        self
    }
    /// `k · self`.
    pub fn scaled(&self, k: i128) -> Self {
        let mut out = Lc::default();
        out.add_scaled(self, fe(k));
        out
    }
    /// Merges repeated variables and drops zero terms.
    pub fn compact(mut self) -> Self {
        self.0.sort_unstable_by_key(|t| t.0);
        let mut out: Vec<(Var, Fr)> = Vec::with_capacity(self.0.len());
        for (v, c) in self.0 {
            match out.last_mut() {
                Some(last) if last.0 == v => last.1 += c,
                _ => out.push((v, c)),
            }
        }
        out.retain(|t| !t.1.is_zero());
        Self(out)
    }
    /// Evaluates under an assignment.
    pub fn eval(&self, z: &[Fr]) -> Fr {
        self.0
            .iter()
            .map(|&(v, c)| z.get(v as usize).copied().unwrap_or_default() * c)
            .sum()
    }
}

/// An R1CS instance with its assignment.
#[derive(Debug, Clone)]
pub struct Cs {
    /// Number of public inputs (without the constant one).
    pub num_public: usize,
    /// The assignment; `z[0] = 1`.
    pub z: Vec<Fr>,
    /// `A` rows.
    pub a: Vec<Lc>,
    /// `B` rows.
    pub b: Vec<Lc>,
    /// `C` rows.
    pub c: Vec<Lc>,
}

impl Cs {
    /// A system with `num_public` public inputs (assigned zero until [`Self::set_public`]).
    pub fn new(num_public: usize) -> Self {
        let mut z = vec![Fr::zero(); num_public + 1];
        z[0] = Fr::one();
        Self {
            num_public,
            z,
            a: Vec::new(),
            b: Vec::new(),
            c: Vec::new(),
        }
    }
    /// Number of variables (with the one).
    pub fn num_vars(&self) -> usize {
        self.z.len()
    }
    /// Number of constraints.
    pub fn num_constraints(&self) -> usize {
        self.a.len()
    }
    /// The public variable `i` (0-based).
    pub fn public_var(&self, i: usize) -> Var {
        (i + 1) as Var
    }
    /// Assigns public input `i`.
    pub fn set_public(&mut self, i: usize, v: Fr) {
        self.z[i + 1] = v;
    }
    /// A new private variable.
    pub fn alloc(&mut self, v: Fr) -> Var {
        self.z.push(v);
        (self.z.len() - 1) as Var
    }
    /// A new private variable from an integer.
    pub fn alloc_int(&mut self, v: i128) -> Var {
        self.alloc(fe(v))
    }
    /// `a · b = c`.
    pub fn enforce(&mut self, a: Lc, b: Lc, c: Lc) {
        self.a.push(a);
        self.b.push(b);
        self.c.push(c);
    }
    /// `lc = 0`.
    pub fn enforce_zero(&mut self, lc: Lc) {
        self.enforce(lc, Lc::constant(1), Lc::default());
    }
    /// A boolean variable.
    pub fn alloc_bool(&mut self, b: bool) -> Var {
        let v = self.alloc(if b { Fr::one() } else { Fr::zero() });
        self.enforce(Lc::var(v), Lc::var(v), Lc::var(v));
        v
    }
    /// `n` boolean variables holding `val` (which must be in `[0, 2^n)`); returns `Σ 2^i b_i`.
    pub fn bits(&mut self, val: i128, n: u32) -> Lc {
        let mut lc = Lc::default();
        for i in 0..n {
            let bit = i < 127 && (val >> i) & 1 == 1;
            let v = self.alloc_bool(bit);
            lc.0.push((v, fe(1i128 << i)));
        }
        lc
    }
    /// Proves `lc ∈ [0, 2^n)` (its value is `val`) in `n` rows: `n - 1` boolean variables
    /// for the low bits, and one row `t · (t - 2^(n-1)) = 0` on the rest `t = lc - Σ 2^i b_i`,
    /// which forces `t ∈ {0, 2^(n-1)}` (the top bit, never allocated). `Σ 2^i b_i < 2^(n-1)`
    /// is far below the field size, so nothing wraps.
    pub fn range(&mut self, lc: Lc, val: i128, n: u32) {
        if n == 0 {
            self.enforce_zero(lc);
            return;
        }
        let low = self.bits(val, n - 1);
        let t = lc.plus(&low, -1);
        let mut shifted = t.clone();
        shifted.0.push((0, -Fr::from(2u8).pow([u64::from(n - 1)])));
        self.enforce(t, shifted, Lc::default());
    }
    /// Index of the first unsatisfied row, if any.
    pub fn first_unsatisfied(&self) -> Option<usize> {
        use rayon::prelude::*;
        (0..self.a.len()).into_par_iter().find_first(|&r| {
            self.a[r].eval(&self.z) * self.b[r].eval(&self.z) != self.c[r].eval(&self.z)
        })
    }
    /// `true` when every row holds.
    pub fn is_satisfied(&self) -> bool {
        self.first_unsatisfied().is_none()
    }
}

/// Bits needed to represent every integer in `[0, x]` (0 for `x <= 0`).
pub fn bitlen(x: i128) -> u32 {
    if x <= 0 { 0 } else { 128 - x.leading_zeros() }
}

/// A field element as a signed integer when it is small (for tests and debugging).
pub fn small(x: &Fr) -> Option<i128> {
    let b = x.into_bigint();
    if b.0[2] == 0 && b.0[3] == 0 && b.0[1] >> 63 == 0 {
        return Some(i128::from(b.0[0]) | (i128::from(b.0[1]) << 64));
    }
    let n = (-*x).into_bigint();
    (n.0[2] == 0 && n.0[3] == 0 && n.0[1] >> 63 == 0)
        .then(|| -(i128::from(n.0[0]) | (i128::from(n.0[1]) << 64)))
}
