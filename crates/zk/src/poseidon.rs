//! Poseidon over the BN254 scalar field, S-box `x^5`, 8 full rounds, in two widths:
//!
//! | [`Width`] | rate | partial rounds | tag | used for |
//! |---|---|---|---|---|
//! | `T3` | 2 | 57 | `vouch/poseidon/bn254/t3/a5/rf8/rp57/v1` | `act8` and `wide` input commitments ([`hash`]) |
//! | `T9` | 8 | 63 | `vouch/poseidon/bn254/t9/a5/rf8/rp63/v1` | `act16` input commitments |
//!
//! Both are the 128-bit parameters of the Poseidon paper for this field (its round-number
//! table for `α = 5`, capacity one element). The wide state absorbs four times as many limbs
//! per permutation for 1.7 times the S-boxes: a 784-element `act16` input (53 limbs) takes 7
//! permutations (945 S-boxes) instead of 27 (2,187), and each S-box is three full-width
//! witness values the prover multiplies into every MSM.
//!
//! Round constants and the Cauchy MDS matrix `M[i][j] = 1 / (x_i + y_j)` are derived from
//! SHA-256 in counter mode over the width's tag (nothing-up-my-sleeve). These constants are
//! vouch's own: hashes are not interchangeable with circomlib's Poseidon. The sponge puts the
//! tag (the message length, with flag bits) in the capacity element (the last), absorbs
//! `width - 1` elements per permutation and squeezes `state[0]`.

use crate::Fr;
use ark_ff::{Field, PrimeField};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Full rounds (half before, half after the partial rounds), in both widths.
pub const FULL_ROUNDS: usize = 8;

/// A Poseidon instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// Width 3, rate 2, 57 partial rounds.
    T3,
    /// Width 9, rate 8, 63 partial rounds.
    T9,
}

impl Width {
    /// State elements.
    pub const fn width(self) -> usize {
        match self {
            Width::T3 => 3,
            Width::T9 => 9,
        }
    }
    /// Message elements absorbed per permutation.
    pub const fn rate(self) -> usize {
        self.width() - 1
    }
    /// Partial rounds.
    pub const fn partial_rounds(self) -> usize {
        match self {
            Width::T3 => 57,
            Width::T9 => 63,
        }
    }
    /// Domain tag of the constant derivation.
    pub const fn tag(self) -> &'static [u8] {
        match self {
            Width::T3 => b"vouch/poseidon/bn254/t3/a5/rf8/rp57/v1",
            Width::T9 => b"vouch/poseidon/bn254/t9/a5/rf8/rp63/v1",
        }
    }
    /// Whether round `r` is a full round.
    pub const fn is_full(self, r: usize) -> bool {
        let half = FULL_ROUNDS / 2;
        r < half || r >= half + self.partial_rounds()
    }
}

/// The round constants (`width` per round) and the MDS matrix of one width.
#[derive(Debug, Clone)]
pub struct Params {
    /// The instance.
    pub width: Width,
    /// Round constants, one row of `width` per round.
    pub rc: Vec<Vec<Fr>>,
    /// MDS matrix, `width × width`.
    pub mds: Vec<Vec<Fr>>,
}

fn derive(tag: &[u8], label: &str, i: u64) -> Fr {
    let mut wide = Vec::with_capacity(64);
    for half in 0u8..2 {
        let mut h = Sha256::new();
        h.update(tag);
        h.update(label.as_bytes());
        h.update(i.to_be_bytes());
        h.update([half]);
        wide.extend_from_slice(&h.finalize());
    }
    Fr::from_be_bytes_mod_order(&wide)
}

fn derive_params(w: Width) -> Params {
    let (t, tag) = (w.width(), w.tag());
    let rounds = FULL_ROUNDS + w.partial_rounds();
    let mut ctr = 0u64;
    let rc = (0..rounds)
        .map(|_| {
            (0..t)
                .map(|_| {
                    ctr += 1;
                    derive(tag, "rc", ctr - 1)
                })
                .collect()
        })
        .collect();
    // x and y distinct and x_i + y_j != 0 hold with overwhelming probability (a test checks
    // that every entry is invertible and the matrix is Cauchy).
    let xs: Vec<Fr> = (0..t as u64).map(|i| derive(tag, "mds-x", i)).collect();
    let ys: Vec<Fr> = (0..t as u64).map(|i| derive(tag, "mds-y", i)).collect();
    let mds = xs
        .iter()
        .map(|x| {
            ys.iter()
                .map(|y| (*x + y).inverse().unwrap_or_default())
                .collect()
        })
        .collect();
    Params { width: w, rc, mds }
}

/// The parameters of a width (computed once).
pub fn params(w: Width) -> &'static Params {
    static T3: OnceLock<Params> = OnceLock::new();
    static T9: OnceLock<Params> = OnceLock::new();
    match w {
        Width::T3 => T3.get_or_init(|| derive_params(Width::T3)),
        Width::T9 => T9.get_or_init(|| derive_params(Width::T9)),
    }
}

#[inline]
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// The permutation of `state` (of the params' width).
pub fn permute(p: &Params, state: &mut [Fr]) {
    for (r, rc) in p.rc.iter().enumerate() {
        for (s, c) in state.iter_mut().zip(rc) {
            *s += c;
        }
        if p.width.is_full(r) {
            for s in state.iter_mut() {
                *s = sbox(*s);
            }
        } else {
            state[0] = sbox(state[0]);
        }
        let old = state.to_vec();
        for (s, row) in state.iter_mut().zip(&p.mds) {
            *s = row.iter().zip(&old).map(|(m, o)| *m * o).sum();
        }
    }
}

/// Sponge hash of a message of field elements with the width-3 instance (the `act8` input
/// commitment); `tag` is placed in the capacity element.
pub fn hash(msg: &[Fr], tag: u64) -> Fr {
    sponge(Width::T3, msg, tag)
}

/// Sponge hash of a message with instance `w`: the state starts as zeros with `tag` in the
/// capacity element (the last); each permutation first adds the next `rate` message elements
/// to the first lanes (an empty message still permutes once); the hash is `state[0]`.
pub fn sponge(w: Width, msg: &[Fr], tag: u64) -> Fr {
    let p = params(w);
    let mut state = vec![Fr::from(0u8); w.width()];
    state[w.rate()] = Fr::from(tag);
    for chunk in msg.chunks(w.rate()) {
        for (s, m) in state.iter_mut().zip(chunk) {
            *s += m;
        }
        permute(p, &mut state);
    }
    if msg.is_empty() {
        permute(p, &mut state);
    }
    state[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::Zero;

    #[test]
    fn distinct_messages_distinct_hashes() {
        for w in [Width::T3, Width::T9] {
            let a = sponge(w, &[Fr::from(1u8), Fr::from(2u8)], 2);
            let b = sponge(w, &[Fr::from(2u8), Fr::from(1u8)], 2);
            let c = sponge(w, &[Fr::from(1u8), Fr::from(2u8)], 3);
            assert_ne!(a, b);
            assert_ne!(a, c);
            assert_ne!(sponge(w, &[], 0), sponge(w, &[Fr::from(0u8)], 1));
        }
        let msg: Vec<Fr> = (0..20u64).map(Fr::from).collect();
        assert_ne!(sponge(Width::T3, &msg, 20), sponge(Width::T9, &msg, 20));
        assert_eq!(hash(&msg, 20), sponge(Width::T3, &msg, 20));
    }

    #[test]
    fn every_message_element_counts_at_rate_boundaries() {
        // Changing any one element of a message that ends exactly on, one before or one after
        // a permutation boundary changes the hash.
        for w in [Width::T3, Width::T9] {
            for len in [w.rate() - 1, w.rate(), w.rate() + 1, 2 * w.rate()] {
                let msg: Vec<Fr> = (0..len as u64).map(|i| Fr::from(i * 7 + 1)).collect();
                let h = sponge(w, &msg, len as u64);
                for i in 0..len {
                    let mut m = msg.clone();
                    m[i] += Fr::from(1u8);
                    assert_ne!(
                        sponge(w, &m, len as u64),
                        h,
                        "{w:?}, len {len}, element {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_mds_matrix_is_cauchy_and_the_constants_are_complete() {
        for w in [Width::T3, Width::T9] {
            let p = params(w);
            let t = w.width();
            assert_eq!(p.rc.len(), FULL_ROUNDS + w.partial_rounds());
            assert!(p.rc.iter().all(|r| r.len() == t));
            // M[i][j] = 1 / (x_i + y_j) with every sum non-zero: every entry is invertible,
            // and distinct x's and y's make every square submatrix non-singular.
            let xs: Vec<Fr> = (0..t as u64).map(|i| derive(w.tag(), "mds-x", i)).collect();
            let ys: Vec<Fr> = (0..t as u64).map(|i| derive(w.tag(), "mds-y", i)).collect();
            for i in 0..t {
                for j in 0..t {
                    assert!(!(xs[i] + ys[j]).is_zero(), "{w:?} x{i} + y{j}");
                    assert_eq!(p.mds[i][j] * (xs[i] + ys[j]), Fr::from(1u8));
                    if i != j {
                        assert_ne!(xs[i], xs[j]);
                        assert_ne!(ys[i], ys[j]);
                    }
                }
            }
        }
    }
}
