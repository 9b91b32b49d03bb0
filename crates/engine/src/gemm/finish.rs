//! The vectorized finish of a product's accumulators (`[rows, n]`, `i64` or `i32`): plus the
//! bias, then the requantization `clamp((a · M + 2^(s-1)) >> s, lo, hi)` (`M` per column for a
//! per-channel node) or the wide output (the sum itself, which must fit `i32`).
//!
//! The same integers as the reference finish in [`crate::ops::dense`] (which checks the bias
//! add and the wide output element by element): every caller has proved the section 4 bound
//! of `docs/semantics.md` (`|B[n]| + R · Σ_k |W[n, k]|` fits the accumulator's domain, so
//! `|a + B| · M + 2^(s-1)` fits `i64`), so no sum or product here can wrap. A wide output is
//! still checked (all of it at once): [`finish`] returns `false` when a value does not fit
//! `i32`, and the caller runs the reference finish, which names the overflow. With AVX-512
//! (F and DQ, detected at run time) the loop compiles to 8-lane `i64` multiplies, shifts and
//! clamps; elsewhere the same loop runs as the compiler vectorizes it for the base target.

/// The epilogue of one product: its bias and multipliers (each `n` values, or none) and its
/// requantization.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Epilogue<'a> {
    /// `B[j]` per column, or `None`.
    pub(crate) bias: Option<&'a [i64]>,
    /// `M[j]` per column, or `None` when `m` applies to every column.
    pub(crate) mults: Option<&'a [i64]>,
    /// The one multiplier (unused with `mults`).
    pub(crate) m: i64,
    /// The shift.
    pub(crate) s: u32,
    /// The clamp bounds of the requantized output.
    pub(crate) lo: i64,
    /// See `lo`.
    pub(crate) hi: i64,
    /// Keep the sum (no requantization).
    pub(crate) wide: bool,
}

/// Writes the finished `acc` (`[rows, n]`) into `out` (the same length); `false` when the
/// inputs do not match (`n` of 0, a bias or multiplier list of another length) or a wide
/// value does not fit `i32`: then `out` holds nothing useful and the caller runs the
/// reference finish.
pub(crate) fn finish<A: Copy + Into<i64>>(
    acc: &[A],
    n: usize,
    e: &Epilogue<'_>,
    out: &mut [i32],
) -> bool {
    if n == 0
        || acc.len() != out.len()
        || !acc.len().is_multiple_of(n)
        || e.bias.is_some_and(|b| b.len() != n)
        || e.mults.is_some_and(|m| m.len() != n)
        || e.s >= 64
    {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if avx512() {
            // SAFETY: AVX-512 F and DQ are present (checked by `avx512`).
            return unsafe { finish_avx512(acc, n, e, out) };
        }
    }
    finish_rows(acc, n, e, out)
}

/// Whether this CPU has the AVX-512 instructions the vectorized loop uses.
#[cfg(target_arch = "x86_64")]
fn avx512() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
    })
}

/// [`finish_rows`] compiled for AVX-512 (`vpmullq`, `vpsraq`, `vpminsq`/`vpmaxsq`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
unsafe fn finish_avx512<A: Copy + Into<i64>>(
    acc: &[A],
    n: usize,
    e: &Epilogue<'_>,
    out: &mut [i32],
) -> bool {
    finish_rows(acc, n, e, out)
}

/// Dispatches to one loop per case, so that none branches per element.
#[inline(always)]
fn finish_rows<A: Copy + Into<i64>>(
    acc: &[A],
    n: usize,
    e: &Epilogue<'_>,
    out: &mut [i32],
) -> bool {
    match (e.bias, e.mults, e.wide) {
        (_, _, true) => wide(acc, n, e.bias, out),
        (Some(b), Some(m), false) => requant::<A, true, true>(acc, n, b, m, e, out),
        (Some(b), None, false) => requant::<A, true, false>(acc, n, b, b, e, out),
        (None, Some(m), false) => requant::<A, false, true>(acc, n, m, m, e, out),
        (None, None, false) => requant::<A, false, false>(acc, n, &[], &[], e, out),
    }
}

/// The requantized rows: `clamp(((a + B[j]) · M[j] + 2^(s-1)) >> s, lo, hi)`, `B` and `M`
/// read only when `BIAS` and `MULTS` (an empty list stands for an unread one when neither is).
#[inline(always)]
fn requant<A: Copy + Into<i64>, const BIAS: bool, const MULTS: bool>(
    acc: &[A],
    n: usize,
    bias: &[i64],
    mults: &[i64],
    e: &Epilogue<'_>,
    out: &mut [i32],
) -> bool {
    let half = if e.s == 0 { 0 } else { 1i64 << (e.s - 1) };
    let (s, lo, hi, m0) = (e.s, e.lo, e.hi, e.m);
    if !BIAS && !MULTS {
        for (o, &a) in out.iter_mut().zip(acc) {
            let a: i64 = a.into();
            *o = (a.wrapping_mul(m0).wrapping_add(half) >> s).clamp(lo, hi) as i32;
        }
        return true;
    }
    for (arow, orow) in acc.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        for (((o, &a), &b), &m) in orow.iter_mut().zip(arow).zip(bias).zip(mults) {
            let a: i64 = a.into();
            let a = if BIAS { a.wrapping_add(b) } else { a };
            let m = if MULTS { m } else { m0 };
            *o = (a.wrapping_mul(m).wrapping_add(half) >> s).clamp(lo, hi) as i32;
        }
    }
    true
}

/// The wide rows: `a + B[j]`, which must fit `i32` (checked for the whole matrix at once).
#[inline(always)]
fn wide<A: Copy + Into<i64>>(acc: &[A], n: usize, bias: Option<&[i64]>, out: &mut [i32]) -> bool {
    let (mut min, mut max) = (0i64, 0i64);
    for (arow, orow) in acc.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        match bias {
            Some(b) => {
                for ((o, &a), &b) in orow.iter_mut().zip(arow).zip(b) {
                    let v = Into::<i64>::into(a).saturating_add(b);
                    (min, max) = (min.min(v), max.max(v));
                    *o = v as i32;
                }
            }
            None => {
                for (o, &a) in orow.iter_mut().zip(arow) {
                    let v: i64 = a.into();
                    (min, max) = (min.min(v), max.max(v));
                    *o = v as i32;
                }
            }
        }
    }
    min >= i64::from(i32::MIN) && max <= i64::from(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::dense::{ChannelView, finish as reference};
    use proptest::prelude::*;
    use vouch_semantics::Requant;

    /// The reference finish's result (or `None` where it reports an overflow), and this
    /// module's, on its dispatched path and on the plain loop.
    fn both<A: Copy + Into<i64>>(
        acc: &[A],
        n: usize,
        bias: Option<&[i64]>,
        mults: Option<&[i64]>,
        rq: &Requant,
        wide: bool,
    ) -> (Option<Vec<i32>>, [Option<Vec<i32>>; 2]) {
        let ch = ChannelView { bias, mults };
        let want = reference(acc, n, ch, rq, wide).ok();
        let e = Epilogue {
            bias,
            mults,
            m: rq.m,
            s: rq.s,
            lo: i64::from(rq.lo),
            hi: i64::from(rq.hi),
            wide,
        };
        let mut fast = vec![0; acc.len()];
        let mut plain = vec![0; acc.len()];
        let f = finish(acc, n, &e, &mut fast).then_some(fast);
        let p = finish_rows(acc, n, &e, &mut plain).then_some(plain);
        (want, [f, p])
    }

    /// Accumulators at the edges the bound allows, negative values whose rounding is a tie,
    /// row lengths that leave tails past every vector width.
    #[test]
    fn edges_match_the_reference() {
        let rq = Requant {
            m: 3,
            s: 2,
            lo: -32768,
            hi: 32767,
        };
        for n in [1usize, 3, 7, 8, 9, 15, 17, 64, 67] {
            let acc: Vec<i64> = (0..3 * n as i64)
                .map(|i| match i % 6 {
                    // (3·-2 + 2) >> 2 = -1 and (3·-6 + 2) >> 2 = -4: negative rounding
                    0 => -2,
                    1 => -6,
                    // far past the clamp bounds
                    2 => 1 << 40,
                    3 => -(1 << 40),
                    // (3·43_690 + 2) >> 2 = 32_768 and (3·-43_691 + 2) >> 2 = -32_768:
                    // one past `hi`, and `lo` itself
                    4 => 43_690,
                    _ => -43_691,
                })
                .collect();
            let bias: Vec<i64> = (0..n as i64).map(|j| j - 3).collect();
            let mults: Vec<i64> = (0..n as i64).map(|j| 1 + j % 5).collect();
            for (b, m) in [
                (None, None),
                (Some(&bias[..]), None),
                (None, Some(&mults[..])),
                (Some(&bias[..]), Some(&mults[..])),
            ] {
                let rq = Requant {
                    m: if m.is_some() { 0 } else { rq.m },
                    ..rq
                };
                let (want, got) = both(&acc, n, b, m, &rq, false);
                assert!(want.is_some());
                for g in got {
                    assert_eq!(
                        g,
                        want,
                        "n {n}, bias {}, mults {}",
                        b.is_some(),
                        m.is_some()
                    );
                }
            }
            // wide: the `1 << 40`s do not fit `i32`: the fast finish declines, the reference
            // reports it; a matrix that fits gives the same values
            let (want, got) = both(&acc, n, Some(&bias), None, &rq, true);
            assert!(want.is_none() && got.iter().all(Option::is_none));
            let fits: Vec<i64> = acc
                .iter()
                .map(|&a| a.clamp(-(1 << 31) + 100, (1 << 31) - 100))
                .collect();
            let (want, got) = both(&fits, n, Some(&bias), None, &rq, true);
            assert!(want.is_some());
            for g in got {
                assert_eq!(g, want, "wide, n {n}");
            }
        }
    }

    proptest! {
        /// Random matrices within the section 4 bound, `i64` and `i32` accumulators.
        #[test]
        fn random_matches_the_reference(
            rows in 1usize..9,
            n in 1usize..40,
            s in 0u32..40,
            m in 1i64..(1 << 20),
            act8 in any::<bool>(),
            per_channel in any::<bool>(),
            has_bias in any::<bool>(),
            wide in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let mut st = seed;
            let mut next = |span: i64| {
                st = st.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((st >> 11) as i64).rem_euclid(2 * span + 1) - span
            };
            let span = if wide { 1 << 30 } else { 1 << 40 };
            let acc: Vec<i64> = (0..rows * n).map(|_| next(span)).collect();
            let acc32: Vec<i32> = acc.iter().map(|&a| (a >> 10) as i32).collect();
            let bias: Vec<i64> = (0..n).map(|_| next(1 << 29)).collect();
            let mults: Vec<i64> = (0..n).map(|_| 1 + next(1 << 19).abs()).collect();
            let per_channel = per_channel && !wide;
            let (lo, hi) = if act8 { (-128, 127) } else { (-32768, 32767) };
            let rq = Requant { m: if per_channel { 0 } else { m }, s, lo, hi };
            let b = has_bias.then_some(&bias[..]);
            let ms = per_channel.then_some(&mults[..]);
            let (want, got) = both(&acc, n, b, ms, &rq, wide);
            for g in got {
                prop_assert_eq!(&g, &want);
            }
            let (want, got) = both(&acc32, n, b, ms, &rq, wide);
            for g in got {
                prop_assert_eq!(&g, &want);
            }
        }
    }
}
