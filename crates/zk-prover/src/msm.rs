//! Multi-scalar multiplication tuned for circuit witnesses.
//!
//! Most witness values are bits, small signed integers (activations, quotients) or zero; a
//! few are full field elements (is-zero inverses, the quotient polynomial `H`). A generic
//! Pippenger pays for every window of the 254-bit scalar field on every scalar, so a boolean
//! costs as much as a random element. [`msm`] splits the scalars by size:
//!
//! | scalars | method |
//! |---|---|
//! | `0`, or a base at infinity | skipped |
//! | `±1` | added or subtracted directly |
//! | `|s| < 2^64` | Pippenger over only the windows the largest of them reaches, bases negated for negative scalars |
//! | the rest, at least 256 of them | [`full_msm`]: Pippenger with signed digits and batch-affine buckets |
//! | the rest, fewer | arkworks' `msm_bigint` |
//!
//! [`full_msm`] differs from arkworks' Pippenger in two ways:
//!
//! | step | arkworks | here |
//! |---|---|---|
//! | digits | signed, `2^c` buckets (half unused) | signed in `(-2^(c-1), 2^(c-1)]`, `2^(c-1)` buckets |
//! | bucket additions | mixed projective, ~11 multiplications | affine with one inversion per batch (Montgomery's trick), ~6 |
//! | bucket sums, windows | running sums, doublings | the same (projective) |
//!
//! Windows run in parallel. On the prover's H query (32,767 random scalars, G1, 2 threads)
//! this is about 1.5x faster than arkworks.
//!
//! The result is the same group element as any other MSM; only the work differs. The key
//! setup uses the same split per QAP column ([`sum_terms`]): its coefficients are weights
//! times requantization multipliers, small as well.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AffineRepr, VariableBaseMSM};
use ark_ff::{AdditiveGroup, BigInteger, Field, One, PrimeField, Zero};
use rayon::prelude::*;
use vouch_zk::Fr;

/// A scalar's class and, for small ones, its magnitude and sign.
enum Class {
    Zero,
    Unit(bool),
    Small(u64, bool),
    Big,
}

fn classify(s: &Fr) -> Class {
    if s.is_zero() {
        return Class::Zero;
    }
    let small = |x: &Fr| {
        let b = x.into_bigint();
        (b.num_bits() <= 64).then(|| b.as_ref()[0])
    };
    match (small(s), small(&-*s)) {
        (Some(1), _) => Class::Unit(false),
        (_, Some(1)) => Class::Unit(true),
        (Some(v), _) => Class::Small(v, false),
        (_, Some(v)) => Class::Small(v, true),
        _ => Class::Big,
    }
}

/// A term of a small-scalar MSM: magnitude, whether it is negative, base.
pub type SmallTerm<G> = (u64, bool, G);

/// Splits `Σ k·b` into the `±1` terms (summed into the returned point), the small terms
/// (appended to `small`) and the full-size ones (appended to `big`).
fn split<'a, G: AffineRepr>(
    terms: impl Iterator<Item = (&'a Fr, G)>,
    small: &mut Vec<SmallTerm<G>>,
    big: &mut Vec<(G, Fr)>,
) -> G::Group {
    let mut acc = G::Group::zero();
    for (k, b) in terms {
        if b.is_zero() {
            // A variable absent from a query's column has the identity as its base there.
            continue;
        }
        match classify(k) {
            Class::Zero => {}
            Class::Unit(false) => acc += b,
            Class::Unit(true) => acc -= b,
            Class::Small(m, neg) => small.push((m, neg, b)),
            Class::Big => big.push((b, *k)),
        }
    }
    acc
}

/// `Σ k · bases[row]` over `(row, k)` terms, on the calling thread (for callers that are
/// already parallel, such as one QAP column per task in the key setup).
pub fn sum_terms<G: AffineRepr<ScalarField = Fr>>(terms: &[(u32, Fr)], bases: &[G]) -> G::Group {
    let (mut small, mut big) = (Vec::with_capacity(terms.len()), Vec::new());
    let iter = terms
        .iter()
        .filter_map(|(r, k)| bases.get(*r as usize).map(|b| (k, *b)));
    let mut acc = split(iter, &mut small, &mut big);
    for (b, k) in big {
        acc += b * k;
    }
    acc + small_msm(&small, false)
}

/// `Σ scalars[i] · bases[i]` over the shorter of the two slices, using the rayon pool.
pub fn msm<P: SWCurveConfig<ScalarField = Fr>>(
    bases: &[Affine<P>],
    scalars: &[Fr],
) -> Projective<P> {
    const CHUNK: usize = 1 << 12;
    let n = bases.len().min(scalars.len());
    let parts: Vec<_> = scalars[..n]
        .par_chunks(CHUNK)
        .zip(bases[..n].par_chunks(CHUNK))
        .map(|(s, b)| {
            let (mut small, mut big) = (Vec::new(), Vec::new());
            let units = split(s.iter().zip(b.iter().copied()), &mut small, &mut big);
            (units, small, big)
        })
        .collect();
    let mut units = Projective::<P>::zero();
    let (mut small, mut big_b, mut big_s) = (Vec::new(), Vec::new(), Vec::new());
    for (u, sm, bg) in parts {
        units += u;
        small.extend(sm);
        for (b, k) in bg {
            big_b.push(b);
            big_s.push(k.into_bigint());
        }
    }
    let (small_sum, big_sum) = rayon::join(
        || small_msm(&small, true),
        || {
            if big_b.len() >= FULL_MIN {
                full_msm(&big_b, &big_s)
            } else if big_b.is_empty() {
                Projective::zero()
            } else {
                Projective::msm_bigint(&big_b, &big_s)
            }
        },
    );
    units + small_sum + big_sum
}

/// Window width of the bucket method for `n` terms.
fn window_bits(n: usize) -> usize {
    match n {
        0..=15 => 2,
        16..=63 => 3,
        64..=255 => 4,
        256..=1023 => 6,
        1024..=4095 => 8,
        4096..=32767 => 10,
        _ => 12,
    }
}

/// Pippenger's bucket method over `u64` magnitudes with per-term signs, on only the windows
/// that the largest magnitude reaches (windows in parallel when `parallel`). Fewer than four
/// terms are multiplied directly.
pub fn small_msm<G: AffineRepr>(terms: &[SmallTerm<G>], parallel: bool) -> G::Group {
    if terms.len() < 4 {
        return terms.iter().fold(G::Group::zero(), |acc, &(m, neg, b)| {
            let p = b.mul_bigint([m]);
            if neg { acc - p } else { acc + p }
        });
    }
    let max = terms.iter().map(|t| t.0).max().unwrap_or(0);
    let bits = 64 - max.leading_zeros() as usize;
    let c = window_bits(terms.len()).min(bits.max(1));
    let window = |start: usize| {
        let mut buckets = vec![G::Group::zero(); (1 << c) - 1];
        for &(m, neg, b) in terms {
            let d = (m >> start) & ((1 << c) - 1);
            if d != 0 {
                let slot = &mut buckets[d as usize - 1];
                if neg {
                    *slot -= b;
                } else {
                    *slot += b;
                }
            }
        }
        let (mut running, mut sum) = (G::Group::zero(), G::Group::zero());
        for b in buckets.into_iter().rev() {
            running += b;
            sum += running;
        }
        sum
    };
    let starts: Vec<usize> = (0..bits).step_by(c).collect();
    let sums: Vec<G::Group> = if parallel {
        starts.par_iter().map(|&s| window(s)).collect()
    } else {
        starts.iter().map(|&s| window(s)).collect()
    };
    combine_windows(&sums, c)
}

/// `Σ 2^(c·w) · sums[w]`: the window sums of a bucket method, from the top by doublings.
fn combine_windows<G: AdditiveGroup>(sums: &[G], c: usize) -> G {
    let mut total = G::zero();
    for (i, s) in sums.iter().enumerate().rev() {
        if i + 1 < sums.len() {
            for _ in 0..c {
                total.double_in_place();
            }
        }
        total += s;
    }
    total
}

/// Below this many full-width terms arkworks' `msm_bigint` is as fast as [`full_msm`]: the
/// buckets are few, so batches are short or collide (measured with `examples/msm_bench.rs`).
const FULL_MIN: usize = 256;

/// Window width of [`full_msm`] for `n` terms: each step up doubles the buckets to reduce
/// and saves one window of `n` additions (measured with `examples/msm_bench.rs`).
fn full_window_bits(n: usize) -> usize {
    match n {
        0..=1023 => 8,
        1024..=2047 => 9,
        2048..=6143 => 10,
        6144..=16383 => 11,
        _ => 12,
    }
}

/// `Σ scalars[i] · bases[i]` for full-width scalars (canonical, below the group order), over
/// the shorter of the two slices, with signed-digit windows and batch-affine buckets (see
/// the module docs). The same group element as `Projective::msm_bigint`.
pub fn full_msm<P: SWCurveConfig<ScalarField = Fr>>(
    bases: &[Affine<P>],
    scalars: &[BigInt],
) -> Projective<P> {
    let n = bases.len().min(scalars.len());
    full_msm_with_window(bases, scalars, full_window_bits(n))
}

/// [`full_msm`] with window width `c` (clamped to `2..=15`, the range whose signed digits
/// fit an `i16`); for measuring the choice of `c`.
pub fn full_msm_with_window<P: SWCurveConfig<ScalarField = Fr>>(
    bases: &[Affine<P>],
    scalars: &[BigInt],
    c: usize,
) -> Projective<P> {
    const CHUNK: usize = 1 << 12;
    let n = bases.len().min(scalars.len());
    let c = c.clamp(2, 15);
    // One window more than the scalar's bits need leaves the top window room for the carry of
    // the signed recoding (its bits are below 2^(c-1), plus a carry of at most 1).
    let windows = (Fr::MODULUS_BIT_SIZE as usize + 1).div_ceil(c);
    // Digits are computed once per scalar (the carry runs from the low window up) and laid out
    // window-major per chunk, so that a window's pass reads them sequentially.
    let digits: Vec<Vec<i16>> = scalars[..n]
        .par_chunks(CHUNK)
        .map(|chunk| signed_digits(chunk, c, windows))
        .collect();
    let sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|w| {
            let mut buckets = Buckets::<P>::new(c);
            for (chunk, d) in bases[..n].chunks(CHUNK).zip(&digits) {
                let d = &d[w * chunk.len()..(w + 1) * chunk.len()];
                for (b, &k) in chunk.iter().zip(d) {
                    match k {
                        0 => {}
                        1.. => buckets.add(k as usize - 1, *b),
                        _ => buckets.add(k.unsigned_abs() as usize - 1, -*b),
                    }
                }
            }
            buckets.sum()
        })
        .collect();
    combine_windows(&sums, c)
}

/// The scalar field's canonical integer representation.
pub type BigInt = <Fr as PrimeField>::BigInt;

/// Signed base-`2^c` digits of each scalar, in `(-2^(c-1), 2^(c-1)]`, window-major:
/// `out[w * scalars.len() + i]` is digit `w` of scalar `i`. A digit above `2^(c-1)` becomes
/// `digit - 2^c` with a carry into the next window, which halves the buckets a window needs
/// (a negative digit adds the negated base, free in affine coordinates).
fn signed_digits(scalars: &[BigInt], c: usize, windows: usize) -> Vec<i16> {
    let m = scalars.len();
    let (mask, half) = ((1u64 << c) - 1, 1u64 << (c - 1));
    let mut out = vec![0i16; windows * m];
    for (i, s) in scalars.iter().enumerate() {
        let limbs = s.as_ref();
        let mut carry = 0u64;
        for w in 0..windows {
            let (bit, limb) = ((w * c) % 64, (w * c) / 64);
            let mut v = limbs.get(limb).map_or(0, |l| l >> bit);
            if bit + c > 64 {
                v |= limbs.get(limb + 1).map_or(0, |l| l << (64 - bit));
            }
            let coef = (v & mask) + carry;
            // `coef <= 2^c`, and the digits fit `i16` because `c <= 15`.
            let digit = if coef > half {
                carry = 1;
                coef as i64 - (1i64 << c)
            } else {
                carry = 0;
                coef as i64
            };
            out[w * m + i] = digit as i16;
        }
    }
    out
}

/// The `2^(c-1)` buckets of one window, in affine coordinates, filled in batches that share
/// one field inversion.
///
/// An addition to a non-empty bucket is queued in the batch `ops`; once the batch is full,
/// [`Buckets::flush`] inverts all the slopes' denominators at once (Montgomery's trick: three
/// multiplications each plus a single inversion) and applies them. An affine addition then
/// costs about six multiplications against eleven for a mixed projective one. A bucket may be
/// in the batch only once (its new value is not known before the flush), so a second addition
/// to it waits in `deferred` for the next batch; should that fill up (many equal digits, e.g.
/// repeated scalars), further additions go to a projective `overflow` bucket instead.
struct Buckets<P: SWCurveConfig> {
    points: Vec<Affine<P>>,
    busy: Vec<bool>,
    ops: Vec<(u32, Affine<P>)>,
    deferred: Vec<(u32, Affine<P>)>,
    overflow: Vec<Projective<P>>,
    scratch: Vec<P::BaseField>,
    prefix: Vec<P::BaseField>,
    batch: usize,
}

impl<P: SWCurveConfig> Buckets<P> {
    fn new(c: usize) -> Self {
        let n = 1 << (c - 1);
        // An inversion costs some hundred multiplications; a larger batch amortizes it better,
        // but collides with itself more often (a quarter of the buckets: about one addition in
        // eight is deferred). Measured with `examples/msm_bench.rs`.
        let batch = (n / 4).clamp(64, 1024);
        Self {
            points: vec![Affine::identity(); n],
            busy: vec![false; n],
            ops: Vec::with_capacity(batch),
            deferred: Vec::with_capacity(batch),
            overflow: Vec::new(),
            scratch: Vec::with_capacity(batch),
            prefix: Vec::with_capacity(batch),
            batch,
        }
    }

    /// Adds `p` to bucket `i` (now, in the batch, deferred, or to the overflow).
    fn add(&mut self, i: usize, p: Affine<P>) {
        self.push(i, p, true);
        if self.ops.len() >= self.batch {
            self.flush();
        }
    }

    fn push(&mut self, i: usize, p: Affine<P>, may_defer: bool) {
        if p.infinity {
            return;
        }
        if self.busy[i] {
            if may_defer && self.deferred.len() < self.batch {
                self.deferred.push((i as u32, p));
            } else {
                if self.overflow.is_empty() {
                    self.overflow = vec![Projective::zero(); self.points.len()];
                }
                self.overflow[i] += p;
            }
        } else if self.points[i].infinity {
            self.points[i] = p;
        } else {
            self.busy[i] = true;
            self.ops.push((i as u32, p));
        }
    }

    /// Applies the batch, then starts the next one with the deferred additions.
    fn flush(&mut self) {
        self.apply();
        let deferred = std::mem::take(&mut self.deferred);
        for &(i, p) in &deferred {
            self.push(i as usize, p, true);
        }
        // Reuse the allocation: `push` above only deferred into the fresh, empty vector.
        let mut deferred = deferred;
        deferred.clear();
        deferred.append(&mut self.deferred);
        self.deferred = deferred;
    }

    /// Adds every pending `(bucket, point)` of the batch into its bucket.
    fn apply(&mut self) {
        if self.ops.is_empty() {
            return;
        }
        // Denominators of the slopes: `x_p - x_q` for a chord, `2 y` for a tangent (`P + P`).
        // `P + (-P)` needs none; a one keeps the product invertible.
        let den = &mut self.scratch;
        den.clear();
        for &(i, p) in &self.ops {
            let q = &self.points[i as usize];
            den.push(if q.x != p.x {
                p.x - q.x
            } else if q.y == p.y && !q.y.is_zero() {
                q.y.double()
            } else {
                P::BaseField::one()
            });
        }
        // Montgomery's trick: invert the product once, then peel off each inverse, with
        // `prefix[k] = den[0] ⋯ den[k-1]`.
        let prefix = &mut self.prefix;
        prefix.clear();
        let mut acc = P::BaseField::one();
        for d in den.iter() {
            prefix.push(acc);
            acc *= d;
        }
        // Every denominator is non-zero: distinct x differ, and a point with y = 0 (order 2) is
        // its own negation and so takes the `P + (-P)` branch.
        let mut inv = acc.inverse().unwrap_or_default();
        for (d, pre) in den.iter_mut().zip(prefix.iter()).rev() {
            let next = inv * *d;
            *d = inv * pre;
            inv = next;
        }
        for (&(i, p), inv) in self.ops.iter().zip(den.iter()) {
            let q = &mut self.points[i as usize];
            self.busy[i as usize] = false;
            let lambda = if q.x != p.x {
                (p.y - q.y) * inv
            } else if q.y == p.y && !q.y.is_zero() {
                let xx = q.x.square();
                (xx.double() + xx + P::COEFF_A) * inv
            } else {
                *q = Affine::identity();
                continue;
            };
            let x = lambda.square() - q.x - p.x;
            let y = lambda * (q.x - x) - q.y;
            *q = Affine::new_unchecked(x, y);
        }
        self.ops.clear();
    }

    /// `Σ (i + 1) · bucket[i]` once every addition has landed, by running sums from the top.
    fn sum(mut self) -> Projective<P> {
        self.flush();
        // A deferred addition still colliding now gets the overflow: no further batches of one.
        let deferred = std::mem::take(&mut self.deferred);
        for (i, p) in deferred {
            self.push(i as usize, p, false);
        }
        self.apply();
        let (mut running, mut sum) = (Projective::<P>::zero(), Projective::<P>::zero());
        for (i, b) in self.points.iter().enumerate().rev() {
            running += b;
            if let Some(o) = self.overflow.get(i) {
                running += o;
            }
            sum += &running;
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::{BigInt, full_msm, full_msm_with_window, msm};
    use ark_bn254::{G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
    use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
    use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField, UniformRand, Zero};
    use ark_std::rand::{Rng, RngCore, SeedableRng, rngs::StdRng};
    use vouch_zk::Fr;

    /// Witness-like scalars: zeros, ±1, small signed values of every width up to 64 bits, and
    /// random field elements.
    fn scalars(rng: &mut StdRng, n: usize) -> Vec<Fr> {
        (0..n)
            .map(|i| match i % 6 {
                0 => Fr::from(0u8),
                1 => Fr::from(1u8),
                2 => -Fr::from(1u8),
                3 => Fr::from(rng.next_u64() >> rng.gen_range(0..64)),
                4 => -Fr::from(rng.next_u64() >> rng.gen_range(0..64)),
                _ => Fr::rand(rng),
            })
            .collect()
    }

    #[test]
    fn matches_the_generic_msm_on_g1_and_g2() {
        let mut rng = StdRng::seed_from_u64(7);
        for n in [0usize, 1, 5, 31, 32, 200, 1500] {
            let s = scalars(&mut rng, n);
            let g1: Vec<G1Affine> = (0..n)
                .map(|_| G1Projective::rand(&mut rng).into_affine())
                .collect();
            let want = G1Projective::msm(&g1, &s).unwrap();
            assert_eq!(msm(&g1, &s), want, "G1, n = {n}");
            let g2: Vec<G2Affine> = (0..n.min(200))
                .map(|_| G2Projective::rand(&mut rng).into_affine())
                .collect();
            let s2 = &s[..g2.len()];
            assert_eq!(
                msm(&g2, s2),
                G2Projective::msm(&g2, s2).unwrap(),
                "G2, n = {n}"
            );
        }
        // Only small scalars, with the largest magnitude 2^64 - 1.
        let g1: Vec<G1Affine> = (0..100)
            .map(|_| G1Projective::rand(&mut rng).into_affine())
            .collect();
        let s: Vec<Fr> = (0..100u64)
            .map(|i| {
                if i == 50 {
                    Fr::from(u64::MAX)
                } else {
                    -Fr::from(i * 977)
                }
            })
            .collect();
        assert_eq!(msm(&g1, &s), G1Projective::msm(&g1, &s).unwrap());
    }

    fn points<P: SWCurveConfig>(rng: &mut StdRng, n: usize) -> Vec<Affine<P>> {
        let p: Vec<Projective<P>> = (0..n).map(|_| Projective::rand(rng)).collect();
        Projective::normalize_batch(&p)
    }

    fn big(s: &[Fr]) -> Vec<BigInt> {
        s.iter().map(|k| k.into_bigint()).collect()
    }

    /// Checks [`msm`], [`full_msm`] and [`full_msm_with_window`] at the window widths `cs`
    /// against arkworks on the same terms.
    fn check<P: SWCurveConfig<ScalarField = Fr>>(
        b: &[Affine<P>],
        s: &[Fr],
        cs: &[usize],
        what: &str,
    ) {
        let want = Projective::<P>::msm(b, s).unwrap_or_default();
        assert_eq!(msm(b, s), want, "msm, {what}");
        let k = big(s);
        assert_eq!(full_msm(b, &k), want, "full_msm, {what}");
        for &c in cs {
            assert_eq!(full_msm_with_window(b, &k, c), want, "c = {c}, {what}");
        }
    }

    /// Scalars at the edges of the field and of the signed recoding: near the modulus, powers
    /// of two below it, all-ones windows (a carry through every window), top bits set.
    fn edge_scalars() -> Vec<Fr> {
        let mut out = vec![-Fr::from(1u8), -Fr::from(2u8), Fr::from(0u8), Fr::from(1u8)];
        for k in [1u32, 63, 64, 65, 127, 128, 200, 252, 253] {
            let two_k = Fr::from(2u8).pow([u64::from(k)]);
            out.push(-two_k); // r - 2^k
            out.push(two_k);
            out.push(two_k - Fr::from(1u8)); // all ones below bit k
        }
        // 2^254 - 1 reduced, and alternating bits (every window's top digit bit set).
        let mut all_ones = BigInt::from(0u64);
        for limb in all_ones.0.iter_mut() {
            *limb = u64::MAX;
        }
        all_ones.0[3] >>= 64 - (Fr::MODULUS_BIT_SIZE - 192); // 2^254 - 1 > r
        out.push(-Fr::from(3u8));
        out.push(Fr::from_le_bytes_mod_order(&all_ones.to_bytes_le()));
        let mut pattern = BigInt::from(0u64);
        for limb in pattern.0.iter_mut() {
            *limb = 0xaaaa_aaaa_aaaa_aaaa;
        }
        out.push(Fr::from_le_bytes_mod_order(&pattern.to_bytes_le()));
        out.push(-Fr::from_le_bytes_mod_order(&pattern.to_bytes_le()));
        out
    }

    fn full_width_cases<P: SWCurveConfig<ScalarField = Fr>>(rng: &mut StdRng, sizes: &[usize]) {
        for &n in sizes {
            let b = points::<P>(rng, n);
            let s: Vec<Fr> = (0..n).map(|_| Fr::rand(rng)).collect();
            check(&b, &s, &[2, 5, 8, 13, 15], &format!("random, n = {n}"));
        }
        // Edge scalars, each on a few bases.
        let e = edge_scalars();
        let s: Vec<Fr> = e.iter().cycle().take(e.len() * 7).copied().collect();
        let b = points::<P>(rng, s.len());
        check(&b, &s, &[2, 3, 7, 11, 15], "edge scalars");
        // One base repeated with one scalar: every window adds P + P into one bucket, and the
        // batches collide until the additions overflow.
        let p = points::<P>(rng, 1)[0];
        for n in [2usize, 3, 100, 3000] {
            let b = vec![p; n];
            let s = vec![Fr::rand(rng); n];
            check(&b, &s, &[2, 6, 12], &format!("P repeated, n = {n}"));
        }
        // A few bases repeated with random scalars: doublings in random buckets.
        let few = points::<P>(rng, 3);
        let b: Vec<Affine<P>> = (0..2000).map(|i| few[i % 3]).collect();
        let s: Vec<Fr> = (0..2000).map(|_| Fr::rand(rng)).collect();
        check(&b, &s, &[4, 9], "three bases repeated");
        // Each base beside its negation with the same scalar: P + (-P) in every bucket, and
        // a zero sum.
        let half = points::<P>(rng, 500);
        let b: Vec<Affine<P>> = half.iter().flat_map(|&p| [p, -p]).collect();
        let k: Vec<Fr> = (0..500).map(|_| Fr::rand(rng)).collect();
        let s: Vec<Fr> = k.iter().flat_map(|&x| [x, x]).collect();
        check(&b, &s, &[3, 10], "P and -P");
        assert!(full_msm(&b, &big(&s)).is_zero());
        // The same, then P again: cancellation empties a bucket that is then refilled.
        let b = [p, -p, p, p, -p, p];
        let s = [Fr::from(5u8) + Fr::rand(rng); 6];
        check(&b, &s, &[2, 4], "cancel, refill");
        // Bases at infinity among random ones.
        let mut b = points::<P>(rng, 300);
        for x in b.iter_mut().step_by(3) {
            *x = Affine::identity();
        }
        let s: Vec<Fr> = (0..300).map(|_| Fr::rand(rng)).collect();
        check(&b, &s, &[5, 11], "bases at infinity");
        // The generator's multiples: P, 2P, -P and P with scalars that make sums of the
        // tangent case with the chord case.
        let g = Affine::<P>::generator();
        let two = (g.into_group().double()).into_affine();
        let b = [g, two, -g, g, two, two, -two];
        let s = [Fr::rand(rng); 7];
        check(&b, &s, &[2, 3], "multiples of the generator");
        // Shorter bases than scalars and vice versa: the shorter length wins.
        let b = points::<P>(rng, 50);
        let s: Vec<Fr> = (0..80).map(|_| Fr::rand(rng)).collect();
        let want = Projective::<P>::msm(&b, &s[..50]).unwrap_or_default();
        assert_eq!(full_msm(&b, &big(&s)), want);
        assert_eq!(
            full_msm(&b[..20], &big(&s[..20])),
            Projective::<P>::msm(&b[..20], &s[..20]).unwrap_or_default()
        );
    }

    #[test]
    fn full_width_matches_arkworks_on_g1() {
        let mut rng = StdRng::seed_from_u64(11);
        full_width_cases::<ark_bn254::g1::Config>(&mut rng, &[0, 1, 2, 3, 100, 1000, 5000]);
    }

    #[test]
    fn full_width_matches_arkworks_on_g2() {
        let mut rng = StdRng::seed_from_u64(12);
        full_width_cases::<ark_bn254::g2::Config>(&mut rng, &[0, 1, 2, 3, 100, 1000, 5000]);
    }
}
