//! The scalar integer functions of `docs/semantics.md` (version [`SEMANTICS_VERSION`]).
//!
//! Every function is total over its documented domain and returns an [`Error`] outside it,
//! never wrapping. The engine, the circuit and the on-chain checker implement these same
//! definitions; the property tests below pin them against a big-integer reference.
//!
//! | function | definition |
//! |---|---|
//! | [`round_shift`] | `(x + 2^(s-1)) >> s`, round half up |
//! | [`requant`] | `clamp(round_shift(x * M, s), lo, hi)` |
//! | [`div_round`] | `floor((2a + n) / 2n)` |
//!
//! [`Family`] is the op table: the family each op belongs to, and so the module that holds it
//! in every checker (`docs/adding-an-op.md`).

#![forbid(unsafe_code)]
// A checker must not abort on input: no unwrap, expect or panic outside tests (a justified
// `allow` marks the exceptions).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
pub mod channels;
pub mod family;
pub mod impute;
pub mod pad;
pub mod reduce;
pub mod tree;
pub use channels::{
    PER_CHANNEL_VERSION, channel_multipliers, channel_requant, channels_fit, is_per_channel,
    split_channel,
};
pub use family::Family;
pub use impute::Imputation;
pub use pad::PadMode;
pub use reduce::{MAX_REDUCE_SPAN, ReduceMode, ReducePlan, reduce_span, reduce_tree_groups};
pub use tree::{Aggregate, NodeMode};

/// The semantics version this crate implements (and the one new packages record). Version 3
/// added the zk statement (`docs/semantics.md` section 9: the input commitment is circomlib's
/// Poseidon) and changed nothing the engine executes; version 4 lets a `Lut` table have
/// `2^k` entries (`8 <= k <= 16`, [`lut_index`]) instead of exactly 256; version 5 lets a
/// `Linear` or `Conv` bias be `i64`-ranged, stored as `[N, 2]` pairs ([`bias_values`]);
/// version 6 lets them requantize per output channel ([`channels`]).
pub const SEMANTICS_VERSION: u32 = 6;
/// The first version whose `Linear` and `Conv` biases may be wide (`[N, 2]`, [`bias_values`]).
pub const WIDE_BIAS_VERSION: u32 = 5;
/// The oldest version a zk proof may be made or checked for: versions 1 and 2 committed zk
/// inputs with vouch's own pre-standard Poseidon, which this build no longer computes.
pub const ZK_MIN_VERSION: u32 = 3;
/// The oldest version this crate still executes. Version 2 only widened the ranges of
/// version 1 (`act16` tensors, `i16` weights, `i64` accumulators), so a version 1 package means
/// the same under both.
pub const SEMANTICS_VERSION_MIN: u32 = 1;
/// Largest tensor (elements) any checker runs: the engine refuses a node whose output at the
/// given batch would exceed it. The importer relies on it: a `Slice` of the batch axis from 0,
/// step 1, whose end reaches `MAX_ELEMENTS / (elements per row)` keeps every batch the engine
/// can run whole, so it is the identity (`docs/semantics.md` section 1).
pub const MAX_ELEMENTS: usize = 1 << 28;
/// Smallest `act8` value.
pub const ACT_MIN: i32 = -128;
/// Largest `act8` value.
pub const ACT_MAX: i32 = 127;
/// Smallest `act16` value.
pub const ACT16_MIN: i32 = -32_768;
/// Largest `act16` value.
pub const ACT16_MAX: i32 = 32_767;
/// Largest weight magnitude (weights are symmetric `i16`, `[-32767, 32767]`).
pub const WEIGHT_MAX: i32 = 32_767;

/// The fewest entries of a `Lut` table (an `act8` input's 256 values).
pub const LUT_MIN_ENTRIES: usize = 256;
/// The most entries of a `Lut` table (version 4).
pub const LUT_MAX_ENTRIES: usize = 65_536;

/// Whether `n` is a `Lut` table size of semantics version `version`: 256, or from version 4 a
/// power of two from 256 to 65,536.
pub const fn lut_size_ok(n: usize, version: u32) -> bool {
    if version < 4 {
        n == LUT_MIN_ENTRIES
    } else {
        n.is_power_of_two() && n >= LUT_MIN_ENTRIES && n <= LUT_MAX_ENTRIES
    }
}

/// The entry of an `n`-entry `Lut` table that input `x` reads: `x + n/2`, when it is in
/// `[0, n)` (`docs/semantics.md` section 3); `None` for an input outside `[-n/2, n/2)`.
pub fn lut_index(x: i32, n: usize) -> Option<usize> {
    let half = i64::try_from(n / 2).ok()?;
    let i = usize::try_from(i64::from(x) + half).ok()?;
    (i < n).then_some(i)
}

/// The index along an axis of `n >= 1` elements that a `Gather` index value `v` picks
/// (`docs/semantics.md` section 3): a negative `v` counts from the end once (`v + n`), then the
/// result is clamped to `[0, n - 1]`, so every `i32` names an element. `None` only for `n = 0`.
pub fn gather_index(v: i32, n: usize) -> Option<usize> {
    let last = i64::try_from(n).ok()?.checked_sub(1).filter(|&l| l >= 0)?;
    let v = i64::from(v);
    let j = if v < 0 { v + last + 1 } else { v };
    usize::try_from(j.clamp(0, last)).ok()
}

/// Whether zk proofs of a package of semantics version `v` can be made and checked (the
/// engine still executes older versions in the other modes).
pub const fn zk_supports_version(v: u32) -> bool {
    v >= ZK_MIN_VERSION && v <= SEMANTICS_VERSION
}

/// `Ok` when zk proofs of a package of semantics version `v` can be made and checked;
/// otherwise why not and what to do (the one message the circuit and the zk input commitment
/// give).
pub fn check_zk_version(v: u32) -> Result<(), String> {
    if zk_supports_version(v) {
        Ok(())
    } else if v < ZK_MIN_VERSION {
        Err(format!(
            "zk mode needs a package of semantics version {ZK_MIN_VERSION} or newer (inputs \
             committed with circomlib's Poseidon); this one is version {v}: re-import the model \
             with this vouch"
        ))
    } else {
        Err(format!(
            "package semantics version {v} is newer than this build ({SEMANTICS_VERSION}): \
             upgrade vouch"
        ))
    }
}

/// Whether this build executes packages of semantics version `v`.
pub const fn supports_version(v: u32) -> bool {
    v >= SEMANTICS_VERSION_MIN && v <= SEMANTICS_VERSION
}
/// Largest allowed shift.
pub const MAX_SHIFT: u32 = 62;

/// Errors from evaluating a definition outside its domain (only a malformed package does that).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An intermediate left `i64`.
    #[error("integer overflow in {what}")]
    Overflow {
        /// Which definition overflowed.
        what: &'static str,
    },
    /// A parameter is outside its documented domain.
    #[error("invalid parameter: {what}")]
    Domain {
        /// Which parameter.
        what: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Requantization parameters of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Requant {
    /// Multiplier, `1 <= m < 2^31`.
    pub m: i64,
    /// Shift, `0 <= s <= 62`.
    pub s: u32,
    /// Lower clamp bound.
    pub lo: i32,
    /// Upper clamp bound.
    pub hi: i32,
}

impl Requant {
    /// The identity requantization onto the `act8` range.
    pub const IDENTITY: Self = Self {
        m: 1,
        s: 0,
        lo: ACT_MIN,
        hi: ACT_MAX,
    };
    /// The identity `Softmax` index map: `k = clamp(max - x, 0, 255)`.
    pub const SOFTMAX_INDEX: Self = Self {
        m: 1,
        s: 0,
        lo: 0,
        hi: 255,
    };

    /// Checks the documented domain of the parameters.
    pub fn validate(&self) -> Result<()> {
        if !(1..(1i64 << 31)).contains(&self.m) {
            return Err(Error::Domain {
                what: "requant multiplier M",
            });
        }
        if self.s > MAX_SHIFT {
            return Err(Error::Domain {
                what: "requant shift s",
            });
        }
        if self.lo > self.hi {
            return Err(Error::Domain {
                what: "requant bounds lo > hi",
            });
        }
        Ok(())
    }

    /// Applies the requantization to `x` (`docs/semantics.md` section 2).
    #[inline]
    pub fn apply(&self, x: i64) -> Result<i32> {
        requant(x, self.m, self.s, self.lo, self.hi)
    }
}

/// `floor(a / 2^s)` with the half added first: round half up. `s = 0` returns `x`.
#[inline]
pub fn round_shift(x: i64, s: u32) -> Result<i64> {
    if s == 0 {
        return Ok(x);
    }
    if s > MAX_SHIFT {
        return Err(Error::Domain { what: "shift" });
    }
    let half = 1i64 << (s - 1);
    let sum = x.checked_add(half).ok_or(Error::Overflow {
        what: "round_shift",
    })?;
    Ok(sum >> s)
}

/// `clamp(round_shift(x * m, s), lo, hi)`.
#[inline]
pub fn requant(x: i64, m: i64, s: u32, lo: i32, hi: i32) -> Result<i32> {
    let prod = x.checked_mul(m).ok_or(Error::Overflow {
        what: "requant product",
    })?;
    let r = round_shift(prod, s)?;
    let c = r.clamp(i64::from(lo), i64::from(hi));
    i32::try_from(c).map_err(|_| Error::Overflow {
        what: "requant result",
    })
}

/// Floor division for `b > 0`.
#[inline]
pub fn floor_div(a: i64, b: i64) -> Result<i64> {
    if b <= 0 {
        return Err(Error::Domain {
            what: "floor_div divisor",
        });
    }
    Ok(a.div_euclid(b))
}

/// `floor((2a + n) / (2n))`: `a / n` rounded half up, for `n > 0`.
#[inline]
pub fn div_round(a: i64, n: i64) -> Result<i64> {
    let two_a = a
        .checked_mul(2)
        .ok_or(Error::Overflow { what: "div_round" })?;
    let num = two_a
        .checked_add(n)
        .ok_or(Error::Overflow { what: "div_round" })?;
    let den = n
        .checked_mul(2)
        .ok_or(Error::Overflow { what: "div_round" })?;
    floor_div(num, den)
}

/// The `N` bias values of a `Linear` or `Conv` node with `n` outputs from the stored constant
/// (`docs/semantics.md` section 3): a constant of `N` elements (shape `[N]`, or any shape of
/// that size) holds `B[n]` itself; shape `[N, 2]` (a *wide* bias, version 5) holds
/// `B[n] = B[n, 0] · 2^31 + B[n, 1]`, an exact `i64`-ranged value; shape `[N, 3]` (version 6,
/// [`channels`]) holds the same pair followed by the channel's multiplier. `None` for any
/// other size.
pub fn bias_values(shape: &[u32], data: &[i32], n: usize) -> Option<Vec<i64>> {
    if data.len() == n {
        return Some(data.iter().map(|&b| i64::from(b)).collect());
    }
    let cols = match shape {
        [len, c @ (2 | 3)] if usize::try_from(*len).ok() == Some(n) => *c as usize,
        _ => return None,
    };
    (n > 0 && Some(data.len()) == n.checked_mul(cols)).then(|| {
        data.chunks_exact(cols)
            .map(|p| match *p {
                [hi, lo, ..] => i64::from(hi) * (1 << 31) + i64::from(lo),
                _ => 0,
            })
            .collect()
    })
}

/// Whether a stored bias of `shape` for `n` outputs is wide (`[N, 2]`, [`bias_values`]).
pub fn is_wide_bias(shape: &[u32], n: usize) -> bool {
    n > 0 && matches!(shape, [len, 2] if usize::try_from(*len).ok() == Some(n))
}

/// The stored pair `[hi, lo]` of a wide bias value `b` (the inverse of [`bias_values`]):
/// `hi = floor(b / 2^31)` and `lo = b mod 2^31` in `[0, 2^31)`. `None` when `hi` leaves `i32`.
pub fn split_bias(b: i64) -> Option<[i32; 2]> {
    let hi = i32::try_from(b.div_euclid(1 << 31)).ok()?;
    let lo = i32::try_from(b.rem_euclid(1 << 31)).ok()?;
    Some([hi, lo])
}

/// The largest accumulator magnitude of `Linear` and `Conv` (`docs/semantics.md` section 4):
/// the maximum over output rows `n` (weights `w` in rows of `per_row`, optional `bias` values
/// from [`bias_values`]) of `|B[n]| + r · Σ_k |W[n, k]|`, with `r` the largest input magnitude
/// (128 for `act8`, 32768 for `act16`). Saturates at `i128::MAX` (never reached by a package
/// that fits memory).
pub fn accumulator_bound(w: &[i32], per_row: usize, bias: Option<&[i64]>, r: i64) -> i128 {
    w.chunks(per_row.max(1))
        .enumerate()
        .map(|(n, row)| {
            let sum: i128 = row.iter().map(|v| i128::from(v.unsigned_abs())).sum();
            let b = bias
                .and_then(|b| b.get(n))
                .map_or(0, |v| i128::from(v.unsigned_abs()));
            b.saturating_add(sum.saturating_mul(i128::from(r)))
        })
        .max()
        .unwrap_or(0)
}

/// Whether an accumulator bounded by `bound` (from [`accumulator_bound`]) is in the domain of
/// section 4: below `2^31` for a `wide` output (it is stored as an `i32`), else small enough
/// that `bound · M + 2^(s-1)` stays inside `i64`.
pub fn accumulator_fits(bound: i128, rq: &Requant, wide: bool) -> bool {
    if wide {
        return bound < 1 << 31;
    }
    let half = if rq.s == 0 { 0 } else { 1i128 << (rq.s - 1) };
    bound
        .checked_mul(i128::from(rq.m))
        .and_then(|p| p.checked_add(half))
        .is_some_and(|p| p <= i128::from(i64::MAX))
}

/// The `Softmax` output of one slice (`docs/semantics.md` section 3), given the table `e`
/// (256 entries, `e[0] = 2^16`) and the index requantization `rq` (`lo = 0`, `hi = 255`).
/// Writes `out[j]` for every `x[j]`.
pub fn softmax_slice(x: &[i32], table: &[i32], rq: &Requant, out: &mut [i32]) -> Result<()> {
    let m = x.iter().copied().max().ok_or(Error::Domain {
        what: "empty softmax slice",
    })?;
    let lookup = |v: i32| -> Result<i64> {
        let k = rq.apply(i64::from(m) - i64::from(v))?;
        usize::try_from(k)
            .ok()
            .and_then(|k| table.get(k))
            .map(|&t| i64::from(t))
            .ok_or(Error::Domain {
                what: "softmax index outside the table",
            })
    };
    let mut sum = 0i64;
    for &v in x {
        sum = sum.checked_add(lookup(v)?).ok_or(Error::Overflow {
            what: "softmax sum",
        })?;
    }
    if sum <= 0 {
        return Err(Error::Domain {
            what: "softmax table sums to zero",
        });
    }
    for (o, &v) in out.iter_mut().zip(x) {
        let e = lookup(v)?;
        let z = floor_div(e * 254 + sum, 2 * sum)?;
        *o = i32::try_from(z).map_err(|_| Error::Overflow {
            what: "softmax result",
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod gather_tests {
    use super::gather_index;

    #[test]
    fn gather_indices_wrap_once_then_clamp() {
        // in range, negative from the end, past either end clamped
        let picks: Vec<Option<usize>> = [0, 4, -1, -5, 5, 99, -6, i32::MIN, i32::MAX]
            .into_iter()
            .map(|v| gather_index(v, 5))
            .collect();
        let want = [0, 4, 4, 0, 4, 4, 0, 0, 4].map(Some);
        assert_eq!(picks, want);
        assert_eq!(gather_index(0, 0), None);
        assert_eq!(gather_index(-1, 1), Some(0));
    }
}

#[cfg(test)]
mod lut_tests {
    use super::{lut_index, lut_size_ok};

    #[test]
    fn lut_tables_of_2k_entries_index_from_the_middle() {
        assert_eq!(lut_index(-128, 256), Some(0));
        assert_eq!(lut_index(127, 256), Some(255));
        assert_eq!(lut_index(128, 256), None);
        assert_eq!(lut_index(-8192, 16_384), Some(0));
        assert_eq!(lut_index(8191, 16_384), Some(16_383));
        assert_eq!(lut_index(-8193, 16_384), None);
        assert!(lut_size_ok(256, 3) && !lut_size_ok(1024, 3));
        assert!(lut_size_ok(1024, 4) && lut_size_ok(65_536, 4));
        assert!(!lut_size_ok(1000, 4) && !lut_size_ok(128, 4) && !lut_size_ok(131_072, 4));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference in i128 with explicit floor semantics.
    fn ref_requant(x: i64, m: i64, s: u32, lo: i32, hi: i32) -> i32 {
        let p = i128::from(x) * i128::from(m);
        let r = if s == 0 {
            p
        } else {
            (p + (1i128 << (s - 1))).div_euclid(1i128 << s)
        };
        r.clamp(i128::from(lo), i128::from(hi)) as i32
    }

    #[test]
    fn rounds_half_up_on_both_signs() {
        assert_eq!(round_shift(3, 1), Ok(2)); // 1.5 -> 2
        assert_eq!(round_shift(-3, 1), Ok(-1)); // -1.5 -> -1
        assert_eq!(round_shift(-5, 2), Ok(-1)); // -1.25 -> -1
        assert_eq!(round_shift(-6, 2), Ok(-1)); // -1.5 -> -1
        assert_eq!(round_shift(-7, 2), Ok(-2)); // -1.75 -> -2
        assert_eq!(div_round(5, 2), Ok(3));
        assert_eq!(div_round(-5, 2), Ok(-2));
        assert_eq!(div_round(-7, 3), Ok(-2));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(
            requant(i64::MAX / 2, 3, 0, -128, 127),
            Err(Error::Overflow {
                what: "requant product"
            })
        );
        assert!(round_shift(i64::MAX, 4).is_err());
        assert!(
            Requant {
                m: 0,
                s: 1,
                lo: 0,
                hi: 1
            }
            .validate()
            .is_err()
        );
        assert!(
            Requant {
                m: 1,
                s: 63,
                lo: 0,
                hi: 1
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn wide_biases_round_trip_through_their_pairs() {
        for b in [
            0i64,
            1,
            -1,
            4_000_000_000,
            -4_000_000_000,
            i64::from(i32::MIN),
            1 << 61,
        ] {
            let [hi, lo] = split_bias(b).unwrap();
            assert!((0..1 << 31).contains(&i64::from(lo)));
            assert_eq!(bias_values(&[1, 2], &[hi, lo], 1), Some(vec![b]));
        }
        assert_eq!(split_bias(i64::MAX), None);
        assert_eq!(bias_values(&[2], &[3, -4], 2), Some(vec![3, -4]));
        assert_eq!(bias_values(&[1, 2], &[3, -4], 2), Some(vec![3, -4]));
        // N elements are plain, [N, 2] is wide, anything else is refused
        assert_eq!(bias_values(&[4], &[0; 4], 2), None);
        assert!(is_wide_bias(&[2, 2], 2) && !is_wide_bias(&[1, 2], 2));
        assert_eq!(bias_values(&[2, 3], &[0; 6], 3), None);
        assert_eq!(bias_values(&[2, 2], &[0; 3], 2), None);
    }

    #[test]
    fn accumulator_bound_takes_the_worst_row() {
        let w = [127i32; 8];
        assert_eq!(accumulator_bound(&w, 4, None, 128), 4 * 127 * 128);
        assert_eq!(
            accumulator_bound(&w, 4, Some(&[0, -1_000_000]), 128),
            1_000_000 + 4 * 127 * 128
        );
        // a wide bias counts at its full i64 magnitude
        assert_eq!(
            accumulator_bound(&w, 4, Some(&[-(5 << 31), 0]), 128),
            (5 << 31) + 4 * 127 * 128
        );
        let wide_ok = Requant::IDENTITY;
        assert!(accumulator_fits((1 << 31) - 1, &wide_ok, true));
        assert!(!accumulator_fits(1 << 31, &wide_ok, true));
        // act16 x i16 over 784 inputs needs the i64 accumulator but fits it.
        let big = vec![-WEIGHT_MAX; 784];
        let b = accumulator_bound(&big, 784, None, 32_768);
        assert!(b > 1 << 31);
        let rq = Requant {
            m: (1 << 15) - 1,
            s: 40,
            lo: ACT16_MIN,
            hi: ACT16_MAX,
        };
        assert!(accumulator_fits(b, &rq, false));
        assert!(!accumulator_fits(b, &rq, true));
        assert!(!accumulator_fits(i128::from(i64::MAX), &rq, false));
    }

    #[test]
    fn softmax_is_uniform_on_equal_inputs() {
        let mut table = vec![0i32; 256];
        table[0] = 1 << 16;
        let mut out = [0; 4];
        softmax_slice(&[5, 5, 5, 5], &table, &Requant::SOFTMAX_INDEX, &mut out).unwrap();
        assert_eq!(out, [32, 32, 32, 32]); // round(127/4) = 31.75 -> 32
    }

    proptest! {
        #[test]
        fn requant_matches_reference(x in -(1i64 << 31)..(1i64 << 31), m in 1i64..(1 << 31), s in 0u32..=62, lo in -200i32..0, hi in 0i32..200) {
            prop_assert_eq!(requant(x, m, s, lo, hi).unwrap(), ref_requant(x, m, s, lo, hi));
        }

        #[test]
        fn requant_is_monotone(x in -(1i64 << 31)..(1i64 << 31), d in 0i64..1000, m in 1i64..(1 << 31), s in 0u32..=62) {
            prop_assert!(requant(x, m, s, -128, 127).unwrap() <= requant(x + d, m, s, -128, 127).unwrap());
        }

        #[test]
        fn div_round_is_nearest(a in -(1i64 << 40)..(1i64 << 40), n in 1i64..100_000) {
            let q = div_round(a, n).unwrap();
            // |a - q n| <= n / 2, with ties going up.
            let r = a - q * n;
            prop_assert!(2 * r < n && 2 * r >= -n, "a={a} n={n} q={q}");
        }

        #[test]
        fn softmax_sums_near_127(x in proptest::collection::vec(-128i32..=127, 1..20)) {
            let table: Vec<i32> = (0..256).map(|k| ((1u32 << 16) >> (k / 16).min(16)) as i32).collect();
            let mut out = vec![0; x.len()];
            softmax_slice(&x, &table, &Requant::SOFTMAX_INDEX, &mut out).unwrap();
            let total: i32 = out.iter().sum();
            prop_assert!(out.iter().all(|&o| (0..=127).contains(&o)));
            prop_assert!((total - 127).abs() <= x.len() as i32);
        }
    }
}
