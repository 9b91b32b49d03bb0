//! Windowed pooling: ONNX `MaxPool`, `AveragePool`, `GlobalAveragePool` and `GlobalMaxPool`,
//! lowered to [`FOp::MaxPool`], [`FOp::AveragePool`], [`FOp::GlobalAveragePool`] and a `Reduce`
//! max. The window geometry (`Importer::spatial`) lives in [`super`].

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand};
use crate::import::{Ctx, Importer, Kind, Sym, fixed};

impl Importer {
    /// ONNX `MaxPool` and `AveragePool` (1-D or 2-D, NCHW).
    pub(super) fn pool(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let is_max = ctx.op == "MaxPool";
        if is_max && ctx.output(1).is_some() {
            return Err(ctx.unsupported("the Indices output"));
        }
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        let input = self.spatial_in(ctx, &s)?;
        let kernel = ctx.positive("kernel_shape", ctx.ints("kernel_shape").unwrap_or_default())?;
        if kernel.is_empty() {
            return Err(ctx.bad_attr("kernel_shape", "required"));
        }
        let ceil_mode = ctx.int("ceil_mode", 0) != 0;
        let sp = self.spatial(ctx, &input, &kernel, ceil_mode)?;
        let op = if is_max {
            FOp::MaxPool {
                kernel: sp.kernel,
                strides: sp.strides,
                pads: sp.pads,
                dilations: sp.dilations,
                ceil_mode,
            }
        } else {
            if sp.dilations != [1, 1] {
                return Err(ctx.unsupported("AveragePool with dilations"));
            }
            let count_include_pad = ctx.int("count_include_pad", 0) != 0;
            FOp::AveragePool {
                kernel: sp.kernel,
                strides: sp.strides,
                pads: sp.pads,
                count_include_pad,
                ceil_mode,
            }
        };
        let mut out: Vec<Dim> = s.iter().take(2).copied().collect();
        out.extend(fixed(&sp.out));
        let v = self.emit(ctx, op, vec![Operand::Value(x)], out, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    /// ONNX `GlobalAveragePool`.
    /// ONNX `GlobalMaxPool`: the maximum over the spatial axes, a `Reduce` max keeping them
    /// at 1 (staged per axis, and as a tree along an axis longer than the one-step span).
    pub(super) fn global_max_pool(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        self.spatial_in(ctx, &s)?;
        let axes: Vec<usize> = (2..s.len()).collect();
        let v = self.staged_reduce(ctx, x, vouch_semantics::ReduceMode::Max, &axes, true, None)?;
        self.set_out(ctx, 0, Sym::Value(v))
    }

    pub(super) fn global_avg_pool(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        self.spatial_in(ctx, &s)?;
        let out: Vec<Dim> = s
            .iter()
            .enumerate()
            .map(|(i, &d)| if i < 2 { d } else { Dim::Fixed(1) })
            .collect();
        let v = self.emit(
            ctx,
            FOp::GlobalAveragePool,
            vec![Operand::Value(x)],
            out,
            Kind::Float,
        )?;
        self.set_out(ctx, 0, Sym::Value(v))
    }
}
