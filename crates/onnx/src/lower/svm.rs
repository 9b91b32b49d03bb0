//! `ai.onnx.ml` `SVMClassifier` and `SVMRegressor`, lowered into existing ops with onnxruntime's
//! kernel definitions (`kernel_params = [γ, c₀, d]`):
//!
//! | kernel | `K(x, v)` | lowered as |
//! |---|---|---|
//! | `LINEAR` | `x · v` | folded: `Σ_i c_i (x · v_i) = x · (Σ_i c_i v_i)`, one `Linear` per score |
//! | `POLY` | `(γ x · v + c₀)^d` | per band a `Linear` (weights `γ v_i / σ_i`, bias `c₀ / σ_i`), `Clip`, `Map` `PowBand`; coefficients times `σ_i^d` (`svm_dot.rs`) |
//! | `SIGMOID` | `tanh(γ x · v + c₀)` | per band a `Linear` (weights `γ v_i`, bias `c₀`), `Clip` (the last to `±w`, `w = ln(2·10^5 reach) / 2`, at least 4: the argument's steps cover only where `tanh` moves a score by `10^-5`), `Map` `TanhBand` (`svm_dot.rs`) |
//! | `RBF` | `exp(-γ ‖x - v‖²)` | per band, per vector `√γ (x - v_i)` and `±c`, clipped, two `Select`s, a `MatMul` (`γ ‖x - v_i‖²` minus the band's centre, exact sum of squares), `Clip`, `Map` `RbfKernel` (`svm_rbf.rs`) |
//!
//! A `Scaler` that only the SVM reads folds into the kernel's `Linear`s (`linear_scaler.rs`).
//!
//! The kernel values are the sum of a few bands' tables, each over its own range of the
//! argument at its own scale (`svm_dot.rs`, `svm_rbf.rs`), side by side `[.., B S]` (one per
//! band and support vector, each band's values times a gain that brings its largest to 1); they
//! then meet the dual coefficients (over the gains) in a `Linear` whose bias is `ρ`. The
//! kernel's `Map`s are `fine` (a `2^16`-entry table at 16 bits): an `Exp` over the 256 steps of
//! an `act8` exponent would be off by up to a tenth.
//!
//! Classifiers with integer labels `0..n-1` (no probability outputs, `post_transform` `NONE`):
//!
//! - **binary**: onnxruntime scores `s` and labels class 0 when `s > 0` (libsvm's sign), class 1
//!   otherwise, and outputs the scores `[-s, s]`: vouch computes `[s, -s]`, whose `ArgMax` with
//!   the last index on ties is that label, and reverses it for the scores.
//! - **one-vs-one** (`n > 2`): the scores are the `n(n-1)/2` pairwise decisions `d_ij`, `i < j`
//!   in row-major order, each `Σ` over the support vectors of classes `i` and `j` of their
//!   coefficient for the other class, plus `ρ_ij`, as onnxruntime outputs them. Class `i` wins
//!   a vote when `d_ij > 0`, class `j` otherwise: a `fine` `Map` `Greater` than 0 (exactly `0` or `1`)
//!   feeds a `Linear` counting each class's votes (`+1` for a pair it leads, `-1` plus a bias of
//!   `1` for a pair it trails), and the label is their `ArgMax` with the first index on ties
//!   (onnxruntime's `std::max_element`).
//!
//! A binary classifier with probability outputs (`prob_a`/`prob_b`, scikit-learn's
//! `SVC(probability=True)`) outputs onnxruntime's two probabilities, each a `fine` `Map` of the
//! score ([`ScalarFn::SvmProbability`]: Platt's sigmoid, then libsvm's pairwise coupling of two
//! classes, an iteration whose result is a function of the score alone).
//!
//! Refused, naming the node: one-class regression, probability outputs of more than two classes
//! (their coupling iterates over all the pairwise decisions), string or other labels, a `post_transform`, the liblinear form (no support vectors), and
//! attributes whose sizes do not match.

use super::svm_dot::DotKernel;
use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ScalarFn, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym};

/// An SVM kernel with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kernel {
    /// `x · v`.
    Linear,
    /// `(γ x · v + c₀)^d`.
    Poly { gamma: f32, coef0: f32, degree: f32 },
    /// `exp(-γ ‖x - v‖²)`.
    Rbf { gamma: f32 },
    /// `tanh(γ x · v + c₀)`.
    Sigmoid { gamma: f32, coef0: f32 },
}

impl Kernel {
    /// The node's `kernel_type` (default `LINEAR`) with its `kernel_params`, `[γ, c₀, d]`
    /// (onnxruntime reads all three when the list is not empty, zeros otherwise).
    fn of(ctx: &Ctx<'_>) -> Result<Self> {
        let p = ctx
            .attr("kernel_params")
            .map(|a| a.floats.clone())
            .unwrap_or_default();
        let [gamma, coef0, degree] = match p.as_slice() {
            [] => [0.0; 3],
            [g, c, d] => [*g, *c, *d],
            _ => {
                return Err(ctx.bad_attr(
                    "kernel_params",
                    format!("has {} values (need gamma, coef0, degree)", p.len()),
                ));
            }
        };
        if !(gamma.is_finite() && coef0.is_finite() && degree.is_finite()) {
            return Err(ctx.bad_attr("kernel_params", "holds a non-finite value"));
        }
        Ok(match ctx.string("kernel_type").unwrap_or(b"LINEAR") {
            b"LINEAR" => Self::Linear,
            b"POLY" => Self::Poly {
                gamma,
                coef0,
                degree,
            },
            b"RBF" => Self::Rbf { gamma },
            b"SIGMOID" => Self::Sigmoid { gamma, coef0 },
            other => {
                return Err(ctx.bad_attr(
                    "kernel_type",
                    format!(
                        "unknown kernel {:?} (LINEAR, POLY, RBF, SIGMOID)",
                        String::from_utf8_lossy(other)
                    ),
                ));
            }
        })
    }
}

/// The scores of an SVM: `rows` of dual coefficients over the support vectors, and `ρ`.
struct Duals {
    /// Row-major `[n, S]`.
    coef: Vec<f32>,
    /// `[n]`.
    rho: Vec<f32>,
}

/// `[n, S] · [S, K]` in `f64`, rounded to `f32`: the `LINEAR` kernel folded into one weight row
/// per score.
#[expect(
    clippy::cast_possible_truncation,
    reason = "weights are f32 in the graph"
)]
fn fold(coef: &[f32], sv: &[f32], s: usize, k: usize) -> Vec<f32> {
    coef.chunks_exact(s)
        .flat_map(|row| {
            let mut w = vec![0f64; k];
            for (c, v) in row.iter().zip(sv.chunks_exact(k)) {
                for (wf, x) in w.iter_mut().zip(v) {
                    *wf += f64::from(*c) * f64::from(*x);
                }
            }
            w.into_iter().map(|v| v as f32)
        })
        .collect()
}

/// The per-vector divisors `σ_i` of a `POLY` kernel's arguments ([`Importer::svm_kernels`]):
/// with `β_i = γ ‖v_i‖ max_j ‖v_j‖ + |c₀|` (a bound on `|γ x · v_i + c₀|` for inputs like the
/// support vectors) and `w_i = (max |c_i|)^(1/d)` (the vector's largest dual coefficient over
/// the score rows, `large`), `σ_i = Z / w_i` with `Z = max_j w_j β_j`: each vector's kernel
/// value `(a_i)^d` then carries its coefficient's magnitude, so its steps cost every score
/// alike, and no argument exceeds its bound (`σ_i >= β_i`). `β_i` where `w_i` is 0 or `d < 1`;
/// `1` where `σ_i` or `σ_i^d` is not a positive finite `f32`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "constants are f32 in the graph"
)]
fn poly_scales(
    sv: &[f32],
    k: usize,
    (gamma, coef0, degree): (f32, f32, f32),
    large: &[f32],
) -> Vec<f32> {
    let norms: Vec<f64> = sv
        .chunks_exact(k)
        .map(|v| {
            v.iter()
                .map(|a| f64::from(*a) * f64::from(*a))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    let top = norms.iter().copied().fold(0f64, f64::max);
    let bounds: Vec<f64> = norms
        .iter()
        .map(|n| f64::from(gamma).abs() * n * top + f64::from(coef0).abs())
        .collect();
    let weights: Vec<f64> = large
        .iter()
        .map(|c| {
            let w = f64::from(c.abs()).powf(1.0 / f64::from(degree));
            if degree >= 1.0 && w.is_finite() && w > 0.0 {
                w
            } else {
                0.0
            }
        })
        .collect();
    let z = bounds
        .iter()
        .zip(&weights)
        .fold(0f64, |m, (b, w)| m.max(b * w));
    bounds
        .iter()
        .zip(&weights)
        .map(|(&b, &w)| {
            let sg = if w > 0.0 && z.is_finite() { z / w } else { b } as f32;
            let p = libm::powf(sg, degree);
            if sg.is_finite() && sg > 0.0 && p.is_finite() && p > 0.0 {
                sg
            } else {
                1.0
            }
        })
        .collect()
}

/// The weights `[S, K]` and bias `[S]` of the arguments `(γ x · v_i + c₀) / σ_i`.
fn dot_weights(
    sv: &[f32],
    k: usize,
    gamma: f32,
    coef0: f32,
    sigma: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let w = sv
        .chunks_exact(k)
        .zip(sigma)
        .flat_map(|(v, sg)| v.iter().map(move |a| gamma * a / sg))
        .collect();
    let b = sigma.iter().map(|sg| coef0 / sg).collect();
    (w, b)
}

/// The factors of banded kernel values: band `b`'s vector `i` (at `b S + i`) holds `λ_b` times
/// its part of `K(x, v_i) / f_i`, so its coefficient takes on `f_i / λ_b`.
fn banded(factors: &[f32], gains: &[f32]) -> Vec<f32> {
    gains
        .iter()
        .flat_map(|g| factors.iter().map(move |f| f / g))
        .collect()
}

/// The node's float-list attribute `name` (empty when absent).
fn floats(ctx: &Ctx<'_>, name: &str) -> Vec<f32> {
    ctx.attr(name).map(|a| a.floats.clone()).unwrap_or_default()
}

impl Importer {
    /// The input and its feature count `K`, after the checks every SVM shares.
    fn svm_input(&mut self, ctx: &Ctx<'_>) -> Result<(ValueId, usize)> {
        if ctx.string("post_transform").unwrap_or(b"NONE") != b"NONE" {
            return Err(ctx.unsupported("a post_transform other than NONE"));
        }
        let x = self.value_in(ctx, 0)?;
        let Some(&Dim::Fixed(k @ 1..)) = self.shape(x).last() else {
            return Err(
                ctx.shape_err("the input's last axis (features) must be fixed and not empty")
            );
        };
        Ok((x, k))
    }

    /// The support vectors, `[S, K]`, checked against `S = vectors`.
    fn support_vectors(ctx: &Ctx<'_>, vectors: usize, k: usize) -> Result<Vec<f32>> {
        if vectors == 0 {
            return Err(ctx.unsupported("the liblinear form (no support vectors)"));
        }
        let sv = floats(ctx, "support_vectors");
        if Some(sv.len()) != vectors.checked_mul(k) {
            return Err(ctx.bad_attr(
                "support_vectors",
                format!("{} values for {vectors} vectors of {k} features", sv.len()),
            ));
        }
        if sv.iter().any(|v| !v.is_finite()) {
            return Err(ctx.bad_attr("support_vectors", "holds a non-finite value"));
        }
        Ok(sv)
    }

    /// The scores `Σ_i c_i K(x, v_i) + ρ` of `duals` over the support vectors `sv` (`[S, K]`),
    /// `[.., n]`, named `name`.
    fn svm_scores(
        &mut self,
        ctx: &Ctx<'_>,
        (x, k): (ValueId, usize),
        sv: &[f32],
        duals: Duals,
        name: &str,
    ) -> Result<ValueId> {
        let kernel = Kernel::of(ctx)?;
        let n = duals.rho.len();
        let s = sv.len() / k.max(1);
        if kernel == Kernel::Linear {
            let w = fold(&duals.coef, sv, s, k);
            // a Scaler read by nothing else folds into the weights (lower/linear_scaler.rs)
            let (x, w, rho) = match self.take_scaler(ctx, x, 0) {
                Some(sc) => {
                    let (w, b) = super::linear_scaler::compose(&sc, &w, Some(&duals.rho), k);
                    (sc.x, w, b)
                }
                None => (x, w, duals.rho),
            };
            let bias = self.new_const(ctx, "rho", vec![n], rho);
            let weight = self.new_const(ctx, "weights", vec![n, k], w);
            return self.linear(ctx, x, weight, n, k, Some(bias), Some(name));
        }
        let bias = self.new_const(ctx, "rho", vec![n], duals.rho);
        // the largest row of absolute dual coefficients: how far a kernel value's error reaches
        let reach = duals
            .coef
            .chunks_exact(s.max(1))
            .map(|row| row.iter().map(|c| c.abs()).sum::<f32>())
            .fold(0f32, f32::max);
        // each vector's largest absolute dual coefficient over the rows
        let mut large = vec![0f32; s];
        for row in duals.coef.chunks_exact(s.max(1)) {
            for (l, c) in large.iter_mut().zip(row) {
                *l = l.max(c.abs());
            }
        }
        let (kv, factors) = self.svm_kernels(ctx, x, k, sv, kernel, (reach, &large))?;
        let coef = duals
            .coef
            .chunks_exact(s)
            .flat_map(|row| row.iter().cycle().zip(&factors).map(|(c, f)| c * f))
            .collect();
        let width = factors.len();
        let weight = self.new_const(ctx, "coefficients", vec![n, width], coef);
        self.linear(ctx, kv, weight, n, width, Some(bias), Some(name))
    }

    /// The kernel values of a `POLY`, `RBF` or `SIGMOID` kernel in bands, `[.., B S]`, each
    /// band's part of `K(x, v_i)` divided by its factor (the second value, which the dual
    /// coefficients take on: `f_i` over the band's gain).
    ///
    /// A `POLY` kernel is homogeneous: `(γ x · v_i + c₀)^d = σ_i^d ((γ x · v_i + c₀) / σ_i)^d`
    /// for any `σ_i > 0` ([`poly_scales`]: each vector's coefficient folded into its argument,
    /// so every vector's kernel steps cost the scores alike; breast cancer's norms span 40x,
    /// and one divisor for all was 4e-2 off). `RBF` and `SIGMOID` are not homogeneous: their
    /// factors are 1. `large` holds each vector's largest absolute coefficient, `reach` the
    /// largest row's sum of them.
    fn svm_kernels(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        k: usize,
        sv: &[f32],
        kernel: Kernel,
        (reach, large): (f32, &[f32]),
    ) -> Result<(ValueId, Vec<f32>)> {
        let s = sv.len() / k.max(1);
        let mut factors = vec![1f32; s];
        let (w, b, dot) = match kernel {
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } => {
                let sigma = poly_scales(sv, k, (gamma, coef0, degree), large);
                for (f, sg) in factors.iter_mut().zip(&sigma) {
                    *f = libm::powf(*sg, degree);
                }
                let (w, b) = dot_weights(sv, k, gamma, coef0, &sigma);
                (w, b, DotKernel::Pow(degree))
            }
            Kernel::Sigmoid { gamma, coef0 } => {
                let (w, b) = dot_weights(sv, k, gamma, coef0, &vec![1.0; s]);
                // past `w`, `1 - tanh` (below `2 e^-2w`) moves no score by more than 10^-5
                let clip = 0.5 * libm::logf(2e5 * reach).max(8.0);
                (w, b, DotKernel::Tanh(clip))
            }
            Kernel::Rbf { gamma } => {
                let (kv, gains) = self.rbf_kernels(ctx, x, k, sv, gamma, reach)?;
                return Ok((kv, banded(&factors, &gains)));
            }
            Kernel::Linear => return Err(ctx.shape_err("a LINEAR kernel is folded")),
        };
        let (kv, gains) = self.dot_kernels(ctx, x, k, (w, b), dot)?;
        Ok((kv, banded(&factors, &gains)))
    }

    /// `SVMClassifier` with integer labels `0..n-1`: binary, or one-vs-one votes for `n > 2`.
    pub(super) fn svm_classifier(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let labels = ctx.ints("classlabels_ints").unwrap_or_default();
        let n = labels.len();
        if n < 2 || labels.iter().zip(0..).any(|(l, i)| *l != i) {
            return Err(ctx.unsupported(
                "class labels other than the integers 0..n-1, n >= 2 (string labels are not \
                 supported)",
            ));
        }
        let platt = match (
            floats(ctx, "prob_a").as_slice(),
            floats(ctx, "prob_b").as_slice(),
        ) {
            ([], []) => None,
            ([a], [b]) if n == 2 && a.is_finite() && b.is_finite() => Some((*a, *b)),
            _ if n > 2 => {
                return Err(ctx.unsupported(format!(
                    "probability outputs (prob_a, prob_b) of {n} classes: onnxruntime couples the \
                     {} pairwise Platt probabilities by libsvm's multiclass_probability, an \
                     iteration over all of them to a tolerance, which no fixed integer graph \
                     computes (two classes are supported)",
                    n * (n - 1) / 2
                )));
            }
            _ => {
                return Err(ctx.bad_attr(
                    "prob_a",
                    "a binary classifier needs one finite prob_a and one prob_b",
                ));
            }
        };
        let per_class = ctx.ints("vectors_per_class").unwrap_or_default();
        let per_class: Vec<usize> = per_class
            .iter()
            .map(|&v| usize::try_from(v))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| ctx.bad_attr("vectors_per_class", "holds a negative count"))?;
        let vectors = per_class
            .iter()
            .try_fold(0usize, |a, &c| a.checked_add(c))
            .ok_or_else(|| ctx.bad_attr("vectors_per_class", "counts overflow"))?;
        let input = self.svm_input(ctx)?;
        let sv = Self::support_vectors(ctx, vectors, input.1)?;
        if per_class.len() != n {
            return Err(ctx.bad_attr(
                "vectors_per_class",
                format!("has {} counts for {n} classes", per_class.len()),
            ));
        }
        let coef = floats(ctx, "coefficients");
        let rho = floats(ctx, "rho");
        let pairs = n * (n - 1) / 2;
        // the decisions' coefficients are derived constants: within the import's budget
        let room = self.derived_room();
        if pairs.checked_mul(vectors).is_none_or(|c| c > room) {
            return Err(ctx.unsupported(format!(
                "{pairs} pairwise decisions over {vectors} vectors (more derived coefficients \
                 than the import allows, {room})"
            )));
        }
        if coef.len() < (n - 1) * vectors || rho.len() < pairs {
            return Err(ctx.bad_attr(
                "coefficients",
                format!(
                    "{} coefficients and {} rho for {n} classes of {vectors} vectors (need {} \
                     and {pairs})",
                    coef.len(),
                    rho.len(),
                    (n - 1) * vectors
                ),
            ));
        }
        if n == 2 {
            return self.svm_binary(ctx, input, &sv, &coef[..vectors], rho[0], platt);
        }
        self.svm_one_vs_one(ctx, input, &sv, &per_class, &coef, &rho[..pairs])
    }

    /// The binary classifier: scores `[s, -s]`, label by `ArgMax` (last index on ties), the
    /// scores output reversed, `[-s, s]`; with Platt's `(prob_a, prob_b)`, the scores output is
    /// onnxruntime's two probabilities instead, each a `Map` of `s`
    /// ([`ScalarFn::SvmProbability`]), concatenated (the label stays the score's sign, as
    /// onnxruntime's, from the votes).
    fn svm_binary(
        &mut self,
        ctx: &Ctx<'_>,
        input: (ValueId, usize),
        sv: &[f32],
        coef: &[f32],
        rho: f32,
        platt: Option<(f32, f32)>,
    ) -> Result<()> {
        let neg: Vec<f32> = coef.iter().map(|v| -v).collect();
        let duals = Duals {
            coef: [coef, &neg].concat(),
            rho: vec![rho, -rho],
        };
        let name = format!("{}.scores", ctx.name);
        let y = self.svm_scores(ctx, input, sv, duals, &name)?;
        self.svm_label(ctx, y, true)?;
        if let Some(out) = ctx.output(1).filter(|o| self.uses.contains_key(*o)) {
            let shape = self.shape(y);
            let mut maps = vec![Vec::new(); shape.len()];
            if let Some((a, b)) = platt {
                return self.svm_probabilities(ctx, y, (a, b), out);
            }
            if let Some(m) = maps.last_mut() {
                *m = vec![1, 0];
            }
            let out = out.to_owned();
            let z = self.emit_named(
                ctx,
                FOp::Select { maps },
                vec![Operand::Value(y)],
                shape,
                Kind::Float,
                &out,
            )?;
            self.set_out(ctx, 1, Sym::Value(z))?;
        }
        Ok(())
    }

    /// Output 1 of a binary classifier with probabilities: `[p_0(s), p_1(s)]` from the scores
    /// `y = [s, -s]`, named `out`.
    fn svm_probabilities(
        &mut self,
        ctx: &Ctx<'_>,
        y: ValueId,
        (a, b): (f32, f32),
        out: &str,
    ) -> Result<()> {
        let mut shape = self.shape(y);
        let mut maps = vec![Vec::new(); shape.len()];
        if let (Some(m), Some(last)) = (maps.last_mut(), shape.last_mut()) {
            *m = vec![0];
            *last = Dim::Fixed(1);
        }
        let op = FOp::Select { maps };
        let s = self.emit_tmp(ctx, "decision", op, vec![Operand::Value(y)], shape.clone())?;
        let mut cols = Vec::with_capacity(2);
        for class in 0..2u8 {
            let f = ScalarFn::SvmProbability { a, b, class };
            let op = FOp::Map { f };
            let suffix = if class == 0 { "p0" } else { "p1" };
            cols.push(Operand::Value(self.emit_tmp(
                ctx,
                suffix,
                op,
                vec![Operand::Value(s)],
                shape.clone(),
            )?));
        }
        let axis = shape.len().saturating_sub(1);
        if let Some(last) = shape.last_mut() {
            *last = Dim::Fixed(2);
        }
        let z = self.emit_named(ctx, FOp::Concat { axis }, cols, shape, Kind::Float, out)?;
        self.set_out(ctx, 1, Sym::Value(z))
    }

    /// The one-vs-one classifier of `n = per_class.len()` classes: the pairwise decisions are
    /// the scores output, their votes the label.
    fn svm_one_vs_one(
        &mut self,
        ctx: &Ctx<'_>,
        input: (ValueId, usize),
        sv: &[f32],
        per_class: &[usize],
        coef: &[f32],
        rho: &[f32],
    ) -> Result<()> {
        let (n, s) = (per_class.len(), sv.len() / input.1.max(1));
        let start: Vec<usize> = per_class
            .iter()
            .scan(0, |acc, &c| {
                let at = *acc;
                *acc += c;
                Some(at)
            })
            .collect();
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .collect();
        // d_ij: class i's vectors with their coefficient row j - 1, class j's with row i
        let mut rows = vec![0f32; pairs.len() * s];
        for (row, &(i, j)) in rows.chunks_exact_mut(s).zip(&pairs) {
            for (class, c_row) in [(i, j - 1), (j, i)] {
                let span = start[class]..start[class] + per_class[class];
                let from = c_row * s;
                row[span.clone()].copy_from_slice(&coef[from + span.start..from + span.end]);
            }
        }
        let duals = Duals {
            coef: rows,
            rho: rho.to_vec(),
        };
        let name = match ctx.output(1).filter(|o| self.uses.contains_key(*o)) {
            Some(o) => o.to_owned(),
            None => format!("{}.scores", ctx.name),
        };
        let d = self.svm_scores(ctx, input, sv, duals, &name)?;
        self.set_out(ctx, 1, Sym::Value(d))?;
        if ctx.output(0).is_none_or(|o| !self.uses.contains_key(o)) {
            return Ok(());
        }
        let shape = self.shape(d);
        let op = FOp::Map {
            f: ScalarFn::Greater { than: 0.0 },
        };
        let wins = self.emit_tmp(ctx, "wins", op, vec![Operand::Value(d)], shape)?;
        // votes_c = Σ_{(c, j)} H(d_cj) + Σ_{(i, c)} (1 - H(d_ic))
        let mut w = vec![0f32; n * pairs.len()];
        let mut b = vec![0f32; n];
        for (p, &(i, j)) in pairs.iter().enumerate() {
            w[i * pairs.len() + p] = 1.0;
            w[j * pairs.len() + p] = -1.0;
            b[j] += 1.0;
        }
        let weight = self.new_const(ctx, "votes", vec![n, pairs.len()], w);
        let bias = self.new_const(ctx, "trailing", vec![n], b);
        let name = format!("{}.votes", ctx.name);
        let votes = self.linear(ctx, wins, weight, n, pairs.len(), Some(bias), Some(&name))?;
        self.svm_label(ctx, votes, false)
    }

    /// Output 0, the label: the `ArgMax` of `y`'s last axis, if the graph reads it.
    fn svm_label(&mut self, ctx: &Ctx<'_>, y: ValueId, last: bool) -> Result<()> {
        let Some(label) = ctx.output(0).filter(|o| self.uses.contains_key(*o)) else {
            return Ok(());
        };
        let mut shape = self.shape(y);
        shape.pop();
        let op = FOp::ArgMax {
            axis: shape.len(),
            keepdims: false,
            select_last_index: last,
        };
        let label = label.to_owned();
        let idx = self.emit_named(ctx, op, vec![Operand::Value(y)], shape, Kind::Index, &label)?;
        self.set_out(ctx, 0, Sym::Value(idx))
    }

    /// `SVMRegressor` (not one-class): one score.
    pub(super) fn svm_regressor(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if ctx.int("one_class", 0) != 0 {
            return Err(ctx.unsupported("one-class regression"));
        }
        let vectors = usize::try_from(ctx.int("n_supports", 0)).unwrap_or(0);
        let input = self.svm_input(ctx)?;
        let sv = Self::support_vectors(ctx, vectors, input.1)?;
        let coef = floats(ctx, "coefficients");
        let rho = floats(ctx, "rho");
        let ([rho], true) = (rho.as_slice(), coef.len() >= vectors) else {
            return Err(ctx.bad_attr(
                "coefficients",
                format!(
                    "{} coefficients and {} rho for one score of {vectors} vectors",
                    coef.len(),
                    rho.len()
                ),
            ));
        };
        let duals = Duals {
            coef: coef[..vectors].to_vec(),
            rho: vec![*rho],
        };
        let name = format!("{}.score", ctx.name);
        let y = self.svm_scores(ctx, input, &sv, duals, &name)?;
        self.rebind(ctx, y)
    }
}
