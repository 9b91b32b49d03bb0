//! snarkjs's Groth16 JSON files: `verification_key.json`, `proof.json` and `public.json`, as
//! `snarkjs zkey export verificationkey` and `snarkjs groth16 prove` write them (snarkjs
//! 0.7.6, `src/zkey_export_verificationkey.js`, `src/groth16_prove.js`), so that
//! `snarkjs groth16 verify verification_key.json public.json proof.json` checks a vouch proof.
//!
//! Encoding (ffjavascript `toObject` of the `bn128` curve): every number is a decimal string of
//! the canonical (not Montgomery) value; a G1 point is `[x, y, z]` in projective form with
//! `z = "1"` for an affine point (snarkjs exports affine points) and `["0", "1", "0"]` for
//! infinity; a G2 point is `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]` (real part first, the
//! reverse of the EVM precompiles' order), infinity `[["0","0"], ["1","0"], ["0","0"]]`; an
//! `Fq12` (`vk_alphabeta_12 = e(α, β)`) is `[[c0.c0, c0.c1, c0.c2], [c1.c0, c1.c1, c1.c2]]`
//! with each `Fq2` as `[c0, c1]` (the tower `Fq2[v]/(v³ − (9+u))`, `Fq6[w]/(w² − v)` that
//! ffjavascript and arkworks share). The public signals are decimal strings in the order of
//! [`crate::Statement::public_inputs`] (without the constant one): `IC[0]` belongs to the
//! constant and `IC[i+1]` to signal `i`, as in vouch's key.

use crate::groth16::{Proof, VerifyingKey};
use crate::{Fq, Fr, G1, G2};
use ark_bn254::{Bn254, Fq2, Fq12};
use ark_ec::AffineRepr;
use ark_ec::pairing::Pairing;
use ark_ff::PrimeField;
use serde::Serialize;

/// The `protocol` field.
pub const PROTOCOL: &str = "groth16";
/// The `curve` field (snarkjs's name for BN254).
pub const CURVE: &str = "bn128";

/// A G1 point as snarkjs writes it.
pub type G1Json = [String; 3];
/// A G2 point as snarkjs writes it.
pub type G2Json = [[String; 2]; 3];
/// An `Fq12` element as snarkjs writes it.
pub type Fq12Json = [[[String; 2]; 3]; 2];

/// `verification_key.json` (the fields of `snarkjs zkey export verificationkey`, in its order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerificationKeyJson {
    /// Always [`PROTOCOL`].
    pub protocol: &'static str,
    /// Always [`CURVE`].
    pub curve: &'static str,
    /// Number of public signals.
    #[serde(rename = "nPublic")]
    pub n_public: usize,
    /// `[α]₁`.
    pub vk_alpha_1: G1Json,
    /// `[β]₂`.
    pub vk_beta_2: G2Json,
    /// `[γ]₂`.
    pub vk_gamma_2: G2Json,
    /// `[δ]₂`.
    pub vk_delta_2: G2Json,
    /// `e(α, β)`.
    pub vk_alphabeta_12: Fq12Json,
    /// The input commitments, the constant one's first.
    #[serde(rename = "IC")]
    pub ic: Vec<G1Json>,
}

/// `proof.json` (the fields of `snarkjs groth16 prove`, in its order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProofJson {
    /// `[A]₁`.
    pub pi_a: G1Json,
    /// `[B]₂`.
    pub pi_b: G2Json,
    /// `[C]₁`.
    pub pi_c: G1Json,
    /// Always [`PROTOCOL`].
    pub protocol: &'static str,
    /// Always [`CURVE`].
    pub curve: &'static str,
}

fn fq(x: &Fq) -> String {
    x.into_bigint().to_string()
}

fn fq2(x: &Fq2) -> [String; 2] {
    [fq(&x.c0), fq(&x.c1)]
}

/// A G1 point in snarkjs's form.
pub fn g1(p: &G1) -> G1Json {
    match p.xy() {
        Some((x, y)) => [fq(&x), fq(&y), "1".into()],
        None => ["0".into(), "1".into(), "0".into()],
    }
}

/// A G2 point in snarkjs's form.
pub fn g2(p: &G2) -> G2Json {
    match p.xy() {
        Some((x, y)) => [fq2(&x), fq2(&y), ["1".into(), "0".into()]],
        None => [
            ["0".into(), "0".into()],
            ["1".into(), "0".into()],
            ["0".into(), "0".into()],
        ],
    }
}

/// An `Fq12` element in snarkjs's form.
pub fn fq12(x: &Fq12) -> Fq12Json {
    let f6 = |c: &ark_bn254::Fq6| [fq2(&c.c0), fq2(&c.c1), fq2(&c.c2)];
    [f6(&x.c0), f6(&x.c1)]
}

/// A scalar as a decimal string.
pub fn fr(x: &Fr) -> String {
    x.into_bigint().to_string()
}

/// `verification_key.json` of `vk`.
pub fn verification_key(vk: &VerifyingKey) -> VerificationKeyJson {
    let alphabeta = Bn254::pairing(vk.alpha_g1, vk.beta_g2).0;
    VerificationKeyJson {
        protocol: PROTOCOL,
        curve: CURVE,
        n_public: vk.num_public(),
        vk_alpha_1: g1(&vk.alpha_g1),
        vk_beta_2: g2(&vk.beta_g2),
        vk_gamma_2: g2(&vk.gamma_g2),
        vk_delta_2: g2(&vk.delta_g2),
        vk_alphabeta_12: fq12(&alphabeta),
        ic: vk.ic.iter().map(g1).collect(),
    }
}

/// `proof.json` of `proof`.
pub fn proof(proof: &Proof) -> ProofJson {
    ProofJson {
        pi_a: g1(&proof.a),
        pi_b: g2(&proof.b),
        pi_c: g1(&proof.c),
        protocol: PROTOCOL,
        curve: CURVE,
    }
}

/// `public.json`: the public signals as decimal strings.
pub fn public_signals(public: &[Fr]) -> Vec<String> {
    public.iter().map(fr).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::CurveGroup;

    #[test]
    fn points_and_scalars_are_canonical_decimals() {
        let g = G1::generator();
        assert_eq!(g1(&g), ["1".to_string(), "2".into(), "1".into()]);
        assert_eq!(g1(&G1::zero()), ["0".to_string(), "1".into(), "0".into()]);
        // The BN254 G2 generator as snarkjs's `bn128` curve names it (ffjavascript
        // `src/bn128.js`, `G2.g`): x = [c0, c1], y = [c0, c1].
        let j = g2(&G2::generator());
        assert_eq!(
            j[0],
            [
                "10857046999023057135944570762232829481370756359578518086990519993285655852781"
                    .to_string(),
                "11559732032986387107991004021392285783925812861821192530917403151452391805634"
                    .into()
            ]
        );
        assert_eq!(
            j[1],
            [
                "8495653923123431417604973247489272438418190587263600148770280649306958101930"
                    .to_string(),
                "4082367875863433681332203403145435568316851327593401208105741076214120093531"
                    .into()
            ]
        );
        assert_eq!(j[2], ["1".to_string(), "0".into()]);
        assert_eq!(fr(&Fr::from(0u64)), "0");
        assert_eq!(
            fr(&-Fr::from(1u64)),
            "21888242871839275222246405745257275088548364400416034343698204186575808495616"
        );
        let p = (G1::generator() * Fr::from(5u64)).into_affine();
        assert_eq!(g1(&p)[2], "1");
    }
}
