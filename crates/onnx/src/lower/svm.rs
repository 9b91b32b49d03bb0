//! `ai.onnx.ml` `SVMClassifier` and `SVMRegressor` with the `LINEAR` kernel, as a `Linear`:
//! `Σ_i c_i (x · v_i) + ρ = x · (Σ_i c_i v_i) + ρ`, the support vectors folded into one weight
//! row per score at import. Other kernels, one-class regression, probability outputs
//! (`prob_a`/`prob_b`) and classifiers of more than two classes (one-vs-one votes) are refused,
//! naming the node.
//!
//! onnxruntime's binary classifier scores `s` and labels `class 0` when `s > 0` (libsvm's
//! sign), `class 1` otherwise, and outputs the scores `[-s, s]`: vouch computes `[s, -s]`, whose
//! `ArgMax` with the last index on ties is that label, and reverses it for the scores.

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand};
use crate::import::{Ctx, Importer, Kind, Sym};

/// The folded weights `Σ_i c_i v_i` of an SVM with `vectors` support vectors of `k` features.
fn fold(ctx: &Ctx<'_>, coef: &[f32], sv: &[f32], vectors: usize, k: usize) -> Result<Vec<f32>> {
    if coef.len() < vectors || sv.len() != vectors * k {
        return Err(ctx.bad_attr(
            "support_vectors",
            format!("{} values for {vectors} vectors of {k} features", sv.len()),
        ));
    }
    let mut w = vec![0f64; k];
    for (c, v) in coef.iter().zip(sv.chunks_exact(k)) {
        for (wf, x) in w.iter_mut().zip(v) {
            *wf += f64::from(*c) * f64::from(*x);
        }
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "weights are f32 in the graph"
    )]
    Ok(w.into_iter().map(|v| v as f32).collect())
}

impl Importer {
    /// The input, its feature count and the folded weights of a `LINEAR`-kernel SVM.
    fn svm_linear(
        &mut self,
        ctx: &Ctx<'_>,
        vectors: usize,
    ) -> Result<(crate::graph::ValueId, usize, Vec<f32>, f32)> {
        let kernel = ctx.string("kernel_type").unwrap_or(b"LINEAR");
        if kernel != b"LINEAR" {
            return Err(ctx.unsupported(format!(
                "kernel_type {} (only LINEAR folds into a Linear)",
                String::from_utf8_lossy(kernel)
            )));
        }
        if ctx.string("post_transform").unwrap_or(b"NONE") != b"NONE" {
            return Err(ctx.unsupported("a post_transform other than NONE"));
        }
        let x = self.value_in(ctx, 0)?;
        let Some(&Dim::Fixed(k)) = self.shape(x).last() else {
            return Err(ctx.shape_err("the input's last axis (features) must be fixed"));
        };
        let floats = |n: &str| ctx.attr(n).map(|a| a.floats.clone()).unwrap_or_default();
        if vectors == 0 {
            return Err(ctx.unsupported("the liblinear form (no support vectors)"));
        }
        let w = fold(
            ctx,
            &floats("coefficients"),
            &floats("support_vectors"),
            vectors,
            k,
        )?;
        let rho = floats("rho");
        let [rho] = rho.as_slice() else {
            return Err(ctx.bad_attr("rho", format!("has {} values for one score", rho.len())));
        };
        Ok((x, k, w, *rho))
    }

    /// `SVMClassifier`: a binary `LINEAR`-kernel classifier with labels `0, 1`.
    pub(super) fn svm_classifier(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let labels = ctx.ints("classlabels_ints").unwrap_or_default();
        if labels != [0, 1] {
            return Err(ctx.unsupported(
                "a classifier other than binary with labels 0 and 1 (one-vs-one votes and \
                 string labels are not supported)",
            ));
        }
        if ctx.attr("prob_a").is_some_and(|a| !a.floats.is_empty()) {
            return Err(ctx.unsupported("probability outputs (prob_a, prob_b)"));
        }
        let per_class = ctx.ints("vectors_per_class").unwrap_or_default();
        let vectors = usize::try_from(per_class.iter().sum::<i64>()).unwrap_or(0);
        let (x, k, w, rho) = self.svm_linear(ctx, vectors)?;
        let neg: Vec<f32> = w.iter().map(|v| -v).collect();
        let weight = self.new_const(ctx, "weights", vec![2, k], [w, neg].concat());
        let bias = self.new_const(ctx, "rho", vec![2], vec![rho, -rho]);
        // [s, -s]
        let name = format!("{}.scores", ctx.name);
        let y = self.linear(ctx, x, weight, 2, k, Some(bias), Some(&name))?;
        let shape = self.shape(y);
        let axis = shape.len() - 1;
        if let Some(label) = ctx.output(0).filter(|o| self.uses.contains_key(*o)) {
            let mut s = shape.clone();
            s.pop();
            let op = FOp::ArgMax {
                axis,
                keepdims: false,
                select_last_index: true,
            };
            let label = label.to_owned();
            let idx = self.emit_named(ctx, op, vec![Operand::Value(y)], s, Kind::Index, &label)?;
            self.set_out(ctx, 0, Sym::Value(idx))?;
        }
        if let Some(out) = ctx.output(1).filter(|o| self.uses.contains_key(*o)) {
            let mut maps = vec![Vec::new(); shape.len()];
            maps[axis] = vec![1, 0];
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

    /// `SVMRegressor`: a `LINEAR`-kernel regressor (not one-class).
    pub(super) fn svm_regressor(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if ctx.int("one_class", 0) != 0 {
            return Err(ctx.unsupported("one-class regression"));
        }
        let vectors = usize::try_from(ctx.int("n_supports", 0)).unwrap_or(0);
        let (x, k, w, rho) = self.svm_linear(ctx, vectors)?;
        let weight = self.new_const(ctx, "weights", vec![1, k], w);
        let bias = self.new_const(ctx, "rho", vec![1], vec![rho]);
        let y = self.linear(ctx, x, weight, 1, k, Some(bias), None)?;
        self.rebind(ctx, y)
    }
}
