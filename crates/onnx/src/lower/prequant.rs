//! Models quantized by their exporter (onnxruntime's `quantize_static`, QDQ and QOperator
//! formats): `QuantizeLinear`, `DequantizeLinear`, `QLinearConv`, `QLinearMatMul`, and
//! `ConvInteger`/`MatMulInteger` outside the dynamic pattern (`prequant_dyn.rs`), lowered to
//! ops the float graph already has (`docs/semantics.md`, "Pre-quantized models").
//!
//! A quantized tensor `q` of the model (an integer tensor with a scale `s` and a zero point
//! `zp`) is carried as the value it stands for, `(q - zp) · s`, tagged with its [`QParams`]
//! ([`Importer::qtags`]); data movement (`Reshape`, `Transpose`, `MaxPool`, ...) keeps the tag,
//! as it commutes with that affine map (`s > 0`).
//!
//! - `DequantizeLinear` of a constant folds to `f32((q - zp)) · s`, as onnxruntime computes it
//!   (per tensor or per axis; `int8`, `uint8`, `int16`, `uint16`, `int32` elements): exact.
//!   Of a tagged value with the same scale and zero point, it is that value; of an integer
//!   graph input, `Add` of `-zp` and `Mul` by `s`.
//! - `QuantizeLinear` of a computed tensor is its float meaning, `s · clamp(round(x / s),
//!   lo - zp, hi - zp)` with `round` half to even: `Mul` by `1/s`, a `Round` map, `Clip`,
//!   `Mul` by `s`, the last value marked with the model's grid ([`crate::graph::Grid`]),
//!   which the quantizer pins its integers to (`vouch_quant`'s `quantize/pin.rs`: scale `s`,
//!   the integer `q - zp`, one requantization onto it). Of a constant it folds exactly; of a
//!   value already tagged with the same parameters it is that value (on the grid and in
//!   range already).
//! - `QLinearConv` and `QLinearMatMul`: by their definition, the float `Conv`/`MatMul` of the
//!   dequantized operands (a constant weight folded per output channel, an `int32` bias
//!   `B · s_x · s_w`), then the output's `QuantizeLinear`.
//! - `ConvInteger`/`MatMulInteger` of an integer graph input or a tagged value: the exact
//!   integer accumulator, `Conv`/`MatMul` of `q - zp` by `w - w_zp`, as a float value.

use std::rc::Rc;

use crate::error::Result;
use crate::graph::{FOp, Operand, ScalarFn, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym};
use crate::proto::{AttributeProto, NodeProto};
use crate::tensor::{Data, Tensor};

/// The quantization of a tensor the model holds as integers: element `q` in `[lo, hi]`
/// stands for `(q - zp) · scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct QParams {
    /// The scale (positive, finite).
    pub(crate) scale: f32,
    /// The zero point.
    pub(crate) zp: i64,
    /// The element type's smallest value.
    pub(crate) lo: i64,
    /// The element type's largest value.
    pub(crate) hi: i64,
}

/// ONNX `uint8`, the default quantized type.
const UINT8: i32 = 2;

/// Ops that move data of a quantized tensor without changing its quantization.
const KEEPS_TAG: &[&str] = &[
    "Reshape",
    "Flatten",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Identity",
    "Dropout",
    "MaxPool",
    "GlobalMaxPool",
    "Slice",
    "Split",
    "Gather",
    "Expand",
    "Tile",
    "DepthToSpace",
    "SpaceToDepth",
];

/// The `[lo, hi]` of a quantized element type, or `None` for a type no quantized tensor has.
fn qrange(elem_type: i32) -> Option<(i64, i64)> {
    matches!(elem_type, 2..=6)
        .then(|| crate::shapes::integer_range(elem_type))
        .flatten()
}

impl Importer {
    /// The tag of input 0 when the current op only moves data.
    pub(super) fn input_tag(&self, ctx: &Ctx<'_>) -> Option<QParams> {
        if !KEEPS_TAG.contains(&ctx.op) {
            return None;
        }
        match self.sym(ctx, 0).ok()? {
            Sym::Value(v) => self.qtags.get(&v).copied(),
            Sym::Const(_) => None,
        }
    }

    /// Tags every computed output of the current node with `q`.
    pub(super) fn keep_tag(&mut self, ctx: &Ctx<'_>, q: QParams) {
        for i in 0..ctx.node.output.len() {
            if let Some(Sym::Value(v)) = ctx.output(i).and_then(|o| self.lookup(o)) {
                self.qtags.insert(v, q);
            }
        }
    }

    /// A scalar scale from input `i`: one positive finite value.
    fn scale_in(&self, ctx: &Ctx<'_>, i: usize) -> Result<f32> {
        let t = self.quant_const(ctx, i, "scale")?;
        match t.to_f32().as_deref() {
            Some(&[s]) if s > 0.0 && s.is_finite() => Ok(s),
            Some([_]) => Err(ctx.bad_input(i, "(scale) must be positive and finite")),
            _ => Err(ctx.unsupported(format!(
                "a scale (input #{i}) of {} values where one tensor-wide scale is needed",
                t.len()
            ))),
        }
    }

    /// Input `i`, a quantization parameter, as a constant: a computed one is refused.
    fn quant_const(&self, ctx: &Ctx<'_>, i: usize, what: &str) -> Result<Rc<Tensor>> {
        match self.sym(ctx, i)? {
            Sym::Const(t) => Ok(t),
            Sym::Value(_) => Err(ctx.unsupported(format!(
                "a computed {what} (input #{i}); vouch imports quantization parameters that \
                 are constants"
            ))),
        }
    }

    /// The zero points from input `i` (absent: `0`) and the quantized type's range: the zero
    /// point's element type, else the `output_dtype` attribute, else `uint8`.
    fn zero_points(&self, ctx: &Ctx<'_>, i: usize) -> Result<(Vec<i64>, (i64, i64))> {
        let Some(name) = ctx.input(i) else {
            let t = i32::try_from(ctx.int("output_dtype", 0))
                .ok()
                .filter(|&t| t != 0)
                .unwrap_or(UINT8);
            let range = qrange(t).ok_or_else(|| {
                ctx.unsupported(format!(
                    "a quantized type {} (int8, uint8, int16, uint16 and int32 are supported)",
                    crate::shapes::type_name(t)
                ))
            })?;
            return Ok((vec![0], range));
        };
        let t = self.quant_const(ctx, i, "zero point")?;
        let Data::I(zp) = &t.data else {
            return Err(ctx.unsupported(format!(
                "a float zero point (input #{i}; float8 quantization is not supported)"
            )));
        };
        let ty = self.elem_types.get(name).copied().ok_or_else(|| {
            ctx.unsupported(format!(
                "a zero point (input #{i}) whose element type is not known (an initializer or \
                 Constant node is expected)"
            ))
        })?;
        let range = qrange(ty).ok_or_else(|| {
            ctx.unsupported(format!(
                "a zero point of type {} (int8, uint8, int16, uint16 and int32 are supported)",
                crate::shapes::type_name(ty)
            ))
        })?;
        Ok((zp.clone(), range))
    }

    /// Per-tensor parameters from scale input `si` and zero-point input `zi`.
    pub(super) fn qparams(&self, ctx: &Ctx<'_>, si: usize, zi: usize) -> Result<QParams> {
        let scale = self.scale_in(ctx, si)?;
        let (zps, (lo, hi)) = self.zero_points(ctx, zi)?;
        let &[zp] = zps.as_slice() else {
            return Err(ctx.unsupported(format!(
                "{} zero points (input #{zi}) where one tensor-wide zero point is needed",
                zps.len()
            )));
        };
        if !(lo..=hi).contains(&zp) {
            return Err(ctx.bad_input(zi, format!("(zero point {zp}) is outside [{lo}, {hi}]")));
        }
        Ok(QParams { scale, zp, lo, hi })
    }

    /// Scales and zero points along an axis of `n` (each one value, or `n`).
    fn axis_params(
        &self,
        ctx: &Ctx<'_>,
        si: usize,
        zi: usize,
        n: usize,
    ) -> Result<(Vec<f32>, Vec<i64>)> {
        let s = self
            .quant_const(ctx, si, "scale")?
            .to_f32()
            .ok_or_else(|| ctx.bad_input(si, "(scale) is not numeric"))?;
        if s.iter().any(|&x| !(x > 0.0 && x.is_finite())) {
            return Err(ctx.bad_input(si, "(scale) must be positive and finite"));
        }
        let (zp, _) = self.zero_points(ctx, zi)?;
        let spread = |v: usize, what: &str, idx: usize| {
            if v == 1 || v == n {
                Ok(())
            } else {
                Err(ctx.bad_input(idx, format!("({what}) has {v} values for an axis of {n}")))
            }
        };
        spread(s.len(), "scale", si)?;
        spread(zp.len(), "zero point", zi)?;
        let s = if s.len() == n { s } else { vec![s[0]; n] };
        let zp = if zp.len() == n { zp } else { vec![zp[0]; n] };
        Ok((s, zp))
    }

    /// The axis of a per-axis quantization of a tensor of `shape` (the `axis` attribute, 1 by
    /// default), or 0 when the scale (input 1) is one value: then no axis is read.
    fn quant_axis(&self, ctx: &Ctx<'_>, shape: &[usize]) -> Result<usize> {
        let per_tensor = matches!(self.sym(ctx, 1)?, Sym::Const(s) if s.len() == 1);
        if per_tensor || shape.is_empty() {
            return Ok(0);
        }
        ctx.axis("axis", ctx.int("axis", 1), shape.len())
    }

    /// The elements of constant input `i`, which must be integers.
    fn int_const(&self, ctx: &Ctx<'_>, i: usize) -> Result<(Rc<Tensor>, Vec<i64>)> {
        let t = self.const_in(ctx, i)?;
        match &t.data {
            Data::I(v) => {
                let v = v.clone();
                Ok((t, v))
            }
            Data::F(_) => Err(ctx.bad_input(i, "must be an integer tensor")),
        }
    }

    /// `(q - zp[c]) · s[c]` in `f32` for each element of `q` (shape `shape`), `c` its index
    /// along `axis`.
    fn dequant_const(shape: &[usize], q: &[i64], axis: usize, s: &[f32], zp: &[i64]) -> Vec<f32> {
        let n = shape.get(axis).copied().unwrap_or(1).max(1);
        let inner: usize = shape.iter().skip(axis + 1).product();
        q.iter()
            .enumerate()
            .map(|(i, &x)| {
                let c = (i / inner.max(1)) % n;
                let (sc, z) = (
                    s.get(c).copied().unwrap_or(1.0),
                    zp.get(c).copied().unwrap_or(0),
                );
                x.saturating_sub(z) as f32 * sc
            })
            .collect()
    }

    /// ONNX `DequantizeLinear` (opsets 10-23): folded on a constant, the tagged value itself,
    /// or `(x - zp) · s` of an integer graph input.
    pub(super) fn dequantize_linear(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if ctx.int("block_size", 0) != 0 {
            return Err(ctx.unsupported("blocked quantization (block_size)"));
        }
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let Data::I(q) = &t.data else {
                    return Err(ctx.unsupported("DequantizeLinear of a float (float8) tensor"));
                };
                let axis = self.quant_axis(ctx, &t.shape)?;
                let n = t.shape.get(axis).copied().unwrap_or(1);
                let (s, zp) = self.axis_params(ctx, 1, 2, n)?;
                let data = Self::dequant_const(&t.shape, q, axis, &s, &zp);
                self.out_const(ctx, Tensor::f(t.shape.clone(), data))
            }
            Sym::Value(v) => {
                let q = self.qparams(ctx, 1, 2)?;
                if let Some(tag) = self.qtags.get(&v).copied() {
                    if tag.scale != q.scale || tag.zp != q.zp {
                        return Err(ctx.unsupported(format!(
                            "a DequantizeLinear (scale {}, zero point {}) of a tensor quantized \
                             at scale {}, zero point {}",
                            q.scale, q.zp, tag.scale, tag.zp
                        )));
                    }
                    return self.set_out(ctx, 0, Sym::Value(v));
                }
                if self.g.values.get(v).and_then(|i| i.integer).is_none() {
                    return Err(ctx.unsupported(
                        "DequantizeLinear of a computed tensor that no QuantizeLinear or QLinear \
                         op produced (only those, constants and integer graph inputs are read)",
                    ));
                }
                let y = self.dequant_value(ctx, v, q, ctx.output(0), "in0")?;
                self.set_out(ctx, 0, Sym::Value(y))
            }
        }
    }

    /// `(x - zp) · s` of the integer-valued `x`, named `out` (or a temporary), tagged.
    fn dequant_value(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        q: QParams,
        out: Option<&str>,
        tag: &str,
    ) -> Result<ValueId> {
        let shape = self.shape(x);
        let mut y = x;
        if q.zp != 0 {
            let c = self.new_const(
                ctx,
                &format!("{tag}.zero_point"),
                vec![],
                vec![-(q.zp as f32)],
            );
            y = self.emit_tmp(
                ctx,
                &format!("{tag}.centred"),
                FOp::Add,
                vec![Operand::Value(y), Operand::Const(c)],
                shape.clone(),
            )?;
        }
        if q.scale == 1.0 && q.zp != 0 && out.is_none() {
            return Ok(y);
        }
        let c = self.new_const(ctx, &format!("{tag}.scale"), vec![], vec![q.scale]);
        let ins = vec![Operand::Value(y), Operand::Const(c)];
        let y = match out {
            Some(o) => self.emit_named(ctx, FOp::Mul, ins, shape, Kind::Float, o)?,
            None => self.emit_tmp(ctx, &format!("{tag}.dequantized"), FOp::Mul, ins, shape)?,
        };
        self.qtags.insert(y, q);
        Ok(y)
    }

    /// The real value of quantized input `x` (parameters at inputs `si`, `zi`): a tagged value
    /// with those parameters, or an integer graph input dequantized.
    fn quantized_operand(
        &mut self,
        ctx: &Ctx<'_>,
        x: usize,
        si: usize,
        zi: usize,
    ) -> Result<(ValueId, QParams)> {
        let q = self.qparams(ctx, si, zi)?;
        let v = match self.sym(ctx, x)? {
            Sym::Value(v) => v,
            Sym::Const(_) => {
                return Err(ctx.unsupported(format!(
                    "input #{x} is a constant; a computed tensor is expected"
                )));
            }
        };
        match self.qtags.get(&v) {
            Some(t) if t.scale == q.scale && t.zp == q.zp => Ok((v, q)),
            Some(t) => Err(ctx.unsupported(format!(
                "input #{x} is quantized at scale {}, zero point {}, but read at scale {}, zero \
                 point {}",
                t.scale, t.zp, q.scale, q.zp
            ))),
            None if self.g.values.get(v).and_then(|i| i.integer).is_some() => {
                Ok((self.dequant_value(ctx, v, q, None, &format!("in{x}"))?, q))
            }
            None => Err(ctx.unsupported(format!(
                "input #{x} is a computed tensor that no QuantizeLinear or QLinear op produced"
            ))),
        }
    }

    /// The float meaning of `QuantizeLinear` then `DequantizeLinear` of `x` at `q`: `Mul` by
    /// `1/s`, `Round` (half to even), `Clip` to `[lo - zp, hi - zp]`, `Mul` by `s`; named
    /// `out`, tagged, and its [`crate::graph::ValueInfo::grid`] set (the quantizer pins it).
    pub(super) fn fake_quant(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        q: QParams,
        out: &str,
    ) -> Result<ValueId> {
        let shape = self.shape(x);
        let inv = self.new_const(ctx, "inv_scale", vec![], vec![1.0 / q.scale]);
        let t = self.emit_tmp(
            ctx,
            "steps",
            FOp::Mul,
            vec![Operand::Value(x), Operand::Const(inv)],
            shape.clone(),
        )?;
        let t = self.emit_tmp(
            ctx,
            "rounded",
            FOp::Map { f: ScalarFn::Round },
            vec![Operand::Value(t)],
            shape.clone(),
        )?;
        let t = self.emit_tmp(
            ctx,
            "clamped",
            FOp::Clip {
                min: (q.lo - q.zp) as f32,
                max: (q.hi - q.zp) as f32,
            },
            vec![Operand::Value(t)],
            shape.clone(),
        )?;
        let s = self.new_const(ctx, "out_scale", vec![], vec![q.scale]);
        let y = self.emit_named(
            ctx,
            FOp::Mul,
            vec![Operand::Value(t), Operand::Const(s)],
            shape,
            Kind::Float,
            out,
        )?;
        self.qtags.insert(y, q);
        if let Some(info) = self.g.values.get_mut(y) {
            info.grid = Some(crate::graph::Grid {
                scale: q.scale,
                zero_point: q.zp,
                lo: q.lo,
                hi: q.hi,
            });
        }
        Ok(y)
    }

    /// ONNX `QuantizeLinear` (opsets 10-23): folded on a constant, else the float meaning of
    /// the quantization, the value the integers stand for (tagged).
    pub(super) fn quantize_linear(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if ctx.int("block_size", 0) != 0 {
            return Err(ctx.unsupported("blocked quantization (block_size)"));
        }
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let x = t
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(0, "is not numeric"))?;
                let axis = self.quant_axis(ctx, &t.shape)?;
                let n = t.shape.get(axis).copied().unwrap_or(1).max(1);
                let (s, zp) = self.axis_params(ctx, 1, 2, n)?;
                let (_, (lo, hi)) = self.zero_points(ctx, 2)?;
                let inner: usize = t.shape.iter().skip(axis + 1).product();
                let q = x
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let c = (i / inner.max(1)) % n;
                        let r = libm::rintf(v / s.get(c).copied().unwrap_or(1.0));
                        let r = if r.is_nan() { 0 } else { r as i64 };
                        r.saturating_add(zp.get(c).copied().unwrap_or(0))
                            .clamp(lo, hi)
                    })
                    .collect();
                self.out_const(ctx, Tensor::i(t.shape.clone(), q))
            }
            Sym::Value(_) => {
                let x = self.value_in(ctx, 0)?;
                let q = self.qparams(ctx, 1, 2)?;
                if self.qtags.get(&x) == Some(&q) {
                    return self.set_out(ctx, 0, Sym::Value(x));
                }
                let out = ctx
                    .output(0)
                    .ok_or_else(|| ctx.shape_err("node has no output"))?
                    .to_owned();
                let y = self.fake_quant(ctx, x, q, &out)?;
                self.set_out(ctx, 0, Sym::Value(y))
            }
        }
    }

    /// Lowers a node built here (`op` of `inputs`, with the current node's attributes except
    /// `drop`) through the ordinary table, the inputs bound to fresh names; returns what
    /// its first output (named `out`) is bound to.
    pub(super) fn lower_as(
        &mut self,
        ctx: &Ctx<'_>,
        op: &str,
        inputs: Vec<Option<Sym>>,
        outputs: Vec<String>,
        keep: &[&str],
    ) -> Result<Option<Sym>> {
        let mut names = Vec::with_capacity(inputs.len());
        for (i, s) in inputs.into_iter().enumerate() {
            match s {
                Some(s) => {
                    let name = format!("{}.{op}.in{i}", ctx.name);
                    self.define(&name, s)?;
                    names.push(name);
                }
                None => names.push(String::new()),
            }
        }
        let attribute: Vec<AttributeProto> = ctx
            .node
            .attribute
            .iter()
            .filter(|a| keep.contains(&a.name.as_str()))
            .cloned()
            .collect();
        let node = NodeProto {
            input: names,
            output: outputs.clone(),
            name: ctx.name.clone(),
            op_type: op.to_owned(),
            domain: String::new(),
            attribute,
            doc_string: String::new(),
        };
        let inner = Ctx {
            node: &node,
            name: ctx.name.clone(),
            op,
        };
        self.lower(&inner)?;
        Ok(outputs.first().and_then(|o| self.lookup(o)))
    }

    /// A `Conv` of `x` by the constant `weight` (the current node's window attributes) with an
    /// optional bias, its output named `out`.
    pub(super) fn conv_by(
        &mut self,
        ctx: &Ctx<'_>,
        x: ValueId,
        weight: Tensor,
        bias: Option<Tensor>,
        out: String,
    ) -> Result<ValueId> {
        let keep = [
            "auto_pad",
            "dilations",
            "group",
            "kernel_shape",
            "pads",
            "strides",
        ];
        let ins = vec![
            Some(Sym::Value(x)),
            Some(Sym::Const(Rc::new(weight))),
            bias.map(|b| Sym::Const(Rc::new(b))),
        ];
        match self.lower_as(ctx, "Conv", ins, vec![out], &keep)? {
            Some(Sym::Value(v)) => Ok(v),
            _ => Err(ctx.shape_err("the convolution has no computed output")),
        }
    }

    /// A `MatMul` of `a` by `b` (a constant `[K, N]` is a `Linear`), its output named `out`.
    pub(super) fn matmul_by(
        &mut self,
        ctx: &Ctx<'_>,
        a: ValueId,
        b: Sym,
        out: String,
    ) -> Result<ValueId> {
        match self.lower_as(
            ctx,
            "MatMul",
            vec![Some(Sym::Value(a)), Some(b)],
            vec![out],
            &[],
        )? {
            Some(Sym::Value(v)) => Ok(v),
            _ => Err(ctx.shape_err("the product has no computed output")),
        }
    }

    /// The constant weight at input `wi`, dequantized along `axis` by scale input `si` and
    /// zero-point input `zi` (`None`: unit scales).
    fn weight_deq(
        &self,
        ctx: &Ctx<'_>,
        wi: usize,
        si: Option<usize>,
        zi: usize,
        axis: usize,
    ) -> Result<(Tensor, Vec<f32>)> {
        let (w, q) = self.int_const(ctx, wi)?;
        let n = w
            .shape
            .get(axis)
            .copied()
            .ok_or_else(|| ctx.shape_err(format!("weight {:?} has no axis {axis}", w.shape)))?;
        let (s, zp) = match si {
            Some(si) => self.axis_params(ctx, si, zi, n)?,
            None => {
                let (zp, _) = self.zero_points(ctx, zi)?;
                if zp.len() != 1 && zp.len() != n {
                    return Err(ctx.bad_input(zi, format!("has {} values for {n}", zp.len())));
                }
                let zp = if zp.len() == n { zp } else { vec![zp[0]; n] };
                (vec![1.0; n], zp)
            }
        };
        let data = Self::dequant_const(&w.shape, &q, axis, &s, &zp);
        Ok((Tensor::f(w.shape.clone(), data), s))
    }

    /// ONNX `QLinearConv`: `Conv` of the dequantized input by the dequantized weight (per
    /// output channel) and the `int32` bias at `s_x · s_w`, then the output's quantization.
    pub(super) fn qlinear_conv(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let (x, xq) = self.quantized_operand(ctx, 0, 1, 2)?;
        let (w, ws) = self.weight_deq(ctx, 3, Some(4), 5, 0)?;
        let bias = match ctx.input(8) {
            None => None,
            Some(_) => {
                let (b, q) = self.int_const(ctx, 8)?;
                if q.len() != ws.len() {
                    return Err(ctx.shape_err(format!(
                        "bias of {} values for {} output channels",
                        q.len(),
                        ws.len()
                    )));
                }
                let data = q
                    .iter()
                    .zip(&ws)
                    .map(|(&b, &s)| b as f32 * (xq.scale * s))
                    .collect();
                Some(Tensor::f(b.shape.clone(), data))
            }
        };
        let yq = self.qparams(ctx, 6, 7)?;
        let acc = self.conv_by(ctx, x, w, bias, format!("{}.real", ctx.name))?;
        self.quantize_out(ctx, acc, yq)
    }

    /// The current node's output 0: `v` quantized at `q` (tagged).
    fn quantize_out(&mut self, ctx: &Ctx<'_>, v: ValueId, q: QParams) -> Result<()> {
        let out = ctx
            .output(0)
            .ok_or_else(|| ctx.shape_err("node has no output"))?
            .to_owned();
        let y = self.fake_quant(ctx, v, q, &out)?;
        self.set_out(ctx, 0, Sym::Value(y))
    }

    /// ONNX `QLinearMatMul`: `MatMul` of the dequantized operands (a constant `b` dequantized
    /// per column), then the output's quantization.
    pub(super) fn qlinear_matmul(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let (a, _) = self.quantized_operand(ctx, 0, 1, 2)?;
        let b = match self.sym(ctx, 3)? {
            Sym::Const(t) => {
                let axis = t.shape.len().saturating_sub(1);
                Sym::Const(Rc::new(self.weight_deq(ctx, 3, Some(4), 5, axis)?.0))
            }
            Sym::Value(_) => Sym::Value(self.quantized_operand(ctx, 3, 4, 5)?.0),
        };
        let yq = self.qparams(ctx, 6, 7)?;
        let acc = self.matmul_by(ctx, a, b, format!("{}.real", ctx.name))?;
        self.quantize_out(ctx, acc, yq)
    }

    /// `com.microsoft` `QGemm`: `Gemm` (`alpha`, `transA`, `transB`) of the dequantized `A`
    /// by the constant `B` dequantized per output column, plus the `int32` `C` at `alpha · s_a
    /// · s_b`; then the output's quantization, or the float result without `y_scale`.
    pub(super) fn qgemm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let (a, aq) = self.quantized_operand(ctx, 0, 1, 2)?;
        let trans_b = ctx.int("transB", 0) != 0;
        let (b, bs) = self.weight_deq(ctx, 3, Some(4), 5, usize::from(!trans_b))?;
        let alpha = ctx.float("alpha", 1.0);
        let c = match ctx.input(6) {
            None => None,
            Some(_) => {
                let (t, q) = self.int_const(ctx, 6)?;
                if q.len() != bs.len() {
                    return Err(ctx.unsupported(format!(
                        "a bias C of shape {:?} (one value per output column is supported)",
                        t.shape
                    )));
                }
                let data = q
                    .iter()
                    .zip(&bs)
                    .map(|(&c, &s)| c as f32 * (alpha * aq.scale * s))
                    .collect();
                Some(Sym::Const(Rc::new(Tensor::f(t.shape.clone(), data))))
            }
        };
        let ins = vec![Some(Sym::Value(a)), Some(Sym::Const(Rc::new(b))), c];
        let keep = ["alpha", "transA", "transB"];
        if ctx.input(7).is_none() {
            let out = ctx.node.output.clone();
            self.lower_as(ctx, "Gemm", ins, out, &keep)?;
            return Ok(());
        }
        let real = format!("{}.real", ctx.name);
        let Some(Sym::Value(acc)) = self.lower_as(ctx, "Gemm", ins, vec![real], &keep)? else {
            return Err(ctx.shape_err("the product has no computed output"));
        };
        let yq = self.qparams(ctx, 7, 8)?;
        self.quantize_out(ctx, acc, yq)
    }

    /// `q - zp` of quantized input `x` with zero-point input `zi`, as an exact integer-valued
    /// float value, and the scale it is divided by (`1` for an integer graph input, `s` for a
    /// tagged value, whose zero point must be `zi`'s).
    fn centred_operand(&mut self, ctx: &Ctx<'_>, x: usize, zi: usize) -> Result<(ValueId, f32)> {
        let (zps, _) = self.zero_points(ctx, zi)?;
        let &[zp] = zps.as_slice() else {
            return Err(ctx.unsupported(format!(
                "{} zero points for input #{x} where one is needed",
                zps.len()
            )));
        };
        let v = self.value_in(ctx, x)?;
        if let Some(t) = self.qtags.get(&v).copied() {
            if t.zp != zp {
                return Err(ctx.unsupported(format!(
                    "input #{x} is quantized with zero point {}, but read with {zp}",
                    t.zp
                )));
            }
            return Ok((v, t.scale));
        }
        if self.g.values.get(v).and_then(|i| i.integer).is_none() {
            return Err(ctx.unsupported(format!(
                "input #{x} is a computed tensor that is neither quantized by the model nor an \
                 integer graph input"
            )));
        }
        let q = QParams {
            scale: 1.0,
            zp,
            lo: i64::MIN,
            hi: i64::MAX,
        };
        if zp == 0 {
            return Ok((v, 1.0));
        }
        let y = self.dequant_value(ctx, v, q, None, &format!("in{x}"))?;
        self.qtags.remove(&y);
        Ok((y, 1.0))
    }

    /// ONNX `ConvInteger` (outside the dynamic pattern): the exact `int32` accumulator of `x -
    /// x_zp` by `w - w_zp`.
    pub(super) fn conv_integer_static(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let (x, s) = self.centred_operand(ctx, 0, 2)?;
        let (mut w, _) = self.weight_deq(ctx, 1, None, 3, 0)?;
        if s != 1.0
            && let Data::F(d) = &mut w.data
        {
            d.iter_mut().for_each(|v| *v /= s);
        }
        let y = self.conv_by(ctx, x, w, None, format!("{}.real", ctx.name))?;
        self.rebind(ctx, y)
    }

    /// ONNX `MatMulInteger` (outside the dynamic pattern): the exact `int32` product of `a -
    /// a_zp` by the constant `b - b_zp` (per column).
    pub(super) fn matmul_integer_static(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let (a, s) = self.centred_operand(ctx, 0, 2)?;
        let axis = match self.sym(ctx, 1)? {
            Sym::Const(t) => t.shape.len().saturating_sub(1),
            Sym::Value(_) => {
                return Err(ctx.unsupported(
                    "MatMulInteger by a computed right operand (a constant one is supported)",
                ));
            }
        };
        let (mut b, _) = self.weight_deq(ctx, 1, None, 3, axis)?;
        if s != 1.0
            && let Data::F(d) = &mut b.data
        {
            d.iter_mut().for_each(|v| *v /= s);
        }
        let y = self.matmul_by(ctx, a, Sym::Const(Rc::new(b)), format!("{}.real", ctx.name))?;
        self.rebind(ctx, y)
    }
}
