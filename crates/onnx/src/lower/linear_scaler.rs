//! An `ai.onnx.ml` `Scaler` folded into the `Linear` that reads it: `W · ((x - o) ∘ s) + b` is
//! `(W ∘ s) · x + (b - W · (o ∘ s))`, one `Linear` of `x` instead of a `Mul` and an `Add`
//! (each requantized onto an activation) before it. The linear models, the SVMs whose kernel
//! is a `Linear` of their input (`LINEAR`, `POLY`, `SIGMOID`) and a `MatMul` by a constant take
//! it when the Scaler's output is read by nothing else and its two nodes are the last ones
//! emitted; per-feature input scales then fold into that one `Linear` (`docs/semantics.md`
//! section 5).

use crate::graph::ValueId;
use crate::import::{Ctx, Importer};
use crate::lower::Scaled;

/// `(W ∘ s, b - W · (o ∘ s))` for `W` `[n, k]` row-major, `b` `[n]` (zeros when absent), in `f64`
/// rounded once to `f32`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "constants are f32 in the graph"
)]
pub(crate) fn compose(sc: &Scaled, w: &[f32], b: Option<&[f32]>, k: usize) -> (Vec<f32>, Vec<f32>) {
    let mut weight = Vec::with_capacity(w.len());
    let mut bias = Vec::new();
    for (j, row) in w.chunks_exact(k.max(1)).enumerate() {
        let mut acc = b.and_then(|b| b.get(j)).map_or(0.0, |v| f64::from(*v));
        for ((wv, s), o) in row.iter().zip(&sc.scale).zip(&sc.offset) {
            let ws = f64::from(*wv) * f64::from(*s);
            weight.push(ws as f32);
            acc -= ws * f64::from(*o);
        }
        bias.push(acc as f32);
    }
    (weight, bias)
}

impl Importer {
    /// The `Scaler` whose output `x` is input `i` of the node, when nothing else reads it and
    /// its two nodes are the last emitted: they are dropped, and the caller reads `sc.x` with
    /// [`compose`]d constants.
    pub(super) fn take_scaler(&mut self, ctx: &Ctx<'_>, x: ValueId, i: usize) -> Option<Scaled> {
        let sc = self.scaled.get(&x).cloned()?;
        let alone = ctx.input(i).is_some_and(|name| self.single_use(name));
        if !(alone && sc.nodes + 2 == self.g.nodes.len() && sc.scale.len() == sc.offset.len()) {
            return None;
        }
        self.g.nodes.truncate(sc.nodes);
        Some(sc)
    }
}
