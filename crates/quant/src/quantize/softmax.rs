//! Lowering `Softmax`, two ways.
//!
//! At 8 bits, and at 16 bits over slices neither form below takes (a long slice on an axis not
//! last, of a prime length, or longer than 65,535), it is the `Softmax` op: an index
//! requantization into a 256-entry `exp` table, output `act8` at scale 1/127 (half a step is
//! 0.0039 of probability).
//!
//! Any other 16-bit `Softmax` (a classifier's probabilities, a transformer's attention weights)
//! is built from ops that already take 16-bit tables, so a probability is good to about 3e-4
//! instead ([`Builder::fine_softmax`]): the slice maximum (`Reduce max`), the differences
//! `x - max` onto a [`FINE_EXP_WINDOW`]-wide window (`Sub`), `exp` by a 65536-entry `Lut`, their
//! sum (`Reduce sum`), its reciprocal by a second 65536-entry `Lut`, and the product (`Mul`).
//! No op is added to the semantics: the engine, the circuit and the one-step verifier already
//! check each of them. Over a slice longer than `MAX_REDUCE_SPAN` (a recognizer's thousands of
//! classes) the maximum, the sum and the reciprocal take the forms of [`super::softmax_long`].

use super::{Builder, Precision, QVal, kind_range, multiplier};
use crate::Result;
use vouch_model::{Dim, Kind, Op, Operand, ReduceMode, Requant};
use vouch_onnx::graph::FNode;
use vouch_semantics::{ACT16_MAX, MAX_REDUCE_SPAN};

/// Softmax table step in logit units when the input is wide (the table spans `e^0 .. e^-16`).
const SOFTMAX_STEP: f64 = 16.0 / 255.0;

/// Logit units the fine `exp` table spans below the maximum: `e^-12 · 32767 < 0.2`, so every
/// difference further below rounds to a probability of 0 anyway.
const FINE_EXP_WINDOW: f64 = 12.0;

/// Logit units the `exp` tables of a slice longer than [`MAX_REDUCE_SPAN`] span: its sum counts
/// each difference down to `-20` (`n · e^-20 < 1.4e-4` of mass left out for `n` up to 65,535,
/// where a 12-wide window could leave out 1e-3 over 1,200 differences just below it).
const LONG_EXP_WINDOW: f64 = 20.0;

/// Entries of each fine table (semantics version 4 allows `2^16`).
const FINE_TABLE: i32 = 65_536;

impl Builder<'_> {
    /// `Softmax` along `axis`: the fine form at 16 bits when the reductions can span its
    /// slices, else the `Softmax` op.
    pub(super) fn softmax(&mut self, node: &FNode, name: String, axis: usize) -> Result<()> {
        if self.precision == Precision::Int16
            && (self.fine_softmax_fits(node, axis)? || self.long_softmax_fits(node, axis)?)
        {
            return self.fine_softmax(node, name, axis);
        }
        let x = self.input(node, 0)?;
        // Table step in logit units: the input's own step when it is fine enough (the
        // identity index map), else 16/255 so the table spans exp(0) .. exp(-16).
        let (step, rq) = if x.kind == Kind::Act8 && x.scale <= SOFTMAX_STEP {
            (x.scale, Requant::SOFTMAX_INDEX)
        } else {
            let (m, s) = multiplier(x.scale / SOFTMAX_STEP)
                .ok_or_else(|| Self::err(node, "softmax index ratio out of range"))?;
            (
                SOFTMAX_STEP,
                Requant {
                    m,
                    s,
                    lo: 0,
                    hi: 255,
                },
            )
        };
        let table: Vec<i32> = (0..256)
            .map(|k| libm::round(65536.0 * libm::exp(-(k as f64) * step)) as i32)
            .collect();
        let t = self.add_const(format!("{name}.exp"), 1.0, vec![256], table);
        let q = self.bind(node, node.output, Kind::Act8, 1.0 / 127.0)?;
        let op = Op::Softmax {
            axis: axis as u32,
            table: t,
            rq,
        };
        self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
        Ok(())
    }

    /// Whether the reductions of the fine form may span a slice along `axis`
    /// ([`vouch_semantics::MAX_REDUCE_SPAN`]; never the batch axis).
    fn fine_softmax_fits(&self, node: &FNode, axis: usize) -> Result<bool> {
        let x = self.input(node, 0)?;
        let shape = &self.values[x.id as usize].shape;
        if axis == 0 || shape[axis..].contains(&Dim::Batch) {
            return Ok(false);
        }
        // the same span the disputable modes bound (`vouch_task::modes`)
        Ok(vouch_model::slice_span(shape, axis)
            .is_some_and(|s| s <= vouch_semantics::MAX_REDUCE_SPAN))
    }

    /// `Softmax` along `axis` at 16 bits, from `Reduce`, `Sub`, `Lut` and `Mul`
    /// (module docs). Every intermediate is `act16`; the output is `act16` at `1/32767`.
    fn fine_softmax(&mut self, node: &FNode, name: String, axis: usize) -> Result<()> {
        let (lo, hi) = kind_range(Kind::Act16);
        let mut x = self.input(node, 0)?;
        if x.kind == Kind::Wide {
            // `Reduce` reads activations: the scores onto act16 at their calibrated range
            let scale = self.act_scale(self.range_of(node, 0)?);
            x = self.rescaled_input(node, Kind::Act16, scale, (lo, hi), "to_act16")?;
        }
        let m_id = self.slice_max(node, &name, axis, x);
        self.fine_normalize(node, name, axis, x, m_id, None)
    }

    /// `m = max_j x_j` along `axis` (kept), at `x`'s kind and scale: one `Reduce`, or a tree of
    /// them over a slice longer than a `Reduce` may span (`Builder::slice_max_tree`).
    fn slice_max(&mut self, node: &FNode, name: &str, axis: usize, x: QVal) -> u32 {
        let shape = &self.values[x.id as usize].shape;
        if matches!(shape.get(axis), Some(&Dim::Fixed(n)) if n as usize > MAX_REDUCE_SPAN) {
            return self.slice_max_tree(node, name, axis, x);
        }
        let mut kept = self.values[x.id as usize].shape.clone();
        if let Some(d) = kept.get_mut(axis) {
            *d = Dim::Fixed(1);
        }
        let (lo, hi) = kind_range(x.kind);
        let vname = format!("{name}/max");
        let id = self.new_value(vname.clone(), x.kind, x.scale, kept);
        let op = Op::Reduce {
            mode: ReduceMode::Max,
            axes: vec![axis as u32],
            keepdims: true,
            rq: Requant { m: 1, s: 0, lo, hi },
        };
        self.push(node, vname, op, vec![Operand::Value(x.id)], id);
        id
    }

    /// onnxruntime's `SOFTMAX_ZERO` along the last axis (`docs/semantics.md` section 5): the
    /// fine form over the scores whose integer is not 0, the others 0. With `q` the scores (the
    /// raw `wide` accumulator or tree sum, or an `act16` tensor):
    ///
    /// 1. `t = clamp(q, -1, 1)` (`Rescale` by 1), `nz = t · t` (`Mul`): exactly 1 where `q != 0`;
    /// 2. `xs`, the scores onto `act16` at their calibrated scale clamped to `±32767`;
    /// 3. `z = 32767 nz - 32767` (a `Linear` of weights `32767 I` and bias `-32767`) and
    ///    `u = xs + z` (`Add`): a zero score's entry is `-32767`, below every other;
    /// 4. the fine form from `m = max u` on, its `exp` values times `nz`.
    pub(super) fn softmax_zero(&mut self, node: &FNode, name: String, axis: usize) -> Result<()> {
        let q = self.input(node, 0)?;
        let shape = self.values[q.id as usize].shape.clone();
        let n = match shape.get(axis) {
            Some(&Dim::Fixed(n)) if axis + 1 == shape.len() => n as usize,
            _ => return Err(Self::err(node, "SOFTMAX_ZERO along a fixed last axis only")),
        };
        if self.precision != Precision::Int16 || !self.fine_softmax_fits(node, axis)? {
            return Err(Self::err(
                node,
                "SOFTMAX_ZERO needs 16-bit integers (--bits 16) and a slice a Reduce may span",
            ));
        }
        let (lo, hi) = kind_range(Kind::Act16);
        let rq = |lo, hi| Requant { m: 1, s: 0, lo, hi };
        let value = |b: &mut Self, suffix: &str, scale: f64| {
            let vname = format!("{name}/{suffix}");
            let id = b.new_value(vname.clone(), Kind::Act16, scale, shape.clone());
            (vname, id)
        };
        // 1. the mask of non-zero scores
        let (tname, t) = value(self, "sign", 1.0);
        let op = Op::Rescale { rq: rq(-1, 1) };
        self.push(node, tname, op, vec![Operand::Value(q.id)], t);
        let (mname, nz) = value(self, "nonzero", 1.0);
        let op = Op::Mul { rq: rq(lo, hi) };
        let ins = vec![Operand::Value(t), Operand::Value(t)];
        self.push(node, mname, op, ins, nz);
        // 2. the scores on act16
        let scale = match q.kind {
            Kind::Wide => self.act_scale(self.range_of(node, 0)?),
            _ => q.scale,
        };
        let xs = self.rescaled_input(node, Kind::Act16, scale, (-ACT16_MAX, hi), "to_act16")?;
        // 3. zero scores pushed to the bottom
        let c = ACT16_MAX;
        let w: Vec<i32> = (0..n * n)
            .map(|i| if i % (n + 1) == 0 { c } else { 0 })
            .collect();
        let weight = self.add_const(format!("{name}/offset.weight"), 1.0, vec![n, n], w);
        let bias = self.add_const(format!("{name}/offset.bias"), 1.0, vec![n], vec![-c; n]);
        let (zname, z) = value(self, "offset", xs.scale);
        let op = Op::Linear {
            weight,
            bias: Some(bias),
            rq: rq(lo, hi),
            wide: false,
        };
        self.push(node, zname, op, vec![Operand::Value(nz)], z);
        let (uname, u) = value(self, "masked", xs.scale);
        let op = Op::Add {
            ma: 1,
            mb: 1,
            rq: rq(lo, hi),
        };
        let ins = vec![Operand::Value(xs.id), Operand::Value(z)];
        self.push(node, uname, op, ins, u);
        // 4. the fine form over the non-zero scores
        let u = QVal {
            id: u,
            scale: xs.scale,
            kind: Kind::Act16,
        };
        let m_id = self.slice_max(node, &name, axis, u);
        self.fine_normalize(node, name, axis, u, m_id, Some(nz))
    }

    /// The fine form's steps after the maximum `m` (`m_id`, kept axis) of `x` along `axis`:
    /// `d = x - m` on the exp window, `e = exp(d)` (times the 0/1 `mask` when given), their
    /// sum, its reciprocal and the product, bound to the node's output at `1/32767`.
    fn fine_normalize(
        &mut self,
        node: &FNode,
        name: String,
        axis: usize,
        x: QVal,
        m_id: u32,
        mask: Option<u32>,
    ) -> Result<()> {
        let lim = f64::from(ACT16_MAX);
        let (lo, hi) = kind_range(Kind::Act16);
        let shape = self.values[x.id as usize].shape.clone();
        let Some(&Dim::Fixed(n)) = shape.get(axis) else {
            return Err(Self::err(node, "softmax axis must have a fixed size"));
        };
        let mut kept = shape.clone();
        kept[axis] = Dim::Fixed(1);
        let value = |b: &mut Self, suffix: &str, scale: f64, shape: &[Dim]| {
            let vname = format!("{name}/{suffix}");
            let id = b.new_value(vname.clone(), Kind::Act16, scale, shape.to_vec());
            (vname, id)
        };

        // d = x - m <= 0, on the window's lower half: 32768 steps over FINE_EXP_WINDOW logits
        // (LONG_EXP_WINDOW over a long slice, whose sum counts the tail)
        let long = n as usize > MAX_REDUCE_SPAN;
        let window = if long {
            LONG_EXP_WINDOW
        } else {
            FINE_EXP_WINDOW
        };
        let step = window / f64::from(FINE_TABLE / 2);
        let (_, s) = multiplier(x.scale / step)
            .ok_or_else(|| Self::err(node, "softmax difference ratio out of range"))?;
        let ma = (x.scale / step * f64::from(2u32).powi(s as i32)).round() as i64;
        let (dname, d_id) = value(self, "diff", step, &shape);
        let rq = Requant { m: 1, s, lo, hi };
        let op = Op::Add { ma, mb: -ma, rq };
        let ins = vec![Operand::Value(x.id), Operand::Value(m_id)];
        self.push(node, dname, op, ins, d_id);

        // e = exp(d) at 1/32767 (e = 1 at the maximum)
        let half = FINE_TABLE / 2;
        let exp: Vec<i32> = (-half..half)
            .map(|i| (libm::exp(f64::from(i.min(0)) * step) * lim).round() as i32)
            .collect();
        let (ename, e_id) = value(self, "exp", 1.0 / lim, &shape);
        self.push_table(node, ename, d_id, exp, e_id);
        let e_id = match mask {
            // e · mask, exact: the mask is 0 or 1 at scale 1
            Some(mask) => {
                let (zname, z_id) = value(self, "exp_nonzero", 1.0 / lim, &shape);
                let op = Op::Mul {
                    rq: Requant { m: 1, s: 0, lo, hi },
                };
                let ins = vec![Operand::Value(e_id), Operand::Value(mask)];
                self.push(node, zname, op, ins, z_id);
                z_id
            }
            None => e_id,
        };

        let r_id = if long {
            if mask.is_some() {
                return Err(Self::err(node, "SOFTMAX_ZERO over a slice longer than 224"));
            }
            self.long_reciprocal(node, &name, (d_id, step), &kept, n as usize)?
        } else {
            self.short_reciprocal(node, &name, axis, e_id, &kept, n)?
        };

        // p = e · r at 1/32767
        let (m, s) = multiplier(1.0 / lim)
            .ok_or_else(|| Self::err(node, "softmax product ratio out of range"))?;
        let q = self.bind(node, node.output, Kind::Act16, 1.0 / lim)?;
        let op = Op::Mul {
            rq: Requant { m, s, lo, hi },
        };
        let ins = vec![Operand::Value(e_id), Operand::Value(r_id)];
        self.push(node, name, op, ins, q.id);
        Ok(())
    }

    /// `r = 1 / Σ_j e_j` along `axis` (kept at 1, shape `kept`) of the `exp` values `e_id` over
    /// `n <= MAX_REDUCE_SPAN` elements, at `1/32767`: the sum by one `Reduce` at `n/32767`, its
    /// reciprocal by a 65536-entry `Lut`.
    fn short_reciprocal(
        &mut self,
        node: &FNode,
        name: &str,
        axis: usize,
        e_id: u32,
        kept: &[Dim],
        n: u32,
    ) -> Result<u32> {
        let lim = f64::from(ACT16_MAX);
        let (lo, hi) = kind_range(Kind::Act16);
        let half = FINE_TABLE / 2;
        let axes = vec![axis as u32];
        let value = |b: &mut Self, suffix: &str, scale: f64| {
            let vname = format!("{name}/{suffix}");
            let id = b.new_value(vname.clone(), Kind::Act16, scale, kept.to_vec());
            (vname, id)
        };
        // sum = Σ_j e_j in [1, n], at n/32767
        let s_sum = n as f64 / lim;
        let (m, s) = multiplier((1.0 / lim) / s_sum)
            .ok_or_else(|| Self::err(node, "softmax sum ratio out of range"))?;
        let (sname, sum_id) = value(self, "sum", s_sum);
        let op = Op::Reduce {
            mode: ReduceMode::Sum,
            axes,
            keepdims: true,
            rq: Requant { m, s, lo, hi },
        };
        self.push(node, sname, op, vec![Operand::Value(e_id)], sum_id);

        // r = 1 / sum in [1/n, 1], at 1/32767
        let recip: Vec<i32> = (-half..half)
            .map(|c| {
                if c <= 0 {
                    ACT16_MAX
                } else {
                    (lim / (f64::from(c) * s_sum)).round().min(lim) as i32
                }
            })
            .collect();
        let (rname, r_id) = value(self, "recip", 1.0 / lim);
        self.push_table(node, rname, sum_id, recip, r_id);

        Ok(r_id)
    }

    /// Pushes `Lut { table }` from value `x` into the fresh value `out`, named `name`.
    pub(super) fn push_table(
        &mut self,
        node: &FNode,
        name: String,
        x: u32,
        table: Vec<i32>,
        out: u32,
    ) {
        let t = self.add_const(format!("{name}.table"), 1.0, vec![table.len()], table);
        let op = Op::Lut { table: t };
        self.push(node, name, op, vec![Operand::Value(x)], out);
    }
}
