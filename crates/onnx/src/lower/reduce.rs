//! Reductions: ONNX `Softmax` and `ArgMax` along one axis, lowered to [`FOp::Softmax`] and
//! [`FOp::ArgMax`], `ReduceSum`, `ReduceMean`, `ReduceMax` and `ReduceMin` over any set of
//! axes, lowered to [`FOp::Reduce`], and skl2onnx's label lookup (`ai.onnx.ml` `ArrayFeatureExtractor` of the
//! `ArgMax` indices into the classes `0..n-1`), which is the identity and disappears
//! (`ArrayFeatureExtractor` of a computed tensor at constant indices is a [`FOp::Select`]).

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ReduceMode};
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

    /// ONNX `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin`: `axes` as an attribute
    /// (before opset 18, 13 for `ReduceSum`) or a constant input, negative axes counted from
    /// the end, `keepdims` (default 1), and `noop_with_empty_axes` (no axes: every axis, or the
    /// identity when set). Refused: the batch axis, an empty reduced axis, run-time axes, and a
    /// reduction whose output element spans more input elements than the one-step verifier
    /// reads ([`vouch_semantics::MAX_REDUCE_SPAN`]).
    pub(super) fn reduce_op(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let mode = ReduceMode::from_onnx(ctx.op).ok_or_else(|| self.unsupported_op(ctx))?;
        let v = self.value_in(ctx, 0)?;
        let s = self.shape(v);
        let rank = s.len();
        let axes_input = self.opset >= if mode == ReduceMode::Sum { 13 } else { 18 };
        let axes: Vec<i64> = if axes_input {
            if ctx.attr("axes").is_some() {
                return Err(ctx.bad_attr("axes", "an input from this opset on, not an attribute"));
            }
            match self.opt_sym(ctx, 1)? {
                None => Vec::new(),
                Some(_) => self
                    .const_in(ctx, 1)?
                    .to_i64()
                    .ok_or_else(|| ctx.bad_input(1, "is not an integer tensor"))?,
            }
        } else {
            ctx.ints("axes").map(<[i64]>::to_vec).unwrap_or_default()
        };
        let mut axes = axes
            .iter()
            .map(|&a| ctx.axis("axes", a, rank))
            .collect::<Result<Vec<_>>>()?;
        if axes.is_empty() {
            if ctx.int("noop_with_empty_axes", 0) != 0 {
                return self.rebind(ctx, v);
            }
            axes = (0..rank).collect();
        }
        axes.sort_unstable();
        if axes.windows(2).any(|w| w[0] == w[1]) {
            return Err(ctx.bad_attr("axes", "repeated axis"));
        }
        let keepdims = ctx.int("keepdims", 1) != 0;
        let mut dims = Vec::with_capacity(rank);
        for (a, d) in s.iter().enumerate() {
            match d {
                Dim::Batch if axes.contains(&a) => {
                    return Err(ctx.unsupported(format!(
                        "{} over the batch axis {a} (rows are independent)",
                        ctx.op
                    )));
                }
                Dim::Batch => dims.push(1),
                Dim::Fixed(0) if axes.contains(&a) => {
                    return Err(ctx.unsupported(format!("{} over the empty axis {a}", ctx.op)));
                }
                Dim::Fixed(n) => dims.push(*n),
            }
        }
        let span = vouch_semantics::reduce_span(&dims, &axes).unwrap_or(usize::MAX);
        if span > vouch_semantics::MAX_REDUCE_SPAN {
            return Err(ctx.unsupported(format!(
                "{} over axes {axes:?} of {s:?}: one output element spans {span} input elements, \
                 more than the {} the one-step verifier can judge",
                ctx.op,
                vouch_semantics::MAX_REDUCE_SPAN
            )));
        }
        let out: Vec<Dim> = s
            .iter()
            .enumerate()
            .filter_map(|(a, d)| match (axes.contains(&a), keepdims) {
                (false, _) => Some(*d),
                (true, true) => Some(Dim::Fixed(1)),
                (true, false) => None,
            })
            .collect();
        let out = self.emit(
            ctx,
            FOp::Reduce {
                mode,
                axes,
                keepdims,
            },
            vec![Operand::Value(v)],
            out,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// skl2onnx's label lookup `classes[argmax]`: supported when `classes` is `0, 1, ..., n-1`
    /// (integer labels), where it is the identity on the `ArgMax` indices. Columns of a
    /// computed tensor picked by constant indices (skl2onnx's one-vs-rest scores of an SVM) are
    /// a `Select` of the last axis.
    pub(super) fn array_feature_extractor(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let classes = match self.sym(ctx, 0)? {
            Sym::Const(t) => t,
            Sym::Value(v) => return self.feature_columns(ctx, v),
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

    /// `ArrayFeatureExtractor` of the computed `x` (`[.., C]`, rank 2 or more) at constant
    /// indices `0 <= i < C`: the columns `[.., n]`, a `Select` of the last axis.
    fn feature_columns(&mut self, ctx: &Ctx<'_>, x: crate::graph::ValueId) -> Result<()> {
        let Sym::Const(idx) = self.sym(ctx, 1)? else {
            return Err(ctx.unsupported("computed indices into a computed tensor"));
        };
        let mut shape = self.shape(x);
        let (Some(&Dim::Fixed(c)), true) = (shape.last(), shape.len() >= 2) else {
            return Err(ctx.shape_err("the input needs rank 2 or more and a fixed last axis"));
        };
        let cols: Vec<usize> = match &idx.data {
            Data::I(v) => v
                .iter()
                .map(|&i| usize::try_from(i).ok().filter(|&i| i < c))
                .collect::<Option<_>>()
                .ok_or_else(|| ctx.bad_input(1, format!("holds an index outside 0..{c}")))?,
            Data::F(_) => return Err(ctx.bad_input(1, "is not an integer tensor")),
        };
        if cols.is_empty() {
            return Err(ctx.bad_input(1, "is empty"));
        }
        let mut maps = vec![Vec::new(); shape.len()];
        if let (Some(m), Some(last)) = (maps.last_mut(), shape.last_mut()) {
            *last = Dim::Fixed(cols.len());
            *m = cols;
        }
        let out = self.emit(
            ctx,
            FOp::Select { maps },
            vec![Operand::Value(x)],
            shape,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(out))
    }
}
