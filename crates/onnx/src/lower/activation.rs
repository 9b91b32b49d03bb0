//! Elementwise activations: ONNX `Relu`, `Sigmoid`, `Tanh`, `LeakyRelu`, `PRelu` and `Clip`,
//! lowered to the activation [`FOp`]s (folded on constants), the functions of one argument
//! ([`FOp::Map`]) and `ai.onnx.ml` `Binarizer` (a step [`ScalarFn`]).

use crate::error::Result;
use crate::graph::{FOp, Operand, ScalarFn, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym, broadcast_dims, fixed};
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

    /// An elementwise function of one argument ([`ScalarFn`], the op named by `ctx`, with its
    /// attributes): folded on a constant, else an [`FOp::Map`].
    /// `Neg` and `Abs` of a computed tensor, exact at any scale, are a `Mul` by `-1` and the
    /// `Max` of `x` and that product instead of a table.
    pub(super) fn scalar_map(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if matches!(ctx.op, "Neg" | "Abs")
            && let Sym::Value(v) = self.sym(ctx, 0)?
        {
            return self.negate(ctx, v, ctx.op == "Abs");
        }
        // the magnitude of a pair, without the squares' range (lower/magnitude.rs)
        if ctx.op == "Sqrt"
            && let Sym::Value(v) = self.sym(ctx, 0)?
            && let Some((a, b)) = self.sum_of_squares(v)
        {
            return self.magnitude(ctx, a, b);
        }
        let f = match ctx.op {
            "HardSigmoid" => ScalarFn::HardSigmoid {
                alpha: ctx.float("alpha", 0.2),
                beta: ctx.float("beta", 0.5),
            },
            "HardSwish" => ScalarFn::HardSwish,
            "Exp" => ScalarFn::Exp,
            "Log" => ScalarFn::Log,
            "Sqrt" => ScalarFn::Sqrt,
            "Reciprocal" => ScalarFn::Reciprocal,
            "Abs" => ScalarFn::Abs,
            "Neg" => ScalarFn::Neg,
            "Floor" => ScalarFn::Floor,
            "Ceil" => ScalarFn::Ceil,
            "Round" => ScalarFn::Round,
            "Sign" => ScalarFn::Sign,
            "Elu" => ScalarFn::Elu {
                alpha: ctx.float("alpha", 1.0),
            },
            "Selu" => ScalarFn::Selu {
                alpha: ctx.float("alpha", 1.673_263_2),
                gamma: ctx.float("gamma", 1.050_701),
            },
            "Celu" => {
                let alpha = ctx.float("alpha", 1.0);
                if alpha == 0.0 {
                    return Err(ctx.bad_attr("alpha", "must not be 0"));
                }
                ScalarFn::Celu { alpha }
            }
            "ThresholdedRelu" => ScalarFn::ThresholdedRelu {
                alpha: ctx.float("alpha", 1.0),
            },
            "Softplus" => ScalarFn::Softplus,
            "Softsign" => ScalarFn::Softsign,
            "Mish" => ScalarFn::Mish,
            "Gelu" => match ctx.string("approximate").unwrap_or(b"none") {
                b"none" => ScalarFn::Gelu { tanh: false },
                b"tanh" => ScalarFn::Gelu { tanh: true },
                other => {
                    return Err(ctx.bad_attr(
                        "approximate",
                        format!(
                            "is {:?}; expected \"none\" or \"tanh\"",
                            String::from_utf8_lossy(other)
                        ),
                    ));
                }
            },
            "Erf" => ScalarFn::Erf,
            "Sin" => ScalarFn::Sin,
            "Cos" => ScalarFn::Cos,
            "Atan" => ScalarFn::Atan,
            "Tan" => ScalarFn::Tan,
            "Asin" => ScalarFn::Asin,
            "Acos" => ScalarFn::Acos,
            "Atanh" => ScalarFn::Atanh,
            "Acosh" => ScalarFn::Acosh,
            "Shrink" => ScalarFn::Shrink {
                lambd: ctx.float("lambd", 0.5),
                bias: ctx.float("bias", 0.0),
            },
            "Swish" => ScalarFn::Swish {
                alpha: ctx.float("alpha", 1.0),
            },
            "Sinh" => ScalarFn::Sinh,
            "Cosh" => ScalarFn::Cosh,
            "Asinh" => ScalarFn::Asinh,
            _ => return Err(self.unsupported_op(ctx)),
        };
        self.unary(ctx, FOp::Map { f }, move |x| f.apply(x))
    }

    /// ONNX `Pow`: folded on two constants; a computed base with a constant exponent holding
    /// one value (any shape that does not enlarge the base's) is a `Map` [`ScalarFn::Pow`].
    /// Refused: a computed exponent, a constant exponent with several values.
    pub(super) fn pow(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let (base, exp) = (self.sym(ctx, 0)?, self.sym(ctx, 1)?);
        let e = match (base, exp) {
            (Sym::Const(a), Sym::Const(b)) => {
                let t = crate::tensor::fold_binary(&a, &b, libm::powf, |p, q| {
                    u32::try_from(q).ok().and_then(|q| p.checked_pow(q))
                })
                .ok_or_else(|| {
                    ctx.shape_err(format!("cannot fold {:?} and {:?}", a.shape, b.shape))
                })?;
                return self.out_const(ctx, t);
            }
            (_, Sym::Value(_)) => {
                return Err(
                    ctx.unsupported("a computed exponent (only a constant exponent of one value)")
                );
            }
            (Sym::Value(_), Sym::Const(e)) => e,
        };
        let x = self.value_in(ctx, 0)?;
        let d = e
            .to_f32()
            .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
        let exponent = match d.split_first() {
            Some((&p, rest)) if rest.iter().all(|&q| q.to_bits() == p.to_bits()) => p,
            _ => {
                return Err(ctx.unsupported(
                    "an exponent tensor of several values (only one value for every element)",
                ));
            }
        };
        let s = self.shape(x);
        if broadcast_dims(&s, &fixed(&e.shape)).as_ref() != Some(&s) {
            return Err(ctx.shape_err(format!(
                "the exponent {:?} enlarges the base {s:?}",
                e.shape
            )));
        }
        let op = FOp::Map {
            f: ScalarFn::Pow { exponent },
        };
        let out = self.emit(ctx, op, vec![Operand::Value(x)], s, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// `-x` as a `Mul` by the constant `-1`, or with `abs` `|x| = max(x, -x)`.
    fn negate(&mut self, ctx: &Ctx<'_>, x: ValueId, abs: bool) -> Result<()> {
        let s = self.shape(x);
        let minus = self.new_const(ctx, "minus_one", vec![1], vec![-1.0]);
        let ins = vec![Operand::Value(x), Operand::Const(minus)];
        let out = if abs {
            let n = self.emit_tmp(ctx, "neg", FOp::Mul, ins, s.clone())?;
            let ins = vec![Operand::Value(x), Operand::Value(n)];
            self.emit(ctx, FOp::Max, ins, s, Kind::Float)?
        } else {
            self.emit(ctx, FOp::Mul, ins, s, Kind::Float)?
        };
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// `ai.onnx.ml` `Binarizer`: `x > threshold ? 1 : 0` (onnxruntime's strict comparison) as
    /// a [`ScalarFn::Greater`] map. The threshold must be given: the ONNX default is 0,
    /// onnxruntime's 1.
    pub(super) fn binarizer(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let threshold = ctx.attr("threshold").map(|a| a.f).ok_or_else(|| {
            ctx.bad_attr(
                "threshold",
                "is missing (the ONNX default is 0, onnxruntime's 1: give it)",
            )
        })?;
        if threshold.is_nan() {
            return Err(ctx.bad_attr("threshold", "is NaN"));
        }
        let f = ScalarFn::Greater { than: threshold };
        self.unary(ctx, FOp::Map { f }, move |x| f.apply(x))
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

    /// ONNX `PRelu` (opset 7 on: the slope broadcasts to the input, numpy style; before, a
    /// 1-D slope of one value per channel applies along axis 1): the slope
    /// must be a constant; one slope in `(0, 1]` for every element is a `LeakyRelu`, otherwise an
    /// [`FOp::PRelu`] reads the slope tensor. Refused: a computed slope, a slope that would
    /// enlarge the input's shape.
    pub(super) fn prelu(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let slope = match self.sym(ctx, 1)? {
            Sym::Const(t) => t,
            Sym::Value(_) => return Err(ctx.unsupported("a computed slope (only constants)")),
        };
        let d = slope
            .to_f32()
            .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
        if d.iter().any(|a| !a.is_finite()) {
            return Err(ctx.bad_input(1, "holds a non-finite slope"));
        }
        let v = self.value_in(ctx, 0)?;
        let s = self.shape(v);
        let mut slope_shape = slope.shape.clone();
        if self.opset < 7
            && let [c] = slope_shape[..]
            && c > 1
            && s.get(1) == Some(&crate::graph::Dim::Fixed(c))
        {
            // before opset 7 a 1-D slope holds one value per channel (axis 1)
            slope_shape = std::iter::once(c)
                .chain(std::iter::repeat_n(1, s.len().saturating_sub(2)))
                .collect();
        }
        if broadcast_dims(&s, &fixed(&slope_shape)).as_ref() != Some(&s) {
            return Err(ctx.shape_err(format!(
                "slope {:?} does not broadcast to the input {s:?}",
                slope.shape
            )));
        }
        if let Some(&alpha) = d.first()
            && alpha > 0.0
            && alpha <= 1.0
            && d.iter().all(|&a| a == alpha)
        {
            let out = self.emit(
                ctx,
                FOp::LeakyRelu { alpha },
                vec![Operand::Value(v)],
                s,
                Kind::Float,
            )?;
            return self.set_out(ctx, 0, Sym::Value(out));
        }
        let c = self.new_const(ctx, "slope", slope_shape, d);
        let out = self.emit(
            ctx,
            FOp::PRelu,
            vec![Operand::Value(v), Operand::Const(c)],
            s,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(out))
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
