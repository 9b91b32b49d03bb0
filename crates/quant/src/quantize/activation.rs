//! Lowering elementwise activations: `Relu` and `Clip` (a clamp at the input's scale, unless
//! fused into the producing node), `LeakyRelu` (a multiplier for the negative slope), and
//! `Sigmoid`/`Tanh` as a 256-entry `Lut` on an `act8` input.

use super::{Builder, clamp_bounds, kind_range, multiplier};
use crate::Result;
use vouch_model::{Kind, Op, Operand, Requant};
use vouch_onnx::graph::FNode;
use vouch_semantics::{ACT_MAX, ACT_MIN};

impl Builder<'_> {
    /// `Relu`, at the input's kind and scale.
    pub(super) fn relu(&mut self, node: &FNode, name: String) -> Result<()> {
        let x = self.input(node, 0)?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        self.push(node, name, Op::Relu, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// `Clip` to `[min, max]` quantized at the input's scale, at the input's kind and scale.
    pub(super) fn clip(&mut self, node: &FNode, name: String, min: f32, max: f32) -> Result<()> {
        let x = self.input(node, 0)?;
        let (lo, hi) = clamp_bounds(min, max, x.scale, x.kind);
        let op = Op::Clip { lo, hi };
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// `LeakyRelu`: `alpha` as a multiplier and shift.
    pub(super) fn leaky_relu(&mut self, node: &FNode, name: String, alpha: f32) -> Result<()> {
        let x = self.input(node, 0)?;
        let (m, s) = multiplier(f64::from(alpha))
            .ok_or_else(|| Self::err(node, "LeakyRelu needs alpha > 0"))?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        let (lo, hi) = kind_range(x.kind);
        let rq = Requant { m, s, lo, hi };
        self.push(
            node,
            name,
            Op::LeakyRelu { rq },
            vec![Operand::Value(x.id)],
            q.id,
        );
        Ok(())
    }

    /// `Sigmoid` as a table.
    pub(super) fn sigmoid(&mut self, node: &FNode, name: String) -> Result<()> {
        self.lut(node, name, |v| 1.0 / (1.0 + libm::expf(-v)))
    }

    /// `Tanh` as a table.
    pub(super) fn tanh(&mut self, node: &FNode, name: String) -> Result<()> {
        self.lut(node, name, libm::tanhf)
    }

    /// A `Lut` of `f` over the 256 steps of the `act8` input, output `act8` at scale 1/127.
    fn lut(&mut self, node: &FNode, name: String, f: fn(f32) -> f32) -> Result<()> {
        let x = self.act8_input(node)?;
        let table: Vec<i32> = (-128..=127)
            .map(|i| {
                let v = i as f32 * x.scale as f32;
                let y = f(v);
                (libm::roundf(y * 127.0) as i32).clamp(ACT_MIN, ACT_MAX)
            })
            .collect();
        let t = self.add_const(format!("{name}.table"), 1.0, vec![256], table);
        let q = self.bind(node, node.output, Kind::Act8, 1.0 / 127.0)?;
        self.push(
            node,
            name,
            Op::Lut { table: t },
            vec![Operand::Value(x.id)],
            q.id,
        );
        Ok(())
    }
}
