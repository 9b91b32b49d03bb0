//! ONNX comparisons and logic ops (`Greater`, `Less`, `Equal`, `GreaterOrEqual`,
//! `LessOrEqual`, `And`, `Or`, `Xor`, `Not`), `Where`, `CastLike`, and `Mod` on constants (the
//! shape arithmetic of exported attention).
//!
//! On constants they fold (`plumbing.rs` for the comparisons and logic ops). On computed
//! tensors a comparison or logic op is one [`FOp::Logic`] and `Where` one [`FOp::Where`]; the
//! quantizer lowers them into integer `Add`, `Mul` and `Lut` nodes that every checker already
//! has, with ONNX's bool as an `act8` value `0`/`1` at scale 1 (`docs/semantics.md` section 5,
//! "Comparisons, logic ops and `Where`"). A bool output that is a graph output is that value:
//! its dequantized `0.0`/`1.0` is the bool.

use crate::error::Result;
use crate::graph::{BoolOp, Dim, FOp, Operand, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym, broadcast_dims, fixed};
use crate::tensor::{self, Data, Tensor};

impl Importer {
    /// Whether `v` holds ONNX bools as `0`/`1`: the output of a [`FOp::Logic`], seen through
    /// data movement (`Reshape`, `Transpose`, `Select`, `Concat` of such values).
    pub(super) fn is_bool(&self, v: ValueId) -> bool {
        let Some(node) = self
            .producer
            .get(v)
            .copied()
            .flatten()
            .and_then(|p| self.g.nodes.get(p))
        else {
            return false;
        };
        let value_bool = |o: &Operand| match o {
            Operand::Value(u) => self.is_bool(*u),
            Operand::Const(_) => false,
        };
        match node.op {
            FOp::Logic { .. } => true,
            FOp::Reshape | FOp::Transpose { .. } | FOp::Select { .. } | FOp::Concat { .. } => {
                node.inputs.iter().all(value_bool)
            }
            _ => false,
        }
    }

    /// Operand `i` of a comparison, logic op or `Where` on computed tensors, with its shape: a
    /// computed value (a bool one when `boolean`, refused otherwise) or a constant (stored as
    /// `0`/`1` when `boolean`).
    fn logic_operand(
        &mut self,
        ctx: &Ctx<'_>,
        i: usize,
        boolean: bool,
    ) -> Result<(Operand, Vec<Dim>)> {
        match self.sym(ctx, i)? {
            Sym::Value(_) => {
                let v = self.value_in(ctx, i)?;
                if boolean && !self.is_bool(v) {
                    return Err(ctx.bad_input(
                        i,
                        "is not a bool computed by a comparison or logic op (vouch tracks ONNX \
                         bools as 0/1 values from those ops)",
                    ));
                }
                Ok((Operand::Value(v), self.shape(v)))
            }
            Sym::Const(t) => {
                let d = t
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(i, "is not numeric"))?;
                if d.iter().any(|x| x.is_nan()) {
                    return Err(ctx.unsupported(format!(
                        "a NaN in constant operand {i} (its comparisons are all false; \
                         quantized values cannot be NaN)"
                    )));
                }
                let d = if boolean {
                    d.iter()
                        .map(|&x| if x != 0.0 { 1.0 } else { 0.0 })
                        .collect()
                } else {
                    d
                };
                let c = self.new_const(ctx, &format!("operand{i}"), t.shape.clone(), d);
                Ok((Operand::Const(c), fixed(&t.shape)))
            }
        }
    }

    /// ONNX `Greater`, `Less`, `Equal`, `GreaterOrEqual`, `LessOrEqual`, `And`, `Or`, `Xor`,
    /// `Not`: folded on constants; with a computed operand one [`FOp::Logic`] (numpy
    /// broadcasting; a constant operand is stored, as `0`/`1` for a logic op). The operands of
    /// a logic op must be bools computed by these ops (or constants).
    pub(super) fn logic(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let op = BoolOp::from_onnx(ctx.op).ok_or_else(|| self.unsupported_op(ctx))?;
        let n = op.arity();
        let mut constant = true;
        for i in 0..n {
            constant &= matches!(self.sym(ctx, i)?, Sym::Const(_));
        }
        if constant {
            return self.compare_const(ctx);
        }
        let (mut ins, mut shape) = (Vec::with_capacity(n), Vec::new());
        for i in 0..n {
            let (o, s) = self.logic_operand(ctx, i, !op.is_comparison())?;
            shape = if i == 0 {
                s
            } else {
                broadcast_dims(&shape, &s)
                    .ok_or_else(|| ctx.shape_err(format!("{shape:?} and {s:?} do not broadcast")))?
            };
            ins.push(o);
        }
        let out = self.emit(ctx, FOp::Logic { op }, ins, shape, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// ONNX `Where(c, x, y)`: folded on constants; otherwise one [`FOp::Where`] (numpy
    /// broadcasting of the three), the condition a bool computed by a comparison or logic op or
    /// a constant, `x` and `y` float values or constants. Refused: integer `x` or `y` computed
    /// from the input.
    pub(super) fn where_op(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let syms = [self.sym(ctx, 0)?, self.sym(ctx, 1)?, self.sym(ctx, 2)?];
        if self.masked_where(ctx, &syms)? {
            return Ok(());
        }
        if let [Sym::Const(c), Sym::Const(x), Sym::Const(y)] = &syms {
            let t = fold_where(c, x, y).ok_or_else(|| {
                ctx.shape_err(format!(
                    "constants {:?}, {:?} and {:?} do not broadcast",
                    c.shape, x.shape, y.shape
                ))
            })?;
            return self.out_const(ctx, t);
        }
        let (mut ins, mut shape) = (Vec::with_capacity(3), Vec::new());
        for i in 0..3 {
            let (o, s) = self.logic_operand(ctx, i, i == 0)?;
            shape = if i == 0 {
                s
            } else {
                broadcast_dims(&shape, &s)
                    .ok_or_else(|| ctx.shape_err(format!("{shape:?} and {s:?} do not broadcast")))?
            };
            ins.push(o);
        }
        if ins.iter().all(|o| matches!(o, Operand::Const(_))) {
            return Err(ctx.unsupported("a Where whose operands do not fold"));
        }
        let out = self.emit(ctx, FOp::Where, ins, shape, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// ONNX `CastLike(x, like)`: `Cast` to `like`'s element type. vouch's values are floats or
    /// integer indices: a float target (a float `like`) leaves a float value as it is, an index
    /// value is exact under any numeric target, and constants convert; a float value cast to
    /// an integer type is refused, as for `Cast`.
    pub(super) fn cast_like(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let to_float = match self.sym(ctx, 1)? {
            Sym::Const(t) => matches!(t.data, Data::F(_)),
            Sym::Value(v) => self.kinds.get(v).copied().unwrap_or(Kind::Float) == Kind::Float,
        };
        match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let out = match (&t.data, to_float) {
                    (Data::I(_), false) | (Data::F(_), true) => (*t).clone(),
                    (Data::I(_), true) => Tensor::f(
                        t.shape.clone(),
                        t.to_f32()
                            .ok_or_else(|| ctx.unsupported("cast of a symbolic shape"))?,
                    ),
                    #[expect(clippy::cast_possible_truncation, reason = "ONNX Cast truncates")]
                    (Data::F(v), false) => {
                        Tensor::i(t.shape.clone(), v.iter().map(|&x| x as i64).collect())
                    }
                };
                self.out_const(ctx, out)
            }
            Sym::Value(v) => {
                let kind = self.kinds.get(v).copied().unwrap_or(Kind::Float);
                if kind == Kind::Float && !to_float {
                    return Err(ctx.unsupported(
                        "a CastLike of a float tensor to an integer type (vouch computes on \
                         float values and integer indices)",
                    ));
                }
                self.set_out(ctx, 0, Sym::Value(v))
            }
        }
    }
}

impl Importer {
    /// ONNX `Mod` on constants (`fmod = 0`: the sign of the divisor, integers only in ONNX;
    /// `fmod = 1`: the sign of the dividend, C's `fmod`); a division by zero does not fold and
    /// is refused, as is `Mod` of a computed tensor.
    pub(super) fn mod_op(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let fmod = ctx.int("fmod", 0) != 0;
        let (a, b) = match (self.sym(ctx, 0)?, self.sym(ctx, 1)?) {
            (Sym::Const(a), Sym::Const(b)) => (a, b),
            _ => return Err(ctx.unsupported("Mod of a computed tensor (folded on constants only)")),
        };
        let t = tensor::fold_binary(
            &a,
            &b,
            |p, q| {
                let r = libm::fmodf(p, q);
                if !fmod && r != 0.0 && (r < 0.0) != (q < 0.0) {
                    r + q
                } else {
                    r
                }
            },
            |p, q| {
                let r = p.checked_rem(q)?;
                Some(if !fmod && r != 0 && (r < 0) != (q < 0) {
                    r + q
                } else {
                    r
                })
            },
        )
        .ok_or_else(|| {
            ctx.unsupported(format!(
                "Mod of {:?} by {:?} that does not fold (a zero divisor, a symbolic batch size,                  or no broadcast)",
                a.shape, b.shape
            ))
        })?;
        self.out_const(ctx, t)
    }
}

/// `Reduce` `mode` of a constant over `axes` (sorted, distinct, in range): `None` for an
/// empty reduction, a symbolic size among integers, or an integer sum out of range.
pub(super) fn fold_reduce(
    t: &Tensor,
    mode: crate::graph::ReduceMode,
    axes: &[usize],
    keepdims: bool,
) -> Option<Tensor> {
    use crate::graph::ReduceMode;
    let kept: Vec<usize> = t
        .shape
        .iter()
        .enumerate()
        .map(|(a, &d)| if axes.contains(&a) { 1 } else { d })
        .collect();
    let n: usize = axes
        .iter()
        .map(|&a| t.shape.get(a).copied().unwrap_or(0))
        .product();
    let total = tensor::numel(&kept)?;
    if n == 0 {
        return None;
    }
    // output element of each input element (row-major over the kept shape)
    let st = tensor::strides(&kept);
    let mut group = Vec::with_capacity(t.len());
    let in_st = tensor::strides(&t.shape);
    for i in 0..t.len() {
        let mut o = 0;
        for (a, (&s_in, &d)) in in_st.iter().zip(&t.shape).enumerate() {
            let p = (i / s_in.max(1)) % d.max(1);
            if !axes.contains(&a) {
                o += p * st.get(a).copied().unwrap_or(0);
            }
        }
        group.push(o);
    }
    let shape = if keepdims {
        kept
    } else {
        t.shape
            .iter()
            .enumerate()
            .filter(|(a, _)| !axes.contains(a))
            .map(|(_, &d)| d)
            .collect()
    };
    match &t.data {
        Data::I(v) => {
            if v.contains(&tensor::BATCH) {
                return None;
            }
            let mut acc: Vec<Option<i64>> = vec![None; total];
            for (&x, &o) in v.iter().zip(&group) {
                let slot = acc.get_mut(o)?;
                *slot = Some(match (*slot, mode) {
                    (None, _) => x,
                    (Some(a), ReduceMode::Sum | ReduceMode::Mean) => a.checked_add(x)?,
                    (Some(a), ReduceMode::Max) => a.max(x),
                    (Some(a), ReduceMode::Min) => a.min(x),
                });
            }
            let n = i64::try_from(n).ok()?;
            let out = acc
                .into_iter()
                .map(|a| {
                    let a = a?;
                    Some(if mode == ReduceMode::Mean { a / n } else { a })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Tensor::i(shape, out))
        }
        Data::F(v) => {
            let mut acc: Vec<Option<f32>> = vec![None; total];
            for (&x, &o) in v.iter().zip(&group) {
                let slot = acc.get_mut(o)?;
                *slot = Some(match (*slot, mode) {
                    (None, _) => x,
                    (Some(a), ReduceMode::Sum | ReduceMode::Mean) => a + x,
                    (Some(a), ReduceMode::Max) => a.max(x),
                    (Some(a), ReduceMode::Min) => a.min(x),
                });
            }
            let out = acc
                .into_iter()
                .map(|a| {
                    let a = a?;
                    Some(if mode == ReduceMode::Mean {
                        a / n as f32
                    } else {
                        a
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Tensor::f(shape, out))
        }
    }
}

/// `Where` on three constants (numpy broadcasting); integers stay integers when `x` and `y`
/// both are.
fn fold_where(c: &Tensor, x: &Tensor, y: &Tensor) -> Option<Tensor> {
    let shape = tensor::broadcast_fixed(&tensor::broadcast_fixed(&c.shape, &x.shape)?, &y.shape)?;
    let largest = c.len().max(x.len()).max(y.len());
    if tensor::numel(&shape)? > tensor::MAX_FOLD_ELEMS.max(largest) {
        return None;
    }
    let (ic, ix, iy) = (
        tensor::broadcast_index(&c.shape, &shape)?,
        tensor::broadcast_index(&x.shape, &shape)?,
        tensor::broadcast_index(&y.shape, &shape)?,
    );
    let cond = c.to_f32()?;
    let pick = |k: usize| cond.get(ic.get(k).copied()?).map(|&v| v != 0.0);
    let n = ic.len();
    // element k of the output: x's element where the condition holds, else y's
    fn select<T: Copy>(
        n: usize,
        pick: impl Fn(usize) -> Option<bool>,
        (a, ix): (&[T], &[usize]),
        (b, iy): (&[T], &[usize]),
    ) -> Option<Vec<T>> {
        (0..n)
            .map(|k| {
                if pick(k)? {
                    a.get(*ix.get(k)?).copied()
                } else {
                    b.get(*iy.get(k)?).copied()
                }
            })
            .collect()
    }
    match (&x.data, &y.data) {
        (Data::I(a), Data::I(b)) => {
            let v = select(n, pick, (a, &ix), (b, &iy))?;
            Some(Tensor::i(shape, v))
        }
        _ => {
            let (a, b) = (x.to_f32()?, y.to_f32()?);
            let v = select(n, pick, (&a, &ix), (&b, &iy))?;
            Some(Tensor::f(shape, v))
        }
    }
}
