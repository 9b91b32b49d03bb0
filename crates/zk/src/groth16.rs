//! Groth16 verifying key, proof and verification over BN254, with the EVM encodings.
//!
//! EVM encoding (as the `ecAdd`/`ecMul`/`ecPairing` precompiles read it): a G1 point is
//! `x ‖ y`, a G2 point `x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0`, every coordinate 32 bytes big-endian; the
//! point at infinity is all zeros. A proof is `A ‖ B ‖ C`: [`PROOF_BYTES`] bytes.

use crate::statement::fr_to_be;
use crate::{Error, Fq, Fr, G1, G2, Result};
use ark_bn254::{Bn254, Fq2};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, One, PrimeField};

/// Bytes of an EVM-encoded proof.
pub const PROOF_BYTES: usize = 256;

/// The Groth16 verifying key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    /// `[α]₁`.
    pub alpha_g1: G1,
    /// `[β]₂`.
    pub beta_g2: G2,
    /// `[γ]₂`.
    pub gamma_g2: G2,
    /// `[δ]₂`.
    pub delta_g2: G2,
    /// `[(β·A_i(τ) + α·B_i(τ) + C_i(τ)) / γ]₁` for the constant one and each public input.
    pub ic: Vec<G1>,
}

/// A Groth16 proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    /// `[A]₁`.
    pub a: G1,
    /// `[B]₂`.
    pub b: G2,
    /// `[C]₁`.
    pub c: G1,
}

/// Writes a base-field element big-endian.
pub fn fq_to_be(x: &Fq) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_be());
    out
}

/// Reads a canonical big-endian base-field element.
pub fn fq_from_be(b: &[u8], what: &'static str) -> Result<Fq> {
    let mut limbs = [0u64; 4];
    if b.len() != 32 {
        return Err(Error::Truncated { what, at: 0 });
    }
    for (i, l) in limbs.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[32 - 8 * (i + 1)..32 - 8 * i]);
        *l = u64::from_be_bytes(w);
    }
    Fq::from_bigint(ark_ff::BigInt(limbs)).ok_or(Error::NonCanonical { what })
}

/// EVM encoding of a G1 point.
pub fn g1_to_evm(p: &G1) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&fq_to_be(&x));
        out[32..].copy_from_slice(&fq_to_be(&y));
    }
    out
}

/// EVM encoding of a G2 point.
pub fn g2_to_evm(p: &G2) -> [u8; 128] {
    let mut out = [0u8; 128];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&fq_to_be(&x.c1));
        out[32..64].copy_from_slice(&fq_to_be(&x.c0));
        out[64..96].copy_from_slice(&fq_to_be(&y.c1));
        out[96..].copy_from_slice(&fq_to_be(&y.c0));
    }
    out
}

/// Decodes a G1 point (checks canonical coordinates and the curve; BN254 G1 has cofactor 1).
pub fn g1_from_evm(b: &[u8], what: &'static str) -> Result<G1> {
    if b.len() != 64 {
        return Err(Error::Truncated { what, at: 0 });
    }
    if b.iter().all(|&v| v == 0) {
        return Ok(G1::zero());
    }
    let p = G1::new_unchecked(fq_from_be(&b[..32], what)?, fq_from_be(&b[32..], what)?);
    if !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(Error::BadPoint { what });
    }
    Ok(p)
}

/// Decodes a G2 point (checks canonical coordinates, the curve and the subgroup).
pub fn g2_from_evm(b: &[u8], what: &'static str) -> Result<G2> {
    if b.len() != 128 {
        return Err(Error::Truncated { what, at: 0 });
    }
    if b.iter().all(|&v| v == 0) {
        return Ok(G2::zero());
    }
    let x = Fq2::new(fq_from_be(&b[32..64], what)?, fq_from_be(&b[..32], what)?);
    let y = Fq2::new(fq_from_be(&b[96..], what)?, fq_from_be(&b[64..96], what)?);
    let p = G2::new_unchecked(x, y);
    if !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(Error::BadPoint { what });
    }
    Ok(p)
}

impl Proof {
    /// EVM encoding.
    pub fn to_bytes(&self) -> [u8; PROOF_BYTES] {
        let mut out = [0u8; PROOF_BYTES];
        out[..64].copy_from_slice(&g1_to_evm(&self.a));
        out[64..192].copy_from_slice(&g2_to_evm(&self.b));
        out[192..].copy_from_slice(&g1_to_evm(&self.c));
        out
    }

    /// Decodes (and validates) an EVM-encoded proof.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        if b.len() != PROOF_BYTES {
            return Err(Error::Truncated {
                what: "proof",
                at: b.len().min(PROOF_BYTES),
            });
        }
        Ok(Self {
            a: g1_from_evm(&b[..64], "proof.A")?,
            b: g2_from_evm(&b[64..192], "proof.B")?,
            c: g1_from_evm(&b[192..], "proof.C")?,
        })
    }
}

impl VerifyingKey {
    /// EVM encoding: `alpha ‖ beta ‖ gamma ‖ delta ‖ u32 count ‖ ic...`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * 7 + 64 * self.ic.len());
        out.extend_from_slice(&g1_to_evm(&self.alpha_g1));
        out.extend_from_slice(&g2_to_evm(&self.beta_g2));
        out.extend_from_slice(&g2_to_evm(&self.gamma_g2));
        out.extend_from_slice(&g2_to_evm(&self.delta_g2));
        out.extend_from_slice(&(self.ic.len() as u32).to_be_bytes());
        for p in &self.ic {
            out.extend_from_slice(&g1_to_evm(p));
        }
        out
    }

    /// Decodes [`Self::to_bytes`] (validating every point); returns the key and bytes read.
    pub fn from_bytes(b: &[u8]) -> Result<(Self, usize)> {
        let at = |n: usize| Error::Truncated {
            what: "verifying key",
            at: n,
        };
        let head = b.get(..64 + 3 * 128 + 4).ok_or(at(b.len()))?;
        let alpha_g1 = g1_from_evm(&head[..64], "vk.alpha")?;
        let beta_g2 = g2_from_evm(&head[64..192], "vk.beta")?;
        let gamma_g2 = g2_from_evm(&head[192..320], "vk.gamma")?;
        let delta_g2 = g2_from_evm(&head[320..448], "vk.delta")?;
        let mut n = [0u8; 4];
        n.copy_from_slice(&head[448..452]);
        let n = u32::from_be_bytes(n) as usize;
        if n == 0 || n > 1 << 16 {
            return Err(at(448));
        }
        let end = 452 + 64 * n;
        let body = b.get(452..end).ok_or(at(b.len()))?;
        let ic = body
            .chunks_exact(64)
            .map(|c| g1_from_evm(c, "vk.ic"))
            .collect::<Result<Vec<_>>>()?;
        Ok((
            Self {
                alpha_g1,
                beta_g2,
                gamma_g2,
                delta_g2,
                ic,
            },
            end,
        ))
    }

    /// keccak256 of [`Self::to_bytes`]: what the ModelRegistry records for a model version.
    pub fn hash(&self) -> [u8; 32] {
        vouch_primitives::keccak256(&self.to_bytes())
    }

    /// Number of public inputs (without the constant one).
    pub fn num_public(&self) -> usize {
        self.ic.len().saturating_sub(1)
    }
}

/// Checks `e(A, B) = e(α, β) · e(IC(x), γ) · e(C, δ)`.
pub fn verify(vk: &VerifyingKey, public: &[Fr], proof: &Proof) -> Result<bool> {
    if public.len() + 1 != vk.ic.len() {
        return Err(Error::PublicInputs {
            found: public.len(),
            expected: vk.num_public(),
        });
    }
    let (first, rest) = vk.ic.split_first().ok_or(Error::PublicInputs {
        found: public.len(),
        expected: 0,
    })?;
    let acc = <ark_bn254::G1Projective as VariableBaseMSM>::msm(rest, public).map_err(|_| {
        Error::PublicInputs {
            found: public.len(),
            expected: rest.len(),
        }
    })? + first;
    let lhs = Bn254::multi_pairing(
        [-proof.a, vk.alpha_g1, acc.into_affine(), proof.c],
        [proof.b, vk.beta_g2, vk.gamma_g2, vk.delta_g2],
    );
    Ok(lhs.0.is_one())
}

/// Public inputs as 32-byte big-endian words (the calldata of the Solidity verifier).
pub fn publics_to_be(public: &[Fr]) -> Vec<[u8; 32]> {
    public.iter().map(fr_to_be).collect()
}
