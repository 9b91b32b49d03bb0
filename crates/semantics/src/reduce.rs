//! `Reduce` (`docs/semantics.md` section 3): a reduction over any set of axes. Every checker
//! that runs it (the float reference, the engine, the circuit) visits the input through one
//! [`ReducePlan`]; the one-step verifier (`contracts/src/onestep/Reduce.sol`, `Reduce.reduce`)
//! recomputes the same index arithmetic, and [`ReduceMode::combine`] is the integer rule.

use crate::{Error, Result, div_round};

/// The most input elements one output element of a `Reduce` may span (from its first to its
/// last input element, row-major): the one-step verifier reads that whole window, about 320k
/// gas plus 2.8k gas per element, and a reduction the chain cannot judge within 1M gas is
/// refused at import and by package validation (`docs/semantics.md` section 8.1).
pub const MAX_REDUCE_SPAN: usize = 224;

/// The group sizes a tree of `Reduce` stages splits an axis of length `d` into, first stage
/// first, each the largest divisor in `2..=MAX_REDUCE_SPAN` of what remains while that exceeds
/// the span (a last stage then reduces the rest whole); `None` when some remainder above the
/// span has no such divisor (a large prime). An importer choice (`docs/semantics.md` section
/// 3, `Reduce`), shared by the long reductions and the long fine softmax.
pub fn reduce_tree_groups(mut d: usize) -> Option<Vec<usize>> {
    let mut groups = Vec::new();
    while d > MAX_REDUCE_SPAN {
        let c = (2..=MAX_REDUCE_SPAN).rev().find(|c| d.is_multiple_of(*c))?;
        groups.push(c);
        d /= c;
    }
    Some(groups)
}

/// Which reduction (ONNX `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ReduceMode {
    /// `Σ x` (one-step code 0).
    Sum,
    /// `div_round(Σ x, n)` (code 1).
    Mean,
    /// `max x` (code 2).
    Max,
    /// `min x` (code 3).
    Min,
}

impl ReduceMode {
    /// Every mode, in code order.
    pub const ALL: [Self; 4] = [Self::Sum, Self::Mean, Self::Max, Self::Min];

    /// The mode's name in the test vectors' `attrs.mode` (`sum`, `mean`, `max`, `min`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sum => "sum",
            Self::Mean => "mean",
            Self::Max => "max",
            Self::Min => "min",
        }
    }

    /// The mode of an ONNX op type (`ReduceSum`, ...).
    pub fn from_onnx(op: &str) -> Option<Self> {
        match op {
            "ReduceSum" => Some(Self::Sum),
            "ReduceMean" => Some(Self::Mean),
            "ReduceMax" => Some(Self::Max),
            "ReduceMin" => Some(Self::Min),
            _ => None,
        }
    }

    /// The code in the one-step descriptor (`attrs[0]`, `docs/semantics.md` section 8.1).
    pub const fn code(self) -> u8 {
        match self {
            Self::Sum => 0,
            Self::Mean => 1,
            Self::Max => 2,
            Self::Min => 3,
        }
    }

    /// The reduction of `values` before the node's requantization: the exact sum, its
    /// `div_round` by the count, the maximum or the minimum. An empty set is outside the
    /// domain.
    pub fn combine(self, values: impl IntoIterator<Item = i64>) -> Result<i64> {
        let mut it = values.into_iter();
        let first = it.next().ok_or(Error::Domain {
            what: "reduction over no elements",
        })?;
        let overflow = Error::Overflow { what: "reduce sum" };
        let (mut acc, mut n) = (first, 1i64);
        for v in it {
            n = n.checked_add(1).ok_or(overflow)?;
            acc = match self {
                Self::Sum | Self::Mean => acc.checked_add(v).ok_or(overflow)?,
                Self::Max => acc.max(v),
                Self::Min => acc.min(v),
            };
        }
        match self {
            Self::Mean => div_round(acc, n),
            _ => Ok(acc),
        }
    }
}

/// Which input elements each output element of a reduction reads: output element `o` reads
/// input elements `bases[o] + offsets[k]` for every `k` (row-major over the kept axes for `o`
/// and over the reduced axes for `k`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReducePlan {
    /// The first input element of each output element.
    pub bases: Vec<usize>,
    /// The offsets of the reduced elements from a base, in row-major order.
    pub offsets: Vec<usize>,
}

impl ReducePlan {
    /// The plan of reducing `axes` (strictly increasing, each below the rank) of a row-major
    /// tensor of `shape`.
    pub fn new(shape: &[usize], axes: &[usize]) -> Result<Self> {
        let dom = |what| Error::Domain { what };
        if axes.windows(2).any(|w| w[0] >= w[1]) || axes.iter().any(|&a| a >= shape.len()) {
            return Err(dom("reduce axes not increasing or out of range"));
        }
        let mut strides = vec![1usize; shape.len()];
        for a in (0..shape.len().saturating_sub(1)).rev() {
            strides[a] = strides[a + 1]
                .checked_mul(shape[a + 1])
                .ok_or(dom("reduce shape too large"))?;
        }
        let mut bases = vec![0usize];
        let mut offsets = vec![0usize];
        for (a, (&d, &st)) in shape.iter().zip(&strides).enumerate() {
            let list = if axes.contains(&a) {
                &mut offsets
            } else {
                &mut bases
            };
            let prev = std::mem::take(list);
            list.reserve(prev.len().saturating_mul(d));
            for p in prev {
                for i in 0..d {
                    list.push(p + i * st);
                }
            }
        }
        if offsets.is_empty() {
            return Err(dom("reduction over an empty axis"));
        }
        Ok(Self { bases, offsets })
    }

    /// How many input elements one output element spans, first to last (the one-step window).
    pub fn span(&self) -> usize {
        self.offsets.last().map_or(0, |&o| o + 1)
    }
}

/// The span of [`ReducePlan::new`] without building it: `1 + Σ (d_a - 1) · stride_a` over the
/// reduced axes (saturating), or `None` if an axis is out of range or a reduced axis is empty.
pub fn reduce_span(shape: &[usize], axes: &[usize]) -> Option<usize> {
    let mut span = 1usize;
    for &a in axes {
        let d = *shape.get(a)?;
        if d == 0 {
            return None;
        }
        let stride = shape
            .get(a + 1..)?
            .iter()
            .fold(1usize, |s, &x| s.saturating_mul(x));
        span = span.saturating_add((d - 1).saturating_mul(stride));
    }
    Some(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_visits_the_reduced_axes_in_row_major_order() {
        // [2, 3, 4] reducing axes 0 and 2: 3 outputs, 8 elements each
        let p = ReducePlan::new(&[2, 3, 4], &[0, 2]).unwrap();
        assert_eq!(p.bases, [0, 4, 8]);
        assert_eq!(p.offsets, [0, 1, 2, 3, 12, 13, 14, 15]);
        assert_eq!(p.span(), 16);
        assert_eq!(reduce_span(&[2, 3, 4], &[0, 2]), Some(16));
        // every input element is read exactly once
        let mut seen: Vec<usize> = p
            .bases
            .iter()
            .flat_map(|b| p.offsets.iter().map(move |o| b + o))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..24).collect::<Vec<_>>());
    }

    #[test]
    fn no_axes_is_the_identity_and_bad_axes_are_refused() {
        let p = ReducePlan::new(&[2, 2], &[]).unwrap();
        assert_eq!((p.bases, p.offsets), (vec![0, 1, 2, 3], vec![0]));
        assert!(ReducePlan::new(&[2, 2], &[1, 0]).is_err());
        assert!(ReducePlan::new(&[2, 2], &[2]).is_err());
        assert!(ReducePlan::new(&[2, 0], &[1]).is_err());
        assert_eq!(reduce_span(&[2, 0], &[1]), None);
    }

    #[test]
    fn combine_is_sum_rounded_mean_max_min() {
        let v = [3i64, -8, 4];
        assert_eq!(ReduceMode::Sum.combine(v).unwrap(), -1);
        // -1/3 rounds half up to 0; -3/2 = -1.5 rounds up to -1; 5/2 rounds up to 3
        assert_eq!(ReduceMode::Mean.combine(v).unwrap(), 0);
        assert_eq!(ReduceMode::Mean.combine([-1, -2]).unwrap(), -1);
        assert_eq!(ReduceMode::Mean.combine([2, 3]).unwrap(), 3);
        assert_eq!(ReduceMode::Max.combine(v).unwrap(), 4);
        assert_eq!(ReduceMode::Min.combine(v).unwrap(), -8);
        assert!(ReduceMode::Max.combine([]).is_err());
        assert!(ReduceMode::Sum.combine([i64::MAX, 1]).is_err());
        for m in ReduceMode::ALL {
            assert_eq!(ReduceMode::ALL[usize::from(m.code())], m);
        }
    }
}
