//! Poseidon over the BN254 scalar field: width 3 (rate 2, capacity 1), S-box `x^5`,
//! 8 full and 57 partial rounds (the 128-bit parameters of the Poseidon paper for this field).
//!
//! Round constants and the Cauchy MDS matrix `M[i][j] = 1 / (x_i + y_j)` are derived from
//! SHA-256 in counter mode over the tag [`TAG`] (nothing-up-my-sleeve). These constants are
//! vouch's own: hashes are not interchangeable with circomlib's Poseidon. The sponge puts the
//! message length in the capacity element, absorbs two elements per permutation and squeezes
//! `state[0]`.

use crate::Fr;
use ark_ff::{Field, PrimeField};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// State width.
pub const WIDTH: usize = 3;
/// Full rounds (half before, half after the partial rounds).
pub const FULL_ROUNDS: usize = 8;
/// Partial rounds.
pub const PARTIAL_ROUNDS: usize = 57;
/// Domain tag of the constant derivation.
pub const TAG: &[u8] = b"vouch/poseidon/bn254/t3/a5/rf8/rp57/v1";

/// The round constants (`(FULL_ROUNDS + PARTIAL_ROUNDS) * WIDTH`) and the MDS matrix.
#[derive(Debug, Clone)]
pub struct Params {
    /// Round constants, `WIDTH` per round.
    pub rc: Vec<[Fr; WIDTH]>,
    /// MDS matrix.
    pub mds: [[Fr; WIDTH]; WIDTH],
}

fn derive(label: &str, i: u64) -> Fr {
    let mut wide = Vec::with_capacity(64);
    for half in 0u8..2 {
        let mut h = Sha256::new();
        h.update(TAG);
        h.update(label.as_bytes());
        h.update(i.to_be_bytes());
        h.update([half]);
        wide.extend_from_slice(&h.finalize());
    }
    Fr::from_be_bytes_mod_order(&wide)
}

/// The parameters (computed once).
pub fn params() -> &'static Params {
    static P: OnceLock<Params> = OnceLock::new();
    P.get_or_init(|| {
        let rounds = FULL_ROUNDS + PARTIAL_ROUNDS;
        let mut ctr = 0u64;
        let rc = (0..rounds)
            .map(|_| {
                let mut r = [Fr::from(0u8); WIDTH];
                for v in &mut r {
                    *v = derive("rc", ctr);
                    ctr += 1;
                }
                r
            })
            .collect();
        // x and y distinct and x_i + y_j != 0 hold with overwhelming probability; checked.
        let xs: Vec<Fr> = (0..WIDTH as u64).map(|i| derive("mds-x", i)).collect();
        let ys: Vec<Fr> = (0..WIDTH as u64).map(|i| derive("mds-y", i)).collect();
        let mut mds = [[Fr::from(0u8); WIDTH]; WIDTH];
        for (i, row) in mds.iter_mut().enumerate() {
            for (j, m) in row.iter_mut().enumerate() {
                *m = (xs[i] + ys[j]).inverse().unwrap_or_default();
            }
        }
        Params { rc, mds }
    })
}

#[inline]
fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// The permutation.
pub fn permute(state: &mut [Fr; WIDTH]) {
    let p = params();
    let half = FULL_ROUNDS / 2;
    for (r, rc) in p.rc.iter().enumerate() {
        for (s, c) in state.iter_mut().zip(rc) {
            *s += c;
        }
        let full = r < half || r >= half + PARTIAL_ROUNDS;
        if full {
            for s in state.iter_mut() {
                *s = sbox(*s);
            }
        } else {
            state[0] = sbox(state[0]);
        }
        let old = *state;
        for (i, s) in state.iter_mut().enumerate() {
            *s = (0..WIDTH).map(|j| p.mds[i][j] * old[j]).sum();
        }
    }
}

/// Sponge hash of a message of field elements; `tag` (for example the message length in
/// elements of the source data) is placed in the capacity element.
pub fn hash(msg: &[Fr], tag: u64) -> Fr {
    let mut state = [Fr::from(0u8), Fr::from(0u8), Fr::from(tag)];
    for chunk in msg.chunks(2) {
        for (s, m) in state.iter_mut().zip(chunk) {
            *s += m;
        }
        permute(&mut state);
    }
    if msg.is_empty() {
        permute(&mut state);
    }
    state[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_messages_distinct_hashes() {
        let a = hash(&[Fr::from(1u8), Fr::from(2u8)], 2);
        let b = hash(&[Fr::from(2u8), Fr::from(1u8)], 2);
        let c = hash(&[Fr::from(1u8), Fr::from(2u8)], 3);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(hash(&[], 0), hash(&[Fr::from(0u8)], 1));
    }
}
