//! Elementwise activations: ONNX `Relu`, `Sigmoid`, `Tanh`, `LeakyRelu` and `Clip`, lowered to
//! the activation [`FOp`]s (folded on constants).

use crate::error::Result;
use crate::graph::{FOp, Operand};
use crate::import::{Ctx, Importer, Kind, Sym};
use crate::tensor::Tensor;

impl Importer {
    /// A one-input activation `op`: folded by `f` on a constant, else emitted.
    fn unary(&mut self, ctx: &Ctx<'_>, op: FOp, f: impl Fn(f32) -> f32) -> Result<()> {
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let d = t
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(0, "is not numeric"))?;
                self.out_const(
                    ctx,
                    Tensor::f(t.shape.clone(), d.into_iter().map(f).collect()),
                )
            }
            Sym::Value(_) => {
                let v = self.value_in(ctx, 0)?;
                let s = self.shape(v);
                let out = self.emit(ctx, op, vec![Operand::Value(v)], s, Kind::Float)?;
                self.set_out(ctx, 0, Sym::Value(out))
            }
        }
    }

    /// ONNX `Relu`.
    pub(super) fn relu(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        self.unary(ctx, FOp::Relu, |x| x.max(0.0))
    }

    /// ONNX `Sigmoid`.
    pub(super) fn sigmoid(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        self.unary(ctx, FOp::Sigmoid, |x| 1.0 / (1.0 + (-x).exp()))
    }

    /// ONNX `Tanh`.
    pub(super) fn tanh(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        self.unary(ctx, FOp::Tanh, f32::tanh)
    }

    /// ONNX `LeakyRelu`.
    pub(super) fn leaky_relu(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let alpha = ctx.float("alpha", 0.01);
        self.unary(ctx, FOp::LeakyRelu { alpha }, move |x| {
            if x >= 0.0 { x } else { alpha * x }
        })
    }

    /// ONNX `Clip`: bounds from attributes (opset < 11) or constant inputs.
    pub(super) fn clip(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let (min, max) = if self.opset < 11 {
            (
                ctx.float("min", f32::NEG_INFINITY),
                ctx.float("max", f32::INFINITY),
            )
        } else {
            let scalar = |imp: &Self, i: usize, default: f32| -> Result<f32> {
                match imp.opt_const_in(ctx, i)? {
                    None => Ok(default),
                    Some(t) => match t.to_f32().as_deref() {
                        Some([x]) => Ok(*x),
                        _ => Err(ctx.bad_input(i, "must be a scalar")),
                    },
                }
            };
            (
                scalar(self, 1, f32::NEG_INFINITY)?,
                scalar(self, 2, f32::INFINITY)?,
            )
        };
        if min.is_nan() || max.is_nan() {
            return Err(ctx.bad_attr("min", "NaN bound"));
        }
        self.unary(ctx, FOp::Clip { min, max }, move |x| x.max(min).min(max))
    }
}
