//! Lowering data movement: `Reshape`, `Transpose`, `Select`, `Gather` and `Pad` keep the input's kind and scale
//! (`Pad`'s value quantized at that scale); `Concat` brings every operand to the largest
//! operand scale (an inserted `Rescale` node for each operand at another scale).

use super::{Builder, kind_range, multiplier};
use crate::Result;
use vouch_model::{Kind, Op, Operand, PadMode, Requant};
use vouch_onnx::graph::{self as fg, FNode};

impl Builder<'_> {
    /// `Reshape`.
    pub(super) fn reshape(&mut self, node: &FNode, name: String) -> Result<()> {
        let x = self.input(node, 0)?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        self.push(node, name, Op::Reshape, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// `Transpose` by `perm`.
    pub(super) fn transpose(&mut self, node: &FNode, name: String, perm: &[usize]) -> Result<()> {
        let x = self.input(node, 0)?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        let op = Op::Transpose {
            perm: perm.iter().map(|&p| p as u32).collect(),
        };
        self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// `Select` by per-axis index maps.
    pub(super) fn select(&mut self, node: &FNode, name: String, maps: &[Vec<usize>]) -> Result<()> {
        let x = self.input(node, 0)?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        let maps = maps
            .iter()
            .map(|m| m.iter().map(|&i| u32::try_from(i)).collect())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Self::err(node, "an index past u32"))?;
        self.push(
            node,
            name,
            Op::Select { maps },
            vec![Operand::Value(x.id)],
            q.id,
        );
        Ok(())
    }

    /// `Gather` by computed indices: a computed data tensor keeps its kind and scale; a
    /// constant table is stored at the package's activation width at its own scale (its
    /// largest magnitude at the kind's limit), which the output keeps. The indices are read
    /// as they are: an `index` tensor, or an exact integer input (an activation at scale 1).
    pub(super) fn gather(&mut self, node: &FNode, name: String, axis: usize) -> Result<()> {
        let idx = self.input(node, 1)?;
        if idx.kind != Kind::Index && !(idx.kind.act_range().is_some() && idx.scale == 1.0) {
            return Err(Self::err(
                node,
                "Gather's indices are not exact integers (an index or an integer input)",
            ));
        }
        let (data, kind, scale) = match node.inputs.first() {
            Some(fg::Operand::Value(_)) => {
                let x = self.input(node, 0)?;
                (Operand::Value(x.id), x.kind, x.scale)
            }
            Some(c @ fg::Operand::Const(_)) => {
                let (op, scale) = self.operand(node, c, None)?;
                (op, self.act(), scale)
            }
            None => return Err(Self::err(node, "Gather has no data")),
        };
        let q = self.bind(node, node.output, kind, scale)?;
        let op = Op::Gather {
            axis: u32::try_from(axis).map_err(|_| Self::err(node, "axis past u32"))?,
        };
        self.push(node, name, op, vec![data, Operand::Value(idx.id)], q.id);
        Ok(())
    }

    /// `Pad`: the input's kind and scale; the constant `value` rounded at that scale (half away
    /// from zero) and clamped to the kind's range.
    pub(super) fn pad(
        &mut self,
        node: &FNode,
        name: String,
        mode: PadMode,
        pads: &[usize],
        value: f32,
    ) -> Result<()> {
        let x = self.input(node, 0)?;
        let Some((lo, hi)) = x.kind.act_range() else {
            return Err(Self::err(node, "Pad of a tensor that is not an activation"));
        };
        let value = if mode == PadMode::Constant {
            let q = (f64::from(value) / x.scale).round();
            if q.is_nan() {
                0
            } else {
                q.clamp(f64::from(lo), f64::from(hi)) as i32
            }
        } else {
            0
        };
        let pads = pads
            .iter()
            .map(|&p| u32::try_from(p).map_err(|_| Self::err(node, "pad too large")))
            .collect::<Result<Vec<_>>>()?;
        let q = self.bind(node, node.output, x.kind, x.scale)?;
        let op = Op::Pad { mode, pads, value };
        self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// `Concat` along `axis`.
    pub(super) fn concat(&mut self, node: &FNode, name: String, axis: usize) -> Result<()> {
        let target = node
            .inputs
            .iter()
            .filter_map(|o| {
                if let fg::Operand::Value(v) = o {
                    self.map[*v].map(|q| q.scale)
                } else {
                    None
                }
            })
            .fold(0f64, f64::max);
        let target = if target > 0.0 {
            target
        } else {
            self.act_scale(self.ranges[node.output])
        };
        let act = self.act();
        let (lo, hi) = kind_range(act);
        let mut ins = Vec::new();
        for (i, o) in node.inputs.iter().enumerate() {
            let (op, s) = self.operand(node, o, Some(target))?;
            if (s - target).abs() <= f64::EPSILON * target {
                ins.push(op);
                continue;
            }
            let (m, sh) = multiplier(s / target)
                .ok_or_else(|| Self::err(node, "rescale ratio out of range"))?;
            let Operand::Value(id) = op else {
                unreachable!("constants are quantized at the target scale")
            };
            let shape = self.values[id as usize].shape.clone();
            let rid = self.new_value(format!("{name}/rescale{i}"), act, target, shape);
            let rq = Requant { m, s: sh, lo, hi };
            self.push(
                node,
                format!("{name}/rescale{i}"),
                Op::Rescale { rq },
                vec![op],
                rid,
            );
            ins.push(Operand::Value(rid));
        }
        let q = self.bind(node, node.output, act, target)?;
        self.push(node, name, Op::Concat { axis: axis as u32 }, ins, q.id);
        Ok(())
    }
}
