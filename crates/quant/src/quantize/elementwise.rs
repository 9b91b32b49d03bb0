//! Lowering elementwise arithmetic with broadcasting: `Add` and `Sub` (both operands rescaled
//! onto the output scale by multipliers sharing one shift) and `Mul` (one requantization of the
//! product).

use super::{Builder, kind_range, multiplier};
use crate::Result;
use vouch_model::{Op, Requant};
use vouch_onnx::graph::FNode;

impl Builder<'_> {
    /// `Add`: `ma · a + mb · b`, shifted onto the output scale.
    pub(super) fn add(&mut self, node: &FNode, name: String) -> Result<()> {
        self.add_sub(node, name, false)
    }

    /// `Sub`: an `Add` whose second multiplier is negated.
    pub(super) fn sub(&mut self, node: &FNode, name: String) -> Result<()> {
        self.add_sub(node, name, true)
    }

    /// `Mul`: the product requantized onto the output scale.
    pub(super) fn mul(&mut self, node: &FNode, name: String) -> Result<()> {
        let (a, sa) = self.operand(node, &node.inputs[0], None)?;
        let (b, sb) = self.operand(node, &node.inputs[1], None)?;
        let s_z = self.act_scale(self.ranges[node.output]);
        let (m, s) =
            multiplier(sa * sb / s_z).ok_or_else(|| Self::err(node, "ratio out of range"))?;
        let act = self.act();
        let q = self.bind(node, node.output, act, s_z)?;
        let (lo, hi) = kind_range(act);
        self.push(
            node,
            name,
            Op::Mul {
                rq: Requant { m, s, lo, hi },
            },
            vec![a, b],
            q.id,
        );
        Ok(())
    }

    /// An `Add` op for `a + b`, or `a - b` when `negate` is set.
    fn add_sub(&mut self, node: &FNode, name: String, negate: bool) -> Result<()> {
        let (a, sa) = self.operand(node, &node.inputs[0], None)?;
        let (b, sb) = self.operand(node, &node.inputs[1], None)?;
        let s_z = self.act_scale(self.ranges[node.output]);
        let (ra, rb) = (sa / s_z, sb / s_z);
        let (_, s) =
            multiplier(ra.max(rb)).ok_or_else(|| Self::err(node, "rescale ratio out of range"))?;
        let p = f64::from(2u32).powi(s as i32);
        let (ma, mut mb) = ((ra * p).round() as i64, (rb * p).round() as i64);
        if negate {
            mb = -mb;
        }
        let act = self.act();
        let q = self.bind(node, node.output, act, s_z)?;
        let (lo, hi) = kind_range(act);
        let rq = Requant { m: 1, s, lo, hi };
        self.push(node, name, Op::Add { ma, mb, rq }, vec![a, b], q.id);
        Ok(())
    }
}
