//! The contribution record of a snarkjs `.ptau` (section 7) and the transcript hashes
//! `snarkjs powersoftau verify` checks, so that [`crate::ptau::insecure_new`] writes a file
//! snarkjs accepts (snarkjs 0.7.6: `src/powersoftau_contribute.js`, `powersoftau_utils.js`,
//! `keypair.js`, `misc.js`; ffjavascript 0.3: `chacha.js`, `wasm_curve.js`).
//!
//! - Hashes are Blake2b-512. The first challenge hashes `blake2b("")` and the untouched
//!   initial file (generators only) in uncompressed form; a contribution's response hash covers
//!   the previous challenge, its points in compressed form and its public key in uncompressed
//!   form, and snarkjs stores the hasher's internal state before the key (`partialHash`, 216
//!   bytes in `@noble/hashes`' layout), so [`Blake2b`] is a plain Blake2b that can export it.
//!   The next challenge hashes the response hash and the new points uncompressed.
//! - Uncompressed points are the EVM encoding (`x ‖ y` big-endian, G2 `c1` before `c0`);
//!   compressed ones are `x` with the top bit of the first byte set when `y` is "negative"
//!   (above `(q-1)/2`, for `Fq2` the `c1` part unless it is zero).
//! - The public key proves knowledge of each secret `x ∈ {τ, α, β}`: `[s]₁`, `[s·x]₁` and
//!   `[sp·x]₂`, where `[sp]₂` is hashed to G2 from the challenge and the G1 pair
//!   ([`g2_sp`]: Blake2b, then ffjavascript's ChaCha20 seeded by the digest, a random point of
//!   the twist and a multiplication by the cofactor).

use ark_bn254::{Fq, Fq2, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, short_weierstrass::SWCurveConfig};
use ark_ff::{BigInt, Field, LegendreSymbol, PrimeField, Zero};
use vouch_zk::groth16::{fq_to_be, g1_to_evm, g2_to_evm};
use vouch_zk::{G1, G2};

const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

const SIGMA: [[usize; 16]; 12] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

/// Blake2b-512 (unkeyed) that keeps its last block buffered until more data or the end comes,
/// as `@noble/hashes` does, so [`Self::partial`] is the state snarkjs stores.
#[derive(Debug, Clone)]
pub struct Blake2b {
    h: [u64; 8],
    buf: [u8; 128],
    pos: usize,
    len: u64,
}

impl Default for Blake2b {
    fn default() -> Self {
        Self::new()
    }
}

impl Blake2b {
    /// A fresh hasher with a 64-byte digest.
    pub fn new() -> Self {
        let mut h = IV;
        h[0] ^= 0x0101_0000 ^ 64;
        Self {
            h,
            buf: [0; 128],
            pos: 0,
            len: 0,
        }
    }

    fn compress(&mut self, last: bool) {
        let mut m = [0u64; 16];
        for (i, w) in m.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.buf[8 * i..8 * i + 8]);
            *w = u64::from_le_bytes(b);
        }
        let mut v = [0u64; 16];
        v[..8].copy_from_slice(&self.h);
        v[8..].copy_from_slice(&IV);
        v[12] ^= self.len;
        if last {
            v[14] = !v[14];
        }
        let g = |v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64| {
            v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
            v[d] = (v[d] ^ v[a]).rotate_right(32);
            v[c] = v[c].wrapping_add(v[d]);
            v[b] = (v[b] ^ v[c]).rotate_right(24);
            v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
            v[d] = (v[d] ^ v[a]).rotate_right(16);
            v[c] = v[c].wrapping_add(v[d]);
            v[b] = (v[b] ^ v[c]).rotate_right(63);
        };
        for s in &SIGMA {
            g(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
            g(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
            g(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
            g(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
            g(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
            g(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
            g(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
            g(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
        }
        for i in 0..8 {
            self.h[i] ^= v[i] ^ v[i + 8];
        }
    }

    /// Absorbs `data`.
    pub fn update(&mut self, mut data: &[u8]) -> &mut Self {
        while !data.is_empty() {
            if self.pos == 128 {
                self.compress(false);
                self.pos = 0;
            }
            let take = (128 - self.pos).min(data.len());
            self.buf[self.pos..self.pos + take].copy_from_slice(&data[..take]);
            self.pos += take;
            self.len += take as u64;
            data = &data[take..];
        }
        self
    }

    /// The digest.
    pub fn finalize(mut self) -> [u8; 64] {
        self.buf[self.pos..].fill(0);
        self.compress(true);
        let mut out = [0u8; 64];
        for (o, h) in out.chunks_exact_mut(8).zip(self.h) {
            o.copy_from_slice(&h.to_le_bytes());
        }
        out
    }

    /// The state as snarkjs's `misc.toPartialHash` stores it: the 128-byte block buffer, the
    /// chaining value as little-endian 32-bit halves (low first), then `u32` words
    /// `length − pos`, 0, `pos`, 0.
    pub fn partial(&self) -> [u8; 216] {
        let mut out = [0u8; 216];
        out[..128].copy_from_slice(&self.buf);
        for (i, h) in self.h.iter().enumerate() {
            out[128 + 8 * i..136 + 8 * i].copy_from_slice(&h.to_le_bytes());
        }
        let done = u32::try_from(self.len - self.pos as u64).unwrap_or(u32::MAX);
        out[192..196].copy_from_slice(&done.to_le_bytes());
        out[200..204].copy_from_slice(&(self.pos as u32).to_le_bytes());
        out
    }
}

/// One-shot Blake2b-512.
pub fn blake2b(data: &[u8]) -> [u8; 64] {
    let mut h = Blake2b::new();
    h.update(data);
    h.finalize()
}

/// ffjavascript's ChaCha20 generator (20 rounds, counter in words 12–15, no nonce).
#[derive(Debug, Clone)]
pub struct ChaCha {
    state: [u32; 16],
    buf: [u32; 16],
    idx: usize,
}

impl ChaCha {
    /// Seeded with eight words.
    pub fn new(seed: [u32; 8]) -> Self {
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646E, 0x7962_2D32, 0x6B20_6574]);
        state[4..12].copy_from_slice(&seed);
        Self {
            state,
            buf: [0; 16],
            idx: 16,
        }
    }

    fn refill(&mut self) {
        let mut x = self.state;
        let qr = |x: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize| {
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(16);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(12);
            x[a] = x[a].wrapping_add(x[b]);
            x[d] = (x[d] ^ x[a]).rotate_left(8);
            x[c] = x[c].wrapping_add(x[d]);
            x[b] = (x[b] ^ x[c]).rotate_left(7);
        };
        for _ in 0..10 {
            qr(&mut x, 0, 4, 8, 12);
            qr(&mut x, 1, 5, 9, 13);
            qr(&mut x, 2, 6, 10, 14);
            qr(&mut x, 3, 7, 11, 15);
            qr(&mut x, 0, 5, 10, 15);
            qr(&mut x, 1, 6, 11, 12);
            qr(&mut x, 2, 7, 8, 13);
            qr(&mut x, 3, 4, 9, 14);
        }
        for (o, (a, b)) in self.buf.iter_mut().zip(x.iter().zip(&self.state)) {
            *o = a.wrapping_add(*b);
        }
        self.idx = 0;
        for w in &mut self.state[12..] {
            *w = w.wrapping_add(1);
            if *w != 0 {
                break;
            }
        }
    }

    /// The next word.
    pub fn next_u32(&mut self) -> u32 {
        if self.idx == 16 {
            self.refill();
        }
        let v = self.buf[self.idx];
        self.idx += 1;
        v
    }

    /// The next two words, the first as the high half.
    pub fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        (hi << 32) | u64::from(self.next_u32())
    }

    /// The low bit of the next word.
    pub fn next_bool(&mut self) -> bool {
        self.next_u32() & 1 == 1
    }
}

/// ffjavascript's `F.fromRng` for the base field: 254 random bits below `q`, taken as the
/// Montgomery representation (the element is `v·2⁻²⁵⁶`).
fn fq_from_rng(rng: &mut ChaCha) -> Fq {
    loop {
        let mut l = [0u64; 4];
        for x in &mut l {
            *x = rng.next_u64();
        }
        l[3] &= (1 << 62) - 1;
        if BigInt(l) < Fq::MODULUS {
            return Fq::new_unchecked(BigInt(l));
        }
    }
}

fn fq_negative(x: &Fq) -> bool {
    x.into_bigint() > Fq::MODULUS_MINUS_ONE_DIV_TWO
}

/// ffjavascript's `F2.isNegative` (and the sign of its compressed points).
fn fq2_negative(x: &Fq2) -> bool {
    if x.c1.is_zero() {
        fq_negative(&x.c0)
    } else {
        fq_negative(&x.c1)
    }
}

/// The BN254 G2 cofactor as ffjavascript multiplies by it.
const G2_COFACTOR: BigInt<4> = BigInt([
    0x345f_2299_c0f9_fa8d,
    0x06ce_ecda_572a_2489,
    0xb850_45b6_8181_585e,
    0x3064_4e72_e131_a029,
]);

/// ffjavascript's `G2.fromRng`: a random `x` until `x³ + b` is a square, the root whose
/// sign is a random bit, times the cofactor.
fn g2_from_rng(rng: &mut ChaCha) -> G2 {
    let (x, y2, greatest) = loop {
        let x = Fq2::new(fq_from_rng(rng), fq_from_rng(rng));
        let greatest = rng.next_bool();
        let y2 = x.square() * x + ark_bn254::g2::Config::COEFF_B;
        if y2.legendre() != LegendreSymbol::QuadraticNonResidue {
            break (x, y2, greatest);
        }
    };
    let mut y = y2.sqrt().unwrap_or_default();
    if fq2_negative(&y) != greatest {
        y = -y;
    }
    let p = G2::new_unchecked(x, y).into_group();
    <G2Projective as ark_ec::PrimeGroup>::mul_bigint(&p, G2_COFACTOR).into_affine()
}

/// snarkjs's `keypair.getG2sp`: `[sp]₂` for a key part (personalization 0 τ, 1 α, 2 β).
pub fn g2_sp(personalization: u8, challenge: &[u8; 64], g1_s: &G1, g1_sx: &G1) -> G2 {
    let mut h = Blake2b::new();
    h.update(&[personalization])
        .update(challenge)
        .update(&g1_to_evm(g1_s))
        .update(&g1_to_evm(g1_sx));
    let d = h.finalize();
    let mut seed = [0u32; 8];
    for (s, w) in seed.iter_mut().zip(d.chunks_exact(4)) {
        *s = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
    }
    g2_from_rng(&mut ChaCha::new(seed))
}

/// Uncompressed G1 (as snarkjs hashes it).
pub fn g1_u(p: &G1) -> [u8; 64] {
    g1_to_evm(p)
}

/// Uncompressed G2 (as snarkjs hashes it).
pub fn g2_u(p: &G2) -> [u8; 128] {
    g2_to_evm(p)
}

/// Compressed G1: `x` big-endian, top bit set for a negative `y`, `0x40` for infinity.
pub fn g1_c(p: &G1) -> [u8; 32] {
    match p.xy() {
        Some((x, y)) => {
            let mut o = fq_to_be(&x);
            if fq_negative(&y) {
                o[0] |= 0x80;
            }
            o
        }
        None => {
            let mut o = [0u8; 32];
            o[0] = 0x40;
            o
        }
    }
}

/// Compressed G2: `x.c1 ‖ x.c0` big-endian, top bit set for a negative `y`, `0x40` for infinity.
pub fn g2_c(p: &G2) -> [u8; 64] {
    let mut o = [0u8; 64];
    match p.xy() {
        Some((x, y)) => {
            o[..32].copy_from_slice(&fq_to_be(&x.c1));
            o[32..].copy_from_slice(&fq_to_be(&x.c0));
            if fq2_negative(&y) {
                o[0] |= 0x80;
            }
        }
        None => o[0] = 0x40,
    }
    o
}

/// snarkjs's `calculateFirstChallengeHash` for a ceremony of `2^power`: the hash of the
/// empty response and of the initial file (every point a generator), uncompressed.
pub fn first_challenge(power: u32) -> [u8; 64] {
    let n = 1usize << power;
    let (g1, g2) = (g1_u(&G1::generator()), g2_u(&G2::generator()));
    let mut h = Blake2b::new();
    h.update(&blake2b(&[]));
    let mut block = |p: &[u8], count: usize| {
        let chunk: Vec<u8> = p.repeat(count.min(4096));
        let mut left = count;
        while left > 0 {
            let k = left.min(4096);
            h.update(&chunk[..k * p.len()]);
            left -= k;
        }
    };
    block(&g1, 2 * n - 1);
    block(&g2, n);
    block(&g1, n);
    block(&g1, n);
    h.update(&g2);
    h.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn blake2b_vectors() {
        assert_eq!(
            hex(&blake2b(b"")),
            "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419\
             d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"
        );
        assert_eq!(
            hex(&blake2b(b"abc")),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
             7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
        );
        // Split updates across block boundaries agree with one update.
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let mut h = Blake2b::new();
        h.update(&data[..128])
            .update(&data[128..129])
            .update(&data[129..]);
        assert_eq!(h.finalize(), blake2b(&data));
    }

    #[test]
    fn hashed_g2_points_are_in_the_subgroup() {
        let p = g2_sp(0, &[7u8; 64], &G1::generator(), &G1::generator());
        assert!(p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve());
        assert!(!p.infinity);
    }
}
