//! CIDv1 content identifiers: `raw` (0x55) or `dag-pb` (0x70) codec, sha2-256 multihash, base32
//! (RFC 4648, lower case, no padding) multibase with prefix `b` — the form IPFS tools print as
//! `bafkrei…` (a raw block) and `bafybei…` (a UnixFS dag-pb node).
//!
//! [`Cid::of`] names one raw block (sha2-256 of exactly these bytes). [`Cid::of_file`] names a
//! file the way `ipfs-car pack` does: the UnixFS root of its chunked DAG (see [`crate::unixfs`]);
//! for a file of at most one chunk the two are the same CID.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

const CID_VERSION: u8 = 0x01;
const RAW_CODEC: u8 = 0x55;
const DAG_PB_CODEC: u8 = 0x70;
const SHA2_256: u8 = 0x12;
const DIGEST_LEN: u8 = 32;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The multicodec of the block a CID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Codec {
    /// `raw` (0x55): the block is the bytes themselves.
    Raw,
    /// `dag-pb` (0x70): the block is a protobuf PBNode (a UnixFS file or directory node).
    DagPb,
}

impl Codec {
    /// The multicodec code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Raw => RAW_CODEC,
            Self::DagPb => DAG_PB_CODEC,
        }
    }

    /// The codec with multicodec `code`, if vouch knows it.
    pub const fn from_code(code: u64) -> Option<Self> {
        match code {
            0x55 => Some(Self::Raw),
            0x70 => Some(Self::DagPb),
            _ => None,
        }
    }
}

/// A CIDv1 with a sha2-256 digest over a `raw` or `dag-pb` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid {
    codec: Codec,
    digest: [u8; 32],
}

/// Why a string is not a vouch CID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidError {
    /// Not base32 multibase (`b` prefix, lower-case alphabet).
    #[error("not a base32 CID (expected a `b…` string of a-z and 2-7): {0:?}")]
    Encoding(String),
    /// Decoded, but not CIDv1 raw or dag-pb sha2-256.
    #[error("unsupported CID: only CIDv1, raw or dag-pb codec, sha2-256 are used by vouch")]
    Unsupported,
}

impl Cid {
    /// The raw-codec CID of `bytes` as one block: sha2-256 of exactly these bytes.
    ///
    /// This is not a file's IPFS CID once the bytes exceed one chunk; use [`Cid::of_file`] for
    /// anything stored, published or fetched as a file.
    pub fn of(bytes: &[u8]) -> Self {
        Self::of_block(Codec::Raw, bytes)
    }

    /// The CID of one block with codec `codec`.
    pub fn of_block(codec: Codec, bytes: &[u8]) -> Self {
        Self {
            codec,
            digest: Sha256::digest(bytes).into(),
        }
    }

    /// The CID of a file's bytes as `ipfs-car pack --no-wrap` computes it: the raw block for a
    /// file of at most [`crate::unixfs::CHUNK_SIZE`] bytes, else the dag-pb root of its balanced
    /// UnixFS DAG. Every CID vouch stores, publishes or fetches a file by is this function.
    pub fn of_file(bytes: &[u8]) -> Self {
        crate::unixfs::file_cid(bytes)
    }

    /// Wraps an existing sha2-256 digest of a raw block.
    pub const fn from_digest(digest: [u8; 32]) -> Self {
        Self::new(Codec::Raw, digest)
    }

    /// A CID from its codec and sha2-256 digest.
    pub const fn new(codec: Codec, digest: [u8; 32]) -> Self {
        Self { codec, digest }
    }

    /// The codec of the block this CID names.
    pub const fn codec(&self) -> Codec {
        self.codec
    }

    /// The sha2-256 digest of the block this CID names.
    pub const fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The binary CID: version, codec, multihash code, length, digest.
    pub fn to_bytes(&self) -> [u8; 36] {
        let mut out = [0u8; 36];
        out[..4].copy_from_slice(&[CID_VERSION, self.codec.code(), SHA2_256, DIGEST_LEN]);
        out[4..].copy_from_slice(&self.digest);
        out
    }

    /// Parses a 36-byte binary CID (CIDv1, raw or dag-pb, sha2-256).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CidError> {
        match bytes {
            [CID_VERSION, codec, SHA2_256, DIGEST_LEN, digest @ ..] if digest.len() == 32 => {
                let codec = Codec::from_code(u64::from(*codec)).ok_or(CidError::Unsupported)?;
                let mut d = [0u8; 32];
                d.copy_from_slice(digest);
                Ok(Self::new(codec, d))
            }
            _ => Err(CidError::Unsupported),
        }
    }

    /// Whether `bytes` are the block this CID names (their sha2-256 is the digest).
    pub fn verifies(&self, bytes: &[u8]) -> bool {
        Self::of_block(self.codec, bytes) == *self
    }
}

impl fmt::Display for Cid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        let mut s = String::with_capacity(60);
        s.push('b');
        let (mut acc, mut bits) = (0u32, 0u32);
        for &b in &bytes {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                s.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
            }
        }
        if bits > 0 {
            s.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
        }
        f.write_str(&s)
    }
}

impl FromStr for Cid {
    type Err = CidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = s
            .strip_prefix('b')
            .ok_or_else(|| CidError::Encoding(s.to_owned()))?;
        let mut bytes = Vec::with_capacity(36);
        let (mut acc, mut bits) = (0u32, 0u32);
        for c in body.bytes() {
            let v = ALPHABET
                .iter()
                .position(|&a| a == c)
                .ok_or_else(|| CidError::Encoding(s.to_owned()))?;
            acc = ((acc << 5) | v as u32) & 0xffff;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                bytes.push(((acc >> bits) & 0xff) as u8);
            }
        }
        Self::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_cid_of_empty_and_hello() {
        // Values printed by `ipfs add --cid-version 1 --raw-leaves` (raw codec, sha2-256).
        assert_eq!(
            Cid::of(b"").to_string(),
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
        );
        assert_eq!(
            Cid::of(b"hello world").to_string(),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        );
    }

    #[test]
    fn round_trips_and_rejects() {
        let c = Cid::of(b"vouch");
        assert_eq!(c.to_string().parse::<Cid>(), Ok(c));
        assert!(c.verifies(b"vouch"));
        assert!(!c.verifies(b"vouch!"));
        assert!("Qm123".parse::<Cid>().is_err());
        assert!("bafy".parse::<Cid>().is_err());
        let pb = Cid::of_block(Codec::DagPb, b"node");
        assert!(pb.to_string().starts_with("bafybei"));
        assert_eq!(pb.to_string().parse::<Cid>(), Ok(pb));
        assert_eq!(Cid::from_bytes(&pb.to_bytes()), Ok(pb));
        assert_ne!(pb, Cid::of(b"node"));
        assert!(pb.verifies(b"node"));
    }
}
