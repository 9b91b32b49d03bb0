//! The mean of squares over the last axis, `ReduceMean(Pow(x, 2))` or `ReduceMean(Mul(x, x))`
//! (a LayerNorm's variance as ONNX exporters spell it), lowered without squaring each element
//! into a tensor of its own: a [`FOp::MatMul`] of `x` as a row `[.., 1, C]` by `x` as a column
//! `[.., C, 1]` (the exact integer sum of the squares, one rounding at its own scale), then a
//! `Mul` by `1/C`.
//!
//! A tensor of squares spans the square of its input's range, so at 16 bits it is held at the
//! largest square's scale: a token of small deviations (the one a LayerNorm magnifies most)
//! squares to a few steps. On PP-OCRv6's recognizer, squares held at 0.0385 per step feed
//! variances near 0.067; the exact sum takes the whole output error from 4.28% to 1.17% of
//! vouch's float reference (`crates/quant/tests/mean_square.rs`, `docs/architecture.md`).

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ScalarFn, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym};

impl Importer {
    /// `x` when value `v` is `x²` of the same shape: a `Pow` by 2 or a `Mul` of `x` by itself.
    fn square_base(&self, v: ValueId) -> Option<ValueId> {
        let n = &self.g.nodes[self.producer.get(v).copied().flatten()?];
        let x = match (&n.op, n.inputs.as_slice()) {
            (
                FOp::Map {
                    f: ScalarFn::Pow { exponent },
                },
                [Operand::Value(x)],
            ) if *exponent == 2.0 => *x,
            (FOp::Mul, [Operand::Value(x), Operand::Value(y)]) if x == y => *x,
            _ => return None,
        };
        (self.shape(x) == self.shape(v)).then_some(x)
    }

    /// Lowers `ReduceMean` of `v` over `axes` as the mean of squares (module docs) when `v` is
    /// a square of a tensor whose last axis, of fixed length, is the one reduced; `false` when
    /// it is not that form (the caller lowers the `Reduce`).
    pub(super) fn mean_square(
        &mut self,
        ctx: &Ctx<'_>,
        v: ValueId,
        axes: &[usize],
        keepdims: bool,
    ) -> Result<bool> {
        let s = self.shape(v);
        let Some(x) = self.square_base(v) else {
            return Ok(false);
        };
        let (Some((&Dim::Fixed(c), lead)), [axis]) = (s.split_last(), axes) else {
            return Ok(false);
        };
        if *axis + 1 != s.len() || c == 0 || lead.is_empty() {
            return Ok(false);
        }
        let with = |tail: &[usize]| -> Vec<Dim> {
            lead.iter()
                .copied()
                .chain(tail.iter().map(|&d| Dim::Fixed(d)))
                .collect()
        };
        let row = self.emit_tmp(
            ctx,
            "sq_row",
            FOp::Reshape,
            vec![Operand::Value(x)],
            with(&[1, c]),
        )?;
        let col = self.emit_tmp(
            ctx,
            "sq_col",
            FOp::Reshape,
            vec![Operand::Value(x)],
            with(&[c, 1]),
        )?;
        let sum = self.emit_tmp(
            ctx,
            "sq_sum",
            FOp::MatMul,
            vec![Operand::Value(row), Operand::Value(col)],
            with(&[1, 1]),
        )?;
        let out_shape = if keepdims { with(&[1]) } else { with(&[]) };
        let sum = self.emit_tmp(
            ctx,
            "sq_sum_flat",
            FOp::Reshape,
            vec![Operand::Value(sum)],
            out_shape.clone(),
        )?;
        #[expect(clippy::cast_precision_loss, reason = "an axis length")]
        let inv = self.new_const(ctx, "inv_len", vec![1], vec![1.0 / c as f32]);
        let out = self.emit(
            ctx,
            FOp::Mul,
            vec![Operand::Value(sum), Operand::Const(inv)],
            out_shape,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(out))?;
        Ok(true)
    }
}
