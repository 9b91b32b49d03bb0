//! Lowering dense products: `Linear` (a constant weight, quantized per output channel where
//! that pays ([`Builder::per_channel`]), else per tensor with an
//! `i32` bias at the accumulator scale) and `MatMul` of two activations; both bound their
//! accumulator (section 4) and bind a wide or requantized output ([`Builder::accum_output`]).

use super::{Builder, accumulator_bound};
use crate::Result;
use vouch_model::{Op, Operand};
use vouch_onnx::graph::{self as fg, FNode};

impl Builder<'_> {
    /// `Linear`: `x · wᵀ + b`.
    pub(super) fn linear(
        &mut self,
        node: &FNode,
        name: String,
        weight: usize,
        bias: Option<usize>,
    ) -> Result<()> {
        let g = self.g;
        let x = self.input(node, 0)?;
        let k = g.consts[weight].shape.get(1).copied().unwrap_or(0);
        let limbs = self.limbs_of(node, 0);
        let plain = self.feature_scales_of(node, 0).is_none();
        if plain && let Some(gp) = self.grid_product(node, x, weight, bias)? {
            let op = Op::Linear {
                weight: gp.weight,
                bias: gp.bias,
                rq: gp.rq,
                wide: false,
            };
            self.push(node, name, op, vec![Operand::Value(x.id)], gp.out);
            return Ok(());
        }
        if plain && let Some(pc) = self.per_channel(node, x, weight, bias)? {
            let op = Op::Linear {
                weight: pc.weight,
                bias: Some(pc.bias),
                rq: pc.rq,
                wide: false,
            };
            self.push(node, name, op, vec![Operand::Value(x.id)], pc.out);
            return Ok(());
        }
        let (w, acc) = match self.feature_scales_of(node, 0).map(<[f64]>::to_vec) {
            // an input sent as two limbs per feature (features.rs)
            Some(fs) if limbs => self.weights_limbs(node, weight, &fs),
            // per-feature input scales fold into the weight columns (features.rs)
            Some(fs) => self.weights_folded(node, weight, &fs),
            None => {
                let (w, s_w) = self.weights(node, weight);
                (w, x.scale * s_w)
            }
        };
        let (b, bq) = self.bias(node, bias, acc)?;
        let k = k * if limbs { 2 } else { 1 };
        let bound = accumulator_bound(self.const_data(w), k, &bq, x.kind);
        let (rq, wide, out) = self.accum_output(node, acc, bound)?;
        self.push(
            node,
            name,
            Op::Linear {
                weight: w,
                bias: b,
                rq,
                wide,
            },
            vec![Operand::Value(x.id)],
            out,
        );
        Ok(())
    }

    /// `MatMul` of two operands (a constant one is quantized at its own scale).
    pub(super) fn matmul(&mut self, node: &FNode, name: String) -> Result<()> {
        let g = self.g;
        let (a, sa) = self.operand(node, &node.inputs[0], None)?;
        let (b, sb) = self.operand(node, &node.inputs[1], None)?;
        let mag = |o: &Operand| match *o {
            Operand::Value(v) => i128::from(self.values[v as usize].kind.magnitude()),
            Operand::Const(_) => i128::from(self.lim()) + 1,
        };
        let k = match node.inputs[0] {
            fg::Operand::Value(v) => match g.values[v].shape.last() {
                Some(fg::Dim::Fixed(k)) => *k as i128,
                _ => return Err(Self::err(node, "MatMul inner dimension must be fixed")),
            },
            fg::Operand::Const(c) => g.consts[c].shape.last().copied().unwrap_or(0) as i128,
        };
        let bound = k * mag(&a) * mag(&b);
        let (rq, wide, out) = self.accum_output(node, sa * sb, bound)?;
        self.push(node, name, Op::MatMul { rq, wide }, vec![a, b], out);
        Ok(())
    }
}
