//! Poseidon over the BN254 scalar field exactly as circomlib defines it (`poseidon.circom`,
//! circomlibjs `poseidon`): S-box `x^5`, 8 full rounds, and for each width the partial-round
//! number, round constants and MDS matrix of circomlib. vouch uses two widths:
//!
//! | [`Width`] | circomlib | rate | partial rounds | used for |
//! |---|---|---|---|---|
//! | `T3` | `Poseidon(2)` | 2 | 57 | `act8` and `wide` input commitments ([`hash`]) |
//! | `T9` | `Poseidon(8)` | 8 | 63 | `act16` input commitments |
//!
//! The wide state absorbs four times as many limbs per permutation for 1.7 times the S-boxes:
//! a 784-element `act16` input (53 limbs) takes 7 permutations (945 S-boxes) instead of 27
//! (2,187), and each S-box is three full-width witness values the prover multiplies into every
//! MSM.
//!
//! The constants are not stored: [`params`] derives them with the Grain LFSR of the Poseidon
//! reference implementation (`generate_parameters_grain.sage`: field 1, S-box 0, `n = 254`,
//! the width, `R_F = 8`, `R_P`), which is how circomlib's `poseidon_constants` were made: the
//! round constants are the first `(R_F + R_P)·t` 254-bit draws below the modulus, and the Cauchy
//! MDS matrix `M[i][j] = 1 / (x_i + y_j)` takes the next `2t` draws (reduced) as `x` and `y`.
//! `crates/zk-prover/tests/circomlibjs_interop.rs` checks both, and hashes, against circomlibjs.
//!
//! The permutation is circomlib's: the state is `[capacity, in_1, …, in_rate]`; each round adds
//! its constants, applies the S-box (every lane in a full round, lane 0 in a partial round) and
//! multiplies by `M`; the hash is lane 0. A message of any length is hashed by chaining
//! circomlib's hash with an initial state ([`compress`], circomlibjs `poseidon(block,
//! initState)`, circom `PoseidonEx(rate, 1)`): `h_0 = tag` (the message length, with flag
//! bits), `h_{k+1} = compress(h_k, block_k)` over the message in blocks of `rate` elements, the
//! last block padded with zeros (an empty message is one all-zero block). The tag fixes the
//! length, so the zero padding is unambiguous.

use crate::Fr;
use ark_ff::{BigInteger, BigInteger256, Field, PrimeField};
use std::sync::OnceLock;

/// Full rounds (half before, half after the partial rounds), in both widths.
pub const FULL_ROUNDS: usize = 8;

/// Bits of a Grain draw: the bit length of the BN254 scalar field modulus.
const FIELD_BITS: u16 = 254;

/// A Poseidon instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// Width 3, rate 2, 57 partial rounds (circomlib `Poseidon(2)`).
    T3,
    /// Width 9, rate 8, 63 partial rounds (circomlib `Poseidon(8)`).
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
    /// Partial rounds (circomlib's `N_ROUNDS_P` for this width).
    pub const fn partial_rounds(self) -> usize {
        match self {
            Width::T3 => 57,
            Width::T9 => 63,
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
    /// Round constants, one row of `width` per round (circomlib's `C`, row `r` is
    /// `C[r·t .. (r+1)·t]`).
    pub rc: Vec<Vec<Fr>>,
    /// MDS matrix, `width × width` (circomlib's `M`): lane `i` becomes `Σ_j M[i][j]·s_j`.
    pub mds: Vec<Vec<Fr>>,
}

/// The Grain LFSR of the Poseidon reference, seeded with an instance's parameters.
struct Grain {
    /// The 80-bit register; bit `i` is the `i`-th oldest bit.
    reg: u128,
}

impl Grain {
    fn new(t: usize, partial: usize) -> Self {
        // field = 1 (prime field, 2 bits), S-box = 0 (x^alpha, 4 bits), n (12), t (12),
        // R_F (10), R_P (10), then 30 ones: 80 bits, first listed = oldest.
        let fields: [(u64, u32); 6] = [
            (1, 2),
            (0, 4),
            (u64::from(FIELD_BITS), 12),
            (t as u64, 12),
            (FULL_ROUNDS as u64, 10),
            (partial as u64, 10),
        ];
        let mut reg = 0u128;
        let mut pos = 0;
        for (value, bits) in fields {
            for k in (0..bits).rev() {
                reg |= u128::from((value >> k) & 1) << pos;
                pos += 1;
            }
        }
        for _ in 0..30 {
            reg |= 1 << pos;
            pos += 1;
        }
        let mut g = Self { reg };
        for _ in 0..160 {
            g.clock();
        }
        g
    }

    /// Shifts one new bit in (`b62 ^ b51 ^ b38 ^ b23 ^ b13 ^ b0`) and returns it.
    fn clock(&mut self) -> bool {
        let r = self.reg;
        let bit = ((r >> 62) ^ (r >> 51) ^ (r >> 38) ^ (r >> 23) ^ (r >> 13) ^ r) & 1;
        self.reg = (r >> 1) | (bit << 79);
        bit == 1
    }

    /// One output bit: bits are drawn in pairs and the second kept when the first is set.
    fn bit(&mut self) -> bool {
        while !self.clock() {
            self.clock();
        }
        self.clock()
    }

    /// `n` output bits as a big-endian integer.
    fn draw(&mut self) -> BigInteger256 {
        let bits: Vec<bool> = (0..FIELD_BITS).map(|_| self.bit()).collect();
        BigInteger256::from_bits_be(&bits)
    }

    /// A field element by rejection: draws until one is below the modulus.
    fn element(&mut self) -> Fr {
        loop {
            if let Some(f) = Fr::from_bigint(self.draw()) {
                return f;
            }
        }
    }

    /// A draw reduced modulo the field (the reference's `F(grain_random_bits(n))`).
    fn reduced(&mut self) -> Fr {
        Fr::from_le_bytes_mod_order(&self.draw().to_bytes_le())
    }
}

fn derive_params(w: Width) -> Params {
    let t = w.width();
    let mut g = Grain::new(t, w.partial_rounds());
    let rounds = FULL_ROUNDS + w.partial_rounds();
    let rc = (0..rounds)
        .map(|_| (0..t).map(|_| g.element()).collect())
        .collect();
    let xs: Vec<Fr> = (0..t).map(|_| g.reduced()).collect();
    let ys: Vec<Fr> = (0..t).map(|_| g.reduced()).collect();
    // The reference redraws if two draws coincide or some x_i + y_j is zero (probability
    // about 2^-250); a test checks that neither happens for these widths.
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

/// The parameters of a width (derived once).
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

/// circomlib's Poseidon of one block with an initial state: permutes `[init, block…]` (the
/// block zero-padded to the rate) and returns lane 0. With `init = 0` and a full block this is
/// circomlib `Poseidon(rate)` of the block.
pub fn compress(w: Width, init: Fr, block: &[Fr]) -> Fr {
    let mut state = vec![Fr::from(0u8); w.width()];
    state[0] = init;
    for (s, m) in state[1..].iter_mut().zip(block) {
        *s = *m;
    }
    permute(params(w), &mut state);
    state[0]
}

/// Hash of a message of field elements with the width-3 instance (the `act8` input
/// commitment), tagged with `tag`.
pub fn hash(msg: &[Fr], tag: u64) -> Fr {
    sponge(Width::T3, msg, tag)
}

/// Hash of a message of any length with instance `w` (module docs): [`compress`] chained from
/// `h = tag` over blocks of `rate` elements, the last zero-padded; an empty message is one
/// all-zero block.
pub fn sponge(w: Width, msg: &[Fr], tag: u64) -> Fr {
    let empty: &[Fr] = &[];
    msg.chunks(w.rate())
        .chain(msg.is_empty().then_some(empty))
        .fold(Fr::from(tag), |h, block| compress(w, h, block))
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
    fn the_constants_are_complete_and_the_mds_entries_invertible() {
        for w in [Width::T3, Width::T9] {
            let p = params(w);
            let t = w.width();
            assert_eq!(p.rc.len(), FULL_ROUNDS + w.partial_rounds());
            assert!(p.rc.iter().all(|r| r.len() == t));
            assert_eq!(p.mds.len(), t);
            // A zero entry would mean some x_i + y_j was zero (the reference redraws then).
            assert!(p.mds.iter().flatten().all(|m| !m.is_zero()), "{w:?}");
            // Distinct rows: no two x's coincide (the reference redraws then).
            for i in 0..t {
                for j in 0..i {
                    assert_ne!(p.mds[i], p.mds[j], "{w:?} rows {i} {j}");
                }
            }
        }
    }

    #[test]
    fn the_first_constants_are_circomlibs() {
        // The first round constant and MDS entry of circomlib's poseidon_constants for t = 3
        // (the full tables are compared with circomlibjs in the zk-prover interop test).
        let p = params(Width::T3);
        assert_eq!(
            p.rc[0][0],
            Fr::from_be_bytes_mod_order(&hex_bytes(
                "0ee9a592ba9a9518d05986d656f40c2114c4993c11bb29938d21d47304cd8e6e"
            ))
        );
        assert_eq!(
            p.mds[0][0],
            Fr::from_be_bytes_mod_order(&hex_bytes(
                "109b7f411ba0e4c9b2b70caf5c36a7b194be7c11ad24378bfedb68592ba8118b"
            ))
        );
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
