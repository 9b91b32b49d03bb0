//! The magnitude of a pair, `Sqrt(Add(Pow(a, 2), Pow(b, 2)))` (an STFT's spectrum magnitude,
//! `sqrt(re² + im²)`), lowered without squaring: the largest of `a`'s and `b`'s projections on
//! [`DIRECTIONS`] directions around the circle, a [`FOp::Linear`] of the pair and a `Reduce`
//! max (`docs/semantics.md` section 5, "Magnitudes").
//!
//! A sum of squares spans the square of its operands' range, so at 16 bits the small ones are
//! lost: on silero VAD's spectrum 64% of `re² + im²` fall under one step, and the square root
//! of that rounding alone moves the first encoder layer by 21% of its range. The projections
//! keep the operands' own scale: `max_k (a cos θ_k + b sin θ_k) = |z| cos δ` with `|δ| ≤ π/K`,
//! and the weights' factor `2 / (1 + cos(π/K))` centres the result within `±(1 - cos(π/K)) /
//! (1 + cos(π/K))` of `|z|` (about `1.5e-4` relative for `K = 128`), at every magnitude.

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ReduceMode, ScalarFn, ValueId};
use crate::import::{Ctx, Importer, Kind};

/// The number of directions the magnitude is projected on (within the one-step reduce span).
pub(crate) const DIRECTIONS: usize = 128;

impl Importer {
    /// `(a, b)` when value `v` is `a² + b²` as ONNX writes it: an `Add` of two squares, each a
    /// `Pow` by 2 or a `Mul` of a value by itself, of the same shape.
    pub(super) fn sum_of_squares(&self, v: ValueId) -> Option<(ValueId, ValueId)> {
        let node = &self.g.nodes[self.producer.get(v).copied().flatten()?];
        let (FOp::Add, [Operand::Value(p), Operand::Value(q)]) = (&node.op, node.inputs.as_slice())
        else {
            return None;
        };
        let base = |s: ValueId| -> Option<ValueId> {
            let n = &self.g.nodes[self.producer.get(s).copied().flatten()?];
            match (&n.op, n.inputs.as_slice()) {
                (
                    FOp::Map {
                        f: ScalarFn::Pow { exponent },
                    },
                    [Operand::Value(x)],
                ) if *exponent == 2.0 => Some(*x),
                (FOp::Mul, [Operand::Value(x), Operand::Value(y)]) if x == y => Some(*x),
                _ => None,
            }
        };
        let (a, b) = (base(*p)?, base(*q)?);
        (self.shape(a) == self.shape(b) && self.shape(a) == self.shape(v)).then_some((a, b))
    }

    /// `sqrt(a² + b²)` as the largest projection of the pair `(a, b)` (module docs).
    pub(super) fn magnitude(&mut self, ctx: &Ctx<'_>, a: ValueId, b: ValueId) -> Result<()> {
        let shape = self.shape(a);
        let mut pair = shape.clone();
        pair.push(Dim::Fixed(1));
        let ua = self.emit_tmp(
            ctx,
            "re",
            FOp::Reshape,
            vec![Operand::Value(a)],
            pair.clone(),
        )?;
        let ub = self.emit_tmp(
            ctx,
            "im",
            FOp::Reshape,
            vec![Operand::Value(b)],
            pair.clone(),
        )?;
        let axis = shape.len();
        if let Some(last) = pair.last_mut() {
            *last = Dim::Fixed(2);
        }
        let both = self.emit_tmp(
            ctx,
            "pair",
            FOp::Concat { axis },
            vec![Operand::Value(ua), Operand::Value(ub)],
            pair,
        )?;
        let w = weights(DIRECTIONS);
        let weight = self.new_const(ctx, "directions", vec![DIRECTIONS, 2], w);
        let proj = self.linear(ctx, both, weight, DIRECTIONS, 2, None, None)?;
        let op = FOp::Reduce {
            mode: ReduceMode::Max,
            axes: vec![axis],
            keepdims: false,
        };
        let out = self.emit(ctx, op, vec![Operand::Value(proj)], shape, Kind::Float)?;
        self.set_out(ctx, 0, crate::import::Sym::Value(out))
    }
}

/// The `[k, 2]` weights `g · (cos θ_j, sin θ_j)`, `θ_j = 2πj / k`, `g = 2 / (1 + cos(π/k))`.
#[expect(clippy::cast_precision_loss, reason = "k is at most a few hundred")]
fn weights(k: usize) -> Vec<f32> {
    let pi = std::f64::consts::PI;
    let g = 2.0 / (1.0 + (pi / k as f64).cos());
    (0..k)
        .flat_map(|j| {
            let t = 2.0 * pi * j as f64 / k as f64;
            #[expect(clippy::cast_possible_truncation, reason = "weights near 1")]
            [(g * t.cos()) as f32, (g * t.sin()) as f32]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest projection is within the documented bound of the magnitude, at every angle
    /// and scale (and the bound is not loose by more than half).
    #[test]
    fn projections_bound_the_magnitude() {
        let w = weights(DIRECTIONS);
        let c = (std::f64::consts::PI / DIRECTIONS as f64).cos();
        let bound = (1.0 - c) / (1.0 + c) + 1e-6;
        let mut worst = 0f64;
        for i in 0..10_000 {
            let t = f64::from(i) * 0.000_628_3;
            for r in [1e-3, 1.0, 300.0] {
                let (a, b) = (r * t.cos(), r * t.sin());
                let m = w
                    .chunks(2)
                    .map(|p| f64::from(p[0]) * a + f64::from(p[1]) * b)
                    .fold(f64::MIN, f64::max);
                let rel = (m - r).abs() / r;
                assert!(rel <= bound, "angle {t} radius {r}: {rel} > {bound}");
                worst = worst.max(rel);
            }
        }
        assert!(worst > bound / 2.0, "{worst}");
    }
}
