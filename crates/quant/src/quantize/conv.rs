//! Lowering convolution: a constant weight quantized per output channel where its channels'
//! ranges differ ([`Builder::per_channel`]), else per tensor with an `i32` bias at the
//! accumulator scale, the section 4 accumulator bound, and a wide or requantized output
//! ([`Builder::accum_output`]).

use super::{Builder, accumulator_bound};
use crate::Result;
use vouch_model::{Op, Operand};
use vouch_onnx::graph::FNode;

impl Builder<'_> {
    /// `Conv`, 1-D or 2-D.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn conv(
        &mut self,
        node: &FNode,
        name: String,
        weight: usize,
        bias: Option<usize>,
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
        group: usize,
    ) -> Result<()> {
        let g = self.g;
        let x = self.input(node, 0)?;
        let grid = self.grid_product(node, x, weight, bias)?;
        let (w, b, rq, wide, out) = match grid {
            Some(gp) => (gp.weight, gp.bias, gp.rq, false, gp.out),
            None => match self.per_channel(node, x, weight, bias)? {
                Some(pc) => (pc.weight, Some(pc.bias), pc.rq, false, pc.out),
                None => {
                    let (w, s_w) = self.weights(node, weight);
                    let acc = x.scale * s_w;
                    let (b, bq) = self.bias(node, bias, acc)?;
                    let per_out: usize = g.consts[weight].shape.iter().skip(1).product();
                    let bound = accumulator_bound(self.const_data(w), per_out, &bq, x.kind);
                    let (rq, wide, out) = self.accum_output(node, acc, bound)?;
                    (w, b, rq, wide, out)
                }
            },
        };
        let u = |v: usize| u32::try_from(v).map_err(|_| Self::err(node, "attribute too large"));
        let op = Op::Conv {
            weight: w,
            bias: b,
            kernel: [u(kernel[0])?, u(kernel[1])?],
            strides: [u(strides[0])?, u(strides[1])?],
            pads: [u(pads[0])?, u(pads[1])?, u(pads[2])?, u(pads[3])?],
            dilations: [u(dilations[0])?, u(dilations[1])?],
            group: u(group)?,
            rq,
            wide,
        };
        self.push(node, name, op, vec![Operand::Value(x.id)], out);
        Ok(())
    }
}
