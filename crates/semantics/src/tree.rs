//! Tree ensembles (`docs/semantics.md` section 3.1): the input encoding of a feature as its
//! rank among the feature's thresholds ([`feature_code`]), the branch test on codes
//! ([`NodeMode::holds`]) and the aggregation of leaf values ([`Aggregate`]). The float
//! reference compares floats, the engine compares codes; section 3.1 proves they agree.

use crate::{Error, Result};

/// The code of a missing (NaN) feature value.
pub const MISSING: i32 = -1;
/// Most thresholds one feature may have (its codes then fill `[-1, 32766]`, an `act16`).
pub const MAX_THRESHOLDS: usize = 16_383;
/// Columns of a row of a `TreeEnsemble`'s `nodes` constant: `[mode, feature, c, missing, a, b]`.
pub const NODE_COLS: usize = 6;
/// Columns of a row of a `TreeEnsemble`'s `weights` constant: `[target, value]`.
pub const WEIGHT_COLS: usize = 2;
/// Most branches on a root-to-leaf path of a tree the dispute game judges
/// (`docs/semantics.md` section 8.6): the one-step check proves one `nodes` row per level, so
/// the depth bounds its gas. Deeper ensembles are refused for the optimistic and committee
/// modes before a task is accepted.
pub const MAX_DISPUTE_DEPTH: usize = 6;
/// Most weight rows one leaf may own in a tree ensemble the dispute game judges (section 8.6).
pub const MAX_DISPUTE_LEAF_ROWS: usize = 16;

/// A node's test (ONNX `nodes_modes`), with its code in the `nodes` constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum NodeMode {
    /// `x <= t` (code 0).
    Leq,
    /// `x < t` (code 1).
    Lt,
    /// `x >= t` (code 2).
    Gte,
    /// `x > t` (code 3).
    Gt,
    /// `x == t` (code 4).
    Eq,
    /// `x != t` (code 5).
    Neq,
    /// A leaf (code 6).
    Leaf,
}

impl NodeMode {
    /// Every mode, in code order.
    pub const ALL: [Self; 7] = [
        Self::Leq,
        Self::Lt,
        Self::Gte,
        Self::Gt,
        Self::Eq,
        Self::Neq,
        Self::Leaf,
    ];

    /// The ONNX name (`BRANCH_LEQ`, ..., `LEAF`).
    pub const fn onnx(self) -> &'static str {
        match self {
            Self::Leq => "BRANCH_LEQ",
            Self::Lt => "BRANCH_LT",
            Self::Gte => "BRANCH_GTE",
            Self::Gt => "BRANCH_GT",
            Self::Eq => "BRANCH_EQ",
            Self::Neq => "BRANCH_NEQ",
            Self::Leaf => "LEAF",
        }
    }

    /// The mode of an ONNX name.
    pub fn from_onnx(s: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.onnx().as_bytes() == s)
    }

    /// The code in the `nodes` constant.
    pub const fn code(self) -> i32 {
        match self {
            Self::Leq => 0,
            Self::Lt => 1,
            Self::Gte => 2,
            Self::Gt => 3,
            Self::Eq => 4,
            Self::Neq => 5,
            Self::Leaf => 6,
        }
    }

    /// The mode of a code.
    pub fn from_code(c: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == c)
    }

    /// Whether a branch holds for feature code `q` against threshold code `c` (section 3.1):
    /// a missing `q` holds when `missing` (ONNX `missing_value_tracks_true`) or for `NEQ`.
    /// A leaf never holds.
    pub const fn holds(self, q: i32, c: i32, missing: bool) -> bool {
        if q == MISSING {
            return !matches!(self, Self::Leaf) && (missing || matches!(self, Self::Neq));
        }
        match self {
            Self::Leq => q <= c,
            Self::Lt => q < c,
            Self::Gte => q >= c,
            Self::Gt => q > c,
            Self::Eq => q == c,
            Self::Neq => q != c,
            Self::Leaf => false,
        }
    }

    /// The float test the code test reproduces: `x OP t`, with the same missing-value rule
    /// (onnxruntime's). The float reference walks trees with it.
    pub fn holds_f32(self, x: f32, t: f32, missing: bool) -> bool {
        if x.is_nan() && missing && !matches!(self, Self::Leaf) {
            return true;
        }
        match self {
            Self::Leq => x <= t,
            Self::Lt => x < t,
            Self::Gte => x >= t,
            Self::Gt => x > t,
            Self::Eq => x == t,
            Self::Neq => x != t,
            Self::Leaf => false,
        }
    }
}

/// How the leaf values of a target combine across trees (`AVERAGE` is a `SUM` of values the
/// importer divided by the number of trees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Aggregate {
    /// The sum.
    Sum,
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
}

impl Aggregate {
    /// The name in `docs/semantics.md` and the test vectors.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sum => "SUM",
            Self::Min => "MIN",
            Self::Max => "MAX",
        }
    }

    /// The code in a one-step descriptor (0 `SUM`, 1 `MIN`, 2 `MAX`; opcode 30 is reserved).
    pub const fn code(self) -> u8 {
        match self {
            Self::Sum => 0,
            Self::Min => 1,
            Self::Max => 2,
        }
    }

    /// Folds `v` into the running value `acc` (`None` before the first value).
    pub fn fold(self, acc: Option<i64>, v: i64) -> Result<i64> {
        Ok(match (self, acc) {
            (_, None) => v,
            (Self::Sum, Some(a)) => a.checked_add(v).ok_or(Error::Overflow {
                what: "tree ensemble sum",
            })?,
            (Self::Min, Some(a)) => a.min(v),
            (Self::Max, Some(a)) => a.max(v),
        })
    }
}

/// The code of float feature value `x` given its feature's thresholds `t` (strictly increasing,
/// no NaN): `-1` for NaN, else `2·#{t < x} + [x ∈ t]` (section 3.1).
pub fn feature_code(x: f32, t: &[f32]) -> i32 {
    if x.is_nan() {
        return MISSING;
    }
    let below = t.partition_point(|&v| v < x);
    let equal = t.get(below).is_some_and(|&v| v == x);
    // |t| <= MAX_THRESHOLDS in a valid package, so the code fits; saturate otherwise.
    let code = below.saturating_mul(2).saturating_add(usize::from(equal));
    i32::try_from(code).unwrap_or(i32::MAX)
}

/// The threshold code of threshold index `j`: `2j + 1`.
pub fn threshold_code(j: usize) -> Result<i32> {
    j.checked_mul(2)
        .and_then(|v| v.checked_add(1))
        .and_then(|v| i32::try_from(v).ok())
        .ok_or(Error::Domain {
            what: "threshold index",
        })
}

/// Checks one feature's threshold list: strictly increasing, no NaN, no `-0.0`, at most
/// [`MAX_THRESHOLDS`].
pub fn check_thresholds(t: &[f32]) -> Result<()> {
    let bad = |what| Err(Error::Domain { what });
    if t.len() > MAX_THRESHOLDS {
        return bad("more than 16383 thresholds on one feature");
    }
    if t.iter()
        .any(|v| v.is_nan() || v.to_bits() == (-0.0f32).to_bits())
    {
        return bad("a NaN or -0.0 threshold");
    }
    if t.windows(2).any(|w| w[0] >= w[1]) {
        return bad("thresholds not strictly increasing");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_rank_values_between_and_on_thresholds() {
        let t = [-1.5f32, 0.0, 2.0];
        let codes: Vec<i32> = [
            f32::NEG_INFINITY,
            -2.0,
            -1.5,
            -1.0,
            -0.0,
            0.0,
            1.0,
            2.0,
            3.0,
        ]
        .iter()
        .map(|&x| feature_code(x, &t))
        .collect();
        assert_eq!(codes, [0, 0, 1, 2, 3, 3, 4, 5, 6]);
        assert_eq!(feature_code(f32::NAN, &t), MISSING);
        assert_eq!(feature_code(f32::INFINITY, &[f32::INFINITY]), 1);
        assert_eq!(feature_code(1.0, &[]), 0);
    }

    #[test]
    fn code_tests_agree_with_float_tests_everywhere() {
        let t = [-3.0f32, -0.5, 0.25, 1.0, 7.5];
        let xs = [
            f32::NAN,
            f32::NEG_INFINITY,
            -4.0,
            -3.0,
            -2.0,
            -0.5,
            -0.0,
            0.25,
            0.5,
            1.0,
            7.5,
            8.0,
            f32::INFINITY,
        ];
        for mode in NodeMode::ALL {
            for missing in [false, true] {
                for (j, &tj) in t.iter().enumerate() {
                    let c = threshold_code(j).unwrap();
                    for &x in &xs {
                        let q = feature_code(x, &t);
                        assert_eq!(
                            mode.holds(q, c, missing),
                            mode.holds_f32(x, tj, missing),
                            "{mode:?} x={x} t={tj} missing={missing}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn threshold_lists_are_checked() {
        assert!(check_thresholds(&[0.0, 1.0]).is_ok());
        assert!(check_thresholds(&[1.0, 1.0]).is_err());
        assert!(check_thresholds(&[-0.0]).is_err());
        assert!(check_thresholds(&[f32::NAN]).is_err());
    }

    #[test]
    fn aggregates_fold() {
        let fold = |a: Aggregate| {
            [3i64, -2, 5]
                .into_iter()
                .try_fold(None, |acc, v| a.fold(acc, v).map(Some))
                .unwrap()
        };
        assert_eq!(fold(Aggregate::Sum), Some(6));
        assert_eq!(fold(Aggregate::Min), Some(-2));
        assert_eq!(fold(Aggregate::Max), Some(5));
        assert!(Aggregate::Sum.fold(Some(i64::MAX), 1).is_err());
    }
}
