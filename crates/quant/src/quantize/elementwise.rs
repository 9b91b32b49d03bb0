//! Lowering elementwise arithmetic with broadcasting: `Add` and `Sub` (both operands rescaled
//! onto the output scale by multipliers sharing one shift) and `Mul` (one requantization of the
//! product); n-ary `Max` and `Min` on one common scale.

use super::{Builder, kind_range, multiplier};
use crate::Result;
use vouch_model::{Op, Operand, Requant};
use vouch_onnx::graph::{self as fg, FNode};

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
        let ((a, sa), (b, sb)) = match self.mul_folded(node)? {
            Some(ab) => ab,
            None => (
                self.operand(node, &node.inputs[0], None)?,
                self.operand(node, &node.inputs[1], None)?,
            ),
        };
        let s_z = self.value_scale(node.output);
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

    /// The operands of a `Mul` of a graph input with feature scales by a constant: the input
    /// read at scale 1, the constant with the scales folded in (`features.rs`).
    #[allow(clippy::type_complexity)]
    fn mul_folded(&mut self, node: &FNode) -> Result<Option<((Operand, f64), (Operand, f64))>> {
        for (i, j) in [(0, 1), (1, 0)] {
            let (Some(fs), Some(fg::Operand::Const(c))) =
                (self.feature_scales_of(node, i), node.inputs.get(j))
            else {
                continue;
            };
            let (fs, c) = (fs.to_vec(), *c);
            let x = self.input(node, i)?;
            let folded = self.mul_const_folded(node, c, &fs);
            let x = (Operand::Value(x.id), 1.0);
            return Ok(Some(if i == 0 { (x, folded) } else { (folded, x) }));
        }
        Ok(None)
    }

    /// An `Add` op for `a + b`, or `a - b` when `negate` is set.
    fn add_sub(&mut self, node: &FNode, name: String, negate: bool) -> Result<()> {
        if self.add_on_grid(node) {
            return self.add_sub_pinned(node, name, negate);
        }
        let (a, sa) = self.operand(node, &node.inputs[0], None)?;
        let (b, sb) = self.operand(node, &node.inputs[1], None)?;
        let s_z = self.value_scale(node.output);
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

impl Builder<'_> {
    /// [`Builder::add_sub`] writing or reading a pre-quantized model's grid (`pin.rs`): a
    /// constant operand at its own range (no headroom), the output (or its fused `Relu`/`Clip`)
    /// at the grid's scale and bounds when it writes one (else as [`Builder::act_target`]
    /// gives), and the finest shift that keeps both multipliers below `2^31`.
    fn add_sub_pinned(&mut self, node: &FNode, name: String, negate: bool) -> Result<()> {
        let lim = f64::from(self.lim());
        let mut ins = Vec::with_capacity(2);
        for o in node.inputs.iter().take(2) {
            let hint = match *o {
                fg::Operand::Const(c) => {
                    let r = self.g.consts[c]
                        .data
                        .iter()
                        .fold(0f32, |m, v| m.max(v.abs()));
                    (r > 0.0).then(|| f64::from(r) / lim)
                }
                fg::Operand::Value(_) => None,
            };
            ins.push(self.operand(node, o, hint)?);
        }
        let [(a, sa), (b, sb)] = ins[..] else {
            return Err(Self::err(node, "expected two operands"));
        };
        let (target, s_z, lo, hi) = self.act_target(node.output);
        let (ra, rb) = (sa / s_z, sb / s_z);
        let bad = || Self::err(node, "rescale ratio out of range");
        let s = (0..=62u32)
            .rev()
            .find(|&s| (ra.max(rb) * f64::from(2u32).powi(s as i32)).round() < 2_147_483_648.0)
            .ok_or_else(bad)?;
        let p = f64::from(2u32).powi(s as i32);
        let (ma, mut mb) = ((ra * p).round() as i64, (rb * p).round() as i64);
        if negate {
            mb = -mb;
        }
        let q = self.bind(node, target, self.target_kind(target), s_z)?;
        let rq = Requant { m: 1, s, lo, hi };
        self.push(node, name, Op::Add { ma, mb, rq }, vec![a, b], q.id);
        Ok(())
    }

    /// `Max` (`is_max`) or `Min` of the dynamic operands on one scale: the output is the
    /// package's activation kind at `s_z = max_i s_i · L_i / L` (`L_i` the largest value of
    /// operand `i`'s kind, `L` of the output kind: the coarsest operand's step, so no
    /// operand's range is clipped); an operand already of that kind and scale is read as it
    /// is, any other goes through a `Rescale` by `M / 2^s ≈ s_i / s_z` first.
    pub(super) fn min_max(&mut self, node: &FNode, name: String, is_max: bool) -> Result<()> {
        let act = self.act();
        let lim = f64::from(self.lim());
        let mut xs = Vec::with_capacity(node.inputs.len());
        for i in 0..node.inputs.len() {
            xs.push(self.input(node, i)?);
        }
        let mut s_z = 0f64;
        for x in &xs {
            let (_, hi) = x
                .kind
                .act_range()
                .ok_or_else(|| Self::err(node, "operand is not an activation tensor"))?;
            s_z = s_z.max(x.scale * f64::from(hi) / lim);
        }
        let (lo, hi) = kind_range(act);
        let mut ins = Vec::with_capacity(xs.len());
        for (i, x) in xs.iter().enumerate() {
            if x.kind == act && x.scale == s_z {
                ins.push(Operand::Value(x.id));
                continue;
            }
            let (m, s) = multiplier(x.scale / s_z)
                .ok_or_else(|| Self::err(node, "rescale ratio out of range"))?;
            let rname = format!("{name}/rescale{i}");
            let shape = self.values[x.id as usize].shape.clone();
            let rid = self.new_value(rname.clone(), act, s_z, shape);
            let rq = Requant { m, s, lo, hi };
            self.push(
                node,
                rname,
                Op::Rescale { rq },
                vec![Operand::Value(x.id)],
                rid,
            );
            ins.push(Operand::Value(rid));
        }
        let q = self.bind(node, node.output, act, s_z)?;
        let op = if is_max { Op::Max } else { Op::Min };
        self.push(node, name, op, ins, q.id);
        Ok(())
    }
}

/// `op` on `ins` with a constant operand second, as every checker reads an `Add`
/// (`docs/semantics.md` section 3): `Add(c, x)` with multipliers `(ma, mb)` is `Add(x, c)`
/// with `(mb, ma)`; `Mul` commutes as it is.
pub(super) fn constant_second(op: Op, mut ins: Vec<Operand>) -> (Op, Vec<Operand>) {
    match (op, ins.as_slice()) {
        (Op::Add { ma, mb, rq }, [Operand::Const(_), Operand::Value(_)]) => {
            ins.swap(0, 1);
            (Op::Add { ma: mb, mb: ma, rq }, ins)
        }
        (op @ Op::Mul { .. }, [Operand::Const(_), Operand::Value(_)]) => {
            ins.swap(0, 1);
            (op, ins)
        }
        (op, _) => (op, ins),
    }
}
