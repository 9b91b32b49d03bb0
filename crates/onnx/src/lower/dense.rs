//! Dense products: ONNX `Gemm` and `MatMul`, lowered to [`FOp::Linear`] (a constant right
//! operand, with `alpha`, `beta` and `transB` folded into the constants) or [`FOp::MatMul`] of two
//! computed tensors; the `ai.onnx.ml` linear models, `Linear` scores through their
//! post-transform (`Softmax`, `Sigmoid`, a `PROBIT` [`ScalarFn`] map, `SoftmaxZero`).

use crate::error::Result;
use crate::graph::{ConstId, Dim, FOp, Operand, ScalarFn, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym, broadcast_dims, fixed};

impl Importer {
    /// `Linear` of value `a` by the `[N, K]` weight, with optional `[N]` bias.
    #[expect(clippy::too_many_arguments, reason = "the shapes travel with the ids")]
    pub(super) fn linear(
        &mut self,
        ctx: &Ctx<'_>,
        a: ValueId,
        weight: ConstId,
        n: usize,
        k: usize,
        bias: Option<ConstId>,
        out: Option<&str>,
    ) -> Result<ValueId> {
        let mut shape = self.shape(a);
        match shape.last_mut() {
            Some(last) if *last == Dim::Fixed(k) => *last = Dim::Fixed(n),
            _ => {
                return Err(ctx.shape_err(format!(
                    "input shape {:?} does not end with K = {k}",
                    self.shape(a)
                )));
            }
        }
        let op = FOp::Linear { weight, bias };
        match out {
            Some(o) => self.emit_named(ctx, op, vec![Operand::Value(a)], shape, Kind::Float, o),
            None => self.emit_tmp(ctx, "linear", op, vec![Operand::Value(a)], shape),
        }
    }

    /// ONNX `Gemm`: a `Linear` when B is constant (`alpha`, `beta`, `transB` folded), else a
    /// `MatMul` of two values (with `Transpose`, `Mul` by alpha, `Add` of C as needed).
    pub(super) fn gemm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let alpha = ctx.float("alpha", 1.0);
        let beta = ctx.float("beta", 1.0);
        let trans_a = ctx.int("transA", 0) != 0;
        let trans_b = ctx.int("transB", 0) != 0;
        let mut a = self.value_in(ctx, 0)?;
        let a_shape = self.shape(a);
        if a_shape.len() != 2 {
            return Err(ctx.shape_err(format!("Gemm input A must be 2-D, got {a_shape:?}")));
        }
        if trans_a {
            let s: Vec<Dim> = a_shape.iter().rev().copied().collect();
            a = self.emit_tmp(
                ctx,
                "transA",
                FOp::Transpose { perm: vec![1, 0] },
                vec![Operand::Value(a)],
                s,
            )?;
        }
        let c = self.opt_sym(ctx, 2)?;
        let out = ctx
            .output(0)
            .ok_or_else(|| ctx.shape_err("node has no output"))?
            .to_owned();
        match self.sym(ctx, 1)? {
            Sym::Const(b) => {
                let [r, cdim] = b.shape[..] else {
                    return Err(ctx.shape_err(format!("Gemm B must be 2-D, got {:?}", b.shape)));
                };
                // B read in place when already [N, K] (one copy, the graph's constant)
                let transposed;
                let w: &crate::tensor::Tensor = if trans_b {
                    &b
                } else {
                    transposed = b.transpose(&[1, 0]).ok_or_else(|| ctx.shape_err("B"))?;
                    &transposed
                };
                let (n, k) = if trans_b { (r, cdim) } else { (cdim, r) };
                if n == 0 || k == 0 {
                    return Err(ctx.shape_err("empty weight"));
                }
                let mut wd = w
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
                if alpha != 1.0 {
                    wd.iter_mut().for_each(|x| *x *= alpha);
                }
                let weight = self.new_const(ctx, "weight", vec![n, k], wd);
                // Bias: a [N]-broadcastable C folds into the Linear; anything else stays an Add.
                let (bias, rest) = match &c {
                    Some(Sym::Const(ct)) if ct.shape.iter().rev().skip(1).all(|&d| d == 1) => {
                        let cv = ct
                            .to_f32()
                            .ok_or_else(|| ctx.bad_input(2, "is not numeric"))?;
                        let bias = match cv.len() {
                            1 => vec![beta * cv.first().copied().unwrap_or(0.0); n],
                            l if l == n => cv.iter().map(|x| beta * x).collect(),
                            _ => {
                                return Err(ctx.shape_err(format!(
                                    "C shape {:?} does not broadcast to N = {n}",
                                    ct.shape
                                )));
                            }
                        };
                        (Some(self.new_const(ctx, "bias", vec![n], bias)), None)
                    }
                    other => (None, other.clone()),
                };
                let y = self.linear(
                    ctx,
                    a,
                    weight,
                    n,
                    k,
                    bias,
                    if rest.is_none() { Some(&out) } else { None },
                )?;
                match rest {
                    None => self.set_out(ctx, 0, Sym::Value(y)),
                    Some(cs) => self.add_c(ctx, y, cs, beta, &out),
                }
            }
            Sym::Value(mut b) => {
                if self.kinds.get(b) == Some(&Kind::Index) {
                    return Err(ctx.unsupported("integer (index) operand"));
                }
                let b_shape = self.shape(b);
                if b_shape.len() != 2 {
                    return Err(ctx.shape_err(format!("Gemm input B must be 2-D, got {b_shape:?}")));
                }
                if trans_b {
                    let s: Vec<Dim> = b_shape.iter().rev().copied().collect();
                    b = self.emit_tmp(
                        ctx,
                        "transB",
                        FOp::Transpose { perm: vec![1, 0] },
                        vec![Operand::Value(b)],
                        s,
                    )?;
                }
                let needs_more = alpha != 1.0 || c.is_some();
                let y =
                    self.matmul_values(ctx, a, b, if needs_more { None } else { Some(&out) })?;
                let y = if alpha != 1.0 {
                    let c_alpha = self.new_const(ctx, "alpha", vec![], vec![alpha]);
                    let s = self.shape(y);
                    let o = if c.is_some() {
                        format!("{}.scaled", ctx.name)
                    } else {
                        out.clone()
                    };
                    self.emit_named(
                        ctx,
                        FOp::Mul,
                        vec![Operand::Value(y), Operand::Const(c_alpha)],
                        s,
                        Kind::Float,
                        &o,
                    )?
                } else {
                    y
                };
                match c {
                    None => self.set_out(ctx, 0, Sym::Value(y)),
                    Some(cs) => self.add_c(ctx, y, cs, beta, &out),
                }
            }
        }
    }

    /// `y + beta * C` for a Gemm whose C did not fold into the bias.
    fn add_c(&mut self, ctx: &Ctx<'_>, y: ValueId, c: Sym, beta: f32, out: &str) -> Result<()> {
        let ys = self.shape(y);
        let (operand, cs) = match c {
            Sym::Const(t) => {
                let mut d = t
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(2, "is not numeric"))?;
                d.iter_mut().for_each(|x| *x *= beta);
                (
                    Operand::Const(self.new_const(ctx, "C", t.shape.clone(), d)),
                    fixed(&t.shape),
                )
            }
            Sym::Value(v) => {
                if beta != 1.0 {
                    return Err(ctx.unsupported("dynamic C with beta != 1"));
                }
                (Operand::Value(v), self.shape(v))
            }
        };
        let s = broadcast_dims(&ys, &cs)
            .ok_or_else(|| ctx.shape_err(format!("C {cs:?} does not broadcast to {ys:?}")))?;
        let v = self.emit_named(
            ctx,
            FOp::Add,
            vec![Operand::Value(y), operand],
            s,
            Kind::Float,
            out,
        )?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    fn matmul_values(
        &mut self,
        ctx: &Ctx<'_>,
        a: ValueId,
        b: ValueId,
        out: Option<&str>,
    ) -> Result<ValueId> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        if sa.len() < 2 || sb.len() < 2 {
            return Err(ctx.unsupported("MatMul of two computed tensors needs both of rank >= 2"));
        }
        let (ra, rb) = (sa.len(), sb.len());
        let (Some(&m), Some(&ka), Some(&kb), Some(&n)) = (
            sa.get(ra - 2),
            sa.get(ra - 1),
            sb.get(rb - 2),
            sb.get(rb - 1),
        ) else {
            return Err(ctx.shape_err("rank"));
        };
        if ka != kb || ka == Dim::Batch {
            return Err(ctx.shape_err(format!("inner dimensions differ: {sa:?} x {sb:?}")));
        }
        let mut s = broadcast_dims(&sa[..ra - 2], &sb[..rb - 2]).ok_or_else(|| {
            ctx.shape_err(format!(
                "batch dimensions do not broadcast: {sa:?} x {sb:?}"
            ))
        })?;
        s.push(m);
        s.push(n);
        let ins = vec![Operand::Value(a), Operand::Value(b)];
        match out {
            Some(o) => self.emit_named(ctx, FOp::MatMul, ins, s, Kind::Float, o),
            None => self.emit_tmp(ctx, "matmul", FOp::MatMul, ins, s),
        }
    }

    /// ONNX `MatMul`: a `Linear` by a constant right operand, else a `MatMul` of two values.
    pub(super) fn matmul(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let a = self.value_in(ctx, 0)?;
        match self.sym(ctx, 1)? {
            Sym::Const(b) => {
                let (k, n, squeeze) = match b.shape[..] {
                    [k, n] => (k, n, false),
                    [k] => (k, 1, true),
                    _ => {
                        return Err(ctx.unsupported(format!(
                            "constant right operand of shape {:?} (need 1-D or 2-D)",
                            b.shape
                        )));
                    }
                };
                if n == 0 || k == 0 {
                    return Err(ctx.shape_err("empty weight"));
                }
                // the weight is Bᵀ, [N, K]: a 1-D B ([K], read as [K, 1]) is already that
                let transposed = if squeeze {
                    None
                } else {
                    Some(b.transpose(&[1, 0]).ok_or_else(|| ctx.shape_err("B"))?)
                };
                let wd = transposed
                    .as_ref()
                    .unwrap_or(&b)
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
                // a Scaler read by nothing else folds into the weights (lower/linear_scaler.rs)
                let (a, wd, bias) = match self.take_scaler(ctx, a, 0) {
                    Some(sc) => {
                        let (w, b) = super::linear_scaler::compose(&sc, &wd, None, k);
                        (sc.x, w, Some(b))
                    }
                    None => (a, wd, None),
                };
                let bias = bias.map(|b| self.new_const(ctx, "bias", vec![n], b));
                let weight = self.new_const(ctx, "weight", vec![n, k], wd);
                if squeeze {
                    let y = self.linear(ctx, a, weight, n, k, bias, None)?;
                    let mut s = self.shape(y);
                    s.pop();
                    let v =
                        self.emit(ctx, FOp::Reshape, vec![Operand::Value(y)], s, Kind::Float)?;
                    self.set_out(ctx, 0, Sym::Value(v))
                } else {
                    let out = ctx.output(0).map(str::to_owned);
                    let v = self.linear(ctx, a, weight, n, k, bias, out.as_deref())?;
                    self.set_out(ctx, 0, Sym::Value(v))
                }
            }
            Sym::Value(_) => {
                let b = self.value_in(ctx, 1)?;
                let out = ctx.output(0).map(str::to_owned);
                let v = self.matmul_values(ctx, a, b, Some(out.as_deref().unwrap_or_default()))?;
                self.set_out(ctx, 0, Sym::Value(v))
            }
        }
    }
}

/// What a linear model's scores go through (`post_transform`).
enum Post {
    None,
    Softmax,
    Logistic,
    /// onnxruntime's `PROBIT` of each score ([`ScalarFn::Probit`]).
    Probit,
    /// onnxruntime's softmax over the non-zero scores (`softmax_zero.rs`).
    SoftmaxZero,
}

impl Importer {
    /// The coefficients `[N, K]` and intercepts `[N]` of an `ai.onnx.ml` linear model over an
    /// input of `K` features, and its `post_transform`.
    fn linear_model(&mut self, ctx: &Ctx<'_>, n: usize) -> Result<(ValueId, Post)> {
        let x = self.value_in(ctx, 0)?;
        let coef = ctx
            .attr("coefficients")
            .map(|a| a.floats.clone())
            .unwrap_or_default();
        let k = match self.shape(x).last() {
            Some(Dim::Fixed(k)) => *k,
            _ => return Err(ctx.shape_err("the input's last axis (features) must be fixed")),
        };
        if n == 0 || coef.len() != n * k {
            return Err(ctx.bad_attr(
                "coefficients",
                format!(
                    "has {} values; {n} outputs of {k} features need {}",
                    coef.len(),
                    n * k
                ),
            ));
        }
        let intercepts = ctx
            .attr("intercepts")
            .map(|a| a.floats.clone())
            .unwrap_or_default();
        if !intercepts.is_empty() && intercepts.len() != n {
            return Err(ctx.bad_attr(
                "intercepts",
                format!("has {} values for {n} outputs", intercepts.len()),
            ));
        }
        let post = match ctx.string("post_transform").unwrap_or(b"NONE") {
            b"NONE" => Post::None,
            b"SOFTMAX" => Post::Softmax,
            b"LOGISTIC" => Post::Logistic,
            b"PROBIT" => Post::Probit,
            // two scores too: onnxruntime's ComputeSoftmaxZero over a two-row binary
            // classifier's [-s, s] (the one-row form is refused by the classifier)
            b"SOFTMAX_ZERO" if n >= 2 => Post::SoftmaxZero,
            b"SOFTMAX_ZERO" => {
                return Err(ctx.unsupported(
                    "SOFTMAX_ZERO on one score (a softmax of one value; onnxruntime applies it \
                     to classifiers' scores)",
                ));
            }
            other => {
                return Err(ctx.unsupported(format!(
                    "post_transform {} (NONE, SOFTMAX, SOFTMAX_ZERO, LOGISTIC and PROBIT are \
                     supported)",
                    String::from_utf8_lossy(other)
                )));
            }
        };
        // a Scaler read by nothing else folds into the coefficients (lower/linear_scaler.rs)
        let (x, coef, intercepts) = match self.take_scaler(ctx, x, 0) {
            Some(sc) => {
                let b = (!intercepts.is_empty()).then_some(intercepts.as_slice());
                let (w, b) = super::linear_scaler::compose(&sc, &coef, b, k);
                (sc.x, w, b)
            }
            None => (x, coef, intercepts),
        };
        let weight = self.new_const(ctx, "coefficients", vec![n, k], coef);
        let bias = (!intercepts.is_empty())
            .then(|| self.new_const(ctx, "intercepts", vec![n], intercepts));
        let y = self.linear(ctx, x, weight, n, k, bias, None)?;
        Ok((y, post))
    }

    /// The scores after `post`, named as output `i` of the node.
    fn post_transform(
        &mut self,
        ctx: &Ctx<'_>,
        y: ValueId,
        post: Post,
        i: usize,
    ) -> Result<ValueId> {
        let shape = self.shape(y);
        let op = match post {
            Post::None => {
                if let (Some(name), Some(info)) = (ctx.output(i), self.g.values.get_mut(y)) {
                    name.clone_into(&mut info.name);
                }
                return Ok(y);
            }
            Post::Softmax => FOp::Softmax {
                axis: shape.len().saturating_sub(1),
            },
            Post::Logistic => FOp::Sigmoid,
            Post::Probit => FOp::Map {
                f: ScalarFn::Probit,
            },
            Post::SoftmaxZero => FOp::SoftmaxZero {
                axis: shape.len().saturating_sub(1),
            },
        };
        match ctx.output(i) {
            Some(name) => {
                self.emit_named(ctx, op, vec![Operand::Value(y)], shape, Kind::Float, name)
            }
            None => self.emit_tmp(ctx, "scores", op, vec![Operand::Value(y)], shape),
        }
    }

    /// `ai.onnx.ml` `LinearClassifier`: `Linear` scores (one row of coefficients per class)
    /// through the post-transform, and the label as the `ArgMax` of the raw scores (the
    /// post-transforms are monotone), for integer class labels `0..n-1`. The binary form with
    /// one row of coefficients is refused.
    pub(super) fn linear_classifier(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let labels = ctx.ints("classlabels_ints").unwrap_or_default();
        if labels.is_empty() {
            return Err(ctx.unsupported("string class labels (classlabels_strings)"));
        }
        if !labels.iter().zip(0i64..).all(|(&c, i)| c == i) {
            return Err(ctx.unsupported("class labels other than 0..n-1"));
        }
        let n = labels.len();
        let rows = ctx.attr("coefficients").map_or(0, |a| a.floats.len());
        let k = self
            .value_in(ctx, 0)
            .ok()
            .and_then(|x| match self.shape(x).last() {
                Some(Dim::Fixed(k)) => Some(*k),
                _ => None,
            })
            .unwrap_or(0);
        if n == 2 && k > 0 && rows == k {
            return Err(ctx.unsupported(
                "a binary classifier with one row of coefficients (convert with two rows)",
            ));
        }
        let (y, post) = self.linear_model(ctx, n)?;
        let raw_shape = self.shape(y);
        if let Some(label) = ctx.output(0).filter(|o| self.uses.contains_key(*o)) {
            let mut s = raw_shape.clone();
            s.pop();
            let label = label.to_owned();
            let idx = self.emit_named(
                ctx,
                FOp::ArgMax {
                    axis: raw_shape.len().saturating_sub(1),
                    keepdims: false,
                    select_last_index: false,
                },
                vec![Operand::Value(y)],
                s,
                Kind::Index,
                &label,
            )?;
            self.set_out(ctx, 0, Sym::Value(idx))?;
        }
        if ctx.output(1).is_some_and(|o| self.uses.contains_key(o)) {
            let scores = self.post_transform(ctx, y, post, 1)?;
            self.set_out(ctx, 1, Sym::Value(scores))?;
        }
        Ok(())
    }

    /// `ai.onnx.ml` `LinearRegressor`: `targets` outputs of a `Linear`, post-transform `NONE`
    /// or `PROBIT` (onnxruntime's probit of each value).
    pub(super) fn linear_regressor(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let n = usize::try_from(ctx.int("targets", 1))
            .map_err(|_| ctx.bad_attr("targets", "must be positive"))?;
        let (y, post) = self.linear_model(ctx, n)?;
        match post {
            Post::None => self.rebind(ctx, y),
            Post::Probit => {
                let v = self.post_transform(ctx, y, post, 0)?;
                self.set_out(ctx, 0, Sym::Value(v))
            }
            Post::Softmax | Post::Logistic | Post::SoftmaxZero => {
                Err(ctx.unsupported("a LinearRegressor post_transform other than NONE and PROBIT"))
            }
        }
    }
}
