//! Normalization: ONNX `BatchNormalization` (inference), which belongs to no op family: it is
//! folded into the producing [`FOp::Conv`] / [`FOp::Linear`] or lowered to [`FOp::Mul`] +
//! [`FOp::Add`] by per-channel constants.

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand};
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
