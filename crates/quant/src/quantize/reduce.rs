//! Lowering reductions: `ArgMax` (an `Index` output) along one axis, reading wide accumulators
//! as well as activations; `Reduce` over any axes of an activation (`Sum` requantized onto its
//! calibrated output scale, `Mean`, `Max` and `Min` at the input's kind and scale with the
//! identity requantization). `Softmax` lives in `softmax`.

use super::{Builder, kind_range, multiplier};
use crate::Result;
use vouch_model::{Kind, Op, Operand, ReduceMode, Requant};
use vouch_onnx::graph::FNode;

impl Builder<'_> {
    /// `ArgMax` along `axis`.
    pub(super) fn argmax(
        &mut self,
        node: &FNode,
        name: String,
        axis: usize,
        keepdims: bool,
        select_last_index: bool,
    ) -> Result<()> {
        let x = self.input(node, 0)?;
        let q = self.bind(node, node.output, Kind::Index, 1.0)?;
        let op = Op::ArgMax {
            axis: axis as u32,
            keepdims,
            select_last_index,
        };
        self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }
}

impl Builder<'_> {
    /// `Reduce` over `axes`.
    pub(super) fn reduce(
        &mut self,
        node: &FNode,
        name: String,
        mode: ReduceMode,
        axes: &[usize],
        keepdims: bool,
    ) -> Result<()> {
        let x = self.input(node, 0)?;
        if x.kind.act_range().is_none() {
            return Err(Self::err(
                node,
                "Reduce of a tensor that is not an activation",
            ));
        }
        let (kind, scale, rq) = if mode == ReduceMode::Sum {
            let s_z = self.act_scale(self.ranges[node.output]);
            let (m, s) = multiplier(x.scale / s_z)
                .ok_or_else(|| Self::err(node, "sum rescale ratio out of range"))?;
            let act = self.act();
            let (lo, hi) = kind_range(act);
            (act, s_z, Requant { m, s, lo, hi })
        } else {
            let (lo, hi) = kind_range(x.kind);
            (x.kind, x.scale, Requant { m: 1, s: 0, lo, hi })
        };
        let axes = axes
            .iter()
            .map(|&a| u32::try_from(a).map_err(|_| Self::err(node, "axis too large")))
            .collect::<Result<Vec<_>>>()?;
        let q = self.bind(node, node.output, kind, scale)?;
        let op = Op::Reduce {
            mode,
            axes,
            keepdims,
            rq,
        };
        self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }
}
