//! The `SOFTMAX_ZERO` post-transform of `ai.onnx.ml` tree ensembles and linear classifiers:
//! onnxruntime's `ComputeSoftmaxZero`, a softmax over the scores with `|x| > 1e-7`, each other
//! score staying (about) zero. The quantizer tells the zero scores by their integer being
//! exactly 0 (`docs/semantics.md` section 5). For a tree ensemble that is the float test
//! exactly when [`exact_zeros`] holds: every target's leaf weights and base value share one
//! sign, and every non-zero one is a whole fixed-point step and above `2e-7` (after `AVERAGE`'s
//! division), so a score is zero in float exactly when no tree reached a leaf weighing it, which
//! is when its integer sum is 0.

use crate::error::Result;
use crate::graph::{FOp, FTrees, Operand, ValueId};
use crate::import::{Ctx, Importer, Kind};

/// The smallest non-zero leaf weight or base value (after `AVERAGE`'s division) a target may
/// have: above onnxruntime's `1e-7`, with room for `f32` rounding of the sum.
const SMALLEST: f64 = 2e-7;

/// `2^30`, the fixed-point range of the largest target bound (`vouch_quant`'s leaf scale
/// `B / 2^30`).
const LEAF_RANGE: f64 = 1_073_741_824.0;

/// Refuses, naming the node, a tree ensemble whose zero scores the integer scores cannot tell
/// exactly (module docs).
pub(super) fn exact_zeros(ctx: &Ctx<'_>, t: &FTrees) -> Result<()> {
    #[expect(clippy::cast_precision_loss, reason = "tree counts are small")]
    let div = if t.average {
        t.roots.len().max(1) as f64
    } else {
        1.0
    };
    let n = t.base.len();
    let mut bound: Vec<f64> = t.base.iter().map(|b| f64::from(*b).abs()).collect();
    let (mut pos, mut neg) = (vec![false; n], vec![false; n]);
    let mut smallest = f64::INFINITY;
    let values = t
        .weights
        .iter()
        .map(|&(k, w)| (k, f64::from(w) / div))
        .chain(t.base.iter().enumerate().map(|(k, b)| (k, f64::from(*b))));
    for (k, v) in values {
        if v == 0.0 {
            continue;
        }
        if let Some(b) = bound.get_mut(k) {
            *b += v.abs();
        }
        if let (Some(p), Some(q)) = (pos.get_mut(k), neg.get_mut(k)) {
            *if v > 0.0 { p } else { q } = true;
        }
        smallest = smallest.min(v.abs());
    }
    let b = bound.iter().fold(0f64, |m, v| m.max(*v));
    if let Some(k) = (0..n).find(|&k| pos[k] && neg[k]) {
        return Err(ctx.unsupported(format!(
            "SOFTMAX_ZERO over class {k} whose leaf weights (or base value) have both signs: its \
             score may cancel to within 1e-7 of zero, which the integer scores cannot tell"
        )));
    }
    if smallest < SMALLEST.max(b / LEAF_RANGE) {
        return Err(ctx.unsupported(format!(
            "SOFTMAX_ZERO with a leaf weight of {smallest:e}: below 2e-7 or one fixed-point step \
             ({:e}), so a zero score cannot be told from a small one",
            b / LEAF_RANGE
        )));
    }
    Ok(())
}

impl Importer {
    /// The `SOFTMAX_ZERO` of the scores `y` along their last axis, named `name`.
    pub(super) fn softmax_zero(
        &mut self,
        ctx: &Ctx<'_>,
        y: ValueId,
        name: &str,
    ) -> Result<ValueId> {
        let shape = self.shape(y);
        let op = FOp::SoftmaxZero {
            axis: shape.len().saturating_sub(1),
        };
        self.emit_named(ctx, op, vec![Operand::Value(y)], shape, Kind::Float, name)
    }
}
