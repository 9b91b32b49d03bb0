//! Lowering data movement: `Reshape`, `Transpose`, `Select`, `Gather` and `Pad` keep the input's kind and scale
//! (`Pad`'s value quantized at that scale); `Concat` brings every operand to the largest
//! operand scale (an inserted `Rescale` node for each operand at another scale) and, with more
//! than [`MAX_CONCAT_INPUTS`] operands, becomes a tree of `Concat`s of at most that many each.

use super::{Builder, QVal, kind_range, multiplier};
use crate::Result;
use vouch_model::{Dim, Kind, MAX_CONCAT_INPUTS, Op, Operand, PadMode, Requant};
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
        let ins = self.concat_groups(node, &name, axis, ins, q)?;
        self.push(node, name, Op::Concat { axis: axis as u32 }, ins, q.id);
        Ok(())
    }

    /// The operands of `Concat` `node` (output `out`) along `axis` brought to at most
    /// [`MAX_CONCAT_INPUTS`]: while there are more, consecutive runs of them (as even as can
    /// be, at most that many each) are concatenated first, each run by a `Concat` of its own
    /// (the output's kind and scale). A `Concat` element's one-step check takes a window of
    /// every input (about 29k gas an input), so this bounds it; concatenating runs in order
    /// along the same axis gives the same tensor, bit for bit. A `Concat` along the batch
    /// axis keeps its operands (`check_mode` refuses it for disputes when they are too many).
    fn concat_groups(
        &mut self,
        node: &FNode,
        name: &str,
        axis: usize,
        mut ins: Vec<Operand>,
        out: QVal,
    ) -> Result<Vec<Operand>> {
        let template = self.values[out.id as usize].shape.clone();
        let mut level = 0;
        while ins.len() > MAX_CONCAT_INPUTS {
            let Some(sizes) = ins
                .iter()
                .map(|o| self.size_along(o, axis))
                .collect::<Option<Vec<u32>>>()
            else {
                return Ok(ins);
            };
            let groups = ins.len().div_ceil(MAX_CONCAT_INPUTS);
            let (base, extra) = (ins.len() / groups, ins.len() % groups);
            let mut next = Vec::with_capacity(groups);
            let mut at = 0;
            for g in 0..groups {
                let len = base + usize::from(g < extra);
                let along = sizes[at..at + len]
                    .iter()
                    .try_fold(0u32, |sum, &n| sum.checked_add(n))
                    .ok_or_else(|| Self::err(node, "Concat size along its axis past u32"))?;
                let mut shape = template.clone();
                let Some(d) = shape.get_mut(axis) else {
                    return Err(Self::err(node, "Concat axis past the output's rank"));
                };
                *d = Dim::Fixed(along);
                let gname = format!("{name}/cat{level}.{g}");
                let id = self.new_value(gname.clone(), out.kind, out.scale, shape);
                let op = Op::Concat { axis: axis as u32 };
                self.push(node, gname, op, ins[at..at + len].to_vec(), id);
                next.push(Operand::Value(id));
                at += len;
            }
            ins = next;
            level += 1;
        }
        Ok(ins)
    }

    /// Operand `o`'s size along `axis`; `None` when that is the batch (or past its rank).
    fn size_along(&self, o: &Operand, axis: usize) -> Option<u32> {
        match o {
            Operand::Value(v) => match self.values.get(*v as usize)?.shape.get(axis)? {
                Dim::Fixed(n) => Some(*n),
                Dim::Batch => None,
            },
            Operand::Const(c) => self.consts.get(*c as usize)?.shape.get(axis).copied(),
        }
    }
}
