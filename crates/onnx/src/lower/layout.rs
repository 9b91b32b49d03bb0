//! Data movement without arithmetic: ONNX `Reshape`, `Flatten`, `Squeeze`, `Unsqueeze`,
//! `Transpose`, `Concat` and `Pad`, lowered to [`FOp::Reshape`], [`FOp::Transpose`],
//! [`FOp::Concat`] and [`FOp::Pad`] (or folded on constants), and the shape-subgraph ops
//! `Shape`, `Gather`, `Slice` and `ConstantOfShape`, which only fold constants.

use crate::error::{Error, Result};
use crate::graph::{Dim, FOp, Operand, PadMode};
use crate::import::{Ctx, Importer, Kind, Sym, dims_numel, fixed};
use crate::tensor::{BATCH, Data, MAX_ELEMS, MAX_FOLD_ELEMS, Tensor, numel};

impl Importer {
    /// Emits a `Reshape` of input 0 to `shape` (or folds a constant).
    fn reshape_to(&mut self, ctx: &Ctx<'_>, shape: Vec<Dim>) -> Result<()> {
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let fixed_shape: Option<Vec<usize>> = shape
                    .iter()
                    .map(|d| {
                        if let Dim::Fixed(n) = d {
                            Some(*n)
                        } else {
                            None
                        }
                    })
                    .collect();
                let fs =
                    fixed_shape.ok_or_else(|| ctx.shape_err("constant with a batch dimension"))?;
                let t = (*t)
                    .clone()
                    .reshaped(fs)
                    .ok_or_else(|| ctx.shape_err("element count changes"))?;
                self.out_const(ctx, t)
            }
            Sym::Value(v) => {
                let kind = self.kinds.get(v).copied().unwrap_or(Kind::Float);
                let out = self.emit(ctx, FOp::Reshape, vec![Operand::Value(v)], shape, kind)?;
                self.set_out(ctx, 0, Sym::Value(out))
            }
        }
    }

    fn in_dims(&self, ctx: &Ctx<'_>) -> Result<Vec<Dim>> {
        Ok(match self.sym(ctx, 0)? {
            Sym::Const(t) => fixed(&t.shape),
            Sym::Value(v) => self.shape(v),
        })
    }

    /// ONNX `Flatten`: a `Reshape` to 2-D (the batch axis stays symbolic).
    pub(super) fn flatten(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.in_dims(ctx)?;
        let axis = ctx.int("axis", 1);
        let axis = if axis == i64::try_from(s.len()).unwrap_or(-1) {
            s.len()
        } else {
            ctx.axis("axis", axis, s.len())?
        };
        let side = |part: &[Dim]| -> Result<Dim> {
            let batches = part.iter().filter(|&&d| d == Dim::Batch).count();
            let prod = dims_numel(
                &part
                    .iter()
                    .filter(|&&d| d != Dim::Batch)
                    .copied()
                    .collect::<Vec<_>>(),
            )
            .ok_or_else(|| ctx.shape_err("size overflow"))?;
            match (batches, prod) {
                (0, p) => Ok(Dim::Fixed(p)),
                (1, 1) => Ok(Dim::Batch),
                _ => Err(ctx.shape_err(format!(
                    "flattening {s:?} at axis {axis} merges the batch axis"
                ))),
            }
        };
        let out = vec![
            side(s.get(..axis).unwrap_or_default())?,
            side(s.get(axis..).unwrap_or_default())?,
        ];
        self.reshape_to(ctx, out)
    }

    /// ONNX `Reshape` by a constant target shape (`0` and one `-1` resolved).
    pub(super) fn reshape(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.in_dims(ctx)?;
        let target = if self.opset < 5 {
            ctx.ints("shape")
                .map(<[i64]>::to_vec)
                .ok_or_else(|| ctx.bad_attr("shape", "required"))?
        } else {
            self.const_in(ctx, 1)?
                .to_i64()
                .ok_or_else(|| ctx.bad_input(1, "is not an integer tensor"))?
        };
        let allowzero = ctx.int("allowzero", 0) != 0;
        // a literal 1 first where the input's axis 0 is the batch (`[1, -1]`, `[1, C, H, W]`,
        // as an export traced at batch 1 writes it): each row runs as the model's one row
        // (`docs/semantics.md` section 1), so the 1 is the batch axis
        let literal_batch = s.first() == Some(&Dim::Batch)
            && target.first() == Some(&1)
            && !target.contains(&BATCH);
        let mut out = Vec::with_capacity(target.len());
        let mut infer = None;
        for (i, &t) in target.iter().enumerate() {
            out.push(match t {
                BATCH => Dim::Batch,
                1 if i == 0 && literal_batch => Dim::Batch,
                -1 if infer.is_none() => {
                    infer = Some(i);
                    Dim::Fixed(1)
                }
                0 if !allowzero => *s
                    .get(i)
                    .ok_or_else(|| ctx.shape_err("0 refers past the input rank"))?,
                t => Dim::Fixed(
                    usize::try_from(t)
                        .ok()
                        .filter(|&u| u <= MAX_ELEMS)
                        .ok_or_else(|| ctx.shape_err(format!("invalid target dimension {t}")))?,
                ),
            });
        }
        let count = |d: &[Dim]| d.iter().filter(|&&x| x == Dim::Batch).count();
        let prod = |d: &[Dim]| {
            dims_numel(
                &d.iter()
                    .filter(|&&x| x != Dim::Batch)
                    .copied()
                    .collect::<Vec<_>>(),
            )
        };
        let (bin, bout) = (count(&s), count(&out));
        let (pin, pout) = (
            prod(&s).ok_or_else(|| ctx.shape_err("size overflow"))?,
            prod(&out).ok_or_else(|| ctx.shape_err("size overflow"))?,
        );
        let bad = || {
            ctx.shape_err(format!(
                "cannot reshape {s:?} to {} keeping the batch axis symbolic",
                crate::tensor::show_ints(&target)
            ))
        };
        match infer {
            Some(i) => {
                let d = if bin == bout {
                    if pout == 0 || pin % pout != 0 {
                        return Err(bad());
                    }
                    Dim::Fixed(pin / pout)
                } else if bin == bout + 1 && pin == pout {
                    Dim::Batch
                } else {
                    return Err(bad());
                };
                if let Some(x) = out.get_mut(i) {
                    *x = d;
                }
            }
            None => {
                if bin != bout || pin != pout {
                    return Err(bad());
                }
            }
        }
        self.reshape_to(ctx, out)
    }

    /// ONNX `Transpose` (folded on constants).
    pub(super) fn transpose(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.in_dims(ctx)?;
        let perm: Vec<usize> = match ctx.ints("perm") {
            Some(p) if !p.is_empty() => p
                .iter()
                .map(|&a| usize::try_from(a).unwrap_or(usize::MAX))
                .collect(),
            _ => (0..s.len()).rev().collect(),
        };
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        if sorted != (0..s.len()).collect::<Vec<_>>() {
            return Err(ctx.bad_attr(
                "perm",
                format!("{perm:?} is not a permutation of {} axes", s.len()),
            ));
        }
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let t = t
                    .transpose(&perm)
                    .ok_or_else(|| ctx.shape_err("transpose"))?;
                self.out_const(ctx, t)
            }
            Sym::Value(v) => {
                let out: Vec<Dim> = perm.iter().filter_map(|&p| s.get(p).copied()).collect();
                let kind = self.kinds.get(v).copied().unwrap_or(Kind::Float);
                let o = self.emit(
                    ctx,
                    FOp::Transpose { perm },
                    vec![Operand::Value(v)],
                    out,
                    kind,
                )?;
                self.set_out(ctx, 0, Sym::Value(o))
            }
        }
    }

    /// ONNX `Concat` (folded when every input is constant).
    pub(super) fn concat(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let n = ctx.node.input.len();
        let mut syms = Vec::with_capacity(n);
        for i in 0..n {
            syms.push(self.sym(ctx, i)?);
        }
        let Some(first) = syms.first() else {
            return Err(ctx.bad_input(0, "is required"));
        };
        let rank = match first {
            Sym::Const(t) => t.shape.len(),
            Sym::Value(v) => self.shape(*v).len(),
        };
        let axis = ctx.axis(
            "axis",
            ctx.attr("axis")
                .map(|a| a.i)
                .ok_or_else(|| ctx.bad_attr("axis", "required"))?,
            rank,
        )?;
        // Linears of one input (maybe times a scalar): one Linear of the stacked rows
        if self.concat_linears(ctx, &syms, axis, rank)? {
            return Ok(());
        }
        if syms.iter().all(|s| matches!(s, Sym::Const(_))) {
            let parts: Vec<Tensor> = syms
                .iter()
                .filter_map(|s| {
                    if let Sym::Const(t) = s {
                        Some((**t).clone())
                    } else {
                        None
                    }
                })
                .collect();
            let t = Tensor::concat(&parts, axis)
                .ok_or_else(|| ctx.shape_err("constant shapes do not concatenate"))?;
            return self.out_const(ctx, t);
        }
        let mut out: Option<Vec<Dim>> = None;
        let first_const = matches!(first, Sym::Const(_));
        let mut ins = Vec::with_capacity(n);
        for (i, s) in syms.iter().enumerate() {
            let dims = match s {
                Sym::Const(t) => {
                    ins.push(Operand::Const(self.const_operand(ctx, i, t)?));
                    fixed(&t.shape)
                }
                Sym::Value(_) => {
                    let v = self.value_in(ctx, i)?;
                    ins.push(Operand::Value(v));
                    self.shape(v)
                }
            };
            if dims.len() != rank {
                return Err(ctx.shape_err("inputs of different ranks"));
            }
            let constant = matches!(s, Sym::Const(_));
            out = Some(match out {
                None => dims,
                Some(mut acc) => {
                    for (a, (x, y)) in acc.iter_mut().zip(&dims).enumerate() {
                        // a constant of batch 1 (a class token exported at batch 1) joins
                        // each row: at batch 1 it is the model's own shape
                        if a == 0
                            && a != axis
                            && constant
                            && (*x, *y) == (Dim::Batch, Dim::Fixed(1))
                        {
                            continue;
                        }
                        if a == 0
                            && a != axis
                            && first_const
                            && (*x, *y) == (Dim::Fixed(1), Dim::Batch)
                        {
                            *x = Dim::Batch;
                            continue;
                        }
                        if a == axis {
                            *x = match (*x, *y) {
                                (Dim::Fixed(p), Dim::Fixed(q)) => Dim::Fixed(
                                    p.checked_add(q).ok_or_else(|| ctx.shape_err("overflow"))?,
                                ),
                                _ => {
                                    return Err(ctx.shape_err("concatenation along the batch axis"));
                                }
                            };
                        } else if x != y {
                            return Err(ctx.shape_err(format!(
                                "input #{i} shape {dims:?} does not match on axis {a}"
                            )));
                        }
                    }
                    acc
                }
            });
        }
        let out = out.unwrap_or_default();
        let v = self.emit(ctx, FOp::Concat { axis }, ins, out, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    /// ONNX `Squeeze` and `Unsqueeze`: a `Reshape` (axes from the attribute or, opset 13+, input 1).
    pub(super) fn squeeze(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.in_dims(ctx)?;
        let axes: Option<Vec<i64>> = if self.opset >= 13 {
            self.opt_const_in(ctx, 1)?
                .map(|t| {
                    t.to_i64()
                        .ok_or_else(|| ctx.bad_input(1, "is not an integer tensor"))
                })
                .transpose()?
        } else {
            ctx.ints("axes").map(<[i64]>::to_vec)
        };
        let out = if ctx.op == "Squeeze" {
            match axes {
                None => s.iter().copied().filter(|&d| d != Dim::Fixed(1)).collect(),
                Some(axes) => {
                    let mut drop = vec![false; s.len()];
                    for &a in &axes {
                        let a = ctx.axis("axes", a, s.len())?;
                        if s.get(a) != Some(&Dim::Fixed(1)) {
                            return Err(ctx.shape_err(format!("cannot squeeze axis {a} of {s:?}")));
                        }
                        if let Some(d) = drop.get_mut(a) {
                            *d = true;
                        }
                    }
                    s.iter()
                        .zip(&drop)
                        .filter(|(_, d)| !**d)
                        .map(|(x, _)| *x)
                        .collect()
                }
            }
        } else {
            let axes = axes.ok_or_else(|| ctx.bad_attr("axes", "required"))?;
            let rank = s
                .len()
                .checked_add(axes.len())
                .ok_or_else(|| ctx.shape_err("rank"))?;
            let mut ins = vec![false; rank];
            for &a in &axes {
                let a = ctx.axis("axes", a, rank)?;
                let slot = ins.get_mut(a).ok_or_else(|| ctx.shape_err("axis"))?;
                if *slot {
                    return Err(ctx.bad_attr("axes", "repeated axis"));
                }
                *slot = true;
            }
            let mut it = s.iter();
            ins.iter()
                .map(|&new| {
                    if new {
                        Dim::Fixed(1)
                    } else {
                        it.next().copied().unwrap_or(Dim::Fixed(1))
                    }
                })
                .collect()
        };
        self.reshape_to(ctx, out)
    }

    /// ONNX `Shape`: a constant (the batch axis as the `BATCH` marker).
    pub(super) fn shape_op(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let s = self.in_dims(ctx)?;
        let mut v: Vec<i64> = s
            .iter()
            .map(|d| match d {
                Dim::Batch => BATCH,
                Dim::Fixed(n) => i64::try_from(*n).unwrap_or(i64::MAX),
            })
            .collect();
        let r = i64::try_from(v.len()).unwrap_or(0);
        let clampi = |x: i64| (if x < 0 { x.saturating_add(r) } else { x }).clamp(0, r);
        let start = usize::try_from(clampi(ctx.int("start", 0))).unwrap_or(0);
        let end = usize::try_from(clampi(ctx.int("end", r))).unwrap_or(0);
        v = v.get(start..end.max(start)).unwrap_or_default().to_vec();
        self.out_const(ctx, Tensor::i(vec![v.len()], v))
    }

    /// ONNX `Gather` by constant indices: folded on constants, a `Select` of a computed
    /// tensor (`lower/select.rs`).
    pub(super) fn gather(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let dims = self.in_dims(ctx)?;
        if let Sym::Value(i) = self.sym(ctx, 1)? {
            return self.gather_computed(ctx, i);
        }
        let idx = self.const_in(ctx, 1)?;
        let axis = ctx.axis("axis", ctx.int("axis", 0), dims.len())?;
        let dim = match dims.get(axis) {
            Some(Dim::Fixed(d)) => i64::try_from(*d).unwrap_or(0),
            _ => {
                return Err(ctx.unsupported(format!(
                    "gathering along axis {axis}, the batch axis (rows must stay independent)"
                )));
            }
        };
        let iv = idx
            .to_i64()
            .ok_or_else(|| ctx.bad_input(1, "is not an integer tensor"))?;
        let iv: Vec<usize> = iv
            .iter()
            .map(|&i| {
                let j = if i < 0 { i.saturating_add(dim) } else { i };
                usize::try_from(j)
                    .ok()
                    .filter(|_| j < dim)
                    .ok_or_else(|| ctx.bad_input(1, format!("index {i} out of range")))
            })
            .collect::<Result<_>>()?;
        let data = match self.sym(ctx, 0)? {
            Sym::Const(t) => t,
            Sym::Value(v) => return self.gather_value(ctx, v, axis, &idx.shape, iv),
        };
        let t = data
            .gather(axis, &idx.shape, &iv)
            .ok_or_else(|| ctx.shape_err("gather"))?;
        self.out_const(ctx, t)
    }

    /// ONNX `Slice`: folded on constants, a `Select` of a computed tensor (`lower/select.rs`).
    pub(super) fn slice(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let rank = self.in_dims(ctx)?.len();
        let get = |imp: &Self, i: usize, attr: &str| -> Result<Option<Vec<i64>>> {
            if imp.opset < 10 {
                Ok(ctx.ints(attr).map(<[i64]>::to_vec))
            } else {
                imp.opt_const_in(ctx, i)?
                    .map(|t| {
                        t.to_i64()
                            .ok_or_else(|| ctx.bad_input(i, "is not an integer tensor"))
                    })
                    .transpose()
            }
        };
        let starts =
            get(self, 1, "starts")?.ok_or_else(|| ctx.bad_input(1, "starts are required"))?;
        let ends = get(self, 2, "ends")?.ok_or_else(|| ctx.bad_input(2, "ends are required"))?;
        let axes = get(self, 3, "axes")?
            .unwrap_or_else(|| (0..i64::try_from(starts.len()).unwrap_or(0)).collect());
        let steps = if self.opset < 10 {
            None
        } else {
            get(self, 4, "steps")?
        }
        .unwrap_or_else(|| vec![1; starts.len()]);
        if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
            return Err(ctx.shape_err("starts, ends, axes and steps differ in length"));
        }
        let mut specs = Vec::with_capacity(starts.len());
        for (((&s, &e), &a), &st) in starts.iter().zip(&ends).zip(&axes).zip(&steps) {
            specs.push((ctx.axis("axes", a, rank)?, s, e, st));
        }
        let data = match self.sym(ctx, 0)? {
            Sym::Const(t) => t,
            Sym::Value(v) => return self.slice_value(ctx, v, &specs),
        };
        let t = data
            .slice(&specs)
            .ok_or_else(|| ctx.shape_err("invalid slice"))?;
        self.out_const(ctx, t)
    }

    /// ONNX `ConstantOfShape` (a constant). A shape holding the batch size gives the tensor
    /// with that axis at 1: it holds one value everywhere, and its consumers broadcast it to
    /// the rows (elementwise operators, a recurrent node's initial state).
    pub(super) fn constant_of_shape(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let shape = self
            .const_in(ctx, 0)?
            .to_i64()
            .ok_or_else(|| ctx.bad_input(0, "is not an integer tensor"))?;
        // the batch size, not known at import, is 1: the tensor holds one value everywhere,
        // so one row of it broadcasts to every row (an LSTM's zero initial state)
        let shape: Vec<usize> = shape
            .iter()
            .map(|&d| match d {
                BATCH => Ok(1),
                d => usize::try_from(d).map_err(|_| ctx.shape_err(format!("dimension {d}"))),
            })
            .collect::<Result<_>>()?;
        // any size the import's budget for derived constants leaves (it grows with the
        // model's initializers), checked before the one allocation of the result
        let room = self.derived_room();
        let n = numel(&shape)
            .filter(|&n| n <= room)
            .ok_or_else(|| Error::TooLarge {
                tensor: ctx.name.clone(),
                limit: room,
            })?;
        let value = match ctx.attr("value").and_then(|a| a.t.as_ref()) {
            Some(t) => Tensor::from_proto(t)?,
            None => Tensor::f(vec![1], vec![0.0]),
        };
        let t = match &value.data {
            Data::F(v) => Tensor::f(shape, vec![v.first().copied().unwrap_or(0.0); n]),
            Data::I(v) => Tensor::i(shape, vec![v.first().copied().unwrap_or(0); n]),
        };
        self.out_const(ctx, t)
    }

    /// ONNX `Pad` (opsets 2 to 25): `mode` constant, reflect, edge or wrap; `pads` (attribute
    /// before opset 11, then a constant input), the constant value (attribute `value`, then
    /// optional input 2) and, from opset 18, constant `axes` (input 3). Negative pads
    /// (cropping), pads on the batch axis and reflections not shorter than their axis are
    /// refused. Folded on a constant input.
    pub(super) fn pad(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let mode_name = ctx.string("mode").unwrap_or(b"constant");
        let mode = std::str::from_utf8(mode_name)
            .ok()
            .and_then(PadMode::from_name)
            .ok_or_else(|| {
                ctx.unsupported(format!(
                    "mode {:?} (vouch pads in constant, reflect, edge or wrap mode)",
                    String::from_utf8_lossy(mode_name)
                ))
            })?;
        let s = self.in_dims(ctx)?;
        let r = s.len();
        let int_input = |imp: &Self, i: usize| -> Result<Option<Vec<i64>>> {
            imp.opt_const_in(ctx, i)?
                .map(|t| {
                    t.to_i64()
                        .ok_or_else(|| ctx.bad_input(i, "is not an integer tensor"))
                })
                .transpose()
        };
        let (given, value, axes) = if self.opset < 11 {
            let pads = ctx
                .ints("pads")
                .map(<[i64]>::to_vec)
                .ok_or_else(|| ctx.bad_attr("pads", "required"))?;
            (pads, ctx.float("value", 0.0), None)
        } else {
            let pads = int_input(self, 1)?.ok_or_else(|| ctx.bad_input(1, "pads are required"))?;
            let value = match self.opt_const_in(ctx, 2)? {
                None => 0.0,
                Some(t) => match t.to_f32().as_deref() {
                    Some([v]) => *v,
                    _ => return Err(ctx.bad_input(2, "the constant value must be one number")),
                },
            };
            let axes = if self.opset >= 18 {
                int_input(self, 3)?
            } else {
                None
            };
            (pads, value, axes)
        };
        // One begin and one end per axis of the input, in ONNX order.
        let axes: Vec<usize> = match axes {
            None => (0..r).collect(),
            Some(a) => a
                .iter()
                .map(|&x| ctx.axis("axes", x, r))
                .collect::<Result<_>>()?,
        };
        let n = axes.len();
        if given.len() != 2 * n {
            return Err(ctx.bad_input(
                1,
                format!(
                    "{} pads for {n} axes (need begin and end per axis)",
                    given.len()
                ),
            ));
        }
        let mut pads = vec![0usize; 2 * r];
        let mut seen = vec![false; r];
        for (k, &a) in axes.iter().enumerate() {
            if std::mem::replace(seen.get_mut(a).ok_or_else(|| ctx.shape_err("axis"))?, true) {
                return Err(ctx.bad_input(3, format!("axis {a} repeated")));
            }
            for (side, slot) in [(k, a), (n + k, r + a)] {
                let p = given.get(side).copied().unwrap_or(0);
                let p = usize::try_from(p)
                    .ok()
                    .filter(|&p| p <= MAX_ELEMS)
                    .ok_or_else(|| {
                        ctx.unsupported(format!(
                            "pad {} on axis {a}: negative pads (cropping) are not supported",
                            crate::tensor::show_ints(&[p]).trim_matches(['[', ']'])
                        ))
                    })?;
                if let Some(x) = pads.get_mut(slot) {
                    *x = p;
                }
            }
        }
        let mut out = Vec::with_capacity(r);
        for (a, d) in s.iter().enumerate() {
            let (b, e) = (
                pads.get(a).copied().unwrap_or(0),
                pads.get(r + a).copied().unwrap_or(0),
            );
            out.push(match *d {
                _ if b == 0 && e == 0 => *d,
                Dim::Batch => {
                    return Err(ctx.unsupported(format!("pads on the batch axis {a}")));
                }
                Dim::Fixed(d) => {
                    if mode == PadMode::Reflect && (b >= d || e >= d) {
                        return Err(ctx.unsupported(format!(
                            "reflect pads {b}, {e} on axis {a} of size {d} (each must be below the size)"
                        )));
                    }
                    if d == 0 && mode != PadMode::Constant {
                        return Err(ctx.unsupported(format!(
                            "{} pads on the empty axis {a}",
                            mode.name()
                        )));
                    }
                    Dim::Fixed(
                        d.checked_add(b)
                            .and_then(|v| v.checked_add(e))
                            .filter(|&v| v <= MAX_ELEMS)
                            .ok_or_else(|| ctx.shape_err("padded size overflow"))?,
                    )
                }
            });
        }
        let value = if mode == PadMode::Constant {
            value
        } else {
            0.0
        };
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let t = pad_const(&t, mode, &pads, value).ok_or_else(|| ctx.shape_err("pad"))?;
                self.out_const(ctx, t)
            }
            Sym::Value(_) => {
                let v = self.value_in(ctx, 0)?;
                let op = FOp::Pad { mode, pads, value };
                let o = self.emit(ctx, op, vec![Operand::Value(v)], out, Kind::Float)?;
                self.set_out(ctx, 0, Sym::Value(o))
            }
        }
    }
}

/// `Pad` of a constant: every output element read through [`PadMode::source`] (a float
/// constant value is rounded into an integer tensor).
fn pad_const(t: &Tensor, mode: PadMode, pads: &[usize], value: f32) -> Option<Tensor> {
    let r = t.shape.len();
    let shape: Vec<usize> = t
        .shape
        .iter()
        .enumerate()
        .map(|(a, &d)| Some(d + pads.get(a)? + pads.get(r + a)?))
        .collect::<Option<_>>()?;
    let n = numel(&shape).filter(|&n| n <= MAX_FOLD_ELEMS)?;
    let st = crate::tensor::strides(&t.shape);
    let mut src = Vec::with_capacity(n);
    for i in 0..n {
        let (mut rest, mut off) = (i, Some(0usize));
        for a in (0..r).rev() {
            let d = *shape.get(a)?;
            let o = rest % d;
            rest /= d;
            let s = mode.source(o, *pads.get(a)?, *t.shape.get(a)?).ok()?;
            off = off
                .zip(s)
                .map(|(f, s)| f + s * st.get(a).copied().unwrap_or(0));
        }
        src.push(off);
    }
    #[expect(clippy::cast_possible_truncation, reason = "rounded, saturating")]
    Some(match &t.data {
        Data::F(v) => Tensor::f(
            shape,
            src.iter()
                .map(|o| o.map_or(Some(value), |i| v.get(i).copied()))
                .collect::<Option<_>>()?,
        ),
        Data::I(v) => Tensor::i(
            shape,
            src.iter()
                .map(|o| o.map_or(Some(value.round() as i64), |i| v.get(i).copied()))
                .collect::<Option<_>>()?,
        ),
    })
}
