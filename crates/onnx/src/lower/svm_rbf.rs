//! The `RBF` kernel of `ai.onnx.ml` `SVMClassifier` and `SVMRegressor` ([`super::svm`]):
//! each support vector's `γ ‖x - v_i‖²` as an exact integer sum of squares, never as the
//! difference of two large quantities (`2γ x · v_i` and `γ ‖x‖²`).
//!
//! Per vector, the rows `D_i = [√γ (x - v_i), c, -c]` (`K + 2` values, `[.., S, K + 2]`) come
//! from one `Linear` of `x` (`S (K + 2)` outputs, weights `√γ` on the diagonal blocks, bias
//! `-√γ v_i` and `±c`: one rounding, and a `Scaler` before it folds in, with the per-feature
//! input scales); when that `Linear` would hold more than [`DENSE_LIMIT`] weights, from a
//! `Linear` of `K + 2` outputs (`√γ x`, `0`, `0`) minus the constant rows `[√γ v_i, -c, c]`
//! (a broadcast `Sub`: two roundings, `S (K + 2)` constants). Two `Select`s make
//! `L_i = [√γ (x - v_i), c, .., c]` and `R_i = [√γ (x - v_i), -c, .., -c]` (`m` copies, `m c²
//! = T/2`), and a `MatMul` of `L_i` (`[.., S, 1, K + m]`) by `R_i` (`[.., S, K + m, 1]`) is
//! `u_i = γ ‖x - v_i‖² - T/2`, through a `Clip` to `[-T/2, T/2]`; the kernel is the table of
//! `e^-(u + T/2)` ([`ScalarFn::RbfKernel`]).

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ValueId};
use crate::import::{Ctx, Importer};

#[cfg(doc)]
use crate::graph::ScalarFn;

/// The most weights the one-`Linear` form may hold (`S (K + 2) K`); larger SVMs take the
/// `Sub` form (module docs).
const DENSE_LIMIT: usize = 1 << 20;

/// `T/2` as `m` copies of `c²`, `c` at most `top` (the rows' other constants: a bias must fit
/// `i32` at the accumulator's scale, so `c` may not dwarf the rest): `(m, c)`.
fn copies(half: f32, top: f32) -> (usize, f32) {
    let top = if top > 0.0 { top } else { 1.0 };
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a small positive count"
    )]
    let m = libm::ceilf(half / (top * top)).clamp(1.0, 64.0) as usize;
    #[expect(clippy::cast_precision_loss, reason = "m <= 64")]
    let c = libm::sqrtf(half / m as f32);
    (m, c)
}

impl Importer {
    /// The `RBF` kernel's table argument `u_i = γ ‖x - v_i‖² - T/2`, clipped to `[-T/2, T/2]`,
    /// `[.., S]`, and `T/2` (the kernel value is `e^-(u_i + T/2)`, [`ScalarFn::RbfKernel`];
    /// module docs). The table's window covers only what the kernel can tell from zero:
    /// `T = ln(10^5 reach)` (at least 8), with `reach` the largest row of absolute dual
    /// coefficients `Σ_i |c_i|`, so the kernel values past the window move no score by more
    /// than `10^-5`; the `-T/2` centres it (a squared distance is never negative).
    pub(super) fn rbf_argument(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        k: usize,
        sv: &[f32],
        gamma: f32,
        reach: f32,
    ) -> Result<(ValueId, f32)> {
        let s = sv.len() / k.max(1);
        let half = 0.5 * libm::logf(1e5 * reach).max(8.0);
        let root = libm::sqrtf(gamma.max(0.0));
        let per = k + 2;
        let mut lead = self.shape(x);
        lead.pop();
        let with = |tail: &[usize]| -> Vec<Dim> {
            lead.iter()
                .copied()
                .chain(tail.iter().map(|&d| Dim::Fixed(d)))
                .collect()
        };
        let dense = s.checked_mul(per).and_then(|n| n.checked_mul(k));
        let (rows, m) = if dense.is_some_and(|d| d <= DENSE_LIMIT) {
            let mut w = vec![0f32; s * per * k];
            let mut b = vec![0f32; s * per];
            for (i, v) in sv.chunks_exact(k).enumerate() {
                for (j, a) in v.iter().enumerate() {
                    w[(i * per + j) * k + j] = root;
                    b[i * per + j] = -root * a;
                }
            }
            // a Scaler read by nothing else folds into the weights (lower/linear_scaler.rs)
            let (x, w, mut b) = match self.take_scaler(ctx, x, 0) {
                Some(sc) => {
                    let (w, b) = super::linear_scaler::compose(&sc, &w, Some(&b), k);
                    (sc.x, w, b)
                }
                None => (x, w, b),
            };
            let (m, c) = copies(half, b.iter().fold(0f32, |t, v| t.max(v.abs())));
            for row in b.chunks_exact_mut(per) {
                row[k] = c;
                row[k + 1] = -c;
            }
            let weight = self.new_const(ctx, "root_gamma", vec![s * per, k], w);
            let bias = self.new_const(ctx, "root_gamma_sv", vec![s * per], b);
            let diffs = self.linear(ctx, x, weight, s * per, k, Some(bias), None)?;
            let op = FOp::Reshape;
            let rows = self.emit_tmp(
                ctx,
                "differences",
                op,
                vec![Operand::Value(diffs)],
                with(&[s, per]),
            )?;
            (rows, m)
        } else {
            let mut w = vec![0f32; per * k];
            for j in 0..k {
                w[j * k + j] = root;
            }
            let (x, w, b) = match self.take_scaler(ctx, x, 0) {
                Some(sc) => {
                    let (w, b) = super::linear_scaler::compose(&sc, &w, None, k);
                    (sc.x, w, b)
                }
                None => (x, w, vec![0f32; per]),
            };
            let mut v: Vec<f32> = Vec::with_capacity(s * per);
            let top = sv.iter().fold(0f32, |t, a| t.max((root * a).abs()));
            let (m, c) = copies(half, top);
            for row in sv.chunks_exact(k) {
                v.extend(row.iter().map(|a| root * a));
                v.extend([-c, c]);
            }
            let weight = self.new_const(ctx, "root_gamma", vec![per, k], w);
            let bias = self.new_const(ctx, "root_gamma_shift", vec![per], b);
            let y = self.linear(ctx, x, weight, per, k, Some(bias), None)?;
            let op = FOp::Reshape;
            let y = self.emit_tmp(ctx, "scaled", op, vec![Operand::Value(y)], with(&[1, per]))?;
            let vc = self.new_const(ctx, "root_gamma_sv", vec![s, per], v);
            let ins = vec![Operand::Value(y), Operand::Const(vc)];
            let rows = self.emit_tmp(ctx, "differences", FOp::Sub, ins, with(&[s, per]))?;
            (rows, m)
        };
        let mut sides = Vec::with_capacity(2);
        let width = k + m;
        for (suffix, extra, tail) in [("left", k, [s, 1, width]), ("right", k + 1, [s, width, 1])] {
            let mut maps = vec![Vec::new(); lead.len() + 2];
            if let Some(last) = maps.last_mut() {
                *last = (0..k).chain(std::iter::repeat_n(extra, m)).collect();
            }
            let op = FOp::Select { maps };
            let ins = vec![Operand::Value(rows)];
            let picked = self.emit_tmp(ctx, suffix, op, ins, with(&[s, width]))?;
            let ins = vec![Operand::Value(picked)];
            let shaped = self.emit_tmp(ctx, suffix, FOp::Reshape, ins, with(&tail))?;
            sides.push(Operand::Value(shaped));
        }
        let sq = self.emit_tmp(ctx, "distance", FOp::MatMul, sides, with(&[s, 1, 1]))?;
        let op = FOp::Clip {
            min: -half,
            max: half,
        };
        let ins = vec![Operand::Value(sq)];
        let clipped = self.emit_tmp(ctx, "window", op, ins, with(&[s, 1, 1]))?;
        let ins = vec![Operand::Value(clipped)];
        let u = self.emit_tmp(ctx, "argument", FOp::Reshape, ins, with(&[s]))?;
        Ok((u, half))
    }
}
