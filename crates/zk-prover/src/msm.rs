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
//! | the rest | arkworks' `msm_bigint` |
//!
//! The result is the same group element as any other MSM; only the work differs. The key
//! setup uses the same split per QAP column ([`sum_terms`]): its coefficients are weights
//! times requantization multipliers, small as well.

use ark_ec::{AffineRepr, VariableBaseMSM};
use ark_ff::{AdditiveGroup, BigInteger, PrimeField, Zero};
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
pub fn msm<G: AffineRepr>(bases: &[G], scalars: &[Fr]) -> G::Group
where
    G::Group: VariableBaseMSM<MulBase = G, ScalarField = Fr>,
{
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
    let mut units = G::Group::zero();
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
            if big_b.is_empty() {
                G::Group::zero()
            } else {
                G::Group::msm_bigint(&big_b, &big_s)
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
    let mut total = G::Group::zero();
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

#[cfg(test)]
mod tests {
    use super::msm;
    use ark_bn254::{G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::{CurveGroup, VariableBaseMSM};
    use ark_ff::UniformRand;
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
}
