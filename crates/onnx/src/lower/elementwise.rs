//! Elementwise arithmetic with broadcasting: ONNX `Add`, `Sub`, `Mul` and `Div`, lowered to
//! [`FOp::Add`], [`FOp::Sub`] and [`FOp::Mul`] (constants folded, `Div` by a constant as `Mul` by
//! its reciprocal, by a computed tensor as `Mul` by its reciprocal's fine table), the folding of a constant bias `Add` into a preceding [`FOp::Linear`], and
//! n-ary `Sum`, `Mean`, `Max` and `Min`.

use crate::error::Result;
use crate::graph::{FNode, FOp, Operand, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym, broadcast_dims, fixed};
use crate::tensor::{self, Tensor};

impl Importer {
    /// ONNX `Add`, `Sub`, `Mul`, `Div`: folded when both operands are constant; a constant bias
    /// after a `Linear` folds into it (`try_fold_bias`); `Div` by a constant becomes `Mul` by
    /// the reciprocal, by a computed tensor `Mul` by a fine `Map` `Reciprocal` (saturating
    /// where the divisor nears 0 beyond what calibration saw).
    pub(super) fn binary(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        // Opset 6 and earlier: `broadcast = 1` with an `axis` aligns the second operand at that
        // axis instead of numpy's trailing alignment; only the numpy-equivalent form is taken.
        if ctx.int("broadcast", 0) == 1 && ctx.attr("axis").is_some() {
            return Err(ctx.unsupported("legacy broadcast with an explicit axis (opset < 7)"));
        }
        let (x, y) = (self.sym(ctx, 0)?, self.sym(ctx, 1)?);
        let op = ctx.op;
        if op == "Add" && self.masked_add(ctx, &x, &y)? {
            return Ok(());
        }
        match (&x, &y) {
            (Sym::Const(a), Sym::Const(b)) => {
                let t = match op {
                    "Add" => tensor::fold_binary(a, b, |p, q| p + q, i64::checked_add),
                    "Sub" => tensor::fold_binary(a, b, |p, q| p - q, i64::checked_sub),
                    "Mul" => tensor::fold_binary(a, b, |p, q| p * q, i64::checked_mul),
                    _ => tensor::fold_binary(a, b, |p, q| p / q, i64::checked_div),
                };
                let t = t.ok_or_else(|| {
                    ctx.shape_err(format!("cannot fold {:?} and {:?}", a.shape, b.shape))
                })?;
                self.out_const(ctx, t)
            }
            (Sym::Value(_), Sym::Value(_)) => {
                let (a, mut b) = (self.value_in(ctx, 0)?, self.value_in(ctx, 1)?);
                if op == "Div" {
                    // a · (1 / b), the reciprocal a fine table
                    let f = crate::graph::ScalarFn::Reciprocal;
                    let op = FOp::Map { f };
                    let sb = self.shape(b);
                    b = self.emit_tmp(ctx, "reciprocal", op, vec![Operand::Value(b)], sb)?;
                }
                let (sa, sb) = (self.shape(a), self.shape(b));
                let s = broadcast_dims(&sa, &sb)
                    .ok_or_else(|| ctx.shape_err(format!("{sa:?} and {sb:?} do not broadcast")))?;
                let fop = match op {
                    "Add" => FOp::Add,
                    "Sub" => FOp::Sub,
                    _ => FOp::Mul,
                };
                let v = self.emit(
                    ctx,
                    fop,
                    vec![Operand::Value(a), Operand::Value(b)],
                    s,
                    Kind::Float,
                )?;
                self.set_out(ctx, 0, Sym::Value(v))
            }
            (Sym::Value(_), Sym::Const(c)) | (Sym::Const(c), Sym::Value(_)) => {
                let value_first = matches!(x, Sym::Value(_));
                let vi = if value_first { 0 } else { 1 };
                let v = self.value_in(ctx, vi)?;
                if op == "Div" && !value_first {
                    return Err(ctx.unsupported("division by a computed tensor"));
                }
                if (op == "Add" || (op == "Sub" && value_first))
                    && self.try_fold_bias(ctx, v, vi, c, op == "Sub")?
                {
                    return Ok(());
                }
                let sv = self.shape(v);
                let s = broadcast_dims(&sv, &fixed(&c.shape)).ok_or_else(|| {
                    ctx.shape_err(format!("{sv:?} and {:?} do not broadcast", c.shape))
                })?;
                // multiplying or dividing by ones that do not change the shape (a converter's
                // `Mul` by `one`) is the value itself
                let ones = c.to_f32().is_some_and(|d| d.iter().all(|&q| q == 1.0));
                if ones && s == sv && (op == "Mul" || (op == "Div" && value_first)) {
                    return self.set_out(ctx, 0, Sym::Value(v));
                }
                let (fop, cid) = if op == "Div" {
                    let d = c
                        .to_f32()
                        .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
                    if d.iter().any(|&q| q == 0.0 || !q.is_finite()) {
                        return Err(ctx.unsupported(
                            "division by a constant containing zero or a non-finite value",
                        ));
                    }
                    let r = d.iter().map(|q| 1.0 / q).collect();
                    (
                        FOp::Mul,
                        self.new_const(ctx, "reciprocal", c.shape.clone(), r),
                    )
                } else {
                    let fop = match op {
                        "Add" => FOp::Add,
                        "Sub" => FOp::Sub,
                        _ => FOp::Mul,
                    };
                    (fop, self.const_operand(ctx, 1 - vi, c)?)
                };
                let ins = if value_first {
                    vec![Operand::Value(v), Operand::Const(cid)]
                } else {
                    vec![Operand::Const(cid), Operand::Value(v)]
                };
                let out = self.emit(ctx, fop, ins, s, Kind::Float)?;
                self.set_out(ctx, 0, Sym::Value(out))
            }
        }
    }

    /// Folds `Linear(x) + c` (or `- c`) into the Linear's bias when `c` is a `[N]` vector and
    /// the Linear's output has no other consumer.
    fn try_fold_bias(
        &mut self,
        ctx: &Ctx<'_>,
        v: ValueId,
        vi: usize,
        c: &Tensor,
        negate: bool,
    ) -> Result<bool> {
        let vname = ctx.input(vi).unwrap_or_default();
        if !self.single_use(vname) {
            return Ok(false);
        }
        let Some(Some(p)) = self.producer.get(v).copied() else {
            return Ok(false);
        };
        let Some(FNode {
            op: FOp::Linear { weight, bias },
            ..
        }) = self.g.nodes.get(p)
        else {
            return Ok(false);
        };
        let (weight, bias) = (*weight, *bias);
        let n = self
            .g
            .consts
            .get(weight)
            .and_then(|w| w.shape.first().copied())
            .unwrap_or(0);
        let vrank = self.shape(v).len();
        let bias_like = c.shape.last() == Some(&n)
            && c.shape.len() <= vrank
            && c.shape.iter().rev().skip(1).all(|&d| d == 1);
        let Some(cv) = c.to_f32() else {
            return Ok(false);
        };
        if !bias_like || cv.len() != n {
            return Ok(false);
        }
        let old = bias
            .and_then(|b| self.g.consts.get(b))
            .map(|b| b.data.clone())
            .unwrap_or_else(|| vec![0.0; n]);
        let new: Vec<f32> = old
            .iter()
            .zip(&cv)
            .map(|(o, x)| if negate { o - x } else { o + x })
            .collect();
        let nb = self.new_const(ctx, "bias", vec![n], new);
        if let Some(FNode {
            op: FOp::Linear { bias, .. },
            ..
        }) = self.g.nodes.get_mut(p)
        {
            *bias = Some(nb);
        }
        self.rebind(ctx, v)?;
        Ok(true)
    }
}

impl Importer {
    /// `ai.onnx.ml` `Scaler`: `(x - offset) * scale` per feature (or one value for all),
    /// as a `Mul` by `scale` and an `Add` of `-offset * scale` on the last axis.
    pub(super) fn scaler(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let shape = self.shape(x);
        let Some(&crate::graph::Dim::Fixed(k)) = shape.last() else {
            return Err(ctx.shape_err("the input's last axis (features) must be fixed"));
        };
        let per_feature = |name: &str, default: f32| -> Result<Vec<f32>> {
            let v = ctx.attr(name).map(|a| a.floats.clone()).unwrap_or_default();
            match v.len() {
                0 => Ok(vec![default; k]),
                1 => Ok(vec![v[0]; k]),
                n if n == k => Ok(v),
                n => Err(ctx.bad_attr(name, format!("has {n} values for {k} features"))),
            }
        };
        let scale = per_feature("scale", 1.0)?;
        let offset = per_feature("offset", 0.0)?;
        let scaled = crate::lower::Scaled {
            x,
            offset: offset.clone(),
            scale: scale.clone(),
            nodes: self.g.nodes.len(),
        };
        let shift: Vec<f32> = offset.iter().zip(&scale).map(|(o, s)| -o * s).collect();
        let sc = self.new_const(ctx, "scale", vec![k], scale);
        let sh = self.new_const(ctx, "shift", vec![k], shift);
        let m = self.emit_tmp(
            ctx,
            "scaled",
            FOp::Mul,
            vec![Operand::Value(x), Operand::Const(sc)],
            shape.clone(),
        )?;
        let out = self.emit(
            ctx,
            FOp::Add,
            vec![Operand::Value(m), Operand::Const(sh)],
            shape,
            Kind::Float,
        )?;
        // trees reading the output move their thresholds back onto `x` (lower/tree_scaler.rs)
        self.scaled.insert(out, scaled);
        self.set_out(ctx, 0, Sym::Value(out))
    }
}

impl Importer {
    /// The operands of an n-ary op: its constant operands folded into one with `ff`/`fi`
    /// (numpy broadcasting), and its computed operands in order.
    fn nary_operands(
        &mut self,
        ctx: &Ctx<'_>,
        ff: impl Fn(f32, f32) -> f32 + Copy,
        fi: impl Fn(i64, i64) -> Option<i64> + Copy,
    ) -> Result<(Option<Tensor>, Vec<ValueId>)> {
        let mut folded: Option<Tensor> = None;
        let mut values = Vec::new();
        for i in 0..ctx.node.input.len() {
            match self.sym(ctx, i)? {
                Sym::Const(t) => {
                    folded = Some(match folded {
                        None => (*t).clone(),
                        Some(acc) => tensor::fold_binary(&acc, &t, ff, fi).ok_or_else(|| {
                            ctx.shape_err(format!(
                                "constants {:?} and {:?} do not broadcast",
                                acc.shape, t.shape
                            ))
                        })?,
                    });
                }
                Sym::Value(_) => values.push(self.value_in(ctx, i)?),
            }
        }
        Ok((folded, values))
    }

    /// ONNX `Sum` and `Mean` of any number of operands (numpy broadcasting): the constants
    /// folded into one, the computed operands added by a chain of `Add`s, the folded constant
    /// added last, and for `Mean` a `Mul` by `1/n`.
    pub(super) fn sum(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let n = ctx.node.input.len();
        if n == 0 {
            return Err(ctx.shape_err("no operands"));
        }
        let mean = ctx.op == "Mean";
        let (folded, values) = self.nary_operands(ctx, |p, q| p + q, i64::checked_add)?;
        let scale = 1.0 / n as f32;
        let Some((&first, rest)) = values.split_first() else {
            let t = folded.ok_or_else(|| ctx.shape_err("no operands"))?;
            let t = if mean {
                let d = t
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(0, "is not numeric"))?;
                Tensor::f(t.shape.clone(), d.into_iter().map(|v| v * scale).collect())
            } else {
                t
            };
            return self.out_const(ctx, t);
        };
        let mut acc = first;
        for (i, &v) in rest.iter().enumerate() {
            let (sa, sb) = (self.shape(acc), self.shape(v));
            let s = broadcast_dims(&sa, &sb)
                .ok_or_else(|| ctx.shape_err(format!("{sa:?} and {sb:?} do not broadcast")))?;
            acc = self.emit_tmp(
                ctx,
                &format!("sum{i}"),
                FOp::Add,
                vec![Operand::Value(acc), Operand::Value(v)],
                s,
            )?;
        }
        let constant = |imp: &mut Self, acc: ValueId, suffix: &str, t: Tensor, op: FOp| {
            let sa = imp.shape(acc);
            let s = broadcast_dims(&sa, &fixed(&t.shape)).ok_or_else(|| {
                ctx.shape_err(format!("{sa:?} and {:?} do not broadcast", t.shape))
            })?;
            let d = t
                .to_f32()
                .ok_or_else(|| ctx.bad_input(0, "is not numeric"))?;
            let c = imp.new_const(ctx, suffix, t.shape.clone(), d);
            imp.emit_tmp(
                ctx,
                suffix,
                op,
                vec![Operand::Value(acc), Operand::Const(c)],
                s,
            )
        };
        if let Some(t) = folded {
            acc = constant(self, acc, "constants", t, FOp::Add)?;
        }
        if mean {
            acc = constant(self, acc, "mean", Tensor::f(vec![], vec![scale]), FOp::Mul)?;
        }
        if acc == first {
            // one computed operand and nothing else: the identity
            return self.set_out(ctx, 0, Sym::Value(acc));
        }
        self.rebind(ctx, acc)
    }
}

impl Importer {
    /// ONNX `Max` and `Min` of any number of operands (numpy broadcasting): constants folded
    /// into one; two or more computed operands become one [`FOp::Max`]/[`FOp::Min`]; a folded
    /// constant that is one value `c` and does not enlarge the shape then bounds the result as
    /// a `Clip` (`Max(x, c)` is `Clip(x, c, +inf)`). Refused: a constant operand holding
    /// different values next to computed ones.
    pub(super) fn min_max(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let is_max = ctx.op == "Max";
        let (folded, values) = if is_max {
            self.nary_operands(ctx, f32::max, |p, q| Some(p.max(q)))?
        } else {
            self.nary_operands(ctx, f32::min, |p, q| Some(p.min(q)))?
        };
        let Some(&first) = values.first() else {
            let t = folded.ok_or_else(|| ctx.shape_err("no operands"))?;
            return self.out_const(ctx, t);
        };
        let mut shape = self.shape(first);
        for &v in &values[1..] {
            let sv = self.shape(v);
            shape = broadcast_dims(&shape, &sv)
                .ok_or_else(|| ctx.shape_err(format!("{shape:?} and {sv:?} do not broadcast")))?;
        }
        let mut acc = first;
        if values.len() > 1 {
            let op = if is_max { FOp::Max } else { FOp::Min };
            let ins = values.iter().map(|&v| Operand::Value(v)).collect();
            acc = self.emit_tmp(ctx, "minmax", op, ins, shape.clone())?;
        }
        if let Some(t) = folded {
            let d = t
                .to_f32()
                .ok_or_else(|| ctx.bad_input(0, "is not numeric"))?;
            let uniform = d.first().filter(|&&c| d.iter().all(|&x| x == c)).copied();
            let keeps = broadcast_dims(&shape, &fixed(&t.shape)).as_ref() == Some(&shape);
            let Some(c) = uniform.filter(|c| !c.is_nan() && keeps) else {
                return Err(ctx.unsupported(format!(
                    "a constant operand {:?} holding different values (or enlarging the \
                     shape) next to computed ones",
                    t.shape
                )));
            };
            let (min, max) = if is_max {
                (c, f32::INFINITY)
            } else {
                (f32::NEG_INFINITY, c)
            };
            acc = self.emit_tmp(
                ctx,
                "bound",
                FOp::Clip { min, max },
                vec![Operand::Value(acc)],
                shape,
            )?;
        }
        if acc == first {
            // one computed operand and nothing else: the identity
            return self.set_out(ctx, 0, Sym::Value(acc));
        }
        self.rebind(ctx, acc)
    }
}
