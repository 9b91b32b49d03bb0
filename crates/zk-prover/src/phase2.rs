//! Phase 2: the keys file, `δ` contributions and their verification.
//!
//! [`initial`] derives the proving key with `δ = γ = 1` from the phase-1 points and the
//! circuit; it is public and deterministic, so anyone can recompute it. Each [`contribute`]
//! multiplies `δ` by a fresh secret `d` (and divides the `L` and `H` queries by it) and
//! appends a Schnorr proof of knowledge of `d` in base `[δ_before]₁`. [`verify`] recomputes
//! the initial key, checks that everything but `δ`, `L` and `H` is unchanged, checks every
//! contribution's proof and G1/G2 consistency, and checks `L` and `H` against the final `δ`
//! with a random linear combination and two pairings. One honest contributor suffices.

use crate::groth::ProvingKey;
use crate::{Error, Result};
use ark_bn254::{Bn254, G1Projective, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{Field, PrimeField, UniformRand, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use vouch_zk::{Fr, G1, G2};

/// One contribution.
#[derive(Debug, Clone, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Contribution {
    /// `[δ_after]₁`.
    pub delta_g1: G1,
    /// `[δ_after]₂`.
    pub delta_g2: G2,
    /// Schnorr commitment `R = k·[δ_before]₁`.
    pub pok_r: G1,
    /// Schnorr response `z = k + c·d`.
    pub pok_z: Fr,
}

/// The keys file body.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Content id bytes of the package the keys are for.
    pub package_cid: Vec<u8>,
    /// The proving key (with the verifying key).
    pub pk: ProvingKey,
    /// The contributions, in order.
    pub contributions: Vec<Contribution>,
}

fn challenge(prev: &G1, next: &G1, r: &G1, index: usize) -> Fr {
    let mut h = Sha256::new();
    h.update(b"vouch/zk/phase2/pok/v1");
    h.update((index as u64).to_be_bytes());
    for p in [prev, next, r] {
        let mut b = Vec::new();
        let _ = p.serialize_uncompressed(&mut b);
        h.update(&b);
    }
    Fr::from_be_bytes_mod_order(&h.finalize())
}

/// Applies one contribution with fresh randomness; returns a hash of it for the log.
pub fn contribute<R: ark_std::rand::RngCore + ark_std::rand::CryptoRng>(
    keys: &mut Keys,
    rng: &mut R,
) -> [u8; 32] {
    let d = loop {
        let d = Fr::rand(rng);
        if !d.is_zero() {
            break d;
        }
    };
    let dinv = d.inverse().unwrap_or_default();
    let prev = keys.pk.delta_g1;
    let delta_g1 = (prev * d).into_affine();
    let delta_g2 = (keys.pk.vk.delta_g2 * d).into_affine();
    let k = Fr::rand(rng);
    let pok_r = (prev * k).into_affine();
    let c = challenge(&prev, &delta_g1, &pok_r, keys.contributions.len());
    let pok_z = k + c * d;
    let scale = |v: &mut Vec<G1>| {
        let p: Vec<G1Projective> = v.par_iter().map(|p| *p * dinv).collect();
        *v = G1Projective::normalize_batch(&p);
    };
    scale(&mut keys.pk.l_query);
    scale(&mut keys.pk.h_query);
    keys.pk.delta_g1 = delta_g1;
    keys.pk.vk.delta_g2 = delta_g2;
    let c = Contribution {
        delta_g1,
        delta_g2,
        pok_r,
        pok_z,
    };
    let mut b = Vec::new();
    let _ = c.serialize_compressed(&mut b);
    keys.contributions.push(c);
    Sha256::digest(&b).into()
}

/// Verifies `keys` against the initial key recomputed from phase 1 and the circuit.
pub fn verify(keys: &Keys, initial: &ProvingKey) -> Result<()> {
    let bad = |s: &str| Err(Error::Setup(s.into()));
    let (pk, ini) = (&keys.pk, initial);
    if pk.vk.alpha_g1 != ini.vk.alpha_g1
        || pk.vk.beta_g2 != ini.vk.beta_g2
        || pk.vk.gamma_g2 != ini.vk.gamma_g2
        || pk.vk.ic != ini.vk.ic
        || pk.beta_g1 != ini.beta_g1
        || pk.a_query != ini.a_query
        || pk.b_g1_query != ini.b_g1_query
        || pk.b_g2_query != ini.b_g2_query
    {
        return bad("the circuit-derived key elements differ from the phase-1 derivation");
    }
    if pk.l_query.len() != ini.l_query.len() || pk.h_query.len() != ini.h_query.len() {
        return bad("query lengths differ");
    }
    if keys.contributions.is_empty() {
        return bad("no phase-2 contribution: delta = gamma = 1, proofs could be forged");
    }
    let g2 = G2::generator();
    let mut prev = G1::generator();
    for (i, c) in keys.contributions.iter().enumerate() {
        if c.delta_g1.is_zero() || c.delta_g2.is_zero() {
            return bad("a contribution has delta = 0");
        }
        let ch = challenge(&prev, &c.delta_g1, &c.pok_r, i);
        if prev * c.pok_z != c.pok_r.into_group() + c.delta_g1 * ch {
            return Err(Error::Setup(format!(
                "contribution {i}: proof of knowledge fails"
            )));
        }
        if Bn254::pairing(c.delta_g1, g2) != Bn254::pairing(G1::generator(), c.delta_g2) {
            return Err(Error::Setup(format!(
                "contribution {i}: G1 and G2 deltas differ"
            )));
        }
        prev = c.delta_g1;
    }
    let last = keys.contributions.last().map(|c| (c.delta_g1, c.delta_g2));
    if last != Some((pk.delta_g1, pk.vk.delta_g2)) {
        return bad("the key's delta is not the last contribution's");
    }
    // e(Σ ρ_i L_i, δ) = e(Σ ρ_i L0_i, 1), same for H.
    let mut rng = rand::rngs::OsRng;
    for (name, got, want) in [
        ("L", &pk.l_query, &ini.l_query),
        ("H", &pk.h_query, &ini.h_query),
    ] {
        let rho: Vec<Fr> = (0..got.len()).map(|_| Fr::rand(&mut rng)).collect();
        let a = G1Projective::msm(got, &rho).map_err(|_| Error::Setup("msm".into()))?;
        let b = G1Projective::msm(want, &rho).map_err(|_| Error::Setup("msm".into()))?;
        if Bn254::pairing(a, pk.vk.delta_g2) != Bn254::pairing(b, g2) {
            return Err(Error::Setup(format!(
                "the {name} query is not the initial one divided by delta"
            )));
        }
    }
    let _ = G2Projective::zero();
    Ok(())
}

/// Serializes the keys file (verifying key first, readable by `vouch-zk` alone).
pub fn to_bytes(keys: &Keys) -> Vec<u8> {
    let mut out = vouch_zk::files::keys_header(&keys.pk.vk);
    let _ = keys.package_cid.serialize_uncompressed(&mut out);
    let pk = &keys.pk;
    let _ = pk.beta_g1.serialize_uncompressed(&mut out);
    let _ = pk.delta_g1.serialize_uncompressed(&mut out);
    let _ = pk.a_query.serialize_uncompressed(&mut out);
    let _ = pk.b_g1_query.serialize_uncompressed(&mut out);
    let _ = pk.b_g2_query.serialize_uncompressed(&mut out);
    let _ = pk.h_query.serialize_uncompressed(&mut out);
    let _ = pk.l_query.serialize_uncompressed(&mut out);
    let _ = keys.contributions.serialize_uncompressed(&mut out);
    out
}

/// Reads a keys file. Points of the large queries are not subgroup-checked here (a bad key
/// only yields proofs that fail); [`verify`] compares them with the phase-1 derivation.
pub fn from_bytes(b: &[u8]) -> Result<Keys> {
    let (vk, mut rest) = vouch_zk::files::read_keys_vk(b)?;
    // Every vector length prefix must fit the remaining bytes (no huge allocations).
    let mut probe = rest;
    let skip = |elem: usize, probe: &mut &[u8]| -> Result<()> {
        let len = probe
            .get(..8)
            .map(|l| u64::from_le_bytes(l.try_into().unwrap_or_default()))
            .ok_or_else(|| Error::Keys("truncated".into()))?;
        let n = usize::try_from(len)
            .ok()
            .and_then(|n| n.checked_mul(elem))
            .and_then(|n| n.checked_add(8))
            .filter(|&n| n <= probe.len())
            .ok_or_else(|| Error::Keys("length prefix exceeds the file".into()))?;
        *probe = &probe[n..];
        Ok(())
    };
    skip(1, &mut probe)?;
    probe = probe
        .get(128..)
        .ok_or_else(|| Error::Keys("truncated".into()))?;
    for elem in [64, 64, 128, 64, 64] {
        skip(elem, &mut probe)?;
    }
    let e = |x: ark_serialize::SerializationError| Error::Keys(x.to_string());
    let package_cid =
        Vec::<u8>::deserialize_with_mode(&mut rest, Compress::No, Validate::Yes).map_err(e)?;
    let mut rd1 = |r: &mut &[u8]| G1::deserialize_with_mode(r, Compress::No, Validate::No);
    let beta_g1 = rd1(&mut rest).map_err(e)?;
    let delta_g1 = rd1(&mut rest).map_err(e)?;
    let v1 = |r: &mut &[u8]| Vec::<G1>::deserialize_with_mode(r, Compress::No, Validate::No);
    let a_query = v1(&mut rest).map_err(e)?;
    let b_g1_query = v1(&mut rest).map_err(e)?;
    let b_g2_query =
        Vec::<G2>::deserialize_with_mode(&mut rest, Compress::No, Validate::No).map_err(e)?;
    let h_query = v1(&mut rest).map_err(e)?;
    let l_query = v1(&mut rest).map_err(e)?;
    let _ = &mut rd1;
    let contributions =
        Vec::<Contribution>::deserialize_with_mode(&mut rest, Compress::No, Validate::Yes)
            .map_err(e)?;
    if !rest.is_empty() {
        return Err(Error::Keys("trailing bytes".into()));
    }
    Ok(Keys {
        package_cid,
        pk: ProvingKey {
            vk,
            beta_g1,
            delta_g1,
            a_query,
            b_g1_query,
            b_g2_query,
            h_query,
            l_query,
        },
        contributions,
    })
}
