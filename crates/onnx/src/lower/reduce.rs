//! Reductions: ONNX `Softmax` and `ArgMax` along one axis, lowered to [`FOp::Softmax`] and
//! [`FOp::ArgMax`], `LogSoftmax` (its function body: `Reduce`, `Sub` and `Map` nodes), `ReduceSum`, `ReduceMean`, `ReduceMax` and `ReduceMin` over any set of
//! axes, lowered to [`FOp::Reduce`], and skl2onnx's label lookup (`ai.onnx.ml` `ArrayFeatureExtractor` of the
//! `ArgMax` indices into the classes `0..n-1`), which is the identity and disappears
//! (`ArrayFeatureExtractor` of a computed tensor at constant indices is a [`FOp::Select`]), and
//! the `ai.onnx.ml` `Normalizer` (`MAX`, `L1`, `L2`), lowered to reductions, products and tables.

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ReduceMode, ScalarFn, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym};
use crate::tensor::Data;

impl Importer {
    /// ONNX `Softmax` over one axis (opset < 13: the input coerced to 2-D at `axis`).
    pub(super) fn softmax(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        self.softmax_like(ctx, false)
    }

    /// ONNX `LogSoftmax` (every opset form, as `Softmax`): `d - ln Σ e^d` with
    /// `d = x - max x`, as the `Reduce`, `Sub` and `Map` nodes of its ONNX function body.
    pub(super) fn log_softmax(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        self.softmax_like(ctx, true)
    }

    /// `Softmax` (or `LogSoftmax` when `log`) over the axis the opset defines.
    fn softmax_like(&mut self, ctx: &Ctx<'_>, log: bool) -> Result<()> {
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
                return self.softmax_flattened(ctx, v, axis, log);
            }
        };
        if s.get(axis) == Some(&Dim::Batch) {
            return Err(ctx.shape_err(format!("{} over the batch axis", ctx.op)));
        }
        let dims = crate::import::row_dims(&s);
        let span = vouch_semantics::reduce_span(&dims, &[axis]).unwrap_or(usize::MAX);
        if axis + 1 < rank && span > vouch_semantics::MAX_REDUCE_SPAN {
            return self.softmax_moved_last(ctx, v, axis, log);
        }
        let out = self.emit_softmax(ctx, v, axis, s, log, true)?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// Softmax along an axis whose stride makes a slice span more elements than a one-step
    /// check reads (YOLOv8's DFL: 16 values 8,400 apart): a `Transpose` moving the axis last,
    /// the softmax over that contiguous axis, and the inverse `Transpose` (each a one-element
    /// check): the same values.
    fn softmax_moved_last(
        &mut self,
        ctx: &Ctx<'_>,
        v: ValueId,
        axis: usize,
        log: bool,
    ) -> Result<()> {
        let s = self.shape(v);
        let rank = s.len();
        let mut perm: Vec<usize> = (0..rank).filter(|&a| a != axis).collect();
        perm.push(axis);
        let mut inverse = vec![0; rank];
        for (i, &a) in perm.iter().enumerate() {
            inverse[a] = i;
        }
        let moved: Vec<Dim> = perm.iter().map(|&a| s[a]).collect();
        let t = FOp::Transpose { perm };
        let t = self.emit_tmp(ctx, "moved", t, vec![Operand::Value(v)], moved.clone())?;
        let p = self.emit_softmax(ctx, t, rank - 1, moved, log, false)?;
        let back = FOp::Transpose { perm: inverse };
        let out = self.emit(ctx, back, vec![Operand::Value(p)], s, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// Softmax over the axes `axis..` of `v` together (ONNX opset < 13): a `Reshape` that
    /// flattens them into one axis, a softmax over it, and a `Reshape` back.
    fn softmax_flattened(
        &mut self,
        ctx: &Ctx<'_>,
        v: crate::graph::ValueId,
        axis: usize,
        log: bool,
    ) -> Result<()> {
        let s = self.shape(v);
        let batch_axis = || ctx.shape_err(format!("{} over the batch axis", ctx.op));
        if axis == 0 {
            return Err(batch_axis());
        }
        let mut n = 1usize;
        for d in s.get(axis..).unwrap_or_default() {
            match d {
                Dim::Fixed(k) => n = n.saturating_mul(*k),
                Dim::Batch => return Err(batch_axis()),
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
        let p = self.emit_softmax(ctx, f, last, flat, log, false)?;
        let out = self.emit(ctx, FOp::Reshape, vec![Operand::Value(p)], s, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// Emits the softmax (or log-softmax) of `v` (shape `s`) along `axis`; its value is the
    /// node's output when `last`, else a temporary. A log-softmax is `Reduce max`, `Sub`,
    /// `Map exp`, `Reduce sum`, `Map ln`, `Sub`, its reductions refused past the span the
    /// one-step verifier judges.
    fn emit_softmax(
        &mut self,
        ctx: &Ctx<'_>,
        v: crate::graph::ValueId,
        axis: usize,
        s: Vec<Dim>,
        log: bool,
        last: bool,
    ) -> Result<crate::graph::ValueId> {
        if !log {
            let op = FOp::Softmax { axis };
            return if last {
                self.emit(ctx, op, vec![Operand::Value(v)], s, Kind::Float)
            } else {
                self.emit_tmp(ctx, "softmax", op, vec![Operand::Value(v)], s)
            };
        }
        let dims = crate::import::row_dims(&s);
        let span = vouch_semantics::reduce_span(&dims, &[axis]).unwrap_or(usize::MAX);
        if span > vouch_semantics::MAX_REDUCE_SPAN {
            return Err(ctx.unsupported(format!(
                "LogSoftmax over axis {axis} of {s:?}: a slice spans {span} elements, more \
                 than the {} the one-step verifier can judge",
                vouch_semantics::MAX_REDUCE_SPAN
            )));
        }
        let mut kept = s.clone();
        kept[axis] = Dim::Fixed(1);
        let reduce = |mode| FOp::Reduce {
            mode,
            axes: vec![axis],
            keepdims: true,
        };
        let val = |x| vec![Operand::Value(x)];
        let m = self.emit_tmp(ctx, "max", reduce(ReduceMode::Max), val(v), kept.clone())?;
        let d = self.emit_tmp(
            ctx,
            "diff",
            FOp::Sub,
            vec![Operand::Value(v), Operand::Value(m)],
            s.clone(),
        )?;
        let exp = FOp::Map {
            f: crate::ScalarFn::Exp,
        };
        let e = self.emit_tmp(ctx, "exp", exp, val(d), s.clone())?;
        let sum = self.emit_tmp(ctx, "sum", reduce(ReduceMode::Sum), val(e), kept.clone())?;
        let ln = FOp::Map {
            f: crate::ScalarFn::Log,
        };
        let l = self.emit_tmp(ctx, "log", ln, val(sum), kept)?;
        let ins = vec![Operand::Value(d), Operand::Value(l)];
        if last {
            self.emit(ctx, FOp::Sub, ins, s, Kind::Float)
        } else {
            self.emit_tmp(ctx, "logsoftmax", FOp::Sub, ins, s)
        }
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
        let folded = match self.sym(ctx, 0)? {
            Sym::Const(t) => Some(t),
            Sym::Value(_) => None,
        };
        let s = match &folded {
            Some(t) => crate::import::fixed(&t.shape),
            None => self.shape(self.value_in(ctx, 0)?),
        };
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
        let noop = axes.is_empty() && ctx.int("noop_with_empty_axes", 0) != 0;
        if axes.is_empty() {
            axes = (0..rank).collect();
        }
        axes.sort_unstable();
        if axes.windows(2).any(|w| w[0] == w[1]) {
            return Err(ctx.bad_attr("axes", "repeated axis"));
        }
        let keepdims = ctx.int("keepdims", 1) != 0;
        if let Some(t) = folded {
            // on a constant (a mask or shape computed at import): folded
            let out = if noop {
                (*t).clone()
            } else {
                super::logic::fold_reduce(&t, mode, &axes, keepdims).ok_or_else(|| {
                    ctx.unsupported(format!(
                        "{} of the constant {:?} does not fold",
                        ctx.op, t.shape
                    ))
                })?
            };
            return self.out_const(ctx, out);
        }
        let v = self.value_in(ctx, 0)?;
        if noop {
            return self.rebind(ctx, v);
        }
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
        // a mean of squares over the last axis: their exact sum (lower/mean_square.rs)
        if mode == ReduceMode::Mean && self.mean_square(ctx, v, &axes, keepdims)? {
            return Ok(());
        }
        let out = self.staged_reduce(ctx, v, mode, &axes, keepdims, None)?;
        self.set_out(ctx, 0, Sym::Value(out))
    }

    /// `Reduce` of `v` over `axes` (sorted, never the batch axis): one node when an output
    /// element spans at most [`vouch_semantics::MAX_REDUCE_SPAN`] input elements, else one
    /// node per axis from the last to the first (each keeping its axis, then a `Reshape` when
    /// `keepdims` is off), which is the same sum, mean (of groups of equal size), max or min,
    /// and a single axis spanning more is a tree of stages along it (`reduce_tree`). The value
    /// is the node's
    /// output when `tmp` is `None`, else a temporary with that suffix.
    pub(super) fn staged_reduce(
        &mut self,
        ctx: &Ctx<'_>,
        v: ValueId,
        mode: ReduceMode,
        axes: &[usize],
        keepdims: bool,
        tmp: Option<&str>,
    ) -> Result<ValueId> {
        let s = self.shape(v);
        let mut dims = crate::import::row_dims(&s);
        let out: Vec<Dim> = s
            .iter()
            .enumerate()
            .filter_map(|(a, d)| match (axes.contains(&a), keepdims) {
                (false, _) => Some(*d),
                (true, true) => Some(Dim::Fixed(1)),
                (true, false) => None,
            })
            .collect();
        let too_wide = |span: usize| {
            ctx.unsupported(format!(
                "{} over axes {axes:?} of {s:?}: one output element spans {span} input elements \
                 along one axis, more than the {} the one-step verifier can judge",
                ctx.op,
                vouch_semantics::MAX_REDUCE_SPAN
            ))
        };
        let emit_last = |b: &mut Self, op: FOp, x: ValueId, shape: Vec<Dim>| match tmp {
            None => b.emit(ctx, op, vec![Operand::Value(x)], shape, Kind::Float),
            Some(suffix) => b.emit_tmp(ctx, suffix, op, vec![Operand::Value(x)], shape),
        };
        let span = vouch_semantics::reduce_span(&dims, axes).unwrap_or(usize::MAX);
        if span <= vouch_semantics::MAX_REDUCE_SPAN {
            let op = FOp::Reduce {
                mode,
                axes: axes.to_vec(),
                keepdims,
            };
            return emit_last(self, op, v, out);
        }
        let mut x = v;
        let mut shape = s.clone();
        for (i, &a) in axes.iter().enumerate().rev() {
            let span = vouch_semantics::reduce_span(&dims, &[a]).unwrap_or(usize::MAX);
            dims[a] = 1;
            shape[a] = Dim::Fixed(1);
            if span > vouch_semantics::MAX_REDUCE_SPAN {
                // a long axis, or one of a large stride: a tree of stages along it
                let tag = tmp.map_or_else(|| "reduce".to_owned(), |t| format!("{t}.reduce"));
                x = self
                    .reduce_axis_tree(ctx, x, mode, a, &tag)?
                    .ok_or_else(|| too_wide(span))?;
                if i == 0 && keepdims {
                    // the node's own output: one more (identity) reshape names it
                    x = emit_last(self, FOp::Reshape, x, shape.clone())?;
                }
                continue;
            }
            let op = FOp::Reduce {
                mode,
                axes: vec![a],
                keepdims: true,
            };
            x = if i == 0 && keepdims {
                emit_last(self, op, x, shape.clone())?
            } else {
                let suffix = format!(
                    "{}reduce{a}",
                    tmp.map_or(String::new(), |t| format!("{t}."))
                );
                self.emit_tmp(ctx, &suffix, op, vec![Operand::Value(x)], shape.clone())?
            };
        }
        if keepdims {
            return Ok(x);
        }
        emit_last(self, FOp::Reshape, x, out)
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

/// An `ai.onnx.ml` `Normalizer`'s norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Norm {
    /// `x / max_i x_i` (onnxruntime's: the largest value, not magnitude).
    Max,
    /// `x / Σ |x_i|`.
    L1,
    /// `x / √(Σ x_i²)`.
    L2,
}

impl Norm {
    /// The reciprocal the row's factor is, from the row's norm.
    const fn reciprocal(self) -> ScalarFn {
        match self {
            Self::L2 => ScalarFn::Rsqrt,
            Self::L1 | Self::Max => ScalarFn::InverseOrOne,
        }
    }
}

impl Importer {
    /// `ai.onnx.ml` `Normalizer` over the last axis of an `[N, F]` tensor, as onnxruntime
    /// computes it (a row whose norm is 0 is left unchanged). `L1` directly on the output of a
    /// `Softmax` over the last axis is the identity (a distribution already, up to `f32`
    /// rounding, as skl2onnx writes after a `LinearClassifier`). Otherwise the row's factor is
    /// found twice: `y = x · g(x)` with `g` the reciprocal of the norm (`L2`: `Rsqrt` of the
    /// sum of squares, `L1`: `InverseOrOne` of `Σ |x| = Σ (2 relu(x) - x)`, a `Linear` over
    /// `[relu(x), x]`; `MAX`: `InverseAbsOrOne` of the row's maximum), then `y · g(y)`. The
    /// result is the same, `x / norm(x)`, but the second norm is about 1 (about ±1 for `MAX`),
    /// so its reciprocal is tabulated on a well-conditioned input whatever the rows' scale, and
    /// the first factor's quantization error cancels.
    pub(super) fn normalizer(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let norm = match ctx.string("norm").unwrap_or(b"MAX") {
            b"MAX" => Norm::Max,
            b"L1" => Norm::L1,
            b"L2" => Norm::L2,
            other => {
                return Err(ctx.bad_attr(
                    "norm",
                    format!(
                        "unknown {:?} (MAX, L1 or L2)",
                        String::from_utf8_lossy(other)
                    ),
                ));
            }
        };
        let v = self.value_in(ctx, 0)?;
        let shape = self.shape(v);
        let rank = shape.len();
        let after_softmax = self
            .producer
            .get(v)
            .copied()
            .flatten()
            .and_then(|p| self.g.nodes.get(p))
            .is_some_and(|n| matches!(n.op, FOp::Softmax { axis } if axis + 1 == rank));
        if norm == Norm::L1 && after_softmax {
            return self.rebind(ctx, v);
        }
        let f = match shape.as_slice() {
            [_, Dim::Fixed(f)] => *f,
            _ => {
                return Err(ctx.unsupported(format!(
                    "Normalizer of a {shape:?} tensor (onnxruntime normalizes [N, F] rows)"
                )));
            }
        };
        if f == 0 || f > vouch_semantics::MAX_REDUCE_SPAN {
            return Err(ctx.unsupported(format!(
                "Normalizer of {f} features (1 to {} per row, the one-step verifier's span)",
                vouch_semantics::MAX_REDUCE_SPAN
            )));
        }
        let first = if norm == Norm::Max {
            ScalarFn::InverseAbsOrOne
        } else {
            norm.reciprocal()
        };
        let y = self.norm_pass(ctx, norm, first, v, f, "pass1", None)?;
        let second = norm.reciprocal();
        let out = ctx
            .output(0)
            .ok_or_else(|| ctx.shape_err("node has no output"))?
            .to_owned();
        let z = self.norm_pass(ctx, norm, second, y, f, "pass2", Some(&out))?;
        self.set_out(ctx, 0, Sym::Value(z))
    }

    /// `x · g(norm(x))` for the `[N, F]` value `x`, its nodes named `<node>.<tag>.*` and the
    /// result `out` (or `<node>.<tag>`).
    #[expect(
        clippy::too_many_arguments,
        reason = "the pass's parts travel together"
    )]
    fn norm_pass(
        &mut self,
        ctx: &Ctx<'_>,
        norm: Norm,
        g: ScalarFn,
        x: ValueId,
        f: usize,
        tag: &str,
        out: Option<&str>,
    ) -> Result<ValueId> {
        let full = self.shape(x);
        let rows = full.first().copied().unwrap_or(Dim::Batch);
        let row = vec![rows, Dim::Fixed(1)];
        let reduce = |mode| FOp::Reduce {
            mode,
            axes: vec![1],
            keepdims: true,
        };
        let stat = match norm {
            Norm::L2 => {
                let sq = self.emit_tmp(
                    ctx,
                    &format!("{tag}.square"),
                    FOp::Mul,
                    vec![Operand::Value(x), Operand::Value(x)],
                    full.clone(),
                )?;
                self.emit_tmp(
                    ctx,
                    &format!("{tag}.sum"),
                    reduce(ReduceMode::Sum),
                    vec![Operand::Value(sq)],
                    row.clone(),
                )?
            }
            Norm::L1 => {
                // Σ |x| = Σ 2 relu(x) - x: one exact accumulation over [relu(x), x]
                let pos = self.emit_tmp(
                    ctx,
                    &format!("{tag}.relu"),
                    FOp::Relu,
                    vec![Operand::Value(x)],
                    full.clone(),
                )?;
                let both = self.emit_tmp(
                    ctx,
                    &format!("{tag}.both"),
                    FOp::Concat { axis: 1 },
                    vec![Operand::Value(pos), Operand::Value(x)],
                    vec![rows, Dim::Fixed(2 * f)],
                )?;
                let mut w = vec![2.0; f];
                w.extend(std::iter::repeat_n(-1.0, f));
                let weight = self.new_const(ctx, &format!("{tag}.abs"), vec![1, 2 * f], w);
                self.emit_tmp(
                    ctx,
                    &format!("{tag}.sum"),
                    FOp::Linear { weight, bias: None },
                    vec![Operand::Value(both)],
                    row.clone(),
                )?
            }
            Norm::Max => self.emit_tmp(
                ctx,
                &format!("{tag}.max"),
                reduce(ReduceMode::Max),
                vec![Operand::Value(x)],
                row.clone(),
            )?,
        };
        let factor = self.emit_tmp(
            ctx,
            &format!("{tag}.factor"),
            FOp::Map { f: g },
            vec![Operand::Value(stat)],
            row,
        )?;
        let ins = vec![Operand::Value(x), Operand::Value(factor)];
        match out {
            Some(o) => self.emit_named(ctx, FOp::Mul, ins, full, Kind::Float, o),
            None => self.emit_tmp(ctx, tag, FOp::Mul, ins, full),
        }
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
