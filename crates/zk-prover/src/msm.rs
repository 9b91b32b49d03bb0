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
//! The result is the same group element as any other MSM; only the work differs.

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

/// `Σ scalars[i] · bases[i]` over the shorter of the two slices.
pub fn msm<G: AffineRepr>(bases: &[G], scalars: &[Fr]) -> G::Group
where
    G::Group: VariableBaseMSM<MulBase = G, ScalarField = Fr>,
{
    let n = bases.len().min(scalars.len());
    // A variable that never appears in a query's column has the identity as its base there.
    let classes: Vec<Class> = scalars[..n]
        .par_iter()
        .zip(&bases[..n])
        .map(|(s, b)| {
            if b.is_zero() {
                Class::Zero
            } else {
                classify(s)
            }
        })
        .collect();
    let mut units: Vec<(G, bool)> = Vec::new();
    let mut small: Vec<(G, u64, bool)> = Vec::new();
    let (mut big_b, mut big_s) = (Vec::new(), Vec::new());
    for (i, c) in classes.into_iter().enumerate() {
        match c {
            Class::Zero => {}
            Class::Unit(neg) => units.push((bases[i], neg)),
            Class::Small(v, neg) => small.push((bases[i], v, neg)),
            Class::Big => {
                big_b.push(bases[i]);
                big_s.push(scalars[i].into_bigint());
            }
        }
    }
    let (unit_sum, (small_sum, big_sum)) = rayon::join(
        || {
            units
                .par_iter()
                .fold(G::Group::zero, |mut acc, (b, neg)| {
                    if *neg {
                        acc -= b;
                    } else {
                        acc += b;
                    }
                    acc
                })
                .reduce(G::Group::zero, |a, b| a + b)
        },
        || {
            rayon::join(
                || pippenger_u64(&small),
                || {
                    if big_b.is_empty() {
                        G::Group::zero()
                    } else {
                        G::Group::msm_bigint(&big_b, &big_s)
                    }
                },
            )
        },
    );
    unit_sum + small_sum + big_sum
}

/// Pippenger's bucket method over `u64` magnitudes with per-term signs, on only the windows
/// that the largest magnitude reaches; windows run in parallel.
fn pippenger_u64<G: AffineRepr>(terms: &[(G, u64, bool)]) -> G::Group {
    let Some(max) = terms.iter().map(|t| t.1).max() else {
        return G::Group::zero();
    };
    let bits = 64 - max.leading_zeros() as usize;
    let c = match terms.len() {
        0..32 => 3,
        n => (n.ilog2() as usize * 69 / 100 + 2).clamp(3, 16),
    };
    let windows: Vec<usize> = (0..bits).step_by(c).collect();
    let sums: Vec<G::Group> = windows
        .par_iter()
        .map(|&start| {
            let mut buckets = vec![G::Group::zero(); (1 << c) - 1];
            for (base, v, neg) in terms {
                let d = (v >> start) & ((1 << c) - 1);
                if d != 0 {
                    let b = &mut buckets[d as usize - 1];
                    if *neg {
                        *b -= base;
                    } else {
                        *b += base;
                    }
                }
            }
            let (mut running, mut sum) = (G::Group::zero(), G::Group::zero());
            for b in buckets.into_iter().rev() {
                running += b;
                sum += running;
            }
            sum
        })
        .collect();
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
