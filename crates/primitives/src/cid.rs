//! CIDv1 content identifiers: `raw` codec (0x55), sha2-256 multihash, base32 (RFC 4648, lower
//! case, no padding) multibase with prefix `b` — the form IPFS tools print as `bafkrei…`.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

const CID_VERSION: u8 = 0x01;
const RAW_CODEC: u8 = 0x55;
const SHA2_256: u8 = 0x12;
const DIGEST_LEN: u8 = 32;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A CIDv1 over raw bytes with a sha2-256 digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cid {
    digest: [u8; 32],
}

/// Why a string is not a vouch CID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidError {
    /// Not base32 multibase (`b` prefix, lower-case alphabet).
    #[error("not a base32 CID (expected a `b…` string of a-z and 2-7): {0:?}")]
    Encoding(String),
    /// Decoded, but not CIDv1 raw sha2-256.
    #[error("unsupported CID: only CIDv1, raw codec, sha2-256 are used by vouch")]
    Unsupported,
}

impl Cid {
    /// The CID of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            digest: Sha256::digest(bytes).into(),
        }
    }

    /// Wraps an existing sha2-256 digest.
    pub const fn from_digest(digest: [u8; 32]) -> Self {
        Self { digest }
    }

    /// The sha2-256 digest.
    pub const fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// The binary CID: version, codec, multihash code, length, digest.
    pub fn to_bytes(&self) -> [u8; 36] {
        let mut out = [0u8; 36];
        out[..4].copy_from_slice(&[CID_VERSION, RAW_CODEC, SHA2_256, DIGEST_LEN]);
        out[4..].copy_from_slice(&self.digest);
        out
    }

    /// Whether `bytes` hash to this CID.
    pub fn verifies(&self, bytes: &[u8]) -> bool {
        Self::of(bytes) == *self
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
        match bytes.as_slice() {
            [CID_VERSION, RAW_CODEC, SHA2_256, DIGEST_LEN, digest @ ..] if digest.len() == 32 => {
                let mut d = [0u8; 32];
                d.copy_from_slice(digest);
                Ok(Self { digest: d })
            }
            _ => Err(CidError::Unsupported),
        }
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
    }
}
