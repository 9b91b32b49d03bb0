//! Per-channel weights for a depthwise `Conv` (each output channel reads one input channel,
//! `C_in / group = 1`): its channels' weight ranges need differ by only [`DEPTHWISE_SPREAD`]
//! (not the 128 times of [`super::channels`]) for it to go per channel. Such a channel is a
//! few taps (9 for a 3x3 kernel) and nothing sums it with another channel, so a weight step
//! set by the largest channel is all of a small channel's error: a systematic gain and offset
//! on that channel's every element, which the blocks after it (a squeeze-excitation mean, a
//! detector's probability map past a logit of 50) carry to the output. Measured first on
//! PP-OCRv6 tiny det (docs/architecture.md, "Depthwise weights per channel"): its 19
//! depthwise `Conv`s' weights alone, rounded per tensor, put its map 2.9% off onnxruntime;
//! per channel, 1.5%.

use vouch_onnx::graph::{FGraph, FNode, FOp};

/// A depthwise `Conv` goes per channel when some channel's weight range is below this share
/// of the largest (a channel at half the largest keeps one bit fewer per tensor).
pub(super) const DEPTHWISE_SPREAD: f32 = 0.5;

/// Whether `node` of `g` is a depthwise `Conv`: grouped, one input channel per group.
pub(super) fn is_depthwise(g: &FGraph, node: &FNode) -> bool {
    match node.op {
        FOp::Conv { weight, group, .. } => {
            group > 1 && g.consts[weight].shape.get(1).copied() == Some(1)
        }
        _ => false,
    }
}
