//! Per-output-channel requantization of `Linear` and `Conv` (`docs/semantics.md` section 3,
//! version 6).
//!
//! A node whose requantization multiplier `M` is 0 requantizes each output channel `n` with
//! its own multiplier `M[n]` and the node's one shift `s`. The multipliers travel in the bias
//! constant, which then has shape `[N, 3]`: `B[n] = B[n, 0] · 2^31 + B[n, 1]` (the wide bias
//! form of version 5) and `M[n] = B[n, 2]`, `1 <= M[n] < 2^31`.

use crate::{Requant, accumulator_fits};

/// The first semantics version whose `Linear` and `Conv` nodes may requantize per output
/// channel (an `[N, 3]` bias holding `M[n]`, [`channel_multipliers`]).
pub const PER_CHANNEL_VERSION: u32 = 6;

/// Whether a stored bias of `shape` for `n` outputs is the per-channel form `[N, 3]`.
pub fn is_per_channel(shape: &[u32], n: usize) -> bool {
    n > 0 && matches!(shape, [len, 3] if usize::try_from(*len).ok() == Some(n))
}

/// The `N` multipliers `M[n] = B[n, 2]` of a per-channel bias (`[N, 3]`, [`is_per_channel`]);
/// `None` for any other bias, or when a multiplier is outside `[1, 2^31)`.
pub fn channel_multipliers(shape: &[u32], data: &[i32], n: usize) -> Option<Vec<i64>> {
    if !is_per_channel(shape, n) || Some(data.len()) != n.checked_mul(3) {
        return None;
    }
    data.chunks_exact(3)
        .map(|t| match *t {
            [_, _, m] if m >= 1 => Some(i64::from(m)),
            _ => None,
        })
        .collect()
}

/// The stored triple `[hi, lo, M]` of bias value `b` with multiplier `m` (the inverse of
/// [`crate::bias_values`] and [`channel_multipliers`]); `None` when `b` does not fit a wide
/// pair or `m` is outside `[1, 2^31)`.
pub fn split_channel(b: i64, m: i64) -> Option<[i32; 3]> {
    let [hi, lo] = crate::split_bias(b)?;
    let m = i32::try_from(m).ok().filter(|&m| m >= 1)?;
    Some([hi, lo, m])
}

/// The requantization of output channel `n`: the node's `rq` with `M` replaced by `M[n]` when
/// `mults` holds the per-channel multipliers, else `rq` itself.
#[inline]
pub fn channel_requant(rq: &Requant, mults: Option<&[i64]>, n: usize) -> Requant {
    match mults.and_then(|m| m.get(n)) {
        Some(&m) => Requant { m, ..*rq },
        None => *rq,
    }
}

/// Section 4 for a per-channel node: for every output row `n` (weights `w` in rows of
/// `per_row`, bias values `bias`), `(|B[n]| + r · Σ_k |W[n, k]|) · M[n] + 2^(s-1)` stays in
/// `i64`. Returns the largest row bound (which decides whether sums pass `i32`) when every row
/// fits, `None` otherwise.
pub fn channels_fit(
    w: &[i32],
    per_row: usize,
    bias: Option<&[i64]>,
    r: i64,
    rq: &Requant,
    mults: &[i64],
) -> Option<i128> {
    let mut worst = 0i128;
    for (n, &m) in mults.iter().enumerate() {
        let row = w.get(n * per_row..(n + 1) * per_row)?;
        let b = bias.and_then(|b| b.get(n)).copied();
        let bound =
            crate::accumulator_bound(row, per_row.max(1), b.as_ref().map(std::slice::from_ref), r);
        if !accumulator_fits(bound, &Requant { m, ..*rq }, false) {
            return None;
        }
        worst = worst.max(bound);
    }
    Some(worst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bias_values;

    #[test]
    fn triples_round_trip_and_malformed_ones_are_refused() {
        let t1 = split_channel(-5, 20_000).unwrap();
        let t2 = split_channel(1 << 40, 1).unwrap();
        let data = [t1, t2].concat();
        assert_eq!(bias_values(&[2, 3], &data, 2), Some(vec![-5, 1 << 40]));
        assert_eq!(
            channel_multipliers(&[2, 3], &data, 2),
            Some(vec![20_000, 1])
        );
        assert_eq!(channel_multipliers(&[2, 2], &data[..4], 2), None);
        assert_eq!(channel_multipliers(&[2, 3], &[0, 0, 0, 0, 0, 1], 2), None);
        assert_eq!(split_channel(0, 0), None);
        assert_eq!(split_channel(0, 1 << 31), None);
        assert!(is_per_channel(&[2, 3], 2) && !is_per_channel(&[2, 3], 3));
    }

    #[test]
    fn each_row_is_bounded_with_its_own_multiplier() {
        let rq = Requant {
            m: 0,
            s: 40,
            lo: -128,
            hi: 127,
        };
        let w = [1i32, 1, 1 << 20, 1 << 20];
        // row 1's bound is 2^21 · 2^15 = 2^36; with M = 2^30 it overflows, row 0's does not
        assert_eq!(
            channels_fit(&w, 2, None, 1 << 15, &rq, &[1 << 30, 1]),
            Some(1 << 36)
        );
        assert_eq!(channels_fit(&w, 2, None, 1 << 15, &rq, &[1, 1 << 30]), None);
        let plain = Requant { m: 7, ..rq };
        assert_eq!(channel_requant(&plain, Some(&[3, 4]), 1).m, 4);
        assert_eq!(channel_requant(&plain, None, 1).m, 7);
    }
}
