//! The snarkjs `.ptau` phase-1 file: reader, and an insecure local generator.
//!
//! Layout (binFileUtils): `"ptau" ‖ u32 version (1) ‖ u32 n_sections`, then per section
//! `u32 type ‖ u64 size ‖ data`, all little-endian. Section 1: `u32 n8 (32) ‖ q (n8 bytes) ‖
//! u32 power ‖ u32 ceremony_power`. Points are uncompressed in Montgomery form, each
//! coordinate `n8` bytes little-endian (G2 coordinates `c0 ‖ c1`), infinity all zeros.
//! Sections: 2 `[τ^i]₁` (`2·2^power - 1`), 3 `[τ^i]₂`, 4 `[ατ^i]₁`, 5 `[βτ^i]₁` (`2^power`
//! each), 6 `[β]₂`, 7 contributions, and (after `snarkjs powersoftau prepare phase2`) 12–15:
//! `[L_i(τ)]₁`, `[L_i(τ)]₂`, `[αL_i(τ)]₁`, `[βL_i(τ)]₁` for every domain `2^p`, `p = 0..=power`,
//! concatenated (section 12 then has one more block, for `2^(power+1)`). vouch needs sections 2, 4, 5, 6, 12, 13, 14 and 15 of a prepared file; of a
//! raw one (`snarkjs powersoftau new` and `contribute`, no `prepare phase2`: no section 12) it
//! reads sections 2–6 and computes the Lagrange points of the one domain the circuit needs
//! itself ([`crate::lagrange`]).

use crate::groth::Srs;
use crate::{Error, Result};
use ark_bn254::{Fq, Fq2, G1Projective, G2Projective};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInt, One, PrimeField, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rayon::prelude::*;
use std::collections::BTreeMap;
use vouch_zk::{Fr, G1, G2};

const N8: usize = 32;

fn err(s: impl Into<String>) -> Error {
    Error::Ptau(s.into())
}

fn fq_le(b: &[u8]) -> Result<Fq> {
    let mut l = [0u64; 4];
    for (i, x) in l.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[8 * i..8 * i + 8]);
        *x = u64::from_le_bytes(w);
    }
    // Montgomery form: the limbs are the internal representation; must be < q.
    if BigInt(l) >= Fq::MODULUS {
        return Err(err("non-canonical coordinate"));
    }
    Ok(Fq::new_unchecked(BigInt(l)))
}

fn fq_to_le(x: &Fq, out: &mut Vec<u8>) {
    for l in x.0.0 {
        out.extend_from_slice(&l.to_le_bytes());
    }
}

fn g1_read(b: &[u8]) -> Result<G1> {
    if b.iter().all(|&v| v == 0) {
        return Ok(G1::zero());
    }
    let p = G1::new_unchecked(fq_le(&b[..N8])?, fq_le(&b[N8..2 * N8])?);
    if !p.is_on_curve() {
        return Err(err("G1 point not on the curve"));
    }
    Ok(p)
}

/// A G2 point on the curve, without the subgroup check (see [`g2_read`]).
fn g2_read_on_curve(b: &[u8]) -> Result<G2> {
    if b.iter().all(|&v| v == 0) {
        return Ok(G2::zero());
    }
    let x = Fq2::new(fq_le(&b[..N8])?, fq_le(&b[N8..2 * N8])?);
    let y = Fq2::new(fq_le(&b[2 * N8..3 * N8])?, fq_le(&b[3 * N8..4 * N8])?);
    let p = G2::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(err("G2 point not on the curve"));
    }
    Ok(p)
}

/// A G2 point on the curve and in the prime-order subgroup. Used for the points that reach
/// the verifying key (`[β]₂`). The per-domain Lagrange points `[L_i(τ)]₂` only enter the
/// prover's `B` query: a point outside the subgroup there can only make the prover's own
/// proofs fail (every verifier, in Rust and the EVM pairing precompile, rejects proof points
/// outside the subgroup), so they get the cheap on-curve check; the per-point subgroup check
/// (a 127-bit scalar multiplication each) was most of the time of reading 2^19 of them.
fn g2_read(b: &[u8]) -> Result<G2> {
    let p = g2_read_on_curve(b)?;
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(err("G2 point not in the subgroup"));
    }
    Ok(p)
}

fn g1_write(p: &G1, out: &mut Vec<u8>) {
    match p.xy() {
        Some((x, y)) => {
            fq_to_le(&x, out);
            fq_to_le(&y, out);
        }
        None => out.extend_from_slice(&[0u8; 2 * N8]),
    }
}

fn g2_write(p: &G2, out: &mut Vec<u8>) {
    match p.xy() {
        Some((x, y)) => {
            for c in [x.c0, x.c1, y.c0, y.c1] {
                fq_to_le(&c, out);
            }
        }
        None => out.extend_from_slice(&[0u8; 4 * N8]),
    }
}

/// A parsed `.ptau` file (section offsets into the bytes).
#[derive(Debug)]
pub struct Ptau<'a> {
    bytes: &'a [u8],
    sections: BTreeMap<u32, (usize, usize)>,
    /// The file's power (domains up to `2^power`).
    pub power: u32,
}

impl<'a> Ptau<'a> {
    /// Parses the header and section table.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let rd32 = |at: usize| -> Result<u32> {
            let s = bytes.get(at..at + 4).ok_or_else(|| err("truncated"))?;
            Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        };
        if bytes.get(..4) != Some(b"ptau".as_slice()) {
            return Err(err("not a .ptau file (magic)"));
        }
        if rd32(4)? != 1 {
            return Err(err("unsupported .ptau version"));
        }
        let n = rd32(8)?;
        let mut at = 12usize;
        let mut sections = BTreeMap::new();
        for _ in 0..n.min(64) {
            let ty = rd32(at)?;
            let lo = u64::from(rd32(at + 4)?);
            let hi = u64::from(rd32(at + 8)?);
            let size = usize::try_from(lo | hi << 32).map_err(|_| err("section size"))?;
            let start = at + 12;
            let end = start.checked_add(size).ok_or_else(|| err("section size"))?;
            if end > bytes.len() {
                return Err(err(format!("section {ty} runs past the end of the file")));
            }
            sections.insert(ty, (start, size));
            at = end;
        }
        let &(h, hs) = sections.get(&1).ok_or_else(|| err("no header section"))?;
        if hs < 4 + N8 + 4 || rd32(h)? as usize != N8 {
            return Err(err("header: only 32-byte fields (BN254) are supported"));
        }
        let q = fq_modulus_le();
        if bytes[h + 4..h + 4 + N8] != q[..] {
            return Err(err("header: the curve is not BN254"));
        }
        let power = rd32(h + 4 + N8)?;
        if power > 28 {
            return Err(err("power above 28"));
        }
        Ok(Self {
            bytes,
            sections,
            power,
        })
    }

    fn points<T>(
        &self,
        sec: u32,
        first: usize,
        count: usize,
        size: usize,
        read: impl Fn(&[u8]) -> Result<T> + Sync + Send,
    ) -> Result<Vec<T>>
    where
        T: Send,
    {
        let &(s, len) = self.sections.get(&sec).ok_or_else(|| {
            err(format!(
                "section {sec} missing (not a complete powers-of-tau file)"
            ))
        })?;
        if (first + count) * size > len {
            return Err(err(format!("section {sec} too short")));
        }
        let b = &self.bytes[s + first * size..s + (first + count) * size];
        b.par_chunks_exact(size).map(read).collect()
    }

    /// Whether the file holds the Lagrange sections (12–15) of `snarkjs powersoftau prepare
    /// phase2`; a raw file has only the powers of tau.
    pub fn is_prepared(&self) -> bool {
        self.sections.contains_key(&12)
    }

    /// The work units [`Self::srs_with_progress`] reports for `2^log_n` (0 for a prepared
    /// file, whose Lagrange points are read, not computed).
    pub fn prepare_work(&self, log_n: u32) -> u64 {
        if self.is_prepared() {
            0
        } else {
            4 * crate::lagrange::work(log_n)
        }
    }

    /// The phase-1 points for a domain of `2^log_n`.
    pub fn srs(&self, log_n: u32) -> Result<Srs> {
        self.srs_with_progress(log_n, &|_| {})
    }

    /// [`Self::srs`], calling `tick(k)` as `k` more of [`Self::prepare_work`]'s units are
    /// done (a raw file's Lagrange points: four group IFFTs of size `2^log_n`).
    pub fn srs_with_progress(&self, log_n: u32, tick: &(dyn Fn(u64) + Sync)) -> Result<Srs> {
        if log_n > self.power {
            return Err(Error::PtauTooSmall {
                need: log_n,
                have: self.power,
            });
        }
        let n = 1usize << log_n;
        let (lag_g1, lag_g2, alpha_lag_g1, beta_lag_g1) = if self.is_prepared() {
            let off = n - 1; // Σ_{p < log_n} 2^p
            (
                self.points(12, off, n, 2 * N8, g1_read)?,
                self.points(13, off, n, 4 * N8, g2_read_on_curve)?,
                self.points(14, off, n, 2 * N8, g1_read)?,
                self.points(15, off, n, 2 * N8, g1_read)?,
            )
        } else {
            use crate::lagrange::lagrange_points;
            let g1s = |sec: u32| -> Result<Vec<G1>> {
                let pts = self.points(sec, 0, n, 2 * N8, g1_read)?;
                lagrange_points::<G1Projective>(&pts, tick)
            };
            let tau_g2 = self.points(3, 0, n, 4 * N8, g2_read_on_curve)?;
            (
                g1s(2)?,
                lagrange_points::<G2Projective>(&tau_g2, tick)?,
                g1s(4)?,
                g1s(5)?,
            )
        };
        Ok(Srs {
            log_n,
            tau_g1: self.points(2, 0, 2 * n - 1, 2 * N8, g1_read)?,
            lag_g1,
            lag_g2,
            alpha_lag_g1,
            beta_lag_g1,
            alpha_g1: self.points(4, 0, 1, 2 * N8, g1_read)?[0],
            beta_g1: self.points(5, 0, 1, 2 * N8, g1_read)?[0],
            beta_g2: self.points(6, 0, 1, 4 * N8, g2_read)?[0],
        })
    }
}

fn fq_modulus_le() -> [u8; 32] {
    let mut q = [0u8; 32];
    for (i, l) in Fq::MODULUS.0.iter().enumerate() {
        q[8 * i..8 * i + 8].copy_from_slice(&l.to_le_bytes());
    }
    q
}

/// The name of the contribution [`insecure_new`] records (snarkjs prints it).
pub const INSECURE_NAME: &str = "vouch zk ptau new (LOCAL, INSECURE)";

/// Writes an INSECURE `.ptau` of `2^power` (`1..=24`) from random trapdoors that are then
/// dropped. The file is what `snarkjs powersoftau new`, one `contribute` and `prepare phase2`
/// would write: one contribution record in snarkjs's format (public key, transcript hashes;
/// [`crate::ptau_transcript`]) and the phase-2 sections, so `snarkjs powersoftau verify`
/// accepts it. For development and tests only: the trapdoors were in this process's memory,
/// so the file is only as trustworthy as this machine. Real deployments use a public
/// ceremony's file.
pub fn insecure_new(power: u32, progress: &(dyn Fn(&str) + Sync)) -> Result<Vec<u8>> {
    use crate::ptau_transcript::{Blake2b, first_challenge, g1_c, g1_u, g2_c, g2_sp, g2_u};
    if !(1..=24).contains(&power) {
        return Err(err("the local generator makes powers 1 to 24"));
    }
    let mut rng = rand::rngs::OsRng;
    let mut secret = || loop {
        let x = <Fr as ark_ff::UniformRand>::rand(&mut rng);
        if !x.is_zero() {
            break x;
        }
    };
    let (tau, alpha, beta) = (secret(), secret(), secret());
    let n = 1usize << power;
    let mut pows = Vec::with_capacity(2 * n - 1);
    let mut p = Fr::one();
    for _ in 0..2 * n - 1 {
        pows.push(p);
        p *= tau;
    }
    let g1 = BatchMulPreprocessing::new(G1::generator().into_group(), 2 * n);
    let g2 = BatchMulPreprocessing::new(G2::generator().into_group(), 2 * n);
    let scale = |v: &[Fr], k: Fr| -> Vec<Fr> { v.par_iter().map(|x| *x * k).collect() };
    progress("tau powers");
    let tau_g1 = g1.batch_mul(&pows);
    let tau_g2 = g2.batch_mul(&pows[..n]);
    let alpha_g1 = g1.batch_mul(&scale(&pows[..n], alpha));
    let beta_g1 = g1.batch_mul(&scale(&pows[..n], beta));
    let beta_g2 = vec![(G2::generator() * beta).into_affine()];

    progress("contribution record");
    // As `snarkjs powersoftau contribute` into the initial file (every point a generator):
    // the key proves knowledge of tau, alpha and beta against the first challenge.
    let challenge = first_challenge(power);
    let key: Vec<(G1, G1, G2)> = [(tau, 0u8), (alpha, 1), (beta, 2)]
        .into_iter()
        .map(|(x, personalization)| {
            let g1_s = (G1::generator() * secret()).into_affine();
            let g1_sx = (g1_s * x).into_affine();
            let g2_spx = (g2_sp(personalization, &challenge, &g1_s, &g1_sx) * x).into_affine();
            (g1_s, g1_sx, g2_spx)
        })
        .collect();
    fn hash<P: Sync, const K: usize>(h: &mut Blake2b, pts: &[P], enc: fn(&P) -> [u8; K]) {
        for c in pts.chunks(1 << 12) {
            let b: Vec<u8> = c.par_iter().flat_map_iter(enc).collect();
            h.update(&b);
        }
    }
    let mut response = Blake2b::new();
    response.update(&challenge);
    hash(&mut response, &tau_g1, g1_c);
    hash(&mut response, &tau_g2, g2_c);
    hash(&mut response, &alpha_g1, g1_c);
    hash(&mut response, &beta_g1, g1_c);
    hash(&mut response, &beta_g2, g2_c);
    let partial = response.partial();
    for (s, sx, _) in &key {
        response.update(&g1_u(s)).update(&g1_u(sx));
    }
    for (_, _, spx) in &key {
        response.update(&g2_u(spx));
    }
    let mut next = Blake2b::new();
    next.update(&response.finalize());
    hash(&mut next, &tau_g1, g1_u);
    hash(&mut next, &tau_g2, g2_u);
    hash(&mut next, &alpha_g1, g1_u);
    hash(&mut next, &beta_g1, g1_u);
    hash(&mut next, &beta_g2, g2_u);
    let next_challenge = next.finalize();

    let mut record = 1u32.to_le_bytes().to_vec();
    g1_write(&tau_g1[1], &mut record);
    g2_write(&tau_g2[1], &mut record);
    g1_write(&alpha_g1[0], &mut record);
    g1_write(&beta_g1[0], &mut record);
    g2_write(&beta_g2[0], &mut record);
    for (s, sx, _) in &key {
        g1_write(s, &mut record);
        g1_write(sx, &mut record);
    }
    for (_, _, spx) in &key {
        g2_write(spx, &mut record);
    }
    record.extend_from_slice(&partial);
    record.extend_from_slice(&next_challenge);
    record.extend_from_slice(&0u32.to_le_bytes()); // type 0: a contribution, not a beacon
    let name = INSECURE_NAME.as_bytes();
    record.extend_from_slice(&(2 + name.len() as u32).to_le_bytes());
    record.extend_from_slice(&[1, name.len() as u8]);
    record.extend_from_slice(name);

    let mut sections: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut header = Vec::new();
    header.extend_from_slice(&(N8 as u32).to_le_bytes());
    header.extend_from_slice(&fq_modulus_le());
    header.extend_from_slice(&power.to_le_bytes());
    header.extend_from_slice(&power.to_le_bytes());
    sections.push((1, header));
    let enc1 = |pts: &[G1]| {
        let mut o = Vec::with_capacity(pts.len() * 64);
        pts.iter().for_each(|p| g1_write(p, &mut o));
        o
    };
    let enc2 = |pts: &[G2]| {
        let mut o = Vec::with_capacity(pts.len() * 128);
        pts.iter().for_each(|p| g2_write(p, &mut o));
        o
    };
    sections.push((2, enc1(&tau_g1)));
    sections.push((3, enc2(&tau_g2)));
    sections.push((4, enc1(&alpha_g1)));
    sections.push((5, enc1(&beta_g1)));
    sections.push((6, enc2(&beta_g2)));
    sections.push((7, record));
    progress("Lagrange bases");
    // As `snarkjs powersoftau prepare phase2`: every domain 2^p, p = 0..=power, and for
    // [L_i(τ)]₁ one more of 2^(power+1) from the 2^(power+1) − 1 powers and a zero.
    let mut lag = Vec::with_capacity(2 * n - 1);
    for p in 0..=power {
        let d = Radix2EvaluationDomain::<Fr>::new(1 << p).ok_or_else(|| err("domain"))?;
        lag.extend(d.evaluate_all_lagrange_coefficients(tau));
    }
    let d = Radix2EvaluationDomain::<Fr>::new(2 * n).ok_or_else(|| err("domain"))?;
    let mut top = pows.clone();
    top.push(Fr::zero());
    let top = d.ifft(&top);
    let lag1: Vec<Fr> = lag.iter().chain(&top).copied().collect();
    sections.push((12, enc1(&g1.batch_mul(&lag1))));
    sections.push((13, enc2(&g2.batch_mul(&lag))));
    sections.push((14, enc1(&g1.batch_mul(&scale(&lag, alpha)))));
    sections.push((15, enc1(&g1.batch_mul(&scale(&lag, beta)))));
    let mut out = Vec::new();
    out.extend_from_slice(b"ptau");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(sections.len() as u32).to_le_bytes());
    for (ty, data) in sections {
        out.extend_from_slice(&ty.to_le_bytes());
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(&data);
    }
    Ok(out)
}
