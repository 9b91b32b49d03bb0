//! A `Concat` along the last axis of `Linear`s of one input, each possibly times a scalar
//! constant (`Mul`), lowered as one `Linear` of the stacked rows: `[c_1 (W_1 x + b_1), ..,
//! c_n (W_n x + b_n)]` is `[c_1 W_1; ..; c_n W_n] x + [c_1 b_1; ..; c_n b_n]`. skl2onnx
//! writes a binary linear SVM's scores as `Concat(score · -1, score)`: one `Linear` keeps the
//! scores a wide accumulator for the `ArgMax` and the graph output (section 5 of
//! `docs/semantics.md`) instead of an `act16` step of their range, and a product by `-1`.
//!
//! Taken when the `Linear`s and `Mul`s are the last nodes emitted and nothing else reads
//! their outputs (as [`super::linear_scaler`] takes a `Scaler`); otherwise the `Concat` is
//! lowered as it is.

use crate::error::Result;
use crate::graph::{FOp, Operand, ValueId};
use crate::import::{Ctx, Importer, Sym};

/// One part of the `Concat`: the node index of its `Linear` and its factor.
struct Part {
    linear: usize,
    factor: f32,
}

impl Importer {
    /// The `Linear` behind value `v` (directly, or through one `Mul` by a scalar constant) and
    /// the node indices it took: `(part, nodes)`.
    fn linear_part(&self, v: ValueId) -> Option<(Part, Vec<usize>)> {
        let at = self.g.nodes.iter().rposition(|n| n.output == v)?;
        let node = &self.g.nodes[at];
        match (&node.op, node.inputs.as_slice()) {
            (FOp::Linear { .. }, _) => Some((
                Part {
                    linear: at,
                    factor: 1.0,
                },
                vec![at],
            )),
            (
                FOp::Mul,
                [Operand::Value(u), Operand::Const(c)] | [Operand::Const(c), Operand::Value(u)],
            ) => {
                let [f] = self.g.consts.get(*c)?.data[..] else {
                    return None;
                };
                let l = self.g.nodes.iter().rposition(|n| n.output == *u)?;
                matches!(self.g.nodes[l].op, FOp::Linear { .. }).then_some((
                    Part {
                        linear: l,
                        factor: f,
                    },
                    vec![at, l],
                ))
            }
            _ => None,
        }
    }

    /// Lowers the `Concat` (of `syms`, along `axis` of rank `rank`) as one `Linear` when its
    /// inputs are [`Importer::linear_part`]s of one input (module docs); whether it did.
    pub(super) fn concat_linears(
        &mut self,
        ctx: &Ctx<'_>,
        syms: &[Sym],
        axis: usize,
        rank: usize,
    ) -> Result<bool> {
        if syms.len() < 2 || axis + 1 != rank {
            return Ok(false);
        }
        let mut parts = Vec::with_capacity(syms.len());
        let mut taken: Vec<usize> = Vec::new();
        for s in syms {
            let Sym::Value(v) = s else {
                return Ok(false);
            };
            let Some((part, nodes)) = self.linear_part(*v) else {
                return Ok(false);
            };
            parts.push(part);
            taken.extend(nodes);
        }
        taken.sort_unstable();
        taken.dedup();
        // the taken nodes are the last emitted ones
        let start = self.g.nodes.len().saturating_sub(taken.len());
        if !taken.iter().copied().eq(start..self.g.nodes.len()) {
            return Ok(false);
        }
        // one input x, and nothing outside the Concat and the taken nodes reads their outputs
        let x = self.g.nodes[parts[0].linear].inputs.first().copied();
        let mut refs: Vec<(ValueId, usize)> = Vec::new();
        let mut count = |v: ValueId| match refs.iter_mut().find(|(r, _)| *r == v) {
            Some((_, c)) => *c += 1,
            None => refs.push((v, 1)),
        };
        for s in syms {
            if let Sym::Value(v) = s {
                count(*v);
            }
        }
        for &t in &taken {
            let node = &self.g.nodes[t];
            if matches!(node.op, FOp::Linear { .. }) && node.inputs.first().copied() != x {
                return Ok(false);
            }
            if matches!(node.op, FOp::Mul) {
                for i in &node.inputs {
                    if let Operand::Value(v) = i {
                        count(*v);
                    }
                }
            }
        }
        for &t in &taken {
            let v = self.g.nodes[t].output;
            let name = &self.g.values[v].name;
            let reads = refs.iter().find(|(r, _)| *r == v).map_or(0, |(_, c)| *c);
            if self.uses.get(name).copied() != Some(reads) {
                return Ok(false);
            }
        }
        let Some(Operand::Value(x)) = x else {
            return Ok(false);
        };
        let (mut w, mut b, mut k) = (Vec::new(), Vec::new(), None);
        for p in &parts {
            let FOp::Linear { weight, bias } = self.g.nodes[p.linear].op else {
                return Ok(false);
            };
            let wc = &self.g.consts[weight];
            let [rows, cols] = wc.shape[..] else {
                return Ok(false);
            };
            if k.is_some_and(|k| k != cols) {
                return Ok(false);
            }
            k = Some(cols);
            w.extend(wc.data.iter().map(|v| v * p.factor));
            match bias.map(|c| &self.g.consts[c].data) {
                Some(d) => b.extend(d.iter().map(|v| v * p.factor)),
                None => b.extend(std::iter::repeat_n(0.0, rows)),
            }
        }
        let (Some(k), n) = (k, b.len()) else {
            return Ok(false);
        };
        let Some(out) = ctx.output(0).map(ToOwned::to_owned) else {
            return Ok(false);
        };
        self.g.nodes.truncate(start);
        let weight = self.new_const(ctx, "stacked", vec![n, k], w);
        let bias = self.new_const(ctx, "stacked_bias", vec![n], b);
        let y = self.linear(ctx, x, weight, n, k, Some(bias), Some(&out))?;
        self.set_out(ctx, 0, Sym::Value(y))?;
        Ok(true)
    }
}
