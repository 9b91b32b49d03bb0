//! Dense products: ONNX `Gemm` and `MatMul`, lowered to [`FOp::Linear`] (a constant right
//! operand, with `alpha`, `beta` and `transB` folded into the constants) or [`FOp::MatMul`] of two
//! computed tensors.

use crate::error::Result;
use crate::graph::{ConstId, Dim, FOp, Operand, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym, broadcast_dims, fixed};

impl Importer {
    /// `Linear` of value `a` by the `[N, K]` weight, with optional `[N]` bias.
    #[expect(clippy::too_many_arguments, reason = "the shapes travel with the ids")]
    fn linear(
        &mut self,
        ctx: &Ctx<'_>,
        a: ValueId,
        weight: ConstId,
        n: usize,
        k: usize,
        bias: Option<ConstId>,
        out: Option<&str>,
    ) -> Result<ValueId> {
        let mut shape = self.shape(a);
        match shape.last_mut() {
            Some(last) if *last == Dim::Fixed(k) => *last = Dim::Fixed(n),
            _ => {
                return Err(ctx.shape_err(format!(
                    "input shape {:?} does not end with K = {k}",
                    self.shape(a)
                )));
            }
        }
        let op = FOp::Linear { weight, bias };
        match out {
            Some(o) => self.emit_named(ctx, op, vec![Operand::Value(a)], shape, Kind::Float, o),
            None => self.emit_tmp(ctx, "linear", op, vec![Operand::Value(a)], shape),
        }
    }

    /// ONNX `Gemm`: a `Linear` when B is constant (`alpha`, `beta`, `transB` folded), else a
    /// `MatMul` of two values (with `Transpose`, `Mul` by alpha, `Add` of C as needed).
    pub(super) fn gemm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let alpha = ctx.float("alpha", 1.0);
        let beta = ctx.float("beta", 1.0);
        let trans_a = ctx.int("transA", 0) != 0;
        let trans_b = ctx.int("transB", 0) != 0;
        let mut a = self.value_in(ctx, 0)?;
        let a_shape = self.shape(a);
        if a_shape.len() != 2 {
            return Err(ctx.shape_err(format!("Gemm input A must be 2-D, got {a_shape:?}")));
        }
        if trans_a {
            let s: Vec<Dim> = a_shape.iter().rev().copied().collect();
            a = self.emit_tmp(
                ctx,
                "transA",
                FOp::Transpose { perm: vec![1, 0] },
                vec![Operand::Value(a)],
                s,
            )?;
        }
        let c = self.opt_sym(ctx, 2)?;
        let out = ctx
            .output(0)
            .ok_or_else(|| ctx.shape_err("node has no output"))?
            .to_owned();
        match self.sym(ctx, 1)? {
            Sym::Const(b) => {
                let [r, cdim] = b.shape[..] else {
                    return Err(ctx.shape_err(format!("Gemm B must be 2-D, got {:?}", b.shape)));
                };
                let w = if trans_b {
                    (*b).clone()
                } else {
                    b.transpose(&[1, 0]).ok_or_else(|| ctx.shape_err("B"))?
                };
                let (n, k) = if trans_b { (r, cdim) } else { (cdim, r) };
                if n == 0 || k == 0 {
                    return Err(ctx.shape_err("empty weight"));
                }
                let mut wd = w
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
                if alpha != 1.0 {
                    wd.iter_mut().for_each(|x| *x *= alpha);
                }
                let weight = self.new_const(ctx, "weight", vec![n, k], wd);
                // Bias: a [N]-broadcastable C folds into the Linear; anything else stays an Add.
                let (bias, rest) = match &c {
                    Some(Sym::Const(ct)) if ct.shape.iter().rev().skip(1).all(|&d| d == 1) => {
                        let cv = ct
                            .to_f32()
                            .ok_or_else(|| ctx.bad_input(2, "is not numeric"))?;
                        let bias = match cv.len() {
                            1 => vec![beta * cv.first().copied().unwrap_or(0.0); n],
                            l if l == n => cv.iter().map(|x| beta * x).collect(),
                            _ => {
                                return Err(ctx.shape_err(format!(
                                    "C shape {:?} does not broadcast to N = {n}",
                                    ct.shape
                                )));
                            }
                        };
                        (Some(self.new_const(ctx, "bias", vec![n], bias)), None)
                    }
                    other => (None, other.clone()),
                };
                let y = self.linear(
                    ctx,
                    a,
                    weight,
                    n,
                    k,
                    bias,
                    if rest.is_none() { Some(&out) } else { None },
                )?;
                match rest {
                    None => self.set_out(ctx, 0, Sym::Value(y)),
                    Some(cs) => self.add_c(ctx, y, cs, beta, &out),
                }
            }
            Sym::Value(mut b) => {
                if self.kinds.get(b) == Some(&Kind::Index) {
                    return Err(ctx.unsupported("integer (index) operand"));
                }
                let b_shape = self.shape(b);
                if b_shape.len() != 2 {
                    return Err(ctx.shape_err(format!("Gemm input B must be 2-D, got {b_shape:?}")));
                }
                if trans_b {
                    let s: Vec<Dim> = b_shape.iter().rev().copied().collect();
                    b = self.emit_tmp(
                        ctx,
                        "transB",
                        FOp::Transpose { perm: vec![1, 0] },
                        vec![Operand::Value(b)],
                        s,
                    )?;
                }
                let needs_more = alpha != 1.0 || c.is_some();
                let y =
                    self.matmul_values(ctx, a, b, if needs_more { None } else { Some(&out) })?;
                let y = if alpha != 1.0 {
                    let c_alpha = self.new_const(ctx, "alpha", vec![], vec![alpha]);
                    let s = self.shape(y);
                    let o = if c.is_some() {
                        format!("{}.scaled", ctx.name)
                    } else {
                        out.clone()
                    };
                    self.emit_named(
                        ctx,
                        FOp::Mul,
                        vec![Operand::Value(y), Operand::Const(c_alpha)],
                        s,
                        Kind::Float,
                        &o,
                    )?
                } else {
                    y
                };
                match c {
                    None => self.set_out(ctx, 0, Sym::Value(y)),
                    Some(cs) => self.add_c(ctx, y, cs, beta, &out),
                }
            }
        }
    }

    /// `y + beta * C` for a Gemm whose C did not fold into the bias.
    fn add_c(&mut self, ctx: &Ctx<'_>, y: ValueId, c: Sym, beta: f32, out: &str) -> Result<()> {
        let ys = self.shape(y);
        let (operand, cs) = match c {
            Sym::Const(t) => {
                let mut d = t
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(2, "is not numeric"))?;
                d.iter_mut().for_each(|x| *x *= beta);
                (
                    Operand::Const(self.new_const(ctx, "C", t.shape.clone(), d)),
                    fixed(&t.shape),
                )
            }
            Sym::Value(v) => {
                if beta != 1.0 {
                    return Err(ctx.unsupported("dynamic C with beta != 1"));
                }
                (Operand::Value(v), self.shape(v))
            }
        };
        let s = broadcast_dims(&ys, &cs)
            .ok_or_else(|| ctx.shape_err(format!("C {cs:?} does not broadcast to {ys:?}")))?;
        let v = self.emit_named(
            ctx,
            FOp::Add,
            vec![Operand::Value(y), operand],
            s,
            Kind::Float,
            out,
        )?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    fn matmul_values(
        &mut self,
        ctx: &Ctx<'_>,
        a: ValueId,
        b: ValueId,
        out: Option<&str>,
    ) -> Result<ValueId> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        if sa.len() < 2 || sb.len() < 2 {
            return Err(ctx.unsupported("MatMul of two computed tensors needs both of rank >= 2"));
        }
        let (ra, rb) = (sa.len(), sb.len());
        let (Some(&m), Some(&ka), Some(&kb), Some(&n)) = (
            sa.get(ra - 2),
            sa.get(ra - 1),
            sb.get(rb - 2),
            sb.get(rb - 1),
        ) else {
            return Err(ctx.shape_err("rank"));
        };
        if ka != kb || ka == Dim::Batch {
            return Err(ctx.shape_err(format!("inner dimensions differ: {sa:?} x {sb:?}")));
        }
        let mut s = broadcast_dims(&sa[..ra - 2], &sb[..rb - 2]).ok_or_else(|| {
            ctx.shape_err(format!(
                "batch dimensions do not broadcast: {sa:?} x {sb:?}"
            ))
        })?;
        s.push(m);
        s.push(n);
        let ins = vec![Operand::Value(a), Operand::Value(b)];
        match out {
            Some(o) => self.emit_named(ctx, FOp::MatMul, ins, s, Kind::Float, o),
            None => self.emit_tmp(ctx, "matmul", FOp::MatMul, ins, s),
        }
    }

    /// ONNX `MatMul`: a `Linear` by a constant right operand, else a `MatMul` of two values.
    pub(super) fn matmul(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let a = self.value_in(ctx, 0)?;
        match self.sym(ctx, 1)? {
            Sym::Const(b) => {
                let (k, n, squeeze) = match b.shape[..] {
                    [k, n] => (k, n, false),
                    [k] => (k, 1, true),
                    _ => {
                        return Err(ctx.unsupported(format!(
                            "constant right operand of shape {:?} (need 1-D or 2-D)",
                            b.shape
                        )));
                    }
                };
                if n == 0 || k == 0 {
                    return Err(ctx.shape_err("empty weight"));
                }
                let w = b
                    .clone()
                    .as_ref()
                    .clone()
                    .reshaped(vec![k, n])
                    .ok_or_else(|| ctx.shape_err("B"))?;
                let w = w.transpose(&[1, 0]).ok_or_else(|| ctx.shape_err("B"))?;
                let wd = w
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
                let weight = self.new_const(ctx, "weight", vec![n, k], wd);
                if squeeze {
                    let y = self.linear(ctx, a, weight, n, k, None, None)?;
                    let mut s = self.shape(y);
                    s.pop();
                    let v =
                        self.emit(ctx, FOp::Reshape, vec![Operand::Value(y)], s, Kind::Float)?;
                    self.set_out(ctx, 0, Sym::Value(v))
                } else {
                    let out = ctx.output(0).map(str::to_owned);
                    let v = self.linear(ctx, a, weight, n, k, None, out.as_deref())?;
                    self.set_out(ctx, 0, Sym::Value(v))
                }
            }
            Sym::Value(_) => {
                let b = self.value_in(ctx, 1)?;
                let out = ctx.output(0).map(str::to_owned);
                let v = self.matmul_values(ctx, a, b, Some(out.as_deref().unwrap_or_default()))?;
                self.set_out(ctx, 0, Sym::Value(v))
            }
        }
    }
}
