//! Graph plumbing that belongs to no op family and emits no node: ONNX `Constant`, `Identity`,
//! `Dropout` (inference), `Cast`, `If` whose condition is a constant after folding (the
//! branch taken is lowered in place; a data-dependent `If` is refused), and the comparisons
//! and logic ops (`Equal`, `Greater`, `Less`, `GreaterOrEqual`, `LessOrEqual`, `And`, `Or`,
//! `Xor`, `Not`) folded on constants, as the conditions of such `If`s are computed (on
//! computed tensors they are `logic.rs`'s).

use crate::error::Result;
use crate::graph::Dim;
use crate::import::{Ctx, Importer, Kind, Sym};
use crate::tensor::{Data, Tensor};

impl Importer {
    /// ONNX `Constant`: binds the node's output to the constant held by its one attribute.
    pub(super) fn constant(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let a = ctx
            .node
            .attribute
            .first()
            .ok_or_else(|| ctx.bad_attr("value", "Constant has no attribute"))?;
        let t = match a.name.as_str() {
            "value" => {
                let t =
                    a.t.as_ref()
                        .ok_or_else(|| ctx.bad_attr("value", "missing tensor"))?;
                if let Some(o) = ctx.output(0) {
                    self.elem_types.insert(o.to_owned(), t.data_type);
                }
                Tensor::from_proto(t)?
            }
            "value_float" => Tensor::f(vec![], vec![a.f]),
            "value_floats" => Tensor::f(vec![a.floats.len()], a.floats.clone()),
            "value_int" => Tensor::i(vec![], vec![a.i]),
            "value_ints" => Tensor::i(vec![a.ints.len()], a.ints.clone()),
            other => return Err(ctx.bad_attr(other, "unsupported Constant attribute")),
        };
        self.out_const(ctx, t)
    }

    /// ONNX `Identity`: the output is bound to the input.
    /// `ai.onnx.ml` `Imputer` reading a graph input that nothing else reads: the replacement is
    /// the client's first step (`docs/semantics.md` section 5), recorded on the input, and the
    /// output is the input itself. On a computed tensor, or on integer inputs, it is refused.
    pub(super) fn imputer(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let name = ctx.input(0).unwrap_or_default();
        if !self.g.inputs.contains(&x) || self.uses.get(name).copied().unwrap_or(0) != 1 {
            return Err(
                ctx.unsupported("an Imputer on anything but a graph input that only it reads")
            );
        }
        if ctx
            .attr("imputed_value_int64s")
            .is_some_and(|a| !a.ints.is_empty())
        {
            return Err(ctx.unsupported("integer imputation (imputed_value_int64s)"));
        }
        let Some(&crate::graph::Dim::Fixed(f)) = self.shape(x).last() else {
            return Err(ctx.shape_err("the input's last axis (features) must be fixed"));
        };
        let v = ctx
            .attr("imputed_value_floats")
            .map(|a| a.floats.clone())
            .unwrap_or_default();
        let values = match v.len() {
            1 => vec![v[0]; f],
            n if n == f => v,
            n => {
                return Err(ctx.bad_attr(
                    "imputed_value_floats",
                    format!("has {n} values for {f} features"),
                ));
            }
        };
        let replaced = ctx.attr("replaced_value_float").map_or(0.0, |a| a.f);
        if let Some(info) = self.g.values.get_mut(x) {
            info.imputation = Some(crate::graph::Imputation::new(replaced, &values));
        }
        self.set_out(ctx, 0, Sym::Value(x))
    }

    pub(super) fn identity(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.sym(ctx, 0)?;
        self.set_out(ctx, 0, s)
    }

    /// `ai.onnx.ml` `ZipMap`: output formatting. It turns the `[N, C]` probabilities into one
    /// `label -> probability` map per row; vouch keeps the tensor, whose column `c` is the entry
    /// of label `c`, so the output is bound to the input. Integer labels other than `0..C-1`
    /// and string labels (which the tensor cannot carry) are refused.
    pub(super) fn zipmap(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let labels = ctx.ints("classlabels_int64s").unwrap_or_default();
        if labels.is_empty() {
            return Err(ctx.unsupported(
                "string class labels (classlabels_strings): the output is a tensor whose \
                 column c is label c",
            ));
        }
        if !labels.iter().zip(0i64..).all(|(&c, i)| c == i) {
            return Err(ctx.unsupported("class labels other than 0..n-1"));
        }
        let v = self.value_in(ctx, 0)?;
        if !matches!(self.shape(v).as_slice(), [_, Dim::Fixed(c)] if *c == labels.len()) {
            return Err(ctx.bad_input(
                0,
                format!(
                    "must be [N, {}] probabilities (one column per label), rank {}",
                    labels.len(),
                    self.shape(v).len()
                ),
            ));
        }
        let s = self.sym(ctx, 0)?;
        self.set_out(ctx, 0, s)
    }

    /// ONNX `Dropout` (inference): the identity; training mode or a used mask is unsupported.
    pub(super) fn dropout(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if let Some(t) = self.opt_const_in(ctx, 2)? {
            if t.to_f32().is_some_and(|v| v.iter().any(|&x| x != 0.0)) {
                return Err(ctx.unsupported("training_mode = true"));
            }
        } else if ctx.input(2).is_some() {
            return Err(ctx.bad_input(2, "training_mode must be a constant"));
        }
        if ctx.output(1).is_some_and(|m| self.uses.contains_key(m)) {
            return Err(ctx.unsupported("the mask output is used"));
        }
        let s = self.sym(ctx, 0)?;
        self.set_out(ctx, 0, s)
    }

    /// ONNX `Cast`: folds constants; float-to-float and index casts of values disappear.
    pub(super) fn cast(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let to = ctx
            .attr("to")
            .map(|a| a.i)
            .ok_or_else(|| ctx.bad_attr("to", "required"))?;
        let to_float = matches!(to, 1 | 10 | 11 | 16);
        let to_int = matches!(to, 2..=7 | 9 | 12 | 13);
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let out = if to_float {
                    Tensor::f(
                        t.shape.clone(),
                        t.to_f32()
                            .ok_or_else(|| ctx.unsupported("cast of a symbolic shape"))?,
                    )
                } else if to_int {
                    match &t.data {
                        Data::I(_) => (*t).clone(),
                        #[expect(clippy::cast_possible_truncation, reason = "ONNX Cast truncates")]
                        Data::F(v) => {
                            Tensor::i(t.shape.clone(), v.iter().map(|&x| x as i64).collect())
                        }
                    }
                } else {
                    return Err(ctx.bad_attr(
                        "to",
                        format!(
                            "unsupported target type {}",
                            crate::shapes::type_name(i32::try_from(to).unwrap_or(i32::MAX))
                        ),
                    ));
                };
                self.out_const(ctx, out)
            }
            Sym::Value(v) => {
                let kind = self.kinds.get(v).copied().unwrap_or(Kind::Float);
                // Index values and integer graph inputs stay exact integers through any
                // numeric cast.
                // (an integer input's values, at most act16's, must fit the target type)
                let fits = match (self.g.values.get(v).and_then(|i| i.integer), to_int) {
                    (Some((lo, hi)), true) => {
                        let to = crate::shapes::integer_range(i32::try_from(to).unwrap_or(0));
                        let (lo, hi) = (lo.max(-32_768), hi.min(32_767));
                        to.is_some_and(|(tlo, thi)| tlo <= lo && hi <= thi)
                    }
                    (Some(_), false) => to_float,
                    (None, _) => false,
                };
                if (kind == Kind::Float && to_float)
                    || (kind == Kind::Index && (to_float || to_int))
                    || fits
                {
                    self.set_out(ctx, 0, Sym::Value(v))
                } else {
                    let what = if kind == Kind::Index {
                        "an integer index"
                    } else {
                        "a float"
                    };
                    Err(ctx.unsupported(format!(
                        "a cast of {what} tensor to {} (vouch computes on float values and \
                         integer indices)",
                        crate::shapes::type_name(i32::try_from(to).unwrap_or(i32::MAX))
                    )))
                }
            }
        }
    }

    /// ONNX `If` whose condition is a constant once shapes and constants are folded (as
    /// exporters write for shape-dependent code): the branch it takes is lowered in place and
    /// binds the outputs. A condition computed from the input is a data-dependent branch the
    /// integer checkers cannot follow, and is refused.
    pub(super) fn if_const(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let cond = match self.sym(ctx, 0)? {
            Sym::Const(t) => t,
            Sym::Value(_) => {
                return Err(ctx
                    .unsupported("a condition computed from the input (a data-dependent branch)"));
            }
        };
        let taken = match cond.to_f32().as_deref() {
            Some([c]) => *c != 0.0,
            _ => return Err(ctx.bad_input(0, "is not a single boolean")),
        };
        let attr = if taken { "then_branch" } else { "else_branch" };
        let branch = ctx
            .attr(attr)
            .and_then(|a| a.g.as_ref())
            .ok_or_else(|| ctx.bad_attr(attr, "missing subgraph"))?;
        let outs = self.lower_subgraph(ctx, branch)?;
        if outs.len() != ctx.node.output.len() {
            return Err(ctx.shape_err(format!(
                "the {attr} has {} outputs, the node {}",
                outs.len(),
                ctx.node.output.len()
            )));
        }
        for (i, sym) in outs.into_iter().enumerate() {
            if ctx.output(i).is_some() {
                self.set_out(ctx, i, sym)?;
            }
        }
        Ok(())
    }

    /// ONNX comparisons and logic ops on constants (folded to 0/1); on computed tensors they
    /// are `logic.rs`'s, which calls this when every operand is a constant.
    pub(super) fn compare_const(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let arity = if ctx.op == "Not" { 1 } else { 2 };
        let mut operands = Vec::with_capacity(arity);
        for i in 0..arity {
            match self.sym(ctx, i)? {
                Sym::Const(t) => operands.push(t),
                Sym::Value(_) => {
                    return Err(ctx.unsupported(
                        "a comparison or logic op on a computed tensor (folded on constants only)",
                    ));
                }
            }
        }
        let b = |c: bool| if c { 1.0 } else { 0.0 };
        let bi = |c: bool| Some(i64::from(c));
        let folded = match (ctx.op, operands.as_slice()) {
            ("Not", [a]) => crate::tensor::fold_binary(a, a, |p, _| b(p == 0.0), |p, _| bi(p == 0)),
            ("Equal", [x, y]) => {
                crate::tensor::fold_binary(x, y, |p, q| b(p == q), |p, q| bi(p == q))
            }
            ("Greater", [x, y]) => {
                crate::tensor::fold_binary(x, y, |p, q| b(p > q), |p, q| bi(p > q))
            }
            ("Less", [x, y]) => crate::tensor::fold_binary(x, y, |p, q| b(p < q), |p, q| bi(p < q)),
            ("GreaterOrEqual", [x, y]) => {
                crate::tensor::fold_binary(x, y, |p, q| b(p >= q), |p, q| bi(p >= q))
            }
            ("LessOrEqual", [x, y]) => {
                crate::tensor::fold_binary(x, y, |p, q| b(p <= q), |p, q| bi(p <= q))
            }
            ("And", [x, y]) => crate::tensor::fold_binary(
                x,
                y,
                |p, q| b(p != 0.0 && q != 0.0),
                |p, q| bi(p != 0 && q != 0),
            ),
            ("Or", [x, y]) => crate::tensor::fold_binary(
                x,
                y,
                |p, q| b(p != 0.0 || q != 0.0),
                |p, q| bi(p != 0 || q != 0),
            ),
            ("Xor", [x, y]) => crate::tensor::fold_binary(
                x,
                y,
                |p, q| b((p != 0.0) != (q != 0.0)),
                |p, q| bi((p != 0) != (q != 0)),
            ),
            _ => None,
        };
        let t = folded.ok_or_else(|| {
            ctx.unsupported("operands that do not fold (a symbolic batch size, or no broadcast)")
        })?;
        self.out_const(ctx, t)
    }
}
