//! Convolution: ONNX `Conv` (1-D or 2-D, NCHW), lowered to [`FOp::Conv`]. The window geometry
//! it shares with pooling (`Importer::spatial`) lives in [`super`].

use crate::error::Result;
use crate::graph::{Dim, FOp, Operand};
use crate::import::{Ctx, Importer, Kind, Sym, fixed};
use crate::tensor::Tensor;
use std::rc::Rc;

/// The constant weight of a `Conv` or `ConvTranspose` (`[d0, d1, k...]`), its optional
/// constant bias, and its `group`, checked against the input rank and `kernel_shape`.
pub(super) struct ConvWeight {
    pub(super) w: Rc<Tensor>,
    pub(super) bias: Option<Rc<Tensor>>,
    pub(super) group: usize,
    /// `C_out` of a `Conv`, `C_in` of a `ConvTranspose`.
    pub(super) d0: usize,
    /// `C_in / group` of a `Conv`, `C_out / group` of a `ConvTranspose`.
    pub(super) d1: usize,
    /// The spatial kernel.
    pub(super) kernel: Vec<usize>,
}

impl Importer {
    /// Reads and checks the weight, bias and group of a `Conv` or `ConvTranspose` over an input
    /// of shape `s`.
    pub(super) fn conv_weight(&mut self, ctx: &Ctx<'_>, s: &[Dim]) -> Result<ConvWeight> {
        let w = self.const_in(ctx, 1)?;
        let bias = self.opt_const_in(ctx, 2)?;
        let group = usize::try_from(ctx.int("group", 1))
            .ok()
            .filter(|&g| g > 0)
            .ok_or_else(|| ctx.bad_attr("group", "must be positive"))?;
        if w.shape.len() != s.len() {
            return Err(ctx.shape_err(format!(
                "weight shape {:?} does not match input rank {}",
                w.shape,
                s.len()
            )));
        }
        let (Some(&d0), Some(&d1)) = (w.shape.first(), w.shape.get(1)) else {
            return Err(ctx.shape_err("weight rank"));
        };
        let kernel: Vec<usize> = w.shape.iter().skip(2).copied().collect();
        if let Some(ks) = ctx.ints("kernel_shape").filter(|k| !k.is_empty())
            && ctx.positive("kernel_shape", ks)? != kernel
        {
            return Err(ctx.bad_attr(
                "kernel_shape",
                format!("{ks:?} does not match the weight shape {:?}", w.shape),
            ));
        }
        if kernel.contains(&0) {
            return Err(ctx.shape_err("empty kernel"));
        }
        Ok(ConvWeight {
            w,
            bias,
            group,
            d0,
            d1,
            kernel,
        })
    }

    /// ONNX `Conv` (1-D or 2-D, NCHW) with a constant weight and optional constant bias.
    pub(super) fn conv(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let x = self.value_in(ctx, 0)?;
        let s = self.shape(x);
        let input = self.spatial_in(ctx, &s)?;
        let ConvWeight {
            w,
            bias,
            group,
            d0: co,
            d1: ci_g,
            kernel,
        } = self.conv_weight(ctx, &s)?;
        let c_in = match s.get(1) {
            Some(Dim::Fixed(c)) => *c,
            _ => return Err(ctx.shape_err("symbolic channel dimension")),
        };
        if ci_g.checked_mul(group) != Some(c_in) || co % group != 0 {
            return Err(ctx.shape_err(format!(
                "weight {:?} with group {group} does not fit {c_in} input channels",
                w.shape
            )));
        }
        let sp = self.spatial(ctx, &input, &kernel, false)?;
        let wd = w
            .to_f32()
            .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?;
        let w4 = [co, ci_g, sp.kernel[0], sp.kernel[1]].to_vec();
        let weight = if s.len() == 4 {
            self.const_operand(ctx, 1, &w)?
        } else {
            self.new_const(ctx, "weight", w4, wd)
        };
        let bias = match bias {
            None => None,
            Some(b) => {
                if b.len() != co {
                    return Err(ctx.shape_err(format!(
                        "bias of {} elements for {co} output channels",
                        b.len()
                    )));
                }
                let bd = b
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(2, "is not numeric"))?;
                Some(self.new_const(ctx, "bias", vec![co], bd))
            }
        };
        let mut out = vec![s.first().copied().unwrap_or(Dim::Batch), Dim::Fixed(co)];
        out.extend(fixed(&sp.out));
        let op = FOp::Conv {
            weight,
            bias,
            kernel: sp.kernel,
            strides: sp.strides,
            pads: sp.pads,
            dilations: sp.dilations,
            group,
        };
        let v = self.emit(ctx, op, vec![Operand::Value(x)], out, Kind::Float)?;
        self.set_out(ctx, 0, Sym::Value(v))
    }
}
