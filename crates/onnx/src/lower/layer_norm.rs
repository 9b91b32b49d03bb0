//! ONNX `LayerNormalization` (opset 17) and `RMSNormalization` (opset 23), lowered into
//! existing float ops as `InstanceNormalization` is (`norm.rs`): over the axes `axis..` of
//! `X`, `d = X - ReduceMean(X)` (`X` itself for RMS), `v = ReduceMean(d · d)`, the table
//! `r = 1 / √(v + ε)`, `Y = d · r · Scale (+ B)` with the constant `Scale` and `B` broadcast
//! to `X`. `LayerNormalization`'s optional `Mean` and `InvStdDev` outputs are the mean and
//! `r`.

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ReduceMode, ScalarFn, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym, broadcast_dims, fixed};

impl Importer {
    /// ONNX `LayerNormalization`.
    pub(super) fn layer_norm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        self.layer_norm_like(ctx, false)
    }

    /// ONNX `RMSNormalization`.
    pub(super) fn rms_norm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        self.layer_norm_like(ctx, true)
    }

    /// The constant parameter `i` (`Scale` or `B`) as a stored constant that broadcasts to
    /// `s` without enlarging it; `None` when the optional input is absent.
    fn norm_param(&mut self, ctx: &Ctx<'_>, i: usize, s: &[Dim]) -> Result<Option<Operand>> {
        let Some(t) = self.opt_const_in(ctx, i)? else {
            return Ok(None);
        };
        if broadcast_dims(s, &fixed(&t.shape)).as_deref() != Some(s) {
            return Err(ctx.bad_input(
                i,
                format!(
                    "of shape {:?} does not broadcast to the input {s:?}",
                    t.shape
                ),
            ));
        }
        let d = t
            .to_f32()
            .ok_or_else(|| ctx.bad_input(i, "is not numeric"))?;
        let name = if i == 1 { "scale" } else { "bias" };
        Ok(Some(Operand::Const(self.new_const(
            ctx,
            name,
            t.shape.clone(),
            d,
        ))))
    }

    /// `LayerNormalization` (or `RMSNormalization` when `rms`) over the axes `axis..`.
    fn layer_norm_like(&mut self, ctx: &Ctx<'_>, rms: bool) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        let rank = s.len();
        let axis = ctx.axis("axis", ctx.int("axis", -1), rank)?;
        for (a, d) in s.iter().enumerate().skip(axis) {
            match d {
                Dim::Batch => {
                    return Err(ctx.unsupported(format!(
                        "{} over the batch axis {a} (rows are independent)",
                        ctx.op
                    )));
                }
                Dim::Fixed(0) => return Err(ctx.unsupported(format!("the empty axis {a}"))),
                Dim::Fixed(_) => {}
            }
        }
        let eps = ctx.float("epsilon", 1e-5);
        if !eps.is_finite() || eps < 0.0 {
            return Err(ctx.bad_attr("epsilon", format!("{eps} is not a finite value >= 0")));
        }
        let scale = self
            .norm_param(ctx, 1, &s)?
            .ok_or_else(|| ctx.bad_input(1, "Scale is required"))?;
        let bias = if rms {
            None
        } else {
            self.norm_param(ctx, 2, &s)?
        };
        let axes: Vec<usize> = (axis..rank).collect();
        let mut kept = s.clone();
        for d in kept.iter_mut().skip(axis) {
            *d = Dim::Fixed(1);
        }
        let two = |a: ValueId, b: ValueId| vec![Operand::Value(a), Operand::Value(b)];
        let mean = ReduceMode::Mean;
        let (d, m) = if rms {
            (x, None)
        } else {
            let m = self.staged_reduce(ctx, x, mean, &axes, true, Some("mean"))?;
            let d = self.emit_tmp(ctx, "centered", FOp::Sub, two(x, m), s.clone())?;
            (d, Some(m))
        };
        let sq = self.emit_tmp(ctx, "square", FOp::Mul, two(d, d), s.clone())?;
        let var = self.staged_reduce(ctx, sq, mean, &axes, true, Some("var"))?;
        let f = FOp::Map {
            f: ScalarFn::RsqrtEps { eps },
        };
        let r = self.emit_tmp(ctx, "rsqrt", f, vec![Operand::Value(var)], kept)?;
        let n = self.emit_tmp(ctx, "normalized", FOp::Mul, two(d, r), s.clone())?;
        let ins = vec![Operand::Value(n), scale];
        let y = match bias {
            None => self.emit(ctx, FOp::Mul, ins, s, Kind::Float)?,
            Some(b) => {
                let t = self.emit_tmp(ctx, "scaled", FOp::Mul, ins, s.clone())?;
                self.emit(ctx, FOp::Add, vec![Operand::Value(t), b], s, Kind::Float)?
            }
        };
        self.set_out(ctx, 0, Sym::Value(y))?;
        if let Some(m) = m {
            self.set_out(ctx, 1, Sym::Value(m))?;
            self.set_out(ctx, 2, Sym::Value(r))?;
        }
        Ok(())
    }
}
