//! Coverage for a detector's feature-pyramid neck and heads. A nearest `Resize` (an index map,
//! [`FOp::Select`], repeating the elements of both spatial axes of an `[N, C, H, W]` value)
//! marks a pyramid level: the value it reads and every value computed from that value have
//! their calibrated ranges widened by [`NECK_HEADROOM`] (16-bit packages), on top of the
//! headroom every `act16` value gets. A few calibration images cover these values least (held
//! out, ddddocr `common_det`'s last head reaches 2.4 times its 4 calibration images' maxima),
//! while the recognizers and classifiers surveyed, whose every widened step costs them, hold
//! no upsampling, so their packages are unchanged (docs/architecture.md, "Coverage for a
//! detector's neck"). A bilinear `Resize` (a `Linear` per axis) does not mark a level.

use super::Precision;
use vouch_onnx::graph::{Dim, FGraph, FOp, Operand};

/// How much further than its calibrated range a neck value reaches (times the `act16`
/// headroom): 2, so a held-out value up to 4 times the calibrated maximum is represented.
pub(super) const NECK_HEADROOM: f32 = 2.0;

/// Whether node `n` of `g` upsamples both spatial axes of a rank-4 value by repeating its
/// elements (a nearest `Resize`/`Upsample` lowered to a [`FOp::Select`]).
fn upsamples(g: &FGraph, n: usize) -> bool {
    let node = &g.nodes[n];
    let (FOp::Select { maps }, [Operand::Value(x)]) = (&node.op, node.inputs.as_slice()) else {
        return false;
    };
    let shape = &g.values[*x].shape;
    if shape.len() != 4 || maps.len() != 4 {
        return false;
    }
    (2..4).all(|a| match (shape[a], maps[a].len()) {
        (Dim::Fixed(len), out) => out > len && maps[a].windows(2).all(|w| w[0] <= w[1]),
        (Dim::Batch, _) => false,
    })
}

/// The calibrated ranges with every value an upsampling reads (a graph input excepted) and
/// every value computed from one widened by [`NECK_HEADROOM`], graph outputs included (a
/// clipped output is as wrong as a clipped hidden value); `None` when nothing changes (no
/// upsampling, or an 8-bit package).
pub(super) fn widened(g: &FGraph, ranges: &[f32], precision: Precision) -> Option<Vec<f32>> {
    if precision != Precision::Int16 {
        return None;
    }
    // the values an upsampling reads (a pyramid level's lateral sum), then every value
    // computed from one of them: the level's other branches too, not only the upsampled copy
    let mut reached = vec![false; g.values.len()];
    for n in (0..g.nodes.len()).filter(|&n| upsamples(g, n)) {
        for o in &g.nodes[n].inputs {
            // a graph input keeps its own scale (calibrated or declared)
            if let Operand::Value(v) = o
                && !g.inputs.contains(v)
                && let Some(r) = reached.get_mut(*v)
            {
                *r = true;
            }
        }
    }
    let mut any = reached.iter().any(|&r| r);
    for node in &g.nodes {
        let from_neck = node
            .inputs
            .iter()
            .any(|o| matches!(o, Operand::Value(v) if reached.get(*v).copied().unwrap_or(false)));
        if from_neck && let Some(r) = reached.get_mut(node.output) {
            *r = true;
            any = true;
        }
    }
    any.then(|| {
        ranges
            .iter()
            .zip(&reached)
            .map(|(&r, &neck)| if neck { r * NECK_HEADROOM } else { r })
            .collect()
    })
}
