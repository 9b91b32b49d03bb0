//! Lagrange-basis points from powers of tau: what `snarkjs powersoftau prepare phase2` adds to
//! a `.ptau`, computed here for the one domain a circuit needs.
//!
//! On the domain `{ωⁱ}` of size `n`, `L_i(X) = (1/n)·Σ_j (ω⁻ⁱ·X)^j`, so
//! `[L_i(τ)] = (1/n)·Σ_j ω^(-ij)·[τ^j]`: the inverse DFT of the points `[τ^j]`, `j < n`. It is
//! computed as a radix-2 Cooley–Tukey transform in the group (bit-reversed input, `log n`
//! layers of butterflies `(a, b) ↦ (a + w·b, a − w·b)`, then a scaling by `1/n`), with the
//! butterflies of each layer spread over rayon's threads. `ω` is the generator of arkworks'
//! radix-2 domain, the root of unity vouch's QAP and snarkjs's `Fr.w[log n]` both use, so
//! the points equal those of a prepared file (tested against `snarkjs powersoftau prepare
//! phase2`).

use crate::{Error, Result};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, One};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rayon::prelude::*;
use vouch_zk::Fr;

/// Butterflies per progress tick.
const TICK: usize = 64;

/// The work units (butterflies and scalings) of one transform of size `2^log_n`, the unit of
/// the `tick` callback of [`lagrange_points`].
pub fn work(log_n: u32) -> u64 {
    let n = 1u64 << log_n;
    n / 2 * u64::from(log_n) + n
}

/// `[L_i(τ)]` for `i < n` from `[τ^j]` for `j < n` (`n = tau_powers.len()`, a power of two);
/// calls `tick(k)` as `k` more units of [`work`] are done.
pub fn lagrange_points<G>(
    tau_powers: &[G::Affine],
    tick: &(dyn Fn(u64) + Sync),
) -> Result<Vec<G::Affine>>
where
    G: CurveGroup<ScalarField = Fr>,
{
    let n = tau_powers.len();
    if !n.is_power_of_two() {
        return Err(Error::Ptau(format!("{n} tau powers: not a power of two")));
    }
    let log_n = n.trailing_zeros();
    let domain = Radix2EvaluationDomain::<Fr>::new(n)
        .ok_or_else(|| Error::Ptau(format!("no radix-2 domain of size 2^{log_n}")))?;
    let mut a: Vec<G> = tau_powers.par_iter().map(|p| p.into_group()).collect();
    if log_n > 0 {
        let shift = usize::BITS - log_n;
        for i in 0..n {
            let r = i.reverse_bits() >> shift;
            if i < r {
                a.swap(i, r);
            }
        }
    }
    let w_inv = domain.group_gen_inv();
    let mut m = 1usize;
    while m < n {
        // Layer with blocks of 2m: twiddles w^j for the block's primitive 2m-th root w.
        let w = w_inv.pow([(n / (2 * m)) as u64]);
        let tw: Vec<Fr> = std::iter::successors(Some(Fr::one()), |x| Some(*x * w))
            .take(m)
            .collect();
        for block in a.chunks_mut(2 * m) {
            let (lo, hi) = block.split_at_mut(m);
            lo.par_chunks_mut(TICK)
                .zip(hi.par_chunks_mut(TICK))
                .zip(tw.par_chunks(TICK))
                .for_each(|((lo, hi), tw)| {
                    for ((x, y), w) in lo.iter_mut().zip(hi.iter_mut()).zip(tw) {
                        let t = if w.is_one() { *y } else { *y * w };
                        *y = *x - t;
                        *x += t;
                    }
                    tick(lo.len() as u64);
                });
        }
        m *= 2;
    }
    let n_inv = domain.size_inv();
    a.par_chunks_mut(TICK).for_each(|c| {
        for p in c.iter_mut() {
            *p *= n_inv;
        }
        tick(c.len() as u64);
    });
    Ok(G::normalize_batch(&a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Projective, G2Projective};
    use ark_ff::UniformRand;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn check<G: CurveGroup<ScalarField = Fr>>(log_n: u32) {
        let tau = Fr::rand(&mut rand::rngs::OsRng);
        let n = 1usize << log_n;
        let pows: Vec<G::Affine> = std::iter::successors(Some(Fr::one()), |x| Some(*x * tau))
            .take(n)
            .map(|s| (G::generator() * s).into_affine())
            .collect();
        let done = AtomicU64::new(0);
        let got = lagrange_points::<G>(&pows, &|k| {
            done.fetch_add(k, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(done.into_inner(), work(log_n));
        let want: Vec<G::Affine> = Radix2EvaluationDomain::<Fr>::new(n)
            .unwrap()
            .evaluate_all_lagrange_coefficients(tau)
            .into_iter()
            .map(|l| (G::generator() * l).into_affine())
            .collect();
        assert_eq!(got, want, "2^{log_n}");
    }

    #[test]
    fn equals_the_lagrange_coefficients_at_tau() {
        for log_n in 0..=6 {
            check::<G1Projective>(log_n);
        }
        check::<G2Projective>(4);
    }
}
