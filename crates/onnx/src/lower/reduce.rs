//! Reductions along one axis: ONNX `Softmax` and `ArgMax`, lowered to [`FOp::Softmax`] and
//! [`FOp::ArgMax`], and skl2onnx's label lookup (`ai.onnx.ml` `ArrayFeatureExtractor` of the
//! `ArgMax` indices into the classes `0..n-1`), which is the identity and disappears.

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand};
use crate::import::{Ctx, Importer, Kind, Sym};
use crate::tensor::Data;

impl Importer {
    /// ONNX `Softmax` over one axis (opset < 13: only when it is equivalent to the last axis).
    pub(super) fn softmax(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let v = self.value_in(ctx, 0)?;
        let s = self.shape(v);
        let rank = s.len();
        let default = if self.opset >= 13 { -1 } else { 1 };
        let axis = ctx.axis("axis", ctx.int("axis", default), rank)?;
        let axis = if self.opset >= 13 {
            axis
        } else {
            // Coerced to 2-D at `axis`: the same as the last axis iff the axes from `axis` to
            // the second-to-last all have size 1; otherwise a softmax over the axes `axis..`
            // flattened into one.
            let between = s.get(axis..rank.saturating_sub(1)).unwrap_or_default();
            if between.iter().all(|&d| d == Dim::Fixed(1)) {
                rank - 1
            } else {
                return self.softmax_flattened(ctx, v, axis);
            }
        };
        if s.get(axis) == Some(&Dim::Batch) {
            return Err(ctx.shape_err("softmax over the batch axis"));
        }
        let out = self.emit(
            ctx,
            FOp::Softmax { axis },
            vec![Operand::Value(v)],
            s,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// Softmax over the axes `axis..` of `v` together (ONNX opset < 13): a `Reshape` that
    /// flattens them into one axis, a `Softmax` over it, and a `Reshape` back.
    fn softmax_flattened(
        &mut self,
        ctx: &Ctx<'_>,
        v: crate::graph::ValueId,
        axis: usize,
    ) -> Result<()> {
        let s = self.shape(v);
        if axis == 0 {
            return Err(ctx.shape_err("softmax over the batch axis"));
        }
        let mut n = 1usize;
        for d in s.get(axis..).unwrap_or_default() {
            match d {
                Dim::Fixed(k) => n = n.saturating_mul(*k),
                Dim::Batch => return Err(ctx.shape_err("softmax over the batch axis")),
            }
        }
        let mut flat: Vec<Dim> = s.get(..axis).unwrap_or_default().to_vec();
        flat.push(Dim::Fixed(n));
        let last = flat.len() - 1;
        let f = self.emit_tmp(
            ctx,
            "flat",
            FOp::Reshape,
            vec![Operand::Value(v)],
            flat.clone(),
        )?;
        let p = self.emit_tmp(
            ctx,
            "softmax",
            FOp::Softmax { axis: last },
            vec![Operand::Value(f)],
            flat,
        )?;
        let out = self.emit(ctx, FOp::Reshape, vec![Operand::Value(p)], s, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// ONNX `ArgMax`: an index-valued output.
    pub(super) fn argmax(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let v = self.value_in(ctx, 0)?;
        let mut s = self.shape(v);
        let axis = ctx.axis("axis", ctx.int("axis", 0), s.len())?;
        let keepdims = ctx.int("keepdims", 1) != 0;
        let select_last_index = ctx.int("select_last_index", 0) != 0;
        if s.get(axis) == Some(&Dim::Batch) {
            return Err(ctx.shape_err("argmax over the batch axis"));
        }
        if keepdims {
            if let Some(d) = s.get_mut(axis) {
                *d = Dim::Fixed(1);
            }
        } else {
            s.remove(axis);
        }
        let out = self.emit(
            ctx,
            FOp::ArgMax {
                axis,
                keepdims,
                select_last_index,
            },
            vec![Operand::Value(v)],
            s,
            Kind::Index,
        )?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// skl2onnx's label lookup `classes[argmax]`: supported when `classes` is `0, 1, ..., n-1`
    /// (integer labels), where it is the identity on the `ArgMax` indices.
    pub(super) fn array_feature_extractor(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let classes = match self.sym(ctx, 0)? {
            Sym::Const(t) => t,
            Sym::Value(_) => return Err(self.unsupported_op(ctx)),
        };
        let Sym::Value(idx) = self.sym(ctx, 1)? else {
            return Err(self.unsupported_op(ctx));
        };
        let identity = classes.shape.len() == 1
            && matches!(&classes.data, Data::I(v) if v.iter().zip(0i64..).all(|(&c, i)| c == i));
        if !identity || self.kinds.get(idx) != Some(&Kind::Index) {
            return Err(ctx.unsupported("class labels other than 0..n-1 on ArgMax indices"));
        }
        self.set_out(ctx, 0, Sym::Value(idx))
    }
}

impl Importer {
    /// `ai.onnx.ml` `Normalizer`: supported as `L1` directly on the output of a `Softmax`
    /// over the last axis (a distribution already: the identity up to `f32` rounding, as
    /// skl2onnx writes after a `LinearClassifier`); any other form is refused.
    pub(super) fn normalizer(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let norm = ctx.string("norm").unwrap_or(b"MAX");
        let v = self.value_in(ctx, 0)?;
        let rank = self.shape(v).len();
        let after_softmax = self
            .producer
            .get(v)
            .copied()
            .flatten()
            .and_then(|p| self.g.nodes.get(p))
            .is_some_and(|n| matches!(n.op, FOp::Softmax { axis } if axis + 1 == rank));
        if norm != b"L1" || !after_softmax {
            return Err(ctx.unsupported(format!(
                "Normalizer {} on a tensor that is not a softmax over its last axis (only L1 \
                 after a softmax, the identity, is supported)",
                String::from_utf8_lossy(norm)
            )));
        }
        self.rebind(ctx, v)
    }
}
