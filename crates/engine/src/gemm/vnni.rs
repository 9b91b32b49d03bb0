//! `i64` products with AVX-512 VNNI: `vpdpwssd` multiplies `i16` pairs and adds them into
//! `i32` lanes. A full product of two `i16`s leaves no room in `i32`, so `b` is read split into
//! bytes ([`Packed::pairs`]): `a·b = 256·(a·hi) + a·lo`, where a lane gains at most
//! `2·32768·255 < 2^24` (low) or `2·32768·128 = 2^23` (high) per instruction, so 128
//! instructions (256 values of `k`) never leave `i32`; then the lanes are widened into `i64`.
//! Each instruction multiplies one pair of `a` (broadcast) by the pairs of 16 columns of `b`,
//! so no lane ever needs a horizontal sum.

use super::Packed;
use std::arch::x86_64::*;

/// `vpdpwssd` steps (one pair of `k` each) summed in `i32` before widening.
const STEPS: usize = 128;
/// Rows of `a` per tile.
const MR: usize = 4;
/// Blocks of 16 columns per tile.
const NB: usize = 2;
/// `i32` lanes per register.
pub(super) const LANES: usize = 16;

/// Whether the CPU has what [`rows64`] needs.
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vnni")
}

/// `b`'s values laid out for the kernel: per block of 16 columns, `kp / 2` steps of 16
/// pairs `(b[j, 2s], b[j, 2s + 1])` of low bytes, then the same of high bytes (columns past
/// `b.rows` are zero).
pub(super) fn layout(b: &Packed) -> Vec<i16> {
    let (kp, blocks) = (b.kp, b.rows.div_ceil(LANES));
    let mut out = vec![0i16; blocks * 2 * LANES * kp];
    for j in 0..b.rows {
        let (blk, lane) = (j / LANES, j % LANES);
        let base = blk * 2 * LANES * kp;
        for (k, &v) in b.row(j).iter().enumerate() {
            let at = base + (k / 2) * 2 * LANES + lane * 2 + k % 2;
            out[at] = v & 0xff;
            out[at + LANES * kp] = v >> 8;
        }
    }
    out
}

/// One tile over steps `s0 .. s1` (at most [`STEPS`]): rows `a` against column blocks
/// `nb0 .. nb0 + C` of `pairs`; `out[r][c][l]` gets the exact partial sum for row `r`,
/// column `16·(nb0 + c) + l`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
fn tile<const R: usize, const C: usize>(
    a: [&[i16]; R],
    pairs: &[i16],
    nb0: usize,
    kp: usize,
    (s0, s1): (usize, usize),
    out: &mut [[[i64; LANES]; C]; R],
) {
    debug_assert!(s1 - s0 <= STEPS && s1 <= kp / 2);
    let blk = 2 * LANES * kp;
    {
        let mut lo = [[_mm512_setzero_si512(); C]; R];
        let mut hi = [[_mm512_setzero_si512(); C]; R];
        for s in s0..s1 {
            let mut wl = [_mm512_setzero_si512(); C];
            let mut wh = [_mm512_setzero_si512(); C];
            for c in 0..C {
                let at = (nb0 + c) * blk + s * 2 * LANES;
                debug_assert!(at + LANES * kp + 2 * LANES <= pairs.len());
                // SAFETY: block `nb0 + c` exists and `s < kp / 2`, so both 32-value reads
                // stay inside it (low half, then high half at `+ 16·kp`).
                unsafe {
                    wl[c] = _mm512_loadu_si512(pairs.as_ptr().add(at).cast());
                    wh[c] = _mm512_loadu_si512(pairs.as_ptr().add(at + LANES * kp).cast());
                }
            }
            for r in 0..R {
                // SAFETY: `2·s + 1 < kp == a[r].len()`; an unaligned read of two `i16`s.
                let pair = unsafe { a[r].as_ptr().add(2 * s).cast::<i32>().read_unaligned() };
                let x = _mm512_set1_epi32(pair);
                for c in 0..C {
                    lo[r][c] = _mm512_dpwssd_epi32(lo[r][c], x, wl[c]);
                    hi[r][c] = _mm512_dpwssd_epi32(hi[r][c], x, wh[c]);
                }
            }
        }
        for r in 0..R {
            for c in 0..C {
                let widen = |v: __m512i| {
                    (
                        _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v)),
                        _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64::<1>(v)),
                    )
                };
                let (l0, l1) = widen(lo[r][c]);
                let (h0, h1) = widen(hi[r][c]);
                let dst = &mut out[r][c];
                // SAFETY: `dst` holds 16 `i64`s: two reads and writes of 8.
                unsafe {
                    let p = dst.as_mut_ptr();
                    let v0 = _mm512_add_epi64(l0, _mm512_slli_epi64::<8>(h0));
                    let v1 = _mm512_add_epi64(l1, _mm512_slli_epi64::<8>(h1));
                    let q = p.add(8);
                    _mm512_storeu_si512(
                        p.cast(),
                        _mm512_add_epi64(_mm512_loadu_si512(p.cast()), v0),
                    );
                    _mm512_storeu_si512(
                        q.cast(),
                        _mm512_add_epi64(_mm512_loadu_si512(q.cast()), v1),
                    );
                }
            }
        }
    }
}

/// Rows `a` (`R` of them) against columns `j0 .. j0 + w` of `b` over steps `s0 .. s1`,
/// added into `dst` (`R × w`).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn rows_of<const R: usize>(
    a: [&[i16]; R],
    b: &Packed,
    pairs: &[i16],
    j0: usize,
    steps: (usize, usize),
    dst: &mut [i64],
) {
    let w = dst.len() / R;
    let (first, last) = (j0 / LANES, (j0 + w).min(b.rows).div_ceil(LANES));
    let mut add = |nb: usize, vals: &[[i64; LANES]], r: usize| {
        for (c, block) in vals.iter().enumerate() {
            let js = (nb + c) * LANES;
            let (from, to) = (js.max(j0), (js + LANES).min(j0 + w));
            if from < to {
                let d = &mut dst[r * w + from - j0..r * w + to - j0];
                for (o, &v) in d.iter_mut().zip(&block[from - js..to - js]) {
                    *o += v;
                }
            }
        }
    };
    let mut nb = first;
    while nb + NB <= last {
        let mut t = [[[0i64; LANES]; NB]; R];
        tile::<R, NB>(a, pairs, nb, b.kp, steps, &mut t);
        for (r, vals) in t.iter().enumerate() {
            add(nb, vals, r);
        }
        nb += NB;
    }
    while nb < last {
        let mut t = [[[0i64; LANES]; 1]; R];
        tile::<R, 1>(a, pairs, nb, b.kp, steps, &mut t);
        for (r, vals) in t.iter().enumerate() {
            add(nb, vals, r);
        }
        nb += 1;
    }
}

/// `dst[r · w + j] = Σ_k a[r][k] · b[j0 + j, k]` in `i64` for every row `r` of `a` (`dst` is
/// `a.len() × w`, `j0` a multiple of 16); `pairs` is [`layout`] of `b`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) fn rows64(a: &[&[i16]], b: &Packed, pairs: &[i16], j0: usize, dst: &mut [i64]) {
    debug_assert_eq!(j0 % LANES, 0);
    dst.fill(0);
    if a.is_empty() || b.kp == 0 {
        return;
    }
    let w = dst.len() / a.len();
    // Blocks of `k` outermost, so that one block of `b` (`STEPS` pairs of every column)
    // stays in cache while every row passes over it.
    let total = b.kp / 2;
    let mut s0 = 0;
    while s0 < total {
        let steps = (s0, (s0 + STEPS).min(total));
        let mut groups = a.chunks_exact(MR);
        let mut r0 = 0;
        for g in &mut groups {
            let rows = [g[0], g[1], g[2], g[3]];
            rows_of::<MR>(rows, b, pairs, j0, steps, &mut dst[r0 * w..(r0 + MR) * w]);
            r0 += MR;
        }
        for &row in groups.remainder() {
            rows_of::<1>([row], b, pairs, j0, steps, &mut dst[r0 * w..(r0 + 1) * w]);
            r0 += 1;
        }
        s0 = steps.1;
    }
}
