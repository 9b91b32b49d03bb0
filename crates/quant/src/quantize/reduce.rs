//! Lowering reductions: `ArgMax` (an `Index` output) along one axis, reading wide accumulators
//! as well as activations; `Reduce` over any axes of an activation (`Sum` requantized onto its
//! calibrated output scale; `Mean` the same, as a `Sum` whose multiplier holds `1 / n`, when
//! that scale is finer than the input's, since a `mean` rounds at the input's scale: a
//! variance whose input scale the largest square sets keeps a few steps; else, and `Max` and
//! `Min`, at the input's kind and scale with the identity requantization). `Softmax` lives in `softmax`.

use super::{Builder, kind_range, multiplier};
use crate::Result;
use vouch_model::{Kind, Op, Operand, ReduceMode, Requant};
use vouch_onnx::graph::{self as fg, FNode};

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
        let n = self.reduced_count(node, axes)?;
        let s_mean = self.act_scale(self.ranges[node.output]);
        // a mean at a finer scale than its input's: the exact sum requantized by `s_x / (n s_z)`
        let (mode, (kind, scale, rq)) = if mode == ReduceMode::Mean && n > 1 && s_mean < x.scale {
            let (m, s) = multiplier(x.scale / (n as f64 * s_mean))
                .ok_or_else(|| Self::err(node, "mean rescale ratio out of range"))?;
            let act = self.act();
            let (lo, hi) = kind_range(act);
            let rq = Requant { m, s, lo, hi };
            Self::requant_fits(node, i128::from(x.kind.magnitude()) * n as i128, &rq)?;
            (ReduceMode::Sum, (act, s_mean, rq))
        } else if mode == ReduceMode::Sum {
            let s_z = self.act_scale(self.ranges[node.output]);
            let (m, s) = multiplier(x.scale / s_z)
                .ok_or_else(|| Self::err(node, "sum rescale ratio out of range"))?;
            let act = self.act();
            let (lo, hi) = kind_range(act);
            (mode, (act, s_z, Requant { m, s, lo, hi }))
        } else {
            let (lo, hi) = kind_range(x.kind);
            (mode, (x.kind, x.scale, Requant { m: 1, s: 0, lo, hi }))
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

    /// How many input elements one output element of a `Reduce` over `axes` of input 0 reads.
    fn reduced_count(&self, node: &FNode, axes: &[usize]) -> Result<usize> {
        let Some(fg::Operand::Value(v)) = node.inputs.first() else {
            return Err(Self::err(node, "expected a dynamic input"));
        };
        let shape = &self.g.values[*v].shape;
        axes.iter().try_fold(1usize, |n, &a| match shape.get(a) {
            Some(fg::Dim::Fixed(d)) => Ok(n.saturating_mul(*d)),
            _ => Err(Self::err(node, "a reduced axis must have a fixed size")),
        })
    }
}
