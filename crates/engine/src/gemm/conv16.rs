//! The AVX-512 VNNI kernel of 16-bit convolutions (`i64` accumulators), with output channels
//! broadcast and positions in the vector lanes, so that a tile's results land channel-major
//! (the layout of the output tensor) and the requantization runs in the vector registers.
//!
//! The activations are read as "planes" of pairs: plane `p` holds, for every position `q`, the
//! two `i16` values `(x[q][2p], x[q][2p + 1])` side by side, so one unaligned 64-byte load gives
//! 16 positions' pairs. A step `s` of the product reads the 16 positions at `offs[s]` (an
//! offset into the planes, which may add a window tap's shift to the position) and multiplies
//! them by one pair of weights per output channel. The weights are split into bytes as in
//! [`super::vnni`] (`w = 256·hi + lo`, `lo` in `[0, 255]`, `hi` in `[-128, 127]`), the low and
//! high halves summed in separate `i32` lanes: a lane gains less than `2^24` (low) or `2^23`
//! (high) per step, so [`STEPS`] steps never leave `i32`; then they are widened into `i64`.
//! Every sum is exact, so its order does not matter.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::mem::MaybeUninit;

/// Output channels per tile (one broadcast pair of weights each per step).
pub(crate) const ROWS: usize = 4;
/// `i32` lanes per register: positions per vector.
pub(crate) const LANES: usize = 16;
/// Vectors of positions per full tile.
pub(crate) const VECS: usize = 3;
/// Steps summed in `i32` before widening: `128 · 2 · 32768 · 255 < 2^31`.
const STEPS: usize = 128;

/// Whether the CPU has what the 16-bit `Conv` fast path's `block` needs (never off x86-64).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// How a block's `i64` sums are finished: the bias of each of its [`ROWS`] channels, then the
/// requantization of `docs/semantics.md` section 2 (or, when `wide`, the sum itself, which must
/// fit `i32`), then, when `silu` is given, the SiLU that reads the requantized value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finish<'a> {
    /// Bias per channel of the block (zero without a bias, or past the last channel).
    pub(crate) bias: [i64; ROWS],
    /// Multiplier.
    pub(crate) m: i64,
    /// Shift.
    pub(crate) s: u32,
    /// Clamp bounds.
    pub(crate) lo: i64,
    /// Clamp bounds.
    pub(crate) hi: i64,
    /// Keep the sum (checked to fit `i32`) instead of requantizing.
    pub(crate) wide: bool,
    /// The SiLU applied to each requantized value (never with `wide`).
    pub(crate) silu: Option<Silu<'a>>,
}

/// A SiLU as the importer writes it (`k(y · T[w(y) + half])`: the `Rescale` into the table's
/// window, the `Lut`, the `Mul`'s requantization), applied in the epilogue to each requantized
/// value `y` as one table read: `table[y - lo]` is the SiLU of `y` for every `y` within the
/// convolution's clamp bounds `[lo, hi]`, computed once per engine from the three nodes'
/// integers (`exec/silu.rs`), stored as `i16`s with one more entry past the last (a gather
/// reads four bytes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Silu<'a> {
    /// The SiLU of `lo + i` at `i`, then one padding entry.
    pub(crate) table: &'a [i16],
    /// The convolution's lower clamp bound.
    pub(crate) lo: i32,
}

#[cfg(target_arch = "x86_64")]
impl Silu<'_> {
    /// The SiLU of eight requantized values (`i64` lanes within the convolution's clamp
    /// bounds), as eight `i32`s.
    ///
    /// # Safety
    /// The lanes lie within the bounds this `Silu` was built for (see [`Silu`]), so that every
    /// table read is inside the table.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
    #[inline]
    unsafe fn apply8(&self, y: __m512i) -> __m256i {
        let idx = _mm256_sub_epi32(_mm512_cvtepi64_epi32(y), _mm256_set1_epi32(self.lo));
        // SAFETY: `0 <= idx <= hi - lo` (the caller's guarantee), and the four bytes at
        // entry `idx` are entries `idx` and `idx + 1`, both inside the table (its padding
        // entry).
        let t = unsafe { _mm256_i32gather_epi32::<2>(self.table.as_ptr().cast::<i32>(), idx) };
        // the low half of each lane is entry `idx`: sign-extended
        _mm256_srai_epi32::<16>(_mm256_slli_epi32::<16>(t))
    }
}

/// One channel block: `out[r · ld + q] = finish(Σ_s pairs(x, offs[s] + 2q) · w[s][r])` for
/// `q < 16 · vecs`, `r < ROWS`. `w` holds, per step, `ROWS` pairs of low bytes and `ROWS` pairs of
/// high bytes (`lo0 hi0 lo1 hi1 ...` as `i32` pairs of `i16`). Returns `false` when a wide sum
/// does not fit `i32` (the out values are then unspecified).
///
/// The caller guarantees `offs[s] + 16 · vecs <= x.len()` for every `s` and
/// `w.len() == 2 · ROWS · offs.len()`; only `out`'s first `out.rows` rows and `out.valid`
/// positions are written.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
pub(crate) fn block(
    x: &[i32],
    offs: &[usize],
    w: &[i32],
    vecs: usize,
    fin: &Finish<'_>,
    out: &mut Out<'_>,
) -> bool {
    debug_assert_eq!(w.len(), 2 * ROWS * offs.len());
    debug_assert!(offs.iter().all(|&o| o + LANES * vecs <= x.len()));
    let mut ok = true;
    let mut v = 0;
    while v + VECS <= vecs {
        ok &= tile::<VECS>(x, offs, w, v, fin, out);
        v += VECS;
    }
    match vecs - v {
        2 => ok &= tile::<2>(x, offs, w, v, fin, out),
        1 => ok &= tile::<1>(x, offs, w, v, fin, out),
        _ => {}
    }
    ok
}

/// Where a block's results go: row `r < rows` (an output channel), position `q < valid` at
/// `data[r · ld + q]` (the rest of a tile is computed and dropped). [`block`] writes every one
/// of those values (the rows may start uninitialized).
#[derive(Debug)]
pub(crate) struct Out<'a> {
    /// The rows.
    pub(crate) data: &'a mut [MaybeUninit<i32>],
    /// Distance between rows.
    pub(crate) ld: usize,
    /// Rows written (at most [`ROWS`]).
    pub(crate) rows: usize,
    /// Positions written per row.
    pub(crate) valid: usize,
}

/// Sums one tile: `C` vectors of positions from vector `v0` on against the block's `ROWS`
/// channels, every step, into `acc[r · C + c]` (two halves of eight exact `i64` lanes): runs of
/// at most [`STEPS`] steps in `i32` (the assembly of [`super::conv16_steps`]), each widened.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
fn sums<const C: usize>(
    x: &[i32],
    offs: &[usize],
    w: &[i32],
    v0: usize,
    acc: &mut [[__m512i; 2]; 12],
) {
    use super::conv16_steps::{steps1, steps2, steps3};
    debug_assert!(w.len() >= 2 * ROWS * offs.len());
    let q0 = LANES * v0;
    let mut s0 = 0;
    while s0 < offs.len() {
        let n = STEPS.min(offs.len() - s0);
        let (xp, op) = (x.as_ptr().wrapping_add(q0), offs[s0..].as_ptr());
        let wp = w[2 * ROWS * s0..].as_ptr();
        // SAFETY: the features are enabled here; `n >= 1` steps from `s0` have offsets and
        // weights, and `off + q0 + 16·C <= off + 16·vecs <= x.len()` (the caller's guarantee).
        match C {
            3 => {
                let h = unsafe { steps3(xp, op, wp, n) };
                for (a, [lo, hi]) in acc.iter_mut().zip(h) {
                    widen(a, lo, hi);
                }
            }
            2 => {
                let h = unsafe { steps2(xp, op, wp, n) };
                for (a, [lo, hi]) in acc.iter_mut().zip(h) {
                    widen(a, lo, hi);
                }
            }
            _ => {
                let h = unsafe { steps1(xp, op, wp, n) };
                for (a, [lo, hi]) in acc.iter_mut().zip(h) {
                    widen(a, lo, hi);
                }
            }
        }
        s0 += n;
    }
}

/// Adds `lo + 256·hi` (`i32` lanes) into the exact `i64` halves `a`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
#[inline]
fn widen(a: &mut [__m512i; 2], lo: __m512i, hi: __m512i) {
    let l0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(lo));
    let l1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(lo));
    let h0 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(hi));
    let h1 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(hi));
    a[0] = _mm512_add_epi64(a[0], _mm512_add_epi64(l0, _mm512_slli_epi64::<8>(h0)));
    a[1] = _mm512_add_epi64(a[1], _mm512_add_epi64(l1, _mm512_slli_epi64::<8>(h1)));
}

/// `C` vectors of positions from vector `v0` on (see [`block`]): the sums, then the bias and
/// requantization, written channel-major into `out`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")]
#[inline]
fn tile<const C: usize>(
    x: &[i32],
    offs: &[usize],
    w: &[i32],
    v0: usize,
    fin: &Finish<'_>,
    out: &mut Out<'_>,
) -> bool {
    let mut acc = [[_mm512_setzero_si512(); 2]; 12];
    sums::<C>(x, offs, w, v0, &mut acc);
    let mut ok = true;
    let m = _mm512_set1_epi64(fin.m);
    let half = _mm512_set1_epi64(if fin.s == 0 { 0 } else { 1i64 << (fin.s - 1) });
    let shift = _mm_cvtsi64_si128(i64::from(fin.s));
    let (lo, hi) = (_mm512_set1_epi64(fin.lo), _mm512_set1_epi64(fin.hi));
    let (imin, imax) = (
        _mm512_set1_epi64(i64::from(i32::MIN)),
        _mm512_set1_epi64(i64::from(i32::MAX)),
    );
    for r in 0..ROWS.min(out.rows) {
        let b = _mm512_set1_epi64(fin.bias[r]);
        for c in 0..C {
            for (e, &a) in acc[r * C + c].iter().enumerate() {
                let v = _mm512_add_epi64(a, b);
                let y = if fin.wide {
                    let inside =
                        _mm512_cmpge_epi64_mask(v, imin) & _mm512_cmple_epi64_mask(v, imax);
                    ok &= inside == 0xff;
                    _mm512_cvtepi64_epi32(v)
                } else {
                    let p = _mm512_add_epi64(_mm512_mullo_epi64(v, m), half);
                    let y = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(p, shift), lo), hi);
                    match &fin.silu {
                        // SAFETY: `y` lies within the clamp bounds `lo`, `hi`, those the
                        // `Silu` was built for.
                        Some(s) => unsafe { s.apply8(y) },
                        None => _mm512_cvtepi64_epi32(y),
                    }
                };
                let q = LANES * (v0 + c) + 8 * e;
                let n = out.valid.saturating_sub(q).min(8);
                if n == 0 {
                    continue;
                }
                let at = r * out.ld + q;
                let dst = &mut out.data[at..at + n];
                // SAFETY: `dst` holds `n <= 8` `i32`s and the mask writes only its first `n`
                // lanes.
                unsafe {
                    let p = dst.as_mut_ptr().cast::<i32>();
                    _mm256_mask_storeu_epi32(p, ((1u16 << n) - 1) as u8, y);
                };
            }
        }
    }
    ok
}

/// Lays out `steps` steps of weights for the channels `o0 .. o0 + ROWS` as [`block`] reads
/// them; `pair(o, s)` gives channel `o`'s two weights at step `s` (`None` past the last
/// channel: zeros).
pub(crate) fn lay_out(
    o0: usize,
    steps: usize,
    pair: impl Fn(usize, usize) -> Option<[i32; 2]>,
) -> Vec<i32> {
    let mut out = Vec::with_capacity(steps * 2 * ROWS);
    let dword = |a: i32, b: i32| (a & 0xffff) | (b << 16);
    for s in 0..steps {
        for r in 0..ROWS {
            let [a, b] = pair(o0 + r, s).unwrap_or([0, 0]);
            out.push(dword(a & 0xff, b & 0xff));
            out.push(dword(a >> 8, b >> 8));
        }
    }
    out
}
