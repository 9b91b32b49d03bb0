//! onnxruntime's dynamic quantization (`quantize_dynamic`), imported as the float model it
//! approximates (`docs/semantics.md`, "Pre-quantized models").
//!
//! **The dynamic quantization pattern.** `DynamicQuantizeLinear(x)` gives `x_q`, a
//! data-dependent `x_scale` and `x_zero_point`; `ConvInteger(x_q, w, x_zero_point, w_zp)` (or
//! `MatMulInteger`) is the integer accumulator `A`; it is `Cast` to float and multiplied by
//! `x_scale · w_scale` (a `Mul` of `x_scale` by constants). Older exporters add a bias to `A`
//! first, as `Cast(Floor(b / (x_scale · w_scale)))` (maybe `Reshape`d). Since `(x_q -
//! x_zero_point) · x_scale ≈ x`, the whole chain is the float `Conv` (`Linear`) of `x` by the
//! dequantized weight `(w - w_zp) · w_scale` plus `b`: that is what it is imported as, one
//! `Conv`/`Linear` whose weight and bias absorb the constant factors (per output channel).
//! The names inside the pattern are bound to a [`Dyn`], not to a tensor; any other reader of
//! one (or a graph output) is refused, naming the node and the form. The error against
//! onnxruntime is its own 8-bit rounding of `x` (and the `Floor` of the bias), which vouch
//! does not reproduce: an approximation.
//!
//! `com.microsoft` `DynamicQuantizeLSTM` is the `LSTM` with its weights dequantized: `W` and
//! `R` are stored transposed (`[dirs, input, 4·hidden]`), scales and zero points per direction
//! or per direction and column.

use std::rc::Rc;

use crate::error::{Error, Result};
use crate::graph::{FOp, Operand, ValueId};
use crate::import::{Ctx, Importer, Sym};
use crate::tensor::{Data, Tensor, fold_binary};

/// What a name inside [the dynamic quantization pattern](self) stands for.
#[derive(Debug, Clone)]
pub(crate) enum Dyn {
    /// Output 0 of `DynamicQuantizeLinear` `node`: `x` quantized at its own scale.
    Quantized { x: ValueId, node: String },
    /// Output 2: the data-dependent zero point.
    ZeroPoint { x: ValueId, node: String },
    /// Output 1 times the constant `factor`: `x_scale · factor`.
    Scale {
        x: ValueId,
        node: String,
        factor: Rc<Tensor>,
    },
    /// A constant over a [`Dyn::Scale`]: `num / x_scale` (`num` the constant over `factor`).
    PerScale {
        x: ValueId,
        node: String,
        num: Rc<Tensor>,
    },
    /// The integer accumulator of a `ConvInteger`/`MatMulInteger` of `x_q`: times `x_scale`,
    /// it is the value `v`, the output of a `Conv` or `Linear` by constants.
    Acc {
        x: ValueId,
        node: String,
        v: ValueId,
    },
}

impl Dyn {
    fn origin(&self) -> (ValueId, &str) {
        match self {
            Dyn::Quantized { x, node }
            | Dyn::ZeroPoint { x, node }
            | Dyn::Scale { x, node, .. }
            | Dyn::PerScale { x, node, .. }
            | Dyn::Acc { x, node, .. } => (*x, node),
        }
    }

    fn what(&self) -> &'static str {
        match self {
            Dyn::Quantized { .. } => "quantized tensor",
            Dyn::ZeroPoint { .. } => "zero point",
            Dyn::Scale { .. } => "scale",
            Dyn::PerScale { .. } => "bias over the scale",
            Dyn::Acc { .. } => "integer accumulator",
        }
    }
}

/// The pattern, as the refusals name it.
const PATTERN: &str = "vouch imports DynamicQuantizeLinear only in onnxruntime's dynamic \
                       quantization pattern (its outputs read by ConvInteger or MatMulInteger, \
                       whose result is Cast to float and multiplied by x_scale times the weight \
                       scale; a bias added before as a constant over that product)";

/// `t` as one value per channel of `n` along `axis` of a result of rank `rank` (numpy
/// broadcasting): a single value repeated, or `n` values varying along that axis only.
fn per_channel(t: &Tensor, rank: usize, axis: usize, n: usize) -> Option<Vec<f32>> {
    let d = t.to_f32()?;
    if d.len() == 1 {
        return Some(vec![d[0]; n]);
    }
    let r = t.shape.len();
    if r > rank || d.len() != n {
        return None;
    }
    // the axis of `t` aligned with `axis`, the only one that is not 1
    let at = (axis + r).checked_sub(rank)?;
    t.shape
        .iter()
        .enumerate()
        .all(|(i, &s)| if i == at { s == n } else { s == 1 })
        .then_some(d)
}

/// ONNX `Reshape` of a constant's shape: `0` copies, `-1` is inferred.
fn reshape_to(t: &Tensor, spec: &[i64]) -> Option<Vec<usize>> {
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &s) in spec.iter().enumerate() {
        match s {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 => out.push(*t.shape.get(i)?),
            s => out.push(usize::try_from(s).ok()?),
        }
    }
    if let Some(i) = infer {
        let known = out.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
        if known == 0 || !t.len().is_multiple_of(known) {
            return None;
        }
        *out.get_mut(i)? = t.len() / known;
    }
    Some(out)
}

impl Importer {
    /// Whether the current node reads a name of the dynamic pattern (`ConvInteger` and
    /// `MatMulInteger` read them in their own lowering).
    pub(super) fn reads_dyn(&self, ctx: &Ctx<'_>) -> bool {
        !matches!(ctx.op, "ConvInteger" | "MatMulInteger")
            && ctx.node.input.iter().any(|i| self.dynq.contains_key(i))
    }

    /// The refusal of a node reading `name` of the pattern outside it.
    fn dyn_refusal(&self, ctx: &Ctx<'_>, name: &str) -> Error {
        match self.dynq.get(name) {
            Some(d) => ctx.unsupported(format!(
                "it reads `{name}`, the {} of DynamicQuantizeLinear `{}`; {PATTERN}",
                d.what(),
                d.origin().1
            )),
            None => ctx.unsupported(PATTERN),
        }
    }

    /// The refusal of a graph output that is a name of the pattern.
    pub(crate) fn dyn_output(&self, name: &str) -> Error {
        let (node, what) = self
            .dynq
            .get(name)
            .map_or(("?", "value"), |d| (d.origin().1, d.what()));
        Error::UnsupportedForm {
            node: node.to_owned(),
            op: "DynamicQuantizeLinear".to_owned(),
            reason: format!("the graph output `{name}` is its {what}; {PATTERN}"),
        }
    }

    fn dyn_at(&self, ctx: &Ctx<'_>, i: usize) -> Option<Dyn> {
        ctx.input(i).and_then(|n| self.dynq.get(n)).cloned()
    }

    fn bind_dyn(&mut self, ctx: &Ctx<'_>, d: Dyn) -> Result<()> {
        let o = ctx
            .output(0)
            .ok_or_else(|| ctx.shape_err("node has no output"))?;
        self.dynq.insert(o.to_owned(), d);
        Ok(())
    }

    /// ONNX `DynamicQuantizeLinear`: its three outputs are names of the pattern.
    pub(super) fn dynamic_quantize_linear(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let node = ctx.name.clone();
        let one = Rc::new(Tensor::f(vec![], vec![1.0]));
        let outs = [
            Dyn::Quantized {
                x,
                node: node.clone(),
            },
            Dyn::Scale {
                x,
                node: node.clone(),
                factor: one,
            },
            Dyn::ZeroPoint { x, node },
        ];
        for (i, d) in outs.into_iter().enumerate() {
            if let Some(o) = ctx.output(i) {
                self.dynq.insert(o.to_owned(), d);
            }
        }
        Ok(())
    }

    /// A node reading a name of the pattern: the steps of the pattern, else a refusal.
    pub(super) fn dyn_consumer(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let (a, b) = (self.dyn_at(ctx, 0), self.dyn_at(ctx, 1));
        let refuse = |me: &Self| {
            let name = ctx
                .node
                .input
                .iter()
                .find(|i| me.dynq.contains_key(*i))
                .cloned()
                .unwrap_or_default();
            Err(me.dyn_refusal(ctx, &name))
        };
        match (ctx.op, a, b) {
            ("Mul", Some(Dyn::Scale { x, node, factor }), None)
            | ("Mul", None, Some(Dyn::Scale { x, node, factor })) => {
                // the constant is the operand that is not the scale
                let ci = usize::from(ctx.input(0).is_some_and(|n| self.dynq.contains_key(n)));
                let Ok(Sym::Const(c)) = self.sym(ctx, ci) else {
                    return refuse(self);
                };
                let factor = fold_binary(&factor, &c, |p, q| p * q, |_, _| None)
                    .ok_or_else(|| ctx.shape_err("scale factors do not broadcast"))?;
                self.bind_dyn(
                    ctx,
                    Dyn::Scale {
                        x,
                        node,
                        factor: Rc::new(factor),
                    },
                )
            }
            ("Div", None, Some(Dyn::Scale { x, node, factor })) => {
                let Ok(Sym::Const(c)) = self.sym(ctx, 0) else {
                    return refuse(self);
                };
                let num = fold_binary(&c, &factor, |p, q| p / q, |_, _| None)
                    .ok_or_else(|| ctx.shape_err("the bias does not broadcast to the scale"))?;
                self.bind_dyn(
                    ctx,
                    Dyn::PerScale {
                        x,
                        node,
                        num: Rc::new(num),
                    },
                )
            }
            // the bias rounded down and cast to int32: its float value (an approximation)
            ("Floor" | "Cast" | "Identity", Some(d @ Dyn::PerScale { .. }), None)
            | ("Cast", Some(d @ Dyn::Acc { .. }), None) => self.bind_dyn(ctx, d),
            ("Reshape", Some(Dyn::PerScale { x, node, num }), None) => {
                let spec = self
                    .const_in(ctx, 1)?
                    .to_i64()
                    .ok_or_else(|| ctx.bad_input(1, "is not an integer shape"))?;
                let shape = reshape_to(&num, &spec)
                    .ok_or_else(|| ctx.shape_err(format!("cannot reshape to {spec:?}")))?;
                let num = (*num)
                    .clone()
                    .reshaped(shape)
                    .ok_or_else(|| ctx.shape_err("element count"))?;
                self.bind_dyn(
                    ctx,
                    Dyn::PerScale {
                        x,
                        node,
                        num: Rc::new(num),
                    },
                )
            }
            ("Add", Some(Dyn::Acc { x, node, v }), Some(Dyn::PerScale { x: x2, num, .. }))
            | ("Add", Some(Dyn::PerScale { x: x2, num, .. }), Some(Dyn::Acc { x, node, v }))
                if x == x2 =>
            {
                self.fold_into(ctx, v, &num, false)?;
                self.bind_dyn(ctx, Dyn::Acc { x, node, v })
            }
            ("Mul", Some(Dyn::Acc { x, v, .. }), Some(Dyn::Scale { x: x2, factor, .. }))
            | ("Mul", Some(Dyn::Scale { x: x2, factor, .. }), Some(Dyn::Acc { x, v, .. }))
                if x == x2 =>
            {
                let y = self.fold_into(ctx, v, &factor, true)?;
                self.rebind(ctx, y)
            }
            _ => refuse(self),
        }
    }

    /// Folds the constant `t` into the `Conv`/`Linear` producing `v`: multiplies its weight
    /// and bias (`scale`) or adds to its bias, per output channel. A producer of another kind,
    /// or a `t` that is not per channel, is a `Mul` (`Add`) node instead. Returns the result.
    fn fold_into(&mut self, ctx: &Ctx<'_>, v: ValueId, t: &Tensor, scale: bool) -> Result<ValueId> {
        let rank = self.shape(v).len();
        let node = self.producer.get(v).copied().flatten();
        let target = node.and_then(|p| match self.g.nodes.get(p).map(|n| &n.op) {
            Some(FOp::Conv { weight, bias, .. }) => Some((p, *weight, *bias, 1)),
            Some(FOp::Linear { weight, bias }) => Some((p, *weight, *bias, rank.saturating_sub(1))),
            _ => None,
        });
        if let Some((p, weight, bias, axis)) = target {
            let n = self
                .g
                .consts
                .get(weight)
                .and_then(|c| c.shape.first().copied());
            if let Some(f) = n.and_then(|n| per_channel(t, rank, axis, n)) {
                let n = f.len();
                if scale {
                    if let Some(w) = self.g.consts.get_mut(weight) {
                        let row = w.data.len() / n.max(1);
                        for (i, x) in w.data.iter_mut().enumerate() {
                            *x *= f.get(i / row.max(1)).copied().unwrap_or(1.0);
                        }
                    }
                    if let Some(b) = bias.and_then(|b| self.g.consts.get_mut(b)) {
                        b.data.iter_mut().zip(&f).for_each(|(x, s)| *x *= s);
                    }
                } else {
                    match bias {
                        Some(b) => {
                            if let Some(b) = self.g.consts.get_mut(b) {
                                b.data.iter_mut().zip(&f).for_each(|(x, s)| *x += s);
                            }
                        }
                        None => {
                            let b = self.new_const(ctx, "bias", vec![n], f);
                            match self.g.nodes.get_mut(p).map(|n| &mut n.op) {
                                Some(FOp::Conv { bias, .. } | FOp::Linear { bias, .. }) => {
                                    *bias = Some(b);
                                }
                                _ => return Err(ctx.shape_err("the folded node changed")),
                            }
                        }
                    }
                }
                return Ok(v);
            }
        }
        // not foldable: an elementwise op by the constant
        let c = self.new_const(
            ctx,
            if scale { "scales" } else { "bias" },
            t.shape.clone(),
            t.to_f32().unwrap_or_default(),
        );
        let vs = self.shape(v);
        let ts = crate::import::fixed(&t.shape);
        let shape = crate::import::broadcast_dims(&vs, &ts)
            .ok_or_else(|| ctx.shape_err(format!("{:?} does not broadcast to {vs:?}", t.shape)))?;
        self.emit_tmp(
            ctx,
            if scale { "scaled" } else { "biased" },
            if scale { FOp::Mul } else { FOp::Add },
            vec![Operand::Value(v), Operand::Const(c)],
            shape,
        )
    }

    /// The `x` of the pattern read by a `ConvInteger`/`MatMulInteger`, after checking that
    /// its zero point (input 2) is the same `DynamicQuantizeLinear`'s.
    fn dyn_operand(&self, ctx: &Ctx<'_>) -> Result<Option<ValueId>> {
        let Some(Dyn::Quantized { x, node }) = self.dyn_at(ctx, 0) else {
            if let Some(n) = (1..4)
                .filter_map(|i| ctx.input(i))
                .find(|n| self.dynq.contains_key(*n))
            {
                return Err(self.dyn_refusal(ctx, n));
            }
            return Ok(None);
        };
        match self.dyn_at(ctx, 2) {
            Some(Dyn::ZeroPoint { x: x2, .. }) if x2 == x => Ok(Some(x)),
            _ => Err(ctx.unsupported(format!(
                "input #0 is DynamicQuantizeLinear `{node}`'s quantized tensor, but input #2 is \
                 not its zero point; {PATTERN}"
            ))),
        }
    }

    /// ONNX `ConvInteger`: of a `DynamicQuantizeLinear` output, the accumulator of the
    /// pattern (a `Conv` of `x` by `w - w_zp`); otherwise the exact integer accumulator.
    pub(super) fn conv_integer(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let Some(x) = self.dyn_operand(ctx)? else {
            return self.conv_integer_static(ctx);
        };
        let w = self.weight_centred(ctx, 0)?;
        let v = self.conv_by(ctx, x, w, None, format!("{}.real", ctx.name))?;
        let node = self.dyn_node(ctx);
        self.bind_dyn(ctx, Dyn::Acc { x, node, v })
    }

    /// ONNX `MatMulInteger`: as [`Self::conv_integer`], a `Linear` by `b - b_zp`.
    pub(super) fn matmul_integer(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let Some(x) = self.dyn_operand(ctx)? else {
            return self.matmul_integer_static(ctx);
        };
        let axis = match self.sym(ctx, 1)? {
            Sym::Const(t) => t.shape.len().saturating_sub(1),
            Sym::Value(_) => return Err(ctx.unsupported("a computed weight (input #1)")),
        };
        let b = self.weight_centred(ctx, axis)?;
        let v = self.matmul_by(ctx, x, Sym::Const(Rc::new(b)), format!("{}.real", ctx.name))?;
        let node = self.dyn_node(ctx);
        self.bind_dyn(ctx, Dyn::Acc { x, node, v })
    }

    fn dyn_node(&self, ctx: &Ctx<'_>) -> String {
        self.dyn_at(ctx, 0)
            .map(|d| d.origin().1.to_owned())
            .unwrap_or_default()
    }

    /// The constant weight (input 1) less its zero point (input 3) along `axis`.
    fn weight_centred(&self, ctx: &Ctx<'_>, axis: usize) -> Result<Tensor> {
        let t = self.const_in(ctx, 1)?;
        let Data::I(q) = &t.data else {
            return Err(ctx.bad_input(1, "must be an integer tensor"));
        };
        let n = t.shape.get(axis).copied().unwrap_or(1).max(1);
        let zp = match ctx.input(3) {
            None => vec![0; n],
            Some(_) => match self.sym(ctx, 3)? {
                Sym::Const(z) => z
                    .to_i64()
                    .ok_or_else(|| ctx.bad_input(3, "is not an integer tensor"))?,
                Sym::Value(_) => {
                    return Err(ctx.unsupported(
                        "a computed weight zero point (input #3); it must be a constant",
                    ));
                }
            },
        };
        let zp = match zp.len() {
            1 => vec![zp[0]; n],
            l if l == n => zp,
            l => return Err(ctx.bad_input(3, format!("has {l} values for an axis of {n}"))),
        };
        let data = Self::dequant_centred(&t.shape, q, axis, &zp);
        Ok(Tensor::f(t.shape.clone(), data))
    }

    /// `q - zp[c]` as `f32`, `c` the index along `axis`.
    fn dequant_centred(shape: &[usize], q: &[i64], axis: usize, zp: &[i64]) -> Vec<f32> {
        let n = shape.get(axis).copied().unwrap_or(1).max(1);
        let inner: usize = shape.iter().skip(axis + 1).product();
        q.iter()
            .enumerate()
            .map(|(i, &x)| {
                x.saturating_sub(zp.get((i / inner.max(1)) % n).copied().unwrap_or(0)) as f32
            })
            .collect()
    }

    /// `com.microsoft` `DynamicQuantizeLSTM`: the `LSTM` by `W` and `R` dequantized and
    /// transposed to ONNX's `[dirs, 4·hidden, input]`.
    pub(super) fn dynamic_quantize_lstm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let w = self.lstm_weight(ctx, 1, 8, 9)?;
        let r = self.lstm_weight(ctx, 2, 10, 11)?;
        let mut ins = vec![
            self.opt_sym(ctx, 0)?,
            Some(Sym::Const(Rc::new(w))),
            Some(Sym::Const(Rc::new(r))),
        ];
        for i in 3..8 {
            ins.push(self.opt_sym(ctx, i)?);
        }
        let keep = [
            "activation_alpha",
            "activation_beta",
            "activations",
            "clip",
            "direction",
            "hidden_size",
            "input_forget",
        ];
        let outs = ctx.node.output.clone();
        self.lower_as(ctx, "LSTM", ins, outs, &keep).map(|_| ())
    }

    /// A `DynamicQuantizeLSTM` weight (input `wi`, `[dirs, rows, 4·hidden]`) by its scales and
    /// zero points (`[dirs]` or `[dirs, 4·hidden]`), as `[dirs, 4·hidden, rows]` floats.
    fn lstm_weight(&self, ctx: &Ctx<'_>, wi: usize, si: usize, zi: usize) -> Result<Tensor> {
        let t = self.const_in(ctx, wi)?;
        let Data::I(q) = &t.data else {
            return Err(ctx.bad_input(wi, "must be an integer tensor"));
        };
        let &[dirs, rows, cols] = t.shape.as_slice() else {
            return Err(ctx.shape_err(format!("weight {:?} is not of rank 3", t.shape)));
        };
        let s = self
            .const_in(ctx, si)?
            .to_f32()
            .ok_or_else(|| ctx.bad_input(si, "is not numeric"))?;
        let zp = match ctx.input(zi) {
            None => vec![0],
            Some(_) => self
                .const_in(ctx, zi)?
                .to_i64()
                .ok_or_else(|| ctx.bad_input(zi, "is not an integer tensor"))?,
        };
        let at = |v: usize, d: usize, c: usize, idx: usize| -> Result<usize> {
            match v {
                1 => Ok(0),
                n if n == dirs => Ok(d),
                n if n == dirs * cols => Ok(d * cols + c),
                n => Err(ctx.bad_input(idx, format!("has {n} values for {dirs} directions"))),
            }
        };
        let mut out = vec![0.0f32; q.len()];
        for d in 0..dirs {
            for i in 0..rows {
                for c in 0..cols {
                    let src = (d * rows + i) * cols + c;
                    let sc = s.get(at(s.len(), d, c, si)?).copied().unwrap_or(1.0);
                    let z = zp.get(at(zp.len(), d, c, zi)?).copied().unwrap_or(0);
                    let x = q.get(src).copied().unwrap_or(0);
                    if let Some(o) = out.get_mut((d * cols + c) * rows + i) {
                        *o = x.saturating_sub(z) as f32 * sc;
                    }
                }
            }
        }
        Ok(Tensor::f(vec![dirs, cols, rows], out))
    }
}
