//! Groth16 over BN254: the QAP of an R1CS, the proving key built from phase-1 points in the
//! Lagrange basis (so no trapdoor is ever known), and the prover.
//!
//! QAP rows: the `m` constraints, then one row `A = z_i` per public variable (including the
//! constant one) so the public polynomials are linearly independent. The domain is the
//! radix-2 domain of size `n = 2^k >= m + num_public + 1`. With `γ = 1` (as snarkjs):
//! `ic_i = [β·A_i(τ) + α·B_i(τ) + C_i(τ)]₁`, `l_i` the same divided by `δ`, and
//! `h_i = [τ^i · (τ^n - 1) / δ]₁` for `i < n - 1`.

use crate::cs::Cs;
use crate::msm::msm;
use crate::{Error, Result};
use ark_bn254::{G1Projective, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{FftField, One, UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rayon::prelude::*;
use vouch_zk::{Fr, G1, G2, Proof, VerifyingKey};

/// Phase-1 points restricted to one domain size `n`.
#[derive(Debug, Clone)]
pub struct Srs {
    /// `log2(n)`.
    pub log_n: u32,
    /// `[τ^i]₁` for `i < 2n - 1`.
    pub tau_g1: Vec<G1>,
    /// `[L_i(τ)]₁`.
    pub lag_g1: Vec<G1>,
    /// `[L_i(τ)]₂`.
    pub lag_g2: Vec<G2>,
    /// `[α·L_i(τ)]₁`.
    pub alpha_lag_g1: Vec<G1>,
    /// `[β·L_i(τ)]₁`.
    pub beta_lag_g1: Vec<G1>,
    /// `[α]₁`.
    pub alpha_g1: G1,
    /// `[β]₁`.
    pub beta_g1: G1,
    /// `[β]₂`.
    pub beta_g2: G2,
}

/// The proving key.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvingKey {
    /// The verifying key.
    pub vk: VerifyingKey,
    /// `[β]₁`.
    pub beta_g1: G1,
    /// `[δ]₁`.
    pub delta_g1: G1,
    /// `[A_i(τ)]₁` per variable.
    pub a_query: Vec<G1>,
    /// `[B_i(τ)]₁` per variable.
    pub b_g1_query: Vec<G1>,
    /// `[B_i(τ)]₂` per variable.
    pub b_g2_query: Vec<G2>,
    /// `[τ^i Z(τ) / δ]₁`, `n - 1` points.
    pub h_query: Vec<G1>,
    /// `[(β A_i + α B_i + C_i)(τ) / δ]₁` per private variable.
    pub l_query: Vec<G1>,
}

/// The domain exponent for a system.
pub fn domain_log(cs: &Cs) -> u32 {
    let rows = cs.num_constraints() + cs.num_public + 1;
    rows.next_power_of_two().trailing_zeros()
}

/// Column view of the QAP: per variable, the (row, coefficient) pairs of A, B and C.
struct Columns {
    a: Vec<Vec<(u32, Fr)>>,
    b: Vec<Vec<(u32, Fr)>>,
    c: Vec<Vec<(u32, Fr)>>,
}

fn columns(cs: &Cs) -> Columns {
    let nv = cs.num_vars();
    let mut cols = Columns {
        a: vec![Vec::new(); nv],
        b: vec![Vec::new(); nv],
        c: vec![Vec::new(); nv],
    };
    for (mat, out) in [
        (&cs.a, &mut cols.a),
        (&cs.b, &mut cols.b),
        (&cs.c, &mut cols.c),
    ] {
        for (r, lc) in mat.iter().enumerate() {
            for &(v, k) in &lc.0 {
                if let Some(col) = out.get_mut(v as usize) {
                    col.push((r as u32, k));
                }
            }
        }
    }
    let m = cs.num_constraints() as u32;
    for i in 0..=cs.num_public {
        cols.a[i].push((m + i as u32, Fr::one()));
    }
    cols
}

/// `Σ k · bases[row]`, term by term (the reference for [`col_sum`]; tests only).
#[cfg(test)]
fn lin<G: AffineRepr<ScalarField = Fr>>(terms: &[(u32, Fr)], bases: &[G]) -> G::Group {
    let mut acc = G::Group::zero();
    for &(r, k) in terms {
        if let Some(b) = bases.get(r as usize) {
            acc += *b * k;
        }
    }
    acc
}

/// Columns longer than this are summed in parallel chunks.
const CHUNK: usize = 1 << 13;

/// `Σ k · bases[row]` for one QAP column ([`crate::msm::sum_terms`]: `±1` terms are plain
/// additions, small ones a bucket sum over their real bit length); long columns (the
/// constant one) are split over threads.
fn col_sum<G: AffineRepr<ScalarField = Fr>>(terms: &[(u32, Fr)], bases: &[G]) -> G::Group {
    if terms.len() > CHUNK {
        return terms
            .par_chunks(CHUNK)
            .map(|c| col_sum(c, bases))
            .reduce(G::Group::zero, |a, b| a + b);
    }
    crate::msm::sum_terms(terms, bases)
}

/// Builds the proving key with `δ = γ = 1` from phase-1 points. Use only after at least one
/// phase-2 contribution ([`crate::phase2`]): with `δ = γ` proofs can be forged.
pub fn setup(cs: &Cs, srs: &Srs, progress: &(dyn Fn(&str) + Sync)) -> Result<ProvingKey> {
    let log_n = domain_log(cs);
    if log_n != srs.log_n {
        return Err(Error::PtauTooSmall {
            need: log_n,
            have: srs.log_n,
        });
    }
    let n = 1usize << log_n;
    progress("transposing the constraint system");
    let cols = columns(cs);
    let np = cs.num_public;
    progress("A and B queries");
    let batch = |v: Vec<G1Projective>| G1Projective::normalize_batch(&v);
    let a_query = batch(cols.a.par_iter().map(|c| col_sum(c, &srs.lag_g1)).collect());
    let b_g1_query = batch(cols.b.par_iter().map(|c| col_sum(c, &srs.lag_g1)).collect());
    let b_g2_query = G2Projective::normalize_batch(
        &cols
            .b
            .par_iter()
            .map(|c| col_sum(c, &srs.lag_g2))
            .collect::<Vec<_>>(),
    );
    progress("L and IC queries");
    let abc: Vec<G1Projective> = (0..cs.num_vars())
        .into_par_iter()
        .map(|i| {
            col_sum(&cols.a[i], &srs.beta_lag_g1)
                + col_sum(&cols.b[i], &srs.alpha_lag_g1)
                + col_sum(&cols.c[i], &srs.lag_g1)
        })
        .collect();
    let abc = batch(abc);
    let (ic, l) = abc.split_at(np + 1);
    progress("H query");
    let h_query = batch(
        (0..n - 1)
            .into_par_iter()
            .map(|i| srs.tau_g1[n + i].into_group() - srs.tau_g1[i])
            .collect(),
    );
    Ok(ProvingKey {
        vk: VerifyingKey {
            alpha_g1: srs.alpha_g1,
            beta_g2: srs.beta_g2,
            gamma_g2: G2::generator(),
            delta_g2: G2::generator(),
            ic: ic.to_vec(),
        },
        beta_g1: srs.beta_g1,
        delta_g1: G1::generator(),
        a_query,
        b_g1_query,
        b_g2_query,
        h_query,
        l_query: l.to_vec(),
    })
}

/// The coefficients of `H = (A·B - C) / Z` for the assignment, or [`Error::Unsatisfied`]
/// with the first row where `A·B != C` (the row evaluations are the first step of both).
pub fn witness_h(cs: &Cs, log_n: u32) -> Result<Vec<Fr>> {
    let n = 1usize << log_n;
    let domain = Radix2EvaluationDomain::<Fr>::new(n)
        .ok_or_else(|| Error::Unsupported(format!("domain 2^{log_n}")))?;
    let m = cs.num_constraints();
    let np = cs.num_public + 1;
    if m + np > n {
        return Err(Error::Unsupported(format!(
            "{m} rows and {np} public rows do not fit the domain 2^{log_n}"
        )));
    }
    let eval = |mat: &[crate::cs::Lc]| -> Vec<Fr> {
        let mut v: Vec<Fr> = mat.par_iter().map(|lc| lc.eval(&cs.z)).collect();
        v.resize(n, Fr::zero());
        v
    };
    let (mut a, (mut b, mut c)) = rayon::join(
        || eval(&cs.a),
        || rayon::join(|| eval(&cs.b), || eval(&cs.c)),
    );
    if let Some(row) = (0..m).into_par_iter().find_first(|&r| a[r] * b[r] != c[r]) {
        return Err(Error::Unsatisfied { row });
    }
    // The public rows `A = z_i` (B and C are zero there).
    a[m..m + np].copy_from_slice(&cs.z[..np]);
    let coset = domain
        .get_coset(Fr::GENERATOR)
        .ok_or_else(|| Error::Unsupported("coset".into()))?;
    // Each of A, B, C: interpolated from the domain, evaluated on the coset. The three are
    // independent; side by side they keep both cores busy through the FFT layers that do
    // not split well.
    let to_coset = |v: &mut Vec<Fr>| {
        domain.ifft_in_place(v);
        coset.fft_in_place(v);
    };
    rayon::join(
        || to_coset(&mut a),
        || rayon::join(|| to_coset(&mut b), || to_coset(&mut c)),
    );
    let zinv = domain
        .evaluate_vanishing_polynomial(Fr::GENERATOR)
        .inverse_or_zero();
    let mut h: Vec<Fr> = a
        .par_iter()
        .zip(&b)
        .zip(&c)
        .map(|((a, b), c)| (*a * b - c) * zinv)
        .collect();
    coset.ifft_in_place(&mut h);
    h.truncate(n - 1);
    Ok(h)
}

trait InvOrZero {
    fn inverse_or_zero(&self) -> Fr;
}
impl InvOrZero for Fr {
    fn inverse_or_zero(&self) -> Fr {
        ark_ff::Field::inverse(self).unwrap_or_default()
    }
}

/// Proves the assignment of `cs` (which must satisfy it).
pub fn prove<R: ark_std::rand::RngCore + ark_std::rand::CryptoRng>(
    pk: &ProvingKey,
    cs: &Cs,
    rng: &mut R,
) -> Result<Proof> {
    let log_n = (pk.h_query.len() + 1).trailing_zeros();
    if pk.a_query.len() != cs.num_vars()
        || pk.l_query.len() + cs.num_public + 1 != cs.num_vars()
        || domain_log(cs) != log_n
    {
        return Err(Error::Keys("the keys were made for another circuit".into()));
    }
    // Refuses an assignment that does not satisfy the system.
    let h = witness_h(cs, log_n)?;
    let z = &cs.z;
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    let (za, zl) = (z.as_slice(), &z[cs.num_public + 1..]);
    let (a_acc, (b1_acc, (b2_acc, (l_acc, h_acc)))) = rayon::join(
        || msm(&pk.a_query, za),
        || {
            rayon::join(
                || msm(&pk.b_g1_query, za),
                || {
                    rayon::join(
                        || msm(&pk.b_g2_query, za),
                        || rayon::join(|| msm(&pk.l_query, zl), || msm(&pk.h_query, &h)),
                    )
                },
            )
        },
    );
    let a = a_acc + pk.vk.alpha_g1 + pk.delta_g1 * r;
    let b2 = b2_acc + pk.vk.beta_g2 + pk.vk.delta_g2 * s;
    let b1 = b1_acc + pk.beta_g1 + pk.delta_g1 * s;
    let c = l_acc + h_acc + a * s + b1 * r - pk.delta_g1 * (r * s);
    Ok(Proof {
        a: a.into_affine(),
        b: b2.into_affine(),
        c: c.into_affine(),
    })
}

/// An in-memory phase-1 for a domain of `2^log_n` from known trapdoors (tests only: whoever
/// knows `τ, α, β` can forge proofs).
pub fn insecure_srs(log_n: u32, tau: Fr, alpha: Fr, beta: Fr) -> Srs {
    let n = 1usize << log_n;
    let g1 = G1::generator().into_group();
    let g2 = G2::generator().into_group();
    let mut pows = Vec::with_capacity(2 * n - 1);
    let mut p = Fr::one();
    for _ in 0..2 * n - 1 {
        pows.push(p);
        p *= tau;
    }
    let domain = Radix2EvaluationDomain::<Fr>::new(n).unwrap_or_else(|| unreachable!());
    let lag = domain.evaluate_all_lagrange_coefficients(tau);
    let mul1 = |s: &[Fr], k: Fr| -> Vec<G1> {
        G1Projective::normalize_batch(&s.par_iter().map(|x| g1 * (*x * k)).collect::<Vec<_>>())
    };
    Srs {
        log_n,
        tau_g1: mul1(&pows, Fr::one()),
        lag_g1: mul1(&lag, Fr::one()),
        lag_g2: G2Projective::normalize_batch(&lag.par_iter().map(|x| g2 * x).collect::<Vec<_>>()),
        alpha_lag_g1: mul1(&lag, alpha),
        beta_lag_g1: mul1(&lag, beta),
        alpha_g1: (g1 * alpha).into_affine(),
        beta_g1: (g1 * beta).into_affine(),
        beta_g2: (g2 * beta).into_affine(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_std::rand::{Rng, SeedableRng, rngs::StdRng};

    fn coeff(rng: &mut StdRng) -> Fr {
        match rng.gen_range(0..8) {
            0 => Fr::one(),
            1 => -Fr::one(),
            2 => Fr::zero(),
            3 => Fr::rand(rng),
            4 => Fr::from(1u64 << rng.gen_range(0..64)),
            5 => -Fr::from(u64::MAX),
            6 => Fr::from(rng.gen_range(-(1i64 << 40)..(1i64 << 40))),
            _ => Fr::from(rng.gen_range(-200i64..200)),
        }
    }

    #[test]
    fn col_sum_matches_term_by_term() {
        let mut rng = StdRng::seed_from_u64(7);
        let g1: Vec<G1> = (0..64)
            .map(|_| (G1::generator() * Fr::rand(&mut rng)).into_affine())
            .collect();
        let g2: Vec<G2> = (0..64)
            .map(|_| (G2::generator() * Fr::rand(&mut rng)).into_affine())
            .collect();
        for len in [0usize, 1, 3, 4, 5, 17, 70, 300, 1100, CHUNK + 5] {
            let terms: Vec<(u32, Fr)> = (0..len)
                // rows past the bases are skipped by both
                .map(|_| (rng.gen_range(0..66u32), coeff(&mut rng)))
                .collect();
            assert_eq!(col_sum(&terms, &g1), lin(&terms, &g1), "G1, {len} terms");
            if len < 2000 {
                assert_eq!(col_sum(&terms, &g2), lin(&terms, &g2), "G2, {len} terms");
            }
        }
    }
}
