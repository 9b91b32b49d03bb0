//! Scales from a gate's saturation: a value read only by `HardSigmoid`s (a squeeze-excitation
//! gate's pre-activation, `Conv -> HardSigmoid -> Mul`) is held at no coarser a scale than
//! `reach / L`, where `reach` is the larger end of the interval outside which every reader is
//! flat (`[-β/α, (1-β)/α]`). A calibrated range past `reach / 2` would spend the value's steps
//! (`2 · range / L`) where the gate no longer moves; at `reach / L` the value clamps at the
//! reach, where the gate's output is exact, and the steps go to the sloped part.

use super::{Builder, Precision};
use vouch_onnx::ScalarFn;
use vouch_onnx::graph::FOp;

/// The reach of `f`'s sloped part when `f` is flat past it on both sides (`HardSigmoid` with
/// `α != 0`), else `None`.
pub(super) fn flat_beyond(f: ScalarFn) -> Option<f64> {
    match f {
        ScalarFn::HardSigmoid { alpha, beta } if alpha != 0.0 && alpha.is_finite() => {
            let (a, b) = (f64::from(alpha), f64::from(beta));
            let reach = (b / a).abs().max(((1.0 - b) / a).abs());
            (reach.is_finite() && reach > 0.0).then_some(reach)
        }
        _ => None,
    }
}

impl Builder<'_> {
    /// The scale of a value computed by a node: the calibrated [`Self::act_scale`], capped at
    /// the readers' largest reach over `L` steps when every reader of `v` is flat past a
    /// reach (16-bit packages; `v` not a graph output).
    pub(super) fn value_scale(&self, v: usize) -> f64 {
        let calibrated = self.act_scale(self.ranges[v]);
        if self.precision != Precision::Int16 || self.is_output[v] || self.consumers[v].is_empty() {
            return calibrated;
        }
        let mut reach = 0f64;
        for &c in &self.consumers[v] {
            let FOp::Map { f } = self.g.nodes[c].op else {
                return calibrated;
            };
            match flat_beyond(f) {
                Some(r) => reach = reach.max(r),
                None => return calibrated,
            }
        }
        calibrated.min((reach / f64::from(self.lim())).max(super::MIN_SCALE))
    }
}
