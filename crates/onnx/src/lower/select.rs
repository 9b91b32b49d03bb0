//! `Slice`, `Gather` (constant indices), `Split`, `Expand` and `Tile` of computed tensors,
//! lowered to [`FOp::Select`]: one index list per axis (`docs/semantics.md` section 3). On
//! constants they fold. The batch axis is never selected along: a map on it is refused
//! naming the node, since rows of a batch must stay independent.

use super::{Dim, Result};
use crate::graph::{FOp, Operand, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym};
use crate::tensor::BATCH;

/// The input indices `start, start + step, ..` of ONNX `Slice` along an axis of size `d`,
/// after its clamping rules (negative starts and ends count from the end).
pub(crate) fn slice_indices(d: usize, start: i64, end: i64, step: i64) -> Option<Vec<usize>> {
    if step == 0 {
        return None;
    }
    let d = i64::try_from(d).ok()?;
    let norm = |x: i64| if x < 0 { x.saturating_add(d) } else { x };
    let (s, e) = (norm(start), norm(end));
    let mut sel = Vec::new();
    if step > 0 {
        let (mut i, e) = (s.clamp(0, d), e.clamp(0, d));
        while i < e {
            sel.push(usize::try_from(i).ok()?);
            i = i.checked_add(step)?;
        }
    } else {
        let (mut i, e) = (s.clamp(-1, d - 1), e.clamp(-1, d - 1));
        while i > e {
            sel.push(usize::try_from(i).ok()?);
            i = i.checked_add(step)?;
        }
    }
    Some(sel)
}

/// Whether a `Slice` of the batch axis from 0 with step 1 ending at `end` keeps every row of
/// any batch the engine can run: a tensor of `dims` holds at most
/// [`vouch_semantics::MAX_ELEMENTS`] elements, so its batch is at most that over the elements of
/// one row (exporters write such ends as `i32::MAX`, `i64::MAX` or, from jax2tf, `10^9`).
fn covers_batch(dims: &[Dim], end: i64) -> bool {
    let row: usize = dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => (*n).max(1),
            Dim::Batch => 1,
        })
        .fold(1usize, usize::saturating_mul);
    let most = vouch_semantics::MAX_ELEMENTS / row;
    usize::try_from(end).is_ok_and(|e| e >= most)
}

/// A fixed size, or the refusal for selecting along the batch axis.
fn fixed(ctx: &Ctx<'_>, d: Dim, axis: usize) -> Result<usize> {
    match d {
        Dim::Fixed(n) => Ok(n),
        Dim::Batch => Err(ctx.unsupported(format!(
            "selecting along axis {axis}, the batch axis (rows must stay independent)"
        ))),
    }
}

impl Importer {
    /// Emits `Select` of `v` with one map per axis (`None` keeps the axis) as output `slot` of
    /// the node; a selection that changes nothing is the input itself.
    pub(crate) fn emit_select(
        &mut self,
        ctx: &Ctx<'_>,
        v: ValueId,
        maps: Vec<Option<Vec<usize>>>,
        slot: usize,
    ) -> Result<()> {
        let dims = self.shape(v);
        let identity = dims.iter().zip(&maps).all(|(d, m)| match m {
            None => true,
            Some(m) => *d == Dim::Fixed(m.len()) && m.iter().enumerate().all(|(i, &j)| i == j),
        });
        if identity {
            return self.set_out(ctx, slot, Sym::Value(v));
        }
        let name = ctx
            .output(slot)
            .ok_or_else(|| ctx.shape_err("node has no output"))?
            .to_owned();
        let o = self.select_named(ctx, v, maps, &name)?;
        self.set_out(ctx, slot, Sym::Value(o))
    }

    /// `Slice` of a computed tensor: `specs` are `(axis, start, end, step)`.
    pub(super) fn slice_value(
        &mut self,
        ctx: &Ctx<'_>,
        v: ValueId,
        specs: &[(usize, i64, i64, i64)],
    ) -> Result<()> {
        let dims = self.shape(v);
        let mut maps: Vec<Option<Vec<usize>>> = vec![None; dims.len()];
        for &(axis, start, end, step) in specs {
            let d = dims.get(axis).copied().unwrap_or(Dim::Fixed(0));
            if d == Dim::Batch && step == 1 && start == 0 && covers_batch(&dims, end) {
                continue; // the whole batch axis
            }
            let d = fixed(ctx, d, axis)?;
            let sel = slice_indices(d, start, end, step)
                .ok_or_else(|| ctx.bad_input(4, "a step of 0"))?;
            if let Some(m) = maps.get_mut(axis) {
                *m = Some(sel);
            }
        }
        self.emit_select(ctx, v, maps, 0)
    }

    /// `Gather` of a computed tensor by constant indices (a scalar index drops the axis; an
    /// index tensor of rank `k` puts `k` axes in its place).
    pub(super) fn gather_value(
        &mut self,
        ctx: &Ctx<'_>,
        v: ValueId,
        axis: usize,
        idx_shape: &[usize],
        idx: Vec<usize>,
    ) -> Result<()> {
        let dims = self.shape(v);
        let mut maps: Vec<Option<Vec<usize>>> = vec![None; dims.len()];
        if let Some(m) = maps.get_mut(axis) {
            *m = Some(idx);
        }
        if idx_shape.len() == 1 {
            return self.emit_select(ctx, v, maps, 0);
        }
        // select into the flat index list, then reshape that axis to the index shape
        let name = format!("{}.select", ctx.name);
        let selected = self.select_named(ctx, v, maps, &name)?;
        let mut out: Vec<Dim> = dims[..axis].to_vec();
        out.extend(idx_shape.iter().map(|&d| Dim::Fixed(d)));
        out.extend_from_slice(&dims[axis + 1..]);
        let kind = self.kinds.get(selected).copied().unwrap_or(Kind::Float);
        let o = self.emit(ctx, FOp::Reshape, vec![Operand::Value(selected)], out, kind)?;
        self.set_out(ctx, 0, Sym::Value(o))
    }

    /// ONNX `Gather` whose indices `i` are computed: a [`FOp::Gather`] of the data (a
    /// constant table, or a computed tensor) along a fixed axis. The indices must be exact
    /// integers (an `ArgMax` output or an integer graph input); a computed tensor with a batch
    /// axis picked by indices with one is refused (the output would hold two batch axes).
    pub(super) fn gather_computed(&mut self, ctx: &Ctx<'_>, i: ValueId) -> Result<()> {
        let integer = self.kinds.get(i) == Some(&Kind::Index)
            || self.g.values.get(i).is_some_and(|v| v.integer.is_some());
        if !integer {
            return Err(ctx.unsupported(
                "Gather by computed indices that are not exact integers (an ArgMax output or \
                 an integer graph input)",
            ));
        }
        let (data, dims) = match self.sym(ctx, 0)? {
            Sym::Const(t) => {
                let dims = crate::import::fixed(&t.shape);
                (Operand::Const(self.const_operand(ctx, 0, &t)?), dims)
            }
            Sym::Value(_) => {
                let v = self.value_in(ctx, 0)?;
                (Operand::Value(v), self.shape(v))
            }
        };
        let axis = ctx.axis("axis", ctx.int("axis", 0), dims.len())?;
        let idx = self.shape(i);
        match dims.get(axis) {
            Some(Dim::Fixed(n)) if *n > 0 => {}
            _ => {
                return Err(ctx.unsupported(format!(
                    "gathering along axis {axis} of {dims:?} (the batch axis, or empty)"
                )));
            }
        }
        if dims.contains(&Dim::Batch) && idx.contains(&Dim::Batch) {
            return Err(ctx.unsupported(
                "gathering from a batched computed tensor by batched indices (rows would mix)",
            ));
        }
        let mut out: Vec<Dim> = dims[..axis].to_vec();
        out.extend_from_slice(&idx);
        out.extend_from_slice(&dims[axis + 1..]);
        let o = self.emit(
            ctx,
            FOp::Gather { axis },
            vec![data, Operand::Value(i)],
            out,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(o))
    }

    /// `Select` of `v` named `name` (a map on the batch axis is refused).
    pub(super) fn select_named(
        &mut self,
        ctx: &Ctx<'_>,
        v: ValueId,
        maps: Vec<Option<Vec<usize>>>,
        name: &str,
    ) -> Result<ValueId> {
        let dims = self.shape(v);
        let mut out = Vec::with_capacity(dims.len());
        for (a, (&d, m)) in dims.iter().zip(&maps).enumerate() {
            out.push(match m {
                None => d,
                Some(m) => {
                    fixed(ctx, d, a)?;
                    Dim::Fixed(m.len())
                }
            });
        }
        let kind = self.kinds.get(v).copied().unwrap_or(Kind::Float);
        let maps = maps.into_iter().map(Option::unwrap_or_default).collect();
        self.emit_named(
            ctx,
            FOp::Select { maps },
            vec![Operand::Value(v)],
            out,
            kind,
            name,
        )
    }

    /// ONNX `Split`: consecutive pieces along `axis`, sized by the `split` input (attribute
    /// before opset 13), or `num_outputs` (opset 18), or equal parts for each output.
    pub(super) fn split(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.sym(ctx, 0)?;
        let dims = match &x {
            Sym::Const(t) => t.shape.iter().map(|&d| Dim::Fixed(d)).collect(),
            Sym::Value(v) => self.shape(*v),
        };
        let axis = ctx.axis("axis", ctx.int("axis", 0), dims.len())?;
        let d = fixed(ctx, dims.get(axis).copied().unwrap_or(Dim::Fixed(0)), axis)?;
        let outs = ctx.node.output.len();
        let given = if self.opset < 13 {
            ctx.ints("split").map(<[i64]>::to_vec)
        } else {
            self.opt_const_in(ctx, 1)?
                .map(|t| {
                    t.to_i64()
                        .ok_or_else(|| ctx.bad_input(1, "is not an integer tensor"))
                })
                .transpose()?
        };
        let sizes: Vec<usize> = match given {
            Some(s) => s
                .iter()
                .map(|&n| usize::try_from(n).map_err(|_| ctx.bad_input(1, "a negative size")))
                .collect::<Result<_>>()?,
            None => {
                let n = usize::try_from(ctx.int("num_outputs", outs as i64))
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| ctx.bad_attr("num_outputs", "must be positive"))?;
                let each = d.div_ceil(n);
                (0..n)
                    .map(|i| each.min(d.saturating_sub(i * each)))
                    .collect()
            }
        };
        if sizes.len() != outs || sizes.iter().sum::<usize>() != d {
            return Err(ctx.shape_err(format!(
                "{} pieces of sizes {sizes:?} for {outs} outputs along an axis of {d}",
                sizes.len()
            )));
        }
        let mut at = 0;
        for (slot, &n) in sizes.iter().enumerate() {
            let range: Vec<usize> = (at..at + n).collect();
            at += n;
            match &x {
                Sym::Const(t) => {
                    let spec = [(axis, range[0] as i64, (range[0] + n) as i64, 1)];
                    let piece = if n == 0 { None } else { t.slice(&spec) }
                        .ok_or_else(|| ctx.shape_err("an empty piece of a constant"))?;
                    self.set_out(ctx, slot, Sym::Const(piece.into()))?;
                }
                Sym::Value(v) => {
                    let mut maps: Vec<Option<Vec<usize>>> = vec![None; dims.len()];
                    maps[axis] = Some(range);
                    self.emit_select(ctx, *v, maps, slot)?;
                }
            }
        }
        Ok(())
    }

    /// ONNX `Expand` of a computed tensor to a constant shape (numpy broadcasting; a size-1
    /// axis repeats). Target sizes of 1 and the batch placeholder keep the input's size. On a
    /// constant it folds (an anchor grid), within the import's constant budget; a constant
    /// expanded to the batch size is refused.
    pub(super) fn expand(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let target = self
            .const_in(ctx, 1)?
            .to_i64()
            .ok_or_else(|| ctx.bad_input(1, "is not an integer tensor"))?;
        let v = match self.sym(ctx, 0)? {
            Sym::Value(v) => v,
            Sym::Const(t) => {
                let dims = target
                    .iter()
                    .map(|&d| usize::try_from(d))
                    .collect::<std::result::Result<Vec<usize>, _>>()
                    .map_err(|_| {
                        ctx.unsupported(format!(
                            "Expand of a constant to {} (a constant cannot take the batch size)",
                            crate::tensor::show_ints(&target)
                        ))
                    })?;
                let room = self.derived_room();
                let folded = t
                    .expanded(&dims, room)
                    .filter(|e| e.len() <= room.max(t.len()))
                    .ok_or_else(|| {
                        ctx.shape_err(format!(
                            "cannot expand a constant of shape {:?} to {} (shapes that do not \
                             broadcast, or more than {room} folded elements)",
                            t.shape,
                            crate::tensor::show_ints(&target)
                        ))
                    })?;
                return self.out_const(ctx, folded);
            }
        };
        let dims = self.shape(v);
        let r = dims.len().max(target.len());
        // the input's shape aligned to the output rank (leading 1s)
        let mut aligned = vec![Dim::Fixed(1); r - dims.len()];
        aligned.extend_from_slice(&dims);
        let mut tgt = vec![1i64; r - target.len()];
        tgt.extend_from_slice(&target);
        let mut maps: Vec<Option<Vec<usize>>> = vec![None; r];
        for (a, (&d, &t)) in aligned.iter().zip(&tgt).enumerate() {
            match (d, t) {
                (_, 1) | (Dim::Batch, BATCH) => {}
                (Dim::Fixed(1), t) if t > 1 => {
                    maps[a] = Some(vec![0; usize::try_from(t).unwrap_or(0)]);
                }
                (Dim::Fixed(n), t) if i64::try_from(n) == Ok(t) => {}
                _ => {
                    return Err(ctx.shape_err(format!(
                        "cannot expand axis {a} of {} to {}",
                        dim_text(d),
                        if t == BATCH {
                            "the batch".to_owned()
                        } else {
                            t.to_string()
                        }
                    )));
                }
            }
        }
        let src = if aligned.len() == dims.len() {
            v
        } else {
            let kind = self.kinds.get(v).copied().unwrap_or(Kind::Float);
            let name = format!("{}.aligned", ctx.name);
            self.emit_named(
                ctx,
                FOp::Reshape,
                vec![Operand::Value(v)],
                aligned,
                kind,
                &name,
            )?
        };
        self.emit_select(ctx, src, maps, 0)
    }

    /// ONNX `Tile` of a computed tensor by constant repeats (none on the batch axis).
    pub(super) fn tile(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let v = match self.sym(ctx, 0)? {
            Sym::Value(v) => v,
            Sym::Const(_) => return Err(ctx.unsupported("Tile of a constant")),
        };
        let reps = self
            .const_in(ctx, 1)?
            .to_i64()
            .ok_or_else(|| ctx.bad_input(1, "is not an integer tensor"))?;
        let dims = self.shape(v);
        if reps.len() != dims.len() {
            return Err(ctx.bad_input(1, format!("{} repeats for rank {}", reps.len(), dims.len())));
        }
        let mut maps: Vec<Option<Vec<usize>>> = vec![None; dims.len()];
        for (a, (&d, &k)) in dims.iter().zip(&reps).enumerate() {
            let k = usize::try_from(k).map_err(|_| ctx.bad_input(1, "a negative repeat"))?;
            if k == 1 {
                continue;
            }
            let n = fixed(ctx, d, a)?;
            maps[a] = Some((0..n * k).map(|i| i % n.max(1)).collect());
        }
        self.emit_select(ctx, v, maps, 0)
    }
}

/// A dimension for messages (never the internal placeholder).
fn dim_text(d: Dim) -> String {
    match d {
        Dim::Batch => "the batch".to_owned(),
        Dim::Fixed(n) => n.to_string(),
    }
}
