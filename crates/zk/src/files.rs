//! The proof file and the verifying-key section of a keys file.
//!
//! Proof file, version [`PROOF_VERSION`]: `VOUCHZKP ‖ u16 version ‖ vk_hash[32] ‖
//! input_hash[32] ‖ u32 n_outputs ‖ outputs ‖ proof[256]` where each output is
//! `u16 name_len ‖ name ‖ u8 rank ‖ u32 dims[rank] ‖ i32 data[numel]`, all integers big-endian.
//!
//! Keys file, version [`KEYS_VERSION`]: `VOUCHZKK ‖ u16 version ‖ u32 vk_len ‖ vk ‖ rest`; the
//! rest (proving key and setup transcript) is read by the prover crate. A verifier reads only
//! the verifying key.

use crate::groth16::{PROOF_BYTES, Proof, VerifyingKey};
use crate::statement::{Statement, fr_to_be};
use crate::{Error, Fr, Result};
use ark_ff::PrimeField;

/// Proof file magic.
pub const PROOF_MAGIC: &[u8; 8] = b"VOUCHZKP";
/// Proof file version.
/// Version 2: the input commitment is circomlib's Poseidon (proofs of version 1 commit inputs
/// with vouch's earlier Poseidon and verify against no current key).
pub const PROOF_VERSION: u16 = 2;
/// Keys file magic.
pub const KEYS_MAGIC: &[u8; 8] = b"VOUCHZKK";
/// Keys file version. Version 2: the circuit range-checks with a derived top bit and keeps
/// the Poseidon lanes linear between rounds (fewer rows). Version 3: `act16` inputs are
/// committed with the width-9 Poseidon sponge. Version 4: the input commitment is circomlib's
/// Poseidon (its constants, its lane order, chained with an initial state). Keys of an earlier
/// version were made for an earlier R1CS and are refused rather than left to fail at proving
/// time.
pub const KEYS_VERSION: u16 = 4;
const MAX_NAME: usize = 1024;
const MAX_RANK: usize = 8;
const MAX_NUMEL: usize = 1 << 24;
const MAX_OUTPUTS: usize = 256;

/// A named output tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorData {
    /// Output name.
    pub name: String,
    /// Shape.
    pub shape: Vec<u32>,
    /// Row-major elements.
    pub data: Vec<i32>,
}

/// A proof with what it claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFile {
    /// Hash of the verifying key the proof was made for.
    pub vk_hash: [u8; 32],
    /// The input commitment (public input 0).
    pub input_hash: Fr,
    /// The claimed outputs, in package order.
    pub outputs: Vec<TensorData>,
    /// The proof.
    pub proof: Proof,
}

/// A bounds-checked reader over untrusted bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Starts reading `b`.
    pub fn new(b: &'a [u8], what: &'static str) -> Self {
        Self { b, at: 0, what }
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or(Error::Truncated {
            what: self.what,
            at: self.at,
        })?;
        let s = self.b.get(self.at..end).ok_or(Error::Truncated {
            what: self.what,
            at: self.at,
        })?;
        self.at = end;
        Ok(s)
    }
    /// A big-endian `u8`.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    /// A big-endian `u16`.
    pub fn u16(&mut self) -> Result<u16> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    /// A big-endian `u32`.
    pub fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    }
    /// A big-endian `u64`.
    pub fn u64(&mut self) -> Result<u64> {
        let s = self.take(8)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        Ok(u64::from_be_bytes(w))
    }
    /// The remaining bytes.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = self.b.get(self.at..).unwrap_or_default();
        self.at = self.b.len();
        s
    }
    /// Current offset.
    pub fn offset(&self) -> usize {
        self.at
    }
    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<()> {
        if self.at == self.b.len() {
            Ok(())
        } else {
            Err(Error::Truncated {
                what: self.what,
                at: self.at,
            })
        }
    }
}

/// Reads a canonical big-endian scalar.
pub fn fr_from_be(b: &[u8], what: &'static str) -> Result<Fr> {
    let mut limbs = [0u64; 4];
    if b.len() != 32 {
        return Err(Error::Truncated { what, at: 0 });
    }
    for (i, l) in limbs.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[32 - 8 * (i + 1)..32 - 8 * i]);
        *l = u64::from_be_bytes(w);
    }
    Fr::from_bigint(ark_ff::BigInt(limbs)).ok_or(Error::NonCanonical { what })
}

fn magic_version(
    r: &mut Reader<'_>,
    magic: &[u8; 8],
    version: u16,
    what: &'static str,
) -> Result<()> {
    if r.take(8).map_err(|_| Error::Magic { what })? != magic {
        return Err(Error::Magic { what });
    }
    let found = r.u16()?;
    if found != version {
        return Err(Error::Version {
            what,
            found,
            supported: version,
        });
    }
    Ok(())
}

impl ProofFile {
    /// Every output element in order (what the statement packs).
    pub fn flat_outputs(&self) -> Vec<i32> {
        self.outputs
            .iter()
            .flat_map(|t| t.data.iter().copied())
            .collect()
    }

    /// The statement this file claims.
    pub fn statement(&self) -> Statement {
        Statement {
            input_hash: self.input_hash,
            outputs: self.flat_outputs(),
        }
    }

    /// Encodes the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(PROOF_MAGIC);
        out.extend_from_slice(&PROOF_VERSION.to_be_bytes());
        out.extend_from_slice(&self.vk_hash);
        out.extend_from_slice(&fr_to_be(&self.input_hash));
        out.extend_from_slice(&(self.outputs.len() as u32).to_be_bytes());
        for t in &self.outputs {
            out.extend_from_slice(&(t.name.len() as u16).to_be_bytes());
            out.extend_from_slice(t.name.as_bytes());
            out.push(t.shape.len() as u8);
            for d in &t.shape {
                out.extend_from_slice(&d.to_be_bytes());
            }
            for v in &t.data {
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.proof.to_bytes());
        out
    }

    /// Decodes a file (never panics; validates every point and field element).
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        const W: &str = "proof file";
        let mut r = Reader::new(b, W);
        magic_version(&mut r, PROOF_MAGIC, PROOF_VERSION, W)?;
        let mut vk_hash = [0u8; 32];
        vk_hash.copy_from_slice(r.take(32)?);
        let input_hash = fr_from_be(r.take(32)?, "input hash")?;
        let n = r.u32()? as usize;
        if n > MAX_OUTPUTS {
            return Err(Error::Truncated {
                what: W,
                at: r.offset(),
            });
        }
        let mut outputs = Vec::with_capacity(n);
        for _ in 0..n {
            let len = usize::from(r.u16()?);
            if len > MAX_NAME {
                return Err(Error::Truncated {
                    what: W,
                    at: r.offset(),
                });
            }
            let name = String::from_utf8(r.take(len)?.to_vec()).map_err(|_| Error::Truncated {
                what: "output name",
                at: r.offset(),
            })?;
            let rank = usize::from(r.u8()?);
            if rank > MAX_RANK {
                return Err(Error::Truncated {
                    what: W,
                    at: r.offset(),
                });
            }
            let shape = (0..rank).map(|_| r.u32()).collect::<Result<Vec<_>>>()?;
            let numel = shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d as usize))
                .filter(|&n| n <= MAX_NUMEL)
                .ok_or(Error::Truncated {
                    what: "output shape",
                    at: r.offset(),
                })?;
            let raw = r.take(numel.checked_mul(4).ok_or(Error::Truncated {
                what: W,
                at: r.offset(),
            })?)?;
            let data = raw
                .chunks_exact(4)
                .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            outputs.push(TensorData { name, shape, data });
        }
        let proof = Proof::from_bytes(r.take(PROOF_BYTES)?)?;
        r.finish()?;
        Ok(Self {
            vk_hash,
            input_hash,
            outputs,
            proof,
        })
    }

    /// Verifies the proof against `vk`: the key must be the one named and the pairing check
    /// must pass for the statement the file claims.
    pub fn verify(&self, vk: &VerifyingKey) -> Result<bool> {
        let want = vk.hash();
        if want != self.vk_hash {
            return Err(Error::WrongKey {
                found: vouch_primitives::hex0x(&self.vk_hash),
                expected: vouch_primitives::hex0x(&want),
            });
        }
        crate::groth16::verify(vk, &self.statement().public_inputs(), &self.proof)
    }
}

/// Writes the keys-file header and verifying key; the caller appends the rest.
pub fn keys_header(vk: &VerifyingKey) -> Vec<u8> {
    let vkb = vk.to_bytes();
    let mut out = Vec::with_capacity(14 + vkb.len());
    out.extend_from_slice(KEYS_MAGIC);
    out.extend_from_slice(&KEYS_VERSION.to_be_bytes());
    out.extend_from_slice(&(vkb.len() as u32).to_be_bytes());
    out.extend_from_slice(&vkb);
    out
}

/// Reads the verifying key of a keys file and returns it with the remaining bytes.
pub fn read_keys_vk(b: &[u8]) -> Result<(VerifyingKey, &[u8])> {
    const W: &str = "keys file";
    let mut r = Reader::new(b, W);
    magic_version(&mut r, KEYS_MAGIC, KEYS_VERSION, W)?;
    let len = r.u32()? as usize;
    let vkb = r.take(len)?;
    let (vk, used) = VerifyingKey::from_bytes(vkb)?;
    if used != len {
        return Err(Error::Truncated { what: W, at: used });
    }
    Ok((vk, r.rest()))
}
