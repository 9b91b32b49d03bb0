//! Integer matrix products on packed `i16` rows.
//!
//! `C[m, n] = Σ_k A[m, k] * B[n, k]` with `A` and `B` stored row by row, `K` zero-padded to a
//! multiple of 16. Inputs are `act8`/`act16` values and weights in `[-32767, 32767]`, so every
//! product fits `i16 × i16` and a pair of products fits `i32`. [`gemm`] sums in `i32` lanes and
//! is exact when the node's overflow bound (`docs/semantics.md` section 4) is below `2^31`,
//! whatever order the lanes add in; on x86-64 with AVX2 (detected at run time) it uses
//! `vpmaddwd` on 4×2 output tiles, elsewhere a portable loop computes the same integers.
//! [`gemm64`] sums in `i64` for the nodes whose bound is not.

use rayon::prelude::*;

/// `K` is padded to a multiple of this.
pub const K_ALIGN: usize = 16;
/// Below this many multiply-adds a product runs on the calling thread.
const PAR_THRESHOLD: usize = 1 << 17;

/// Rows of `i16` values, each padded with zeros to `kp` elements.
#[derive(Debug, Clone, Default)]
pub struct Packed {
    /// Number of rows.
    pub rows: usize,
    /// Logical row length.
    pub k: usize,
    /// Padded row length (multiple of [`K_ALIGN`]).
    pub kp: usize,
    /// `rows * kp` values.
    pub data: Vec<i16>,
    /// Whether a value may be `-32768` ([`gemm64`] sums `vpmaddwd` pairs only when one operand
    /// has none): exact from [`Self::from_rows`], `true` from [`Self::zeroed`] (the rows are
    /// written later). Whoever changes `data` keeps it true or exact.
    pub may_hold_min: bool,
}

/// Padded length for `k`.
pub const fn padded(k: usize) -> usize {
    k.div_ceil(K_ALIGN) * K_ALIGN
}

impl Packed {
    /// Packs a row-major `[rows, k]` matrix of values that fit `i16` (saturating otherwise: the
    /// callers only pass `act8` and `i8` values, checked when the package was validated).
    pub fn from_rows(rows: usize, k: usize, src: &[i32]) -> Self {
        let kp = padded(k);
        let mut data = vec![0i16; rows * kp];
        let mut may_hold_min = false;
        if k > 0 {
            for (dst, row) in data.chunks_exact_mut(kp).zip(src.chunks_exact(k)) {
                for (d, &s) in dst.iter_mut().zip(row) {
                    *d = s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                    may_hold_min |= *d == i16::MIN;
                }
            }
        }
        Self {
            rows,
            k,
            kp,
            data,
            may_hold_min,
        }
    }

    /// An empty matrix with room for `rows` rows of length `k`, to be filled with [`Self::row_mut`].
    pub fn zeroed(rows: usize, k: usize) -> Self {
        let kp = padded(k);
        Self {
            rows,
            k,
            kp,
            data: vec![0; rows * kp],
            may_hold_min: true,
        }
    }

    /// Row `r`.
    #[inline]
    pub fn row(&self, r: usize) -> &[i16] {
        &self.data[r * self.kp..(r + 1) * self.kp]
    }

    /// Mutable row `r`.
    #[inline]
    pub fn row_mut(&mut self, r: usize) -> &mut [i16] {
        &mut self.data[r * self.kp..(r + 1) * self.kp]
    }
}

/// Whether the caller runs inside a rayon pool of two or more threads (the engine runs a
/// one-thread configuration inline, outside any pool).
pub fn in_parallel_pool() -> bool {
    rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1
}

/// `out[m * n_rows + n] = Σ_k a[m, k] * b[n, k]`, `out` of length `a.rows * b.rows`.
/// Uses the current rayon pool when the product is large.
pub fn gemm(a: &Packed, b: &Packed, out: &mut [i32]) {
    debug_assert_eq!(a.kp, b.kp);
    debug_assert_eq!(out.len(), a.rows * b.rows);
    let n = b.rows;
    if n == 0 || a.rows == 0 {
        return;
    }
    let work = a.rows * n * a.kp;
    let threads = rayon::current_num_threads();
    if work < PAR_THRESHOLD || !in_parallel_pool() {
        gemm_rows(a, 0, b, out);
        return;
    }
    if a.rows >= 4 * threads {
        // Split rows; each task takes a multiple of the 4-row tile.
        let rows_per = a.rows.div_ceil(threads * 4).next_multiple_of(4).max(4);
        out.par_chunks_mut(rows_per * n)
            .enumerate()
            .for_each(|(i, chunk)| gemm_rows(a, i * rows_per, b, chunk));
    } else {
        // Few rows (small batch): split the output columns instead.
        let cols_per = n.div_ceil(threads).next_multiple_of(2).max(2);
        let parts: Vec<(usize, Vec<i32>)> = (0..n)
            .step_by(cols_per)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|c0| {
                let c1 = (c0 + cols_per).min(n);
                let sub = Packed {
                    rows: c1 - c0,
                    k: b.k,
                    kp: b.kp,
                    data: b.data[c0 * b.kp..c1 * b.kp].to_vec(),
                    may_hold_min: b.may_hold_min,
                };
                let mut part = vec![0i32; a.rows * (c1 - c0)];
                gemm_rows(a, 0, &sub, &mut part);
                (c0, part)
            })
            .collect();
        for (c0, part) in parts {
            let w = part.len() / a.rows;
            for (m, row) in part.chunks_exact(w).enumerate() {
                out[m * n + c0..m * n + c0 + w].copy_from_slice(row);
            }
        }
    }
}

/// `out[m * n_rows + n] = Σ_k a[m, k] * b[n, k]` summed exactly in `i64`, for products whose
/// accumulator may pass `i32`. Uses the current rayon pool when `parallel` and the product is
/// large (by rows, or by columns for a few rows); each element is one thread's sum in one order
/// either way.
pub fn gemm64(a: &Packed, b: &Packed, out: &mut [i64], parallel: bool) {
    debug_assert_eq!(a.kp, b.kp);
    debug_assert_eq!(out.len(), a.rows * b.rows);
    let n = b.rows;
    if n == 0 || a.rows == 0 {
        return;
    }
    // `vpmaddwd` sums two products in an `i32` lane: exact unless all four values are -32768
    // (2^31). Weights stop at ±32767, so only two activation operands can meet that.
    let pairs_fit = !(a.may_hold_min && b.may_hold_min);
    let cols = |i: usize, j0: usize, orow: &mut [i64]| {
        #[cfg(target_arch = "x86_64")]
        {
            if pairs_fit && std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: AVX2 is present (checked just above).
                unsafe { avx2::row64(a.row(i), b, j0, orow) };
                return;
            }
        }
        for (j, o) in orow.iter_mut().enumerate() {
            *o = dot64(a.row(i), b.row(j0 + j), pairs_fit);
        }
    };
    let threads = rayon::current_num_threads();
    if !(parallel && a.rows * n * a.kp >= PAR_THRESHOLD && in_parallel_pool()) {
        out.chunks_mut(n)
            .enumerate()
            .for_each(|(i, orow)| cols(i, 0, orow));
    } else if a.rows >= 2 * threads {
        out.par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, orow)| cols(i, 0, orow));
    } else {
        // Few rows (small batch): split each row's columns.
        let per = n.div_ceil(threads).max(1);
        for (i, orow) in out.chunks_mut(n).enumerate() {
            orow.par_chunks_mut(per)
                .enumerate()
                .for_each(|(c, part)| cols(i, c * per, part));
        }
    }
}

/// `Σ x[k]·y[k]` in `i64`: products (`|x·y| <= 2^30`) summed two at a time in `i32` when
/// `pairs_fit` (see [`gemm64`]), else each widened on its own.
#[inline]
fn dot64(x: &[i16], y: &[i16], pairs_fit: bool) -> i64 {
    let prod = |p: i16, q: i16| i32::from(p) * i32::from(q);
    if pairs_fit {
        x.chunks_exact(2)
            .zip(y.chunks_exact(2))
            .map(|(p, q)| i64::from(prod(p[0], q[0]) + prod(p[1], q[1])))
            .sum()
    } else {
        x.iter().zip(y).map(|(&p, &q)| i64::from(prod(p, q))).sum()
    }
}

/// [`gemm`] on the calling thread only (for callers that parallelize at a coarser grain).
pub fn gemm_serial(a: &Packed, b: &Packed, out: &mut [i32]) {
    if b.rows > 0 && a.rows > 0 {
        gemm_rows(a, 0, b, out);
    }
}

/// Computes output rows `m0 .. m0 + out.len() / b.rows` into `out`.
fn gemm_rows(a: &Packed, m0: usize, b: &Packed, out: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present (checked just above).
            unsafe { avx2::gemm_rows(a, m0, b, out) };
            return;
        }
    }
    portable_rows(a, m0, b, out);
}

fn portable_rows(a: &Packed, m0: usize, b: &Packed, out: &mut [i32]) {
    let n = b.rows;
    for (i, orow) in out.chunks_exact_mut(n).enumerate() {
        let ar = a.row(m0 + i);
        for (j, o) in orow.iter_mut().enumerate() {
            *o = ar.iter().zip(b.row(j)).fold(0i32, |s, (&x, &y)| {
                s.wrapping_add(i32::from(x) * i32::from(y))
            });
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Both parallel splits (by rows, by columns) give the serial result inside a 2-thread pool.
    #[test]
    fn parallel_splits_match_serial() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for (m, k, n) in [(64, 784, 128), (1, 784, 300), (3, 1000, 257)] {
            let a: Vec<i32> = (0..m * k).map(|i| (i * 7 % 255) as i32 - 127).collect();
            let b: Vec<i32> = (0..n * k).map(|i| (i * 13 % 253) as i32 - 126).collect();
            let (pa, pb) = (Packed::from_rows(m, k, &a), Packed::from_rows(n, k, &b));
            assert!(m * n * pa.kp >= PAR_THRESHOLD);
            let mut serial = vec![0; m * n];
            gemm_serial(&pa, &pb, &mut serial);
            let mut par = vec![0; m * n];
            pool.install(|| {
                assert!(in_parallel_pool());
                gemm(&pa, &pb, &mut par);
            });
            assert_eq!(serial, par, "{m}x{k}x{n}");
        }
    }

    /// Four -32768s make a `vpmaddwd` pair sum of 2^31, one past `i32`: `gemm64` must still
    /// be exact, and agree with the AVX2 path on everything else, serial and split.
    #[test]
    fn gemm64_is_exact_at_the_i16_edges() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let k = 1000;
        for (m, n) in [(1, 300), (5, 7), (64, 9)] {
            for edge in [i16::MIN, i16::MAX, -i16::MAX] {
                // `edge` at the first two of every `period` positions (aligned pairs), a
                // spread of 16-bit values elsewhere.
                let matrix = |len: usize, period: usize, step: usize| -> Vec<i32> {
                    (0..len)
                        .map(|i| {
                            if i % period < 2 {
                                i32::from(edge)
                            } else {
                                (i * step % 65_535) as i32 - 32_767
                            }
                        })
                        .collect()
                };
                let (a, b) = (matrix(m * k, 4, 7), matrix(n * k, 6, 13));
                let (pa, pb) = (Packed::from_rows(m, k, &a), Packed::from_rows(n, k, &b));
                let want: Vec<i64> = (0..m * n)
                    .map(|o| {
                        let (i, j) = (o / n, o % n);
                        (0..k)
                            .map(|t| i64::from(a[i * k + t]) * i64::from(b[j * k + t]))
                            .sum()
                    })
                    .collect();
                // The portable loop, on whichever path `gemm64` would pick.
                for (o, w) in want.iter().enumerate() {
                    let (x, y) = (pa.row(o / n), pb.row(o % n));
                    assert_eq!(dot64(x, y, edge != i16::MIN), *w, "portable, edge {edge}");
                }
                let mut serial = vec![0; m * n];
                gemm64(&pa, &pb, &mut serial, false);
                assert_eq!(serial, want, "{m}x{k}x{n}, edge {edge}");
                let mut par = vec![0; m * n];
                pool.install(|| gemm64(&pa, &pb, &mut par, true));
                assert_eq!(par, want, "{m}x{k}x{n}, edge {edge}, 2 threads");
            }
        }
    }

    proptest! {
        #[test]
        fn matches_naive(m in 1usize..9, n in 1usize..7, k in 0usize..40, seed in any::<u64>()) {
            let mut s = seed;
            let mut next = || { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((s >> 33) % 256) as i32 - 128 };
            let a: Vec<i32> = (0..m * k).map(|_| next()).collect();
            let b: Vec<i32> = (0..n * k).map(|_| next()).collect();
            let (pa, pb) = (Packed::from_rows(m, k, &a), Packed::from_rows(n, k, &b));
            let mut out = vec![0; m * n];
            gemm(&pa, &pb, &mut out);
            let mut portable = vec![0; m * n];
            portable_rows(&pa, 0, &pb, &mut portable);
            for i in 0..m { for j in 0..n {
                let want: i32 = (0..k).map(|t| a[i * k + t] * b[j * k + t]).sum();
                prop_assert_eq!(out[i * n + j], want);
                prop_assert_eq!(portable[i * n + j], want);
            }}
        }
    }
}
