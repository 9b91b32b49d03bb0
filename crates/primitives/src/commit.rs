//! Tensor encoding and keccak256 commitments (`docs/semantics.md` section 6).
//!
//! Elements are 4-byte big-endian two's complement, eight to a 32-byte word; the words are the
//! leaves of a binary keccak256 Merkle tree padded with zero leaves to a power of two.

use tiny_keccak::{Hasher, Keccak};

/// A 32-byte hash.
pub type B256 = [u8; 32];

/// Elements per 32-byte word.
pub const ELEMS_PER_WORD: usize = 8;

/// keccak256 of `data`.
pub fn keccak256(data: &[u8]) -> B256 {
    let mut k = Keccak::v256();
    k.update(data);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

fn hash_pair(a: &B256, b: &B256) -> B256 {
    let mut k = Keccak::v256();
    k.update(a);
    k.update(b);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

/// The canonical 32-byte words of a tensor's elements (last word zero-padded).
pub fn tensor_words(values: &[i32]) -> Vec<B256> {
    values
        .chunks(ELEMS_PER_WORD)
        .map(|chunk| {
            let mut w = [0u8; 32];
            for (slot, v) in w.chunks_exact_mut(4).zip(chunk) {
                slot.copy_from_slice(&v.to_be_bytes());
            }
            w
        })
        .collect()
}

/// Merkle root over already-hashed leaves: zero-padded to a power of two, parents
/// `keccak256(left ‖ right)`, a single leaf is its own root, no leaves give zero.
pub fn merkle_root(leaves: &[B256]) -> B256 {
    merkle_levels(leaves)
        .last()
        .and_then(|l| l.first())
        .copied()
        .unwrap_or([0u8; 32])
}

/// Every level of the tree, leaves (padded) first, root last.
pub fn merkle_levels(leaves: &[B256]) -> Vec<Vec<B256>> {
    if leaves.is_empty() {
        return Vec::new();
    }
    let mut level = leaves.to_vec();
    level.resize(leaves.len().next_power_of_two(), [0u8; 32]);
    let mut levels = vec![level];
    while let Some(last) = levels.last().filter(|l| l.len() > 1) {
        let next = last
            .chunks_exact(2)
            .map(|p| hash_pair(&p[0], &p[1]))
            .collect();
        levels.push(next);
    }
    levels
}

/// Sibling path for leaf `index` (bottom up); `None` if out of range.
pub fn merkle_proof(leaves: &[B256], index: usize) -> Option<Vec<B256>> {
    if index >= leaves.len() {
        return None;
    }
    let levels = merkle_levels(leaves);
    let mut i = index;
    let mut path = Vec::new();
    for level in levels.iter().take(levels.len().saturating_sub(1)) {
        path.push(*level.get(i ^ 1)?);
        i /= 2;
    }
    Some(path)
}

/// Recomputes a root from a leaf, its index and its sibling path.
pub fn merkle_verify(root: &B256, leaf: B256, index: usize, path: &[B256]) -> bool {
    let mut h = leaf;
    let mut i = index;
    for sib in path {
        h = if i.is_multiple_of(2) {
            hash_pair(&h, sib)
        } else {
            hash_pair(sib, &h)
        };
        i /= 2;
    }
    i == 0 && h == *root
}

/// The leaf hashes of a tensor: `keccak256(word)` per word.
pub fn tensor_leaves(values: &[i32]) -> Vec<B256> {
    tensor_words(values).iter().map(|w| keccak256(w)).collect()
}

/// Merkle root of a tensor's words.
pub fn tensor_root(values: &[i32]) -> B256 {
    merkle_root(&tensor_leaves(values))
}

/// Tensor commitment: `keccak256(uint256(numel) ‖ root)`.
pub fn tensor_commitment(values: &[i32]) -> B256 {
    let mut buf = [0u8; 64];
    buf[24..32].copy_from_slice(&(values.len() as u64).to_be_bytes());
    buf[32..].copy_from_slice(&tensor_root(values));
    keccak256(&buf)
}

/// Commitment to an ordered list of commitments: their Merkle root, members used as leaves.
pub fn list_commitment(members: &[B256]) -> B256 {
    merkle_root(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn words_are_big_endian_and_padded() {
        let w = tensor_words(&[1, -1, 0, 0, 0, 0, 0, 0, 0x0102_0304]);
        assert_eq!(w.len(), 2);
        assert_eq!(&w[0][..8], &[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(&w[1][..4], &[1, 2, 3, 4]);
        assert!(w[1][4..].iter().all(|&b| b == 0));
    }

    #[test]
    fn known_keccak() {
        assert_eq!(
            crate::hex0x(&keccak256(b"")),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn root_shapes() {
        assert_eq!(merkle_root(&[]), [0u8; 32]);
        let a = keccak256(b"a");
        assert_eq!(merkle_root(&[a]), a);
        let b = keccak256(b"b");
        let c = keccak256(b"c");
        let ab = hash_pair(&a, &b);
        let c0 = hash_pair(&c, &[0u8; 32]);
        assert_eq!(merkle_root(&[a, b, c]), hash_pair(&ab, &c0));
    }

    proptest! {
        #[test]
        fn proofs_verify_and_bind(values in proptest::collection::vec(any::<i32>(), 1..200), pick in any::<usize>()) {
            let leaves = tensor_leaves(&values);
            let root = merkle_root(&leaves);
            let i = pick % leaves.len();
            let path = merkle_proof(&leaves, i).unwrap();
            prop_assert!(merkle_verify(&root, leaves[i], i, &path));
            let mut bad = leaves[i];
            bad[0] ^= 1;
            prop_assert!(!merkle_verify(&root, bad, i, &path));
        }

        #[test]
        fn commitment_binds_every_element(values in proptest::collection::vec(any::<i32>(), 1..100), pick in any::<usize>()) {
            let c = tensor_commitment(&values);
            let mut v2 = values.clone();
            let i = pick % v2.len();
            v2[i] = v2[i].wrapping_add(1);
            prop_assert_ne!(c, tensor_commitment(&v2));
            v2[i] = values[i];
            v2.push(0);
            prop_assert_ne!(c, tensor_commitment(&v2));
        }
    }
}
