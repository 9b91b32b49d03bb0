//! Integer matrix products on packed `i16` rows.
//!
//! `C[m, n] = Σ_k A[m, k] * B[n, k]` with `A` and `B` stored row by row, `K` zero-padded to a
//! multiple of 16. Inputs are `act8`/`act16` values and weights in `[-32767, 32767]`, so every
//! product fits `i16 × i16` and a pair of products fits `i32`. [`gemm`] sums in `i32` lanes and
//! is exact when the node's overflow bound (`docs/semantics.md` section 4) is below `2^31`,
//! whatever order the lanes add in; on x86-64 with AVX2 (detected at run time) it uses
//! `vpmaddwd` on 4×2 output tiles, elsewhere a portable loop computes the same integers.
//! [`gemm64`] sums in `i64` for the nodes whose bound is not; with AVX-512 VNNI it splits each
//! weight into a low byte and a high byte (`b = 256·hi + lo`), so that `vpdpwssd` can sum
//! thousands of products in `i32` lanes before they are widened (see [`Packed::split`]).

use rayon::prelude::*;
use std::sync::OnceLock;

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
    /// The values split into bytes (`v = 256·hi + lo`, `lo = v & 255` in `[0, 255]`, `hi = v >> 8`
    /// in `[-128, 127]`) and interleaved in pairs for the VNNI kernel of [`gemm64`] when this
    /// matrix is its right operand, made on first use. Whoever changes `data` after the first
    /// product resets it.
    pub split: OnceLock<Vec<i16>>,
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
            split: OnceLock::new(),
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
            split: OnceLock::new(),
        }
    }

    /// `data` laid out for the VNNI kernel of [`gemm64`] ([`Self::split`]), made once.
    #[cfg(target_arch = "x86_64")]
    fn pairs(&self) -> &[i16] {
        self.split.get_or_init(|| vnni::layout(self))
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
                    split: OnceLock::new(),
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
    #[cfg(target_arch = "x86_64")]
    let vnni = vnni::available();
    #[cfg(not(target_arch = "x86_64"))]
    let vnni = false;
    gemm64_on(a, b, out, parallel, vnni);
}

/// [`gemm64`] with the VNNI kernel allowed or not (the tests run both paths).
fn gemm64_on(a: &Packed, b: &Packed, out: &mut [i64], parallel: bool, vnni: bool) {
    #[cfg(not(target_arch = "x86_64"))]
    let _ = vnni;
    debug_assert_eq!(a.kp, b.kp);
    debug_assert_eq!(out.len(), a.rows * b.rows);
    let n = b.rows;
    if n == 0 || a.rows == 0 {
        return;
    }
    // `vpmaddwd` sums two products in an `i32` lane: exact unless all four values are -32768
    // (2^31). Weights stop at ±32767, so only two activation operands can meet that.
    let pairs_fit = !(a.may_hold_min && b.may_hold_min);
    #[cfg(target_arch = "x86_64")]
    let b_pairs = if vnni { b.pairs() } else { &[] };
    // Row blocks of this many rows share their loads of `b`.
    const BLOCK_ROWS: usize = 4;
    // Rows `i0 ..` of `a` against columns `j0 .. j0 + w` of `b` into `dst` (`rows × w`).
    let block = |i0: usize, j0: usize, dst: &mut [i64], w: usize| {
        let rows = dst.len() / w;
        #[cfg(target_arch = "x86_64")]
        {
            if vnni {
                // A block holds at most `BLOCK_ROWS` rows: no allocation on the hot path.
                let mut a_rows: [&[i16]; BLOCK_ROWS] = [&[]; BLOCK_ROWS];
                for (r, slot) in a_rows.iter_mut().enumerate().take(rows) {
                    *slot = a.row(i0 + r);
                }
                // SAFETY: AVX-512 F/BW/VNNI are present (checked by `available`).
                unsafe { vnni::rows64(&a_rows[..rows], b, b_pairs, j0, dst) };
                return;
            }
        }
        for (r, orow) in dst.chunks_mut(w).enumerate() {
            let ar = a.row(i0 + r);
            #[cfg(target_arch = "x86_64")]
            {
                if pairs_fit && std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: AVX2 is present (checked just above).
                    unsafe { avx2::row64(ar, b, j0, orow) };
                    continue;
                }
            }
            for (j, o) in orow.iter_mut().enumerate() {
                *o = dot64(ar, b.row(j0 + j), pairs_fit);
            }
        }
    };
    let threads = rayon::current_num_threads();
    if !(parallel && a.rows * n * a.kp >= PAR_THRESHOLD && in_parallel_pool()) {
        out.chunks_mut(BLOCK_ROWS * n)
            .enumerate()
            .for_each(|(i, rows)| block(i * BLOCK_ROWS, 0, rows, n));
    } else if a.rows >= 2 * threads {
        out.par_chunks_mut(BLOCK_ROWS * n)
            .enumerate()
            .for_each(|(i, rows)| block(i * BLOCK_ROWS, 0, rows, n));
    } else {
        // Few rows (small batch): split each row's columns (in whole blocks of 16).
        let per = n.div_ceil(threads).next_multiple_of(16);
        for (i, orow) in out.chunks_mut(n).enumerate() {
            orow.par_chunks_mut(per)
                .enumerate()
                .for_each(|(c, part)| block(i, c * per, part, part.len()));
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
mod avx2;
pub(crate) mod conv16;
#[cfg(target_arch = "x86_64")]
mod conv16_steps;
pub(crate) mod finish;
pub use conv16::available as conv16_available;
#[cfg(target_arch = "x86_64")]
mod vnni;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The `gemm64` kernels this machine can run: always the AVX2/portable one, and the VNNI
    /// one where the CPU has it.
    fn vnni_paths() -> Vec<bool> {
        #[cfg(target_arch = "x86_64")]
        let has = vnni::available();
        #[cfg(not(target_arch = "x86_64"))]
        let has = false;
        if has { vec![false, true] } else { vec![false] }
    }

    /// `Σ_k a[i, k] · b[j, k]` in `i64`, one output at a time.
    fn naive64(a: &[i32], b: &[i32], m: usize, n: usize, k: usize) -> Vec<i64> {
        (0..m * n)
            .map(|o| {
                let (i, j) = (o / n, o % n);
                (0..k)
                    .map(|t| i64::from(a[i * k + t]) * i64::from(b[j * k + t]))
                    .sum()
            })
            .collect()
    }

    /// Every `gemm64` kernel of this machine, serial and in `pool`, gives `want`.
    fn every_path(pool: &rayon::ThreadPool, pa: &Packed, pb: &Packed, want: &[i64], what: &str) {
        for vnni in vnni_paths() {
            let mut serial = vec![0; want.len()];
            gemm64_on(pa, pb, &mut serial, false, vnni);
            assert_eq!(serial, want, "{what}, vnni {vnni}");
            let mut par = vec![0; want.len()];
            pool.install(|| gemm64_on(pa, pb, &mut par, true, vnni));
            assert_eq!(par, want, "{what}, vnni {vnni}, 2 threads");
        }
    }

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
                let want = naive64(&a, &b, m, n, k);
                // The portable loop, on whichever path `gemm64` would pick.
                for (o, w) in want.iter().enumerate() {
                    let (x, y) = (pa.row(o / n), pb.row(o % n));
                    assert_eq!(dot64(x, y, edge != i16::MIN), *w, "portable, edge {edge}");
                }
                every_path(&pool, &pa, &pb, &want, &format!("{m}x{k}x{n}, edge {edge}"));
            }
        }
    }

    /// Long rows of extreme values: the VNNI kernel's `i32` lanes reach their bound (128
    /// steps of the largest low-byte products) and are widened more than once, with a 16-value
    /// tail; every path must give the exact `i64` sums.
    #[test]
    fn gemm64_is_exact_over_long_rows_of_extremes() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let k = 2 * 4096 + 16 + 5;
        for (m, n) in [(6, 5), (1, 7), (9, 4)] {
            for (x, y) in [
                (-32768, 32767),
                (32767, 32767),
                (-32768, -32768),
                (32767, -32767),
            ] {
                let a: Vec<i32> = (0..m * k)
                    .map(|i| if i % 97 == 3 { x / 3 } else { x })
                    .collect();
                let b: Vec<i32> = (0..n * k)
                    .map(|i| if i % 89 == 5 { 1 } else { y })
                    .collect();
                let (pa, pb) = (Packed::from_rows(m, k, &a), Packed::from_rows(n, k, &b));
                let want = naive64(&a, &b, m, n, k);
                every_path(&pool, &pa, &pb, &want, &format!("{m}x{k}x{n}, {x}·{y}"));
            }
        }
    }

    /// The pair layout that the VNNI kernel reads puts every value back together.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn pair_layout_recombines() {
        let (rows, k) = (19, 37);
        let vals: Vec<i32> = (0..rows * k)
            .map(|i| (i as i32 * 3_449) % 65_536 - 32_768)
            .collect();
        let p = Packed::from_rows(rows, k, &vals);
        let pairs = vnni::layout(&p);
        let lanes = vnni::LANES;
        for j in 0..rows {
            for t in 0..k {
                let at =
                    (j / lanes) * 2 * lanes * p.kp + (t / 2) * 2 * lanes + (j % lanes) * 2 + t % 2;
                let (lo, hi) = (pairs[at], pairs[at + lanes * p.kp]);
                assert!((0..=255).contains(&lo) && (-128..=127).contains(&hi));
                assert_eq!(256 * i32::from(hi) + i32::from(lo), vals[j * k + t]);
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
