//! AVX2 kernels: `vpmaddwd` on 4×2 tiles of dot products (`i32` sums), and `i64` sums of
//! widened pairs.

use super::Packed;
use std::arch::x86_64::*;

const MR: usize = 4;
const NR: usize = 2;

#[target_feature(enable = "avx2")]
fn hsum(v: __m256i) -> i32 {
    let lo = _mm256_castsi256_si128(v);
    let hi = _mm256_extracti128_si256::<1>(v);
    let s = _mm_add_epi32(lo, hi);
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// One `R × C` tile of dot products over `kp` (a multiple of 16) elements.
#[target_feature(enable = "avx2")]
#[inline]
fn tile<const R: usize, const C: usize>(
    a: [&[i16]; R],
    b: [&[i16]; C],
    kp: usize,
) -> [[i32; C]; R] {
    let mut acc = [[_mm256_setzero_si256(); C]; R];
    let mut k = 0;
    while k + 16 <= kp {
        let mut bv = [_mm256_setzero_si256(); C];
        for (v, row) in bv.iter_mut().zip(&b) {
            // SAFETY: `k + 16 <= kp == row.len()`; unaligned load.
            *v = unsafe { _mm256_loadu_si256(row.as_ptr().add(k).cast()) };
        }
        for (accs, row) in acc.iter_mut().zip(&a) {
            // SAFETY: as above.
            let av = unsafe { _mm256_loadu_si256(row.as_ptr().add(k).cast()) };
            for (s, w) in accs.iter_mut().zip(&bv) {
                *s = _mm256_add_epi32(*s, _mm256_madd_epi16(av, *w));
            }
        }
        k += 16;
    }
    let mut out = [[0i32; C]; R];
    for (o, s) in out.iter_mut().zip(&acc) {
        for (x, v) in o.iter_mut().zip(s) {
            *x = hsum(*v);
        }
    }
    out
}

#[target_feature(enable = "avx2")]
fn row_tiles<const R: usize>(a: [&[i16]; R], b: &Packed, out: &mut [i32], n: usize) {
    let kp = b.kp;
    let mut j = 0;
    while j + NR <= n {
        let t = tile::<R, NR>(a, [b.row(j), b.row(j + 1)], kp);
        for (r, vals) in t.iter().enumerate() {
            out[r * n + j..r * n + j + NR].copy_from_slice(vals);
        }
        j += NR;
    }
    if j < n {
        let t = tile::<R, 1>(a, [b.row(j)], kp);
        for (r, vals) in t.iter().enumerate() {
            out[r * n + j] = vals[0];
        }
    }
}

/// AVX2 version of `gemm_rows`.
#[target_feature(enable = "avx2")]
pub(super) fn gemm_rows(a: &Packed, m0: usize, b: &Packed, out: &mut [i32]) {
    let n = b.rows;
    let m = out.len() / n;
    let mut i = 0;
    while i + MR <= m {
        let rows = [
            a.row(m0 + i),
            a.row(m0 + i + 1),
            a.row(m0 + i + 2),
            a.row(m0 + i + 3),
        ];
        row_tiles::<MR>(rows, b, &mut out[i * n..(i + MR) * n], n);
        i += MR;
    }
    while i < m {
        row_tiles::<1>([a.row(m0 + i)], b, &mut out[i * n..(i + 1) * n], n);
        i += 1;
    }
}

/// `Σ` of the four `i64` lanes.
#[target_feature(enable = "avx2")]
fn hsum64(v: __m256i) -> i64 {
    let s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    _mm_cvtsi128_si64(s) + _mm_extract_epi64::<1>(s)
}

/// Dot products of `a` with `C` rows of `b` in `i64` lanes: `vpmaddwd` pairs (exact when
/// not all four values are -32768, which the caller checks), widened and summed.
#[target_feature(enable = "avx2")]
#[inline]
fn tile64<const C: usize>(a: &[i16], b: [&[i16]; C]) -> [i64; C] {
    let mut acc = [_mm256_setzero_si256(); C];
    let mut k = 0;
    while k + 16 <= a.len() {
        // SAFETY: `k + 16 <= a.len() == row.len()` (rows share `kp`); unaligned loads.
        let av = unsafe { _mm256_loadu_si256(a.as_ptr().add(k).cast()) };
        for (s, row) in acc.iter_mut().zip(&b) {
            // SAFETY: as above.
            let bv = unsafe { _mm256_loadu_si256(row.as_ptr().add(k).cast()) };
            let p = _mm256_madd_epi16(av, bv);
            let lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(p));
            let hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(p));
            *s = _mm256_add_epi64(*s, _mm256_add_epi64(lo, hi));
        }
        k += 16;
    }
    let mut out = [0i64; C];
    for (o, v) in out.iter_mut().zip(&acc) {
        *o = hsum64(*v);
    }
    out
}

/// `out[j] = Σ_k a[k] · b[j0 + j, k]` in `i64`.
#[target_feature(enable = "avx2")]
pub(super) fn row64(a: &[i16], b: &Packed, j0: usize, out: &mut [i64]) {
    const C: usize = 4;
    let mut chunks = out.chunks_exact_mut(C);
    let mut j = j0;
    for o in &mut chunks {
        o.copy_from_slice(&tile64::<C>(
            a,
            [b.row(j), b.row(j + 1), b.row(j + 2), b.row(j + 3)],
        ));
        j += C;
    }
    for o in chunks.into_remainder() {
        *o = tile64::<1>(a, [b.row(j)])[0];
        j += 1;
    }
}
