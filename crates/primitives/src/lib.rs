//! Shared primitives: CIDv1 content ids, keccak256 hashing, and the tensor encoding and Merkle
//! commitments defined in `docs/semantics.md` section 6.
//!
//! | module | holds |
//! |---|---|
//! | [`cid`] | CIDv1 (raw or dag-pb codec, sha2-256 multihash, base32 multibase) |
//! | [`unixfs`] | files as UnixFS DAGs the way `ipfs-car pack` writes them; strict dag-pb codec |
//! | [`commit`] | canonical tensor words, Merkle roots, tensor and list commitments |

#![forbid(unsafe_code)]
pub mod cid;
pub mod commit;
pub mod unixfs;

pub use cid::{Cid, CidError, Codec};
pub use commit::{
    B256, keccak256, list_commitment, merkle_root, tensor_commitment, tensor_root, tensor_words,
};

/// Lower-case hex with a `0x` prefix.
pub fn hex0x(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}
