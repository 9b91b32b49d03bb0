//! Normalization, which belongs to no op family: ONNX `BatchNormalization` (inference) is
//! folded into the producing [`FOp::Conv`] / [`FOp::Linear`] or lowered to [`FOp::Mul`] +
//! [`FOp::Add`] by per-channel constants; `InstanceNormalization` is lowered to reductions,
//! products and a [`ScalarFn::RsqrtEps`] table, `LRN` to a product, a channel-window sum (a
//! [`FOp::Conv`] or [`FOp::Linear`] by a constant 0/1 band) and a [`ScalarFn::LrnFactor`] table.

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ReduceMode, ScalarFn, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym};

impl Importer {
    /// ONNX `BatchNormalization` (inference): folded into the producing `Conv`/`Linear` when
    /// it is the only consumer, else `Mul` + `Add` by per-channel constants.
    pub(super) fn batchnorm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if ctx.int("training_mode", 0) != 0 {
            return Err(ctx.unsupported("training_mode = 1"));
        }
        // Opset 6 spelled inference mode `is_test = 1` and allowed per-element statistics.
        if ctx.attr("is_test").is_some_and(|a| a.i == 0) {
            return Err(ctx.unsupported("is_test = 0 (training mode)"));
        }
        if ctx.int("spatial", 1) != 1 {
            return Err(ctx.unsupported("spatial = 0"));
        }
        if (1..5).any(|i| ctx.output(i).is_some_and(|o| self.uses.contains_key(o))) {
            return Err(ctx.unsupported("running statistics outputs are used"));
        }
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        let c = match s.get(1) {
            Some(Dim::Fixed(c)) => *c,
            _ => return Err(ctx.shape_err(format!("input {s:?} has no fixed channel axis"))),
        };
        let eps = ctx.float("epsilon", 1e-5);
        let mut p = Vec::with_capacity(4);
        for i in 1..5 {
            let t = self.const_in(ctx, i)?;
            let d = t
                .to_f32()
                .ok_or_else(|| ctx.bad_input(i, "is not numeric"))?;
            if d.len() != c {
                return Err(ctx.shape_err(format!(
                    "parameter #{i} has {} elements for {c} channels",
                    d.len()
                )));
            }
            p.push(d);
        }
        let [scale, b, mean, var] = &p[..] else {
            return Err(ctx.shape_err("parameters"));
        };
        let a: Vec<f32> = scale
            .iter()
            .zip(var)
            .map(|(g, v)| g / (v + eps).sqrt())
            .collect();
        let shift: Vec<f32> = b
            .iter()
            .zip(mean)
            .zip(&a)
            .map(|((b, m), a)| b - m * a)
            .collect();
        // Fold into the producing Conv / Linear.
        let xname = ctx.input(0).unwrap_or_default();
        if self.single_use(xname)
            && let Some(Some(pi)) = self.producer.get(x).copied()
        {
            let target = match self.g.nodes.get(pi).map(|n| &n.op) {
                Some(FOp::Conv { weight, bias, .. }) => Some((*weight, *bias)),
                Some(FOp::Linear { weight, bias }) if s.len() == 2 => Some((*weight, *bias)),
                _ => None,
            };
            if let Some((w, bias)) = target {
                let wc = self.g.consts.get(w).cloned();
                if let Some(wc) = wc.filter(|wc| wc.shape.first() == Some(&c)) {
                    let per = wc.data.len() / c.max(1);
                    let nw: Vec<f32> = wc
                        .data
                        .iter()
                        .enumerate()
                        .map(|(i, &v)| v * a.get(i / per.max(1)).copied().unwrap_or(1.0))
                        .collect();
                    let ob = bias
                        .and_then(|b| self.g.consts.get(b))
                        .map(|b| b.data.clone())
                        .unwrap_or_else(|| vec![0.0; c]);
                    let nb: Vec<f32> = ob
                        .iter()
                        .zip(&a)
                        .zip(&shift)
                        .map(|((o, a), s)| o * a + s)
                        .collect();
                    let nwid = self.new_const(ctx, "weight", wc.shape.clone(), nw);
                    let nbid = self.new_const(ctx, "bias", vec![c], nb);
                    if let Some(FOp::Conv { weight, bias, .. } | FOp::Linear { weight, bias }) =
                        self.g.nodes.get_mut(pi).map(|n| &mut n.op)
                    {
                        *weight = nwid;
                        *bias = Some(nbid);
                    }
                    return self.rebind(ctx, x);
                }
            }
        }
        // Otherwise: x * a + shift with per-channel constants shaped [C, 1, ...].
        let mut cshape = vec![c];
        cshape.extend(std::iter::repeat_n(1, s.len().saturating_sub(2)));
        let ac = self.new_const(ctx, "scale", cshape.clone(), a);
        let bc = self.new_const(ctx, "shift", cshape, shift);
        let m = self.emit_tmp(
            ctx,
            "mul",
            FOp::Mul,
            vec![Operand::Value(x), Operand::Const(ac)],
            s.clone(),
        )?;
        let v = self.emit(
            ctx,
            FOp::Add,
            vec![Operand::Value(m), Operand::Const(bc)],
            s,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(v))
    }
}

impl Importer {
    /// The fixed channel count of `x` (`[N, C, ..]`) and the shape `[C, 1, ..]` (one `1` per
    /// axis after the channel axis) a per-channel constant broadcasts from.
    fn channels(ctx: &Ctx<'_>, s: &[Dim]) -> Result<(usize, Vec<usize>)> {
        match s.get(1) {
            Some(Dim::Fixed(c)) if *c > 0 => {
                let mut cshape = vec![*c];
                cshape.extend(std::iter::repeat_n(1, s.len().saturating_sub(2)));
                Ok((*c, cshape))
            }
            _ => Err(ctx.shape_err(format!("input {s:?} has no fixed channel axis"))),
        }
    }

    /// ONNX `InstanceNormalization`: `y = scale[c] · (x - mean) / √(var + ε) + B[c]`, the mean
    /// and (biased) variance over the spatial axes `2..` of each `(n, c)`, as `Reduce` mean,
    /// `Sub`, `Mul` (`d · d`), `Reduce` mean, `Map` [`ScalarFn::RsqrtEps`], `Mul`, then `Mul`
    /// and `Add` by the constants shaped `[C, 1, ..]`; a slice of more elements than one
    /// `Reduce` may span is averaged one spatial axis at a time (`staged_reduce`). Refused: a
    /// rank below 3, a symbolic spatial axis, computed `scale` or `B`, and a spatial axis longer
    /// than [`vouch_semantics::MAX_REDUCE_SPAN`].
    pub(super) fn instance_norm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        if s.len() < 3 {
            return Err(ctx.unsupported(format!(
                "input of rank {} (InstanceNormalization needs [N, C, D1, ..])",
                s.len()
            )));
        }
        let (c, cshape) = Self::channels(ctx, &s)?;
        for d in s.get(2..).unwrap_or_default() {
            match d {
                Dim::Fixed(0) => return Err(ctx.unsupported("an empty spatial axis")),
                Dim::Fixed(_) => {}
                Dim::Batch => return Err(ctx.shape_err("symbolic spatial dimension")),
            }
        }
        let eps = ctx.float("epsilon", 1e-5);
        if !eps.is_finite() || eps < 0.0 {
            return Err(ctx.bad_attr("epsilon", format!("{eps} is not a finite value >= 0")));
        }
        let mut params = Vec::with_capacity(2);
        for i in 1..3 {
            let t = self.const_in(ctx, i)?;
            let d = t
                .to_f32()
                .ok_or_else(|| ctx.bad_input(i, "is not numeric"))?;
            if d.len() != c {
                return Err(ctx.bad_input(i, format!("has {} elements for {c} channels", d.len())));
            }
            params.push(d);
        }
        let (Some(bias), Some(scale)) = (params.pop(), params.pop()) else {
            return Err(ctx.shape_err("parameters"));
        };
        let axes: Vec<usize> = (2..s.len()).collect();
        let mut kept = s.clone();
        for d in kept.iter_mut().skip(2) {
            *d = Dim::Fixed(1);
        }
        let val = |v: ValueId| vec![Operand::Value(v)];
        let two = |a: ValueId, b: ValueId| vec![Operand::Value(a), Operand::Value(b)];
        let mean = ReduceMode::Mean;
        let m = self.staged_reduce(ctx, x, mean, &axes, true, Some("mean"))?;
        let d = self.emit_tmp(ctx, "centered", FOp::Sub, two(x, m), s.clone())?;
        let sq = self.emit_tmp(ctx, "square", FOp::Mul, two(d, d), s.clone())?;
        let var = self.staged_reduce(ctx, sq, mean, &axes, true, Some("var"))?;
        let f = FOp::Map {
            f: ScalarFn::RsqrtEps { eps },
        };
        let r = self.emit_tmp(ctx, "rsqrt", f, val(var), kept)?;
        let n = self.emit_tmp(ctx, "normalized", FOp::Mul, two(d, r), s.clone())?;
        let sc = self.new_const(ctx, "scale", cshape.clone(), scale);
        let bc = self.new_const(ctx, "bias", cshape, bias);
        let ins = vec![Operand::Value(n), Operand::Const(sc)];
        let t = self.emit_tmp(ctx, "scaled", FOp::Mul, ins, s.clone())?;
        let ins = vec![Operand::Value(t), Operand::Const(bc)];
        let y = self.emit(ctx, FOp::Add, ins, s, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(y))
    }

    /// ONNX `LRN`: `y = x · (bias + alpha / size · Σ x²)^(-beta)`, the sum over the channels
    /// `max(0, c - ⌊(size - 1) / 2⌋) ..= min(C - 1, c + ⌈(size - 1) / 2⌉)`, as `Mul` (`x · x`),
    /// the window sum (a 1×1 `Conv` by the constant 0/1 band `[C, C, 1, 1]` for `[N, C, L]`
    /// and `[N, C, H, W]`, a `Linear` by the band `[C, C]` for `[N, C]`), `Map`
    /// [`ScalarFn::LrnFactor`] and `Mul`. Refused: another rank, `size < 1`.
    pub(super) fn lrn(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        let (c, _) = Self::channels(ctx, &s)?;
        if !(2..=4).contains(&s.len()) {
            return Err(ctx.unsupported(format!(
                "input of rank {} (LRN over [N, C], [N, C, L] or [N, C, H, W])",
                s.len()
            )));
        }
        let size = ctx
            .attr("size")
            .map(|a| a.i)
            .ok_or_else(|| ctx.bad_attr("size", "is required"))?;
        let size = usize::try_from(size)
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| ctx.bad_attr("size", format!("{size} must be at least 1")))?;
        let (alpha, beta, bias) = (
            ctx.float("alpha", 1e-4),
            ctx.float("beta", 0.75),
            ctx.float("bias", 1.0),
        );
        if ![alpha, beta, bias].iter().all(|v| v.is_finite()) {
            return Err(ctx.bad_attr("alpha", "alpha, beta and bias must be finite"));
        }
        if c.saturating_mul(c) > self.derived_room() {
            return Err(ctx.unsupported(format!(
                "{c} channels: the [{c}, {c}] window band passes the constant budget"
            )));
        }
        // channel o sums the channels i with o - ⌊(size-1)/2⌋ <= i <= o + ⌈(size-1)/2⌉
        let (before, after) = ((size - 1) / 2, (size - 1).div_ceil(2));
        let band: Vec<f32> = (0..c)
            .flat_map(|o| {
                (0..c).map(move |i| f32::from(u8::from(i + before >= o && i <= o + after)))
            })
            .collect();
        let two = |a: ValueId, b: ValueId| vec![Operand::Value(a), Operand::Value(b)];
        let sq = self.emit_tmp(ctx, "square", FOp::Mul, two(x, x), s.clone())?;
        let op = if s.len() == 2 {
            let weight = self.new_const(ctx, "window", vec![c, c], band);
            FOp::Linear { weight, bias: None }
        } else {
            let weight = self.new_const(ctx, "window", vec![c, c, 1, 1], band);
            FOp::Conv {
                weight,
                bias: None,
                kernel: [1, 1],
                strides: [1, 1],
                pads: [0; 4],
                dilations: [1, 1],
                group: 1,
            }
        };
        let sum = self.emit_tmp(ctx, "window_sum", op, vec![Operand::Value(sq)], s.clone())?;
        let f = FOp::Map {
            f: ScalarFn::LrnFactor {
                bias,
                scale: alpha / size as f32,
                beta,
            },
        };
        let k = self.emit_tmp(ctx, "factor", f, vec![Operand::Value(sum)], s.clone())?;
        let y = self.emit(ctx, FOp::Mul, two(x, k), s, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(y))
    }
}
