//! The `RBF` kernel of `ai.onnx.ml` `SVMClassifier` and `SVMRegressor` ([`super::svm`]):
//! each support vector's `γ ‖x - v_i‖²` as an exact integer sum of squares, never as the
//! difference of two large quantities (`2γ x · v_i` and `γ ‖x‖²`), looked up in bands.
//!
//! **Bands.** The squared distance `d = γ ‖x - v_i‖²` is split at the edges `0 = e_0 < e_1 <
//! .. < e_B = T` ([`EDGES`], then the window's end `T`), and the kernel is the sum of one table
//! per band, `f_b(d) = e^-clamp(d, e_(b-1), e_b) - e^-e_b` (`e^-T` read as 0 for the last band):
//! the sum telescopes to `e^-d` for every `d` in `[0, T]`. Band `b` reads only distances below
//! `e_b`, so its differences are clipped at `±√e_b` and its window is `[0, e_b]`: the near
//! vectors, whose kernel values move the scores most, get steps `√T/√e_1` times finer
//! differences and a `T/e_1` times finer table argument than one band would give them, and
//! the far bands' errors are scaled by `e^-e_(b-1)`. (A difference clipped at `√e_b` still
//! squares to at least `e_b`, so a clipped row lands on the band's end, where `f_b` is 0.)
//!
//! Per band and vector, the rows `D_i = [√γ (x - v_i), c, -c]` (`K + 2` values, `[.., S, K +
//! 2]`) come from one `Linear` of `x` (`S (K + 2)` outputs, weights `√γ` on the diagonal
//! blocks, bias `-√γ v_i` and `±c`: one rounding, and a `Scaler` before it folds in, with the
//! per-feature input scales), clipped to `±√e_b`; when those `Linear`s would hold more than
//! [`DENSE_LIMIT`] weights, from a `Linear` of `K + 2` outputs (`√γ x`, `0`, `0`) minus the
//! constant rows `[√γ v_i, -c, c]` (a broadcast `Sub`: two roundings, `S (K + 2)` constants),
//! clipped. Two `Select`s make `L_i = [√γ (x - v_i), c, .., c]` and `R_i = [√γ (x - v_i), -c,
//! .., -c]` (`m` copies, `m c² = e_b/2`), and a `MatMul` of `L_i` (`[.., S, 1, K + m]`) by
//! `R_i` (`[.., S, K + m, 1]`) is `u_i = γ ‖x - v_i‖² - e_b/2`, through a `Clip` to `[-e_b/2,
//! e_b/2]`; the band's kernel is the table of `f_b(u + e_b/2)` ([`ScalarFn::RbfKernel`]). The
//! bands' kernel values are concatenated, `[.., B S]`, each band's under the same dual
//! coefficients.

use crate::error::Result;
use crate::graph::{ConstId, Dim, FOp, Operand, ScalarFn, ValueId};
use crate::import::{Ctx, Importer};

/// The most weights the one-`Linear`-per-band form may hold (`B S (K + 2) K`); larger SVMs
/// take the `Sub` form (module docs).
const DENSE_LIMIT: usize = 1 << 20;

/// The band edges `e_1 < .. < e_(B-1)` of the squared distance below the window's end `T`
/// (module docs; an edge at or past `T` is dropped), measured on the RBF fixtures' held-out
/// rows (`crates/quant/tests/svm.rs`; largest error on breast cancer, diabetes): one band
/// 1.5e-3, 1.9e-3; an edge at 2: 2.6e-4, 1.0e-3; at 4: 4.4e-4, 8.7e-4; at 1.5 and 4: 2.5e-4,
/// 5.2e-4; at 1, 2.5 and 5: 1.6e-4, 4.7e-4 (a fourth band for little).
const EDGES: &[f32] = &[1.5, 4.0];

/// `e/2` as `m` copies of `c²`, `c` at most `top` (the rows' other constants: a bias must fit
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

/// The kernel's differences before the bands: the `Linear`'s input, weights and bias with a
/// folded `Scaler`.
struct Rows {
    /// The `Linear`'s input.
    x: ValueId,
    /// Dense: `[S (K + 2), K]`; else `[K + 2, K]`.
    w: Vec<f32>,
    /// Dense: `[S (K + 2)]` (the constant columns 0 until a band sets them); else `[K + 2]`.
    b: Vec<f32>,
    /// The `Sub` form's constant rows `[S, K + 2]` (`√γ v_i`, constant columns 0); empty when
    /// dense.
    sub: Vec<f32>,
}

impl Importer {
    /// The `RBF` kernel values `e^-γ‖x - v_i‖²`, `[.., B S]`: band `b`'s table of vector `i`
    /// at `b S + i` (module docs), and the number of bands `B`. The window covers only what
    /// the kernel can tell from zero: `T = ln(10^5 reach)` (at least 8), with `reach` the
    /// largest row of absolute dual coefficients `Σ_i |c_i|`, so the kernel values past the
    /// window move no score by more than `10^-5`.
    pub(super) fn rbf_kernels(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        k: usize,
        sv: &[f32],
        gamma: f32,
        reach: f32,
    ) -> Result<(ValueId, Vec<f32>)> {
        let s = sv.len() / k.max(1);
        let end = libm::logf(1e5 * reach).max(8.0);
        let edges: Vec<f32> = EDGES
            .iter()
            .copied()
            .filter(|&e| e < end)
            .chain([end])
            .collect();
        let rows = self.rbf_rows(ctx, x, k, sv, gamma, edges.len())?;
        let mut lead = self.shape(x);
        lead.pop();
        let mut kernels = Vec::with_capacity(edges.len());
        let mut gains = Vec::with_capacity(edges.len());
        let mut lo = 0f32;
        for (band, &e) in edges.iter().enumerate() {
            let hi = if band + 1 == edges.len() {
                f32::INFINITY
            } else {
                e
            };
            let u = self.rbf_band(ctx, &rows, (k, s), &lead, band, (lo, e))?;
            // the band's largest value brought to 1, so the bands share one output scale
            let gain = 1.0 / (libm::expf(-lo) - libm::expf(-hi));
            let gain = if gain.is_finite() { gain } else { 1.0 };
            gains.push(gain);
            let f = ScalarFn::RbfKernel {
                gain,
                shift: 0.5 * (lo + e),
                lo,
                hi,
            };
            let mut shape = lead.clone();
            shape.push(Dim::Fixed(s));
            let op = FOp::Map { f };
            let suffix = format!("kernel{band}");
            let kv = self.emit_tmp(ctx, &suffix, op, vec![Operand::Value(u)], shape)?;
            kernels.push(kv);
            lo = e;
        }
        let mut shape = lead;
        shape.push(Dim::Fixed(s));
        let kv = self.band_values(ctx, kernels, shape)?;
        Ok((kv, gains))
    }

    /// The differences' `Linear` weights and bias (dense for `bands` bands within
    /// [`DENSE_LIMIT`], else the `Sub` form's), with a `Scaler` that only the SVM reads folded
    /// in (`lower/linear_scaler.rs`).
    fn rbf_rows(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        k: usize,
        sv: &[f32],
        gamma: f32,
        bands: usize,
    ) -> Result<Rows> {
        let s = sv.len() / k.max(1);
        let root = libm::sqrtf(gamma.max(0.0));
        let per = k + 2;
        let dense = s
            .checked_mul(per)
            .and_then(|n| n.checked_mul(k))
            .and_then(|n| n.checked_mul(bands));
        if dense.is_some_and(|d| d <= DENSE_LIMIT) {
            let mut w = vec![0f32; s * per * k];
            let mut b = vec![0f32; s * per];
            for (i, v) in sv.chunks_exact(k).enumerate() {
                for (j, a) in v.iter().enumerate() {
                    w[(i * per + j) * k + j] = root;
                    b[i * per + j] = -root * a;
                }
            }
            return Ok(match self.take_scaler(ctx, x, 0) {
                Some(sc) => {
                    let (w, b) = super::linear_scaler::compose(&sc, &w, Some(&b), k);
                    Rows {
                        x: sc.x,
                        w,
                        b,
                        sub: Vec::new(),
                    }
                }
                None => Rows {
                    x,
                    w,
                    b,
                    sub: Vec::new(),
                },
            });
        }
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
        let mut sub: Vec<f32> = Vec::with_capacity(s * per);
        for row in sv.chunks_exact(k) {
            sub.extend(row.iter().map(|a| root * a));
            sub.extend([0.0, 0.0]);
        }
        Ok(Rows { x, w, b, sub })
    }

    /// Band `band`'s table argument `u_i = γ ‖x - v_i‖² - e/2`, clipped to `[-e/2, e/2]`,
    /// `[.., S]`, from its differences clipped to `±√e` (module docs).
    fn rbf_band(
        &mut self,
        ctx: &Ctx<'_>,
        rows: &Rows,
        (k, s): (usize, usize),
        lead: &[Dim],
        band: usize,
        (lo, e): (f32, f32),
    ) -> Result<ValueId> {
        let centre = 0.5 * (lo + e);
        let half = 0.5 * (e - lo);
        let per = k + 2;
        let reach = libm::sqrtf(e);
        let with = |tail: &[usize]| -> Vec<Dim> {
            lead.iter()
                .copied()
                .chain(tail.iter().map(|&d| Dim::Fixed(d)))
                .collect()
        };
        let clip = FOp::Clip {
            min: -reach,
            max: reach,
        };
        let (diffs, m) = if rows.sub.is_empty() {
            let mut b = rows.b.clone();
            let top = b.iter().fold(0f32, |t, v| t.max(v.abs()));
            let (m, c) = copies(centre, top);
            for row in b.chunks_exact_mut(per) {
                row[k] = c;
                row[k + 1] = -c;
            }
            let weight = self.new_const(
                ctx,
                &format!("root_gamma{band}"),
                vec![s * per, k],
                rows.w.clone(),
            );
            let bias = self.new_const(ctx, &format!("root_gamma_sv{band}"), vec![s * per], b);
            let y = self.linear(ctx, rows.x, weight, s * per, k, Some(bias), None)?;
            let y = self.emit_tmp(
                ctx,
                &format!("near{band}"),
                clip,
                vec![Operand::Value(y)],
                with(&[s * per]),
            )?;
            let op = FOp::Reshape;
            let d = self.emit_tmp(
                ctx,
                &format!("differences{band}"),
                op,
                vec![Operand::Value(y)],
                with(&[s, per]),
            )?;
            (d, m)
        } else {
            let top = rows.sub.iter().fold(0f32, |t, a| t.max(a.abs()));
            let (m, c) = copies(centre, top);
            let mut v = rows.sub.clone();
            for row in v.chunks_exact_mut(per) {
                row[k] = -c;
                row[k + 1] = c;
            }
            let weight: ConstId = self.new_const(
                ctx,
                &format!("root_gamma{band}"),
                vec![per, k],
                rows.w.clone(),
            );
            let bias = self.new_const(
                ctx,
                &format!("root_gamma_shift{band}"),
                vec![per],
                rows.b.clone(),
            );
            let y = self.linear(ctx, rows.x, weight, per, k, Some(bias), None)?;
            let op = FOp::Reshape;
            let y = self.emit_tmp(
                ctx,
                &format!("scaled{band}"),
                op,
                vec![Operand::Value(y)],
                with(&[1, per]),
            )?;
            let vc = self.new_const(ctx, &format!("root_gamma_sv{band}"), vec![s, per], v);
            let ins = vec![Operand::Value(y), Operand::Const(vc)];
            let d = self.emit_tmp(
                ctx,
                &format!("differences{band}"),
                FOp::Sub,
                ins,
                with(&[s, per]),
            )?;
            let d = self.emit_tmp(
                ctx,
                &format!("near{band}"),
                clip,
                vec![Operand::Value(d)],
                with(&[s, per]),
            )?;
            (d, m)
        };
        let mut sides = Vec::with_capacity(2);
        let width = k + m;
        for (side, extra, tail) in [("left", k, [s, 1, width]), ("right", k + 1, [s, width, 1])] {
            let mut maps = vec![Vec::new(); lead.len() + 2];
            if let Some(last) = maps.last_mut() {
                *last = (0..k).chain(std::iter::repeat_n(extra, m)).collect();
            }
            let op = FOp::Select { maps };
            let suffix = format!("{side}{band}");
            let picked = self.emit_tmp(
                ctx,
                &suffix,
                op,
                vec![Operand::Value(diffs)],
                with(&[s, width]),
            )?;
            let ins = vec![Operand::Value(picked)];
            let shaped = self.emit_tmp(ctx, &suffix, FOp::Reshape, ins, with(&tail))?;
            sides.push(Operand::Value(shaped));
        }
        let sq = self.emit_tmp(
            ctx,
            &format!("distance{band}"),
            FOp::MatMul,
            sides,
            with(&[s, 1, 1]),
        )?;
        let op = FOp::Clip {
            min: -half,
            max: half,
        };
        let ins = vec![Operand::Value(sq)];
        let clipped = self.emit_tmp(ctx, &format!("window{band}"), op, ins, with(&[s, 1, 1]))?;
        let ins = vec![Operand::Value(clipped)];
        self.emit_tmp(
            ctx,
            &format!("argument{band}"),
            FOp::Reshape,
            ins,
            with(&[s]),
        )
    }
}
