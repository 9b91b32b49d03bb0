//! The `POLY` and `SIGMOID` kernels of `ai.onnx.ml` `SVMClassifier` ([`super::svm`]): a table
//! of each support vector's argument `a_i = (γ x · v_i + c₀) / σ_i`, looked up in bands.
//!
//! **Bands.** The argument's magnitude is split at the edges `0 = e_0 < e_1 < .. < e_B`, and
//! the kernel `f` (`a^d` or `tanh a`) is the sum of one table per band, `g_b(a) = f(a_b) -
//! f(a_(b-1))` with `a_b = clamp(a, -e_b, e_b)` (`g_1 = f(a_1)`): the sum telescopes to
//! `f(clamp(a, -e_B, e_B))`. Band `b` reads its own `Linear` of `x` whose output is clipped to
//! `±e_b` (a fused `Clip`: the output scale is `e_b / 32767`), so the small arguments, which
//! most rows give most vectors, are read in steps `e_B / e_1` times finer than one table over
//! the whole range, and the larger bands' tables are flat where the finer ones vary. The last
//! edge is the kernel's own clip (`SIGMOID`: `w`, where `tanh` stops moving a score by
//! `10^-5`) or none (`POLY`: the calibrated range).

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ScalarFn, ValueId};
use crate::import::{Ctx, Importer};

/// The band edges of a `POLY` argument (divided by `σ_i`, so at most about 1), measured on
/// `svm_poly_bc`'s held-out rows (`crates/quant/tests/svm.rs`): one band 3.7e-3 (with the
/// coefficients folded into the arguments), an edge at 0.5: 4.9e-4, at 0.25 and 0.5: 2.0e-4,
/// at 0.25, 0.5 and 0.8: 1.1e-4, at 0.1, 0.25 and 0.5: 4.9e-3 (a band's gain of 1000 leaves
/// its coefficients few steps of the scores' one weight scale).
const POLY_EDGES: &[f32] = &[0.25, 0.5];

/// The band edges of a `SIGMOID` argument below its clip `w`, measured on `svm_sigmoid_bc`'s
/// held-out rows (`crates/quant/tests/svm.rs`): one band 1.2e-3, an edge at 1: 4.1e-4, at 1.5:
/// 4.9e-4, at 1 and 2.5: 4.0e-4 (a third band for nothing).
const SIGMOID_EDGES: &[f32] = &[1.0];

/// A kernel of one argument, read in bands.
#[derive(Debug, Clone, Copy)]
pub(super) enum DotKernel {
    /// `a^d`.
    Pow(f32),
    /// `tanh a`, the argument clipped to `±w`.
    Tanh(f32),
}

impl Importer {
    /// The banded kernel values `λ_b g_b(a_i)`, `[.., B S]` (band `b`'s vector `i` at `b S +
    /// i`; module docs), and the gains `λ_b` that bring each band's largest value to 1 (the
    /// last `POLY` band's, whose range is the calibrated one, is 1). `w` is `[S, K]` and `b` `[S]`, the argument's weights and bias
    /// (a `Scaler` that only the SVM reads folds in here).
    pub(super) fn dot_kernels(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        k: usize,
        (w, b): (Vec<f32>, Vec<f32>),
        kernel: DotKernel,
    ) -> Result<(ValueId, Vec<f32>)> {
        let s = b.len();
        // a Scaler read by nothing else folds into the weights (lower/linear_scaler.rs)
        let (x, w, b) = match self.take_scaler(ctx, x, 0) {
            Some(sc) => {
                let (w, b) = super::linear_scaler::compose(&sc, &w, Some(&b), k);
                (sc.x, w, b)
            }
            None => (x, w, b),
        };
        let (edges, last) = match kernel {
            DotKernel::Pow(_) => (POLY_EDGES, None),
            DotKernel::Tanh(clip) => (SIGMOID_EDGES, Some(clip)),
        };
        let mut bounds: Vec<Option<f32>> = edges
            .iter()
            .copied()
            .filter(|&e| last.is_none_or(|l| e < l))
            .map(Some)
            .collect();
        bounds.push(last);
        let mut shape = self.shape(x);
        if let Some(l) = shape.last_mut() {
            *l = Dim::Fixed(s);
        }
        let mut kernels = Vec::with_capacity(bounds.len());
        let mut gains = Vec::with_capacity(bounds.len());
        let mut lo = 0f32;
        for (band, bound) in bounds.iter().enumerate() {
            let weight = self.new_const(ctx, &format!("gamma_sv{band}"), vec![s, k], w.clone());
            let bias = self.new_const(ctx, &format!("coef0{band}"), vec![s], b.clone());
            let mut arg = self.linear(ctx, x, weight, s, k, Some(bias), None)?;
            if let Some(e) = *bound {
                let op = FOp::Clip { min: -e, max: e };
                let ins = vec![Operand::Value(arg)];
                arg = self.emit_tmp(ctx, &format!("band{band}"), op, ins, shape.clone())?;
            }
            // each band's largest value brought to 1, so the bands share one output scale
            let top = match (kernel, *bound) {
                (DotKernel::Pow(d), Some(e)) => libm::powf(e, d) - libm::powf(lo, d),
                (DotKernel::Pow(_), None) => 1.0,
                (DotKernel::Tanh(_), Some(e)) => libm::tanhf(e) - libm::tanhf(lo),
                (DotKernel::Tanh(w), None) => libm::tanhf(w) - libm::tanhf(lo),
            };
            let gain = if top.is_finite() && top > 0.0 {
                1.0 / top
            } else {
                1.0
            };
            gains.push(gain);
            let f = match kernel {
                DotKernel::Pow(exponent) => ScalarFn::PowBand { gain, exponent, lo },
                DotKernel::Tanh(_) => ScalarFn::TanhBand { gain, lo },
            };
            let op = FOp::Map { f };
            let ins = vec![Operand::Value(arg)];
            let kv = self.emit_tmp(ctx, &format!("kernel{band}"), op, ins, shape.clone())?;
            kernels.push(kv);
            lo = bound.unwrap_or(lo);
        }
        let kv = self.band_values(ctx, kernels, shape)?;
        Ok((kv, gains))
    }

    /// The bands' kernel values `kernels` (each of `shape`, `[.., S]`) side by side, `[.., B
    /// S]`: one `Concat` (the values share its scale, the largest of theirs: each band's
    /// largest value is 1), or the one band itself.
    pub(super) fn band_values(
        &mut self,
        ctx: &Ctx<'_>,
        kernels: Vec<ValueId>,
        mut shape: Vec<Dim>,
    ) -> Result<ValueId> {
        if let [kv] = kernels.as_slice() {
            return Ok(*kv);
        }
        let axis = shape.len().saturating_sub(1);
        if let Some(Dim::Fixed(s)) = shape.last_mut() {
            *s *= kernels.len();
        }
        let ins = kernels.into_iter().map(Operand::Value).collect();
        self.emit_tmp(ctx, "kernel", FOp::Concat { axis }, ins, shape)
    }
}
