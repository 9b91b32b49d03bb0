//! One unrolled step of an `LSTM`, `GRU` or `RNN` cell (ONNX's equations, `⊙` elementwise):
//!
//! - LSTM: `i = f(Xi + H·Riᵀ + Pi⊙C)`, `f_ = f(Xf + H·Rfᵀ + Pf⊙C)`, `g = g(Xc + H·Rcᵀ)`,
//!   `C' = f_⊙C + i⊙g`, `o = f(Xo + H·Roᵀ + Po⊙C')`, `H' = o⊙h(C')`;
//! - GRU: `z = f(Xz + H·Rzᵀ)`, `r = f(Xr + H·Rrᵀ)`, `ĥ = g(Xh + (r⊙H)·Rhᵀ)` or, with
//!   `linear_before_reset`, `ĥ = g(Xh + r⊙(H·Rhᵀ + Rbh))`, `H' = ĥ + z⊙(H - ĥ)`;
//! - RNN: `H' = f(Xi + H·Riᵀ)`;
//!
//! where `Xk` is step `t` of gate `k`'s input product (its biases included). A zero initial
//! state drops its terms; a constant one is folded (`H·Rᵀ` computed at import).

use super::{CellKind, Geometry, State, Step, Weights};
use crate::error::Result;
use crate::graph::{Dim, FOp, Operand, ValueId};
use crate::import::{Ctx, Importer};

impl Importer {
    /// One step from the states `(h, c)`: the new hidden state, and the new cell state for an
    /// LSTM.
    #[expect(clippy::too_many_arguments, reason = "the step's whole context")]
    pub(super) fn cell_step(
        &mut self,
        ctx: &Ctx<'_>,
        kind: CellKind,
        geo: &Geometry,
        wt: &Weights,
        step: &Step<'_>,
        h: &State,
        c: &State,
    ) -> Result<(ValueId, Option<ValueId>)> {
        let mut cx = StepCx { ctx, geo, wt, step };
        match kind {
            CellKind::Lstm => self.lstm_step(&mut cx, h, c).map(|(h, c)| (h, Some(c))),
            CellKind::Gru {
                linear_before_reset,
            } => self
                .gru_step(&mut cx, h, linear_before_reset)
                .map(|h| (h, None)),
            CellKind::Rnn => {
                let pre = self.gate_pre(&mut cx, 0, h)?;
                let f = cx.act(0);
                let h = self.node(&cx, "h", f, vec![Operand::Value(pre)])?;
                Ok((h, None))
            }
        }
    }

    fn lstm_step(
        &mut self,
        cx: &mut StepCx<'_, '_>,
        h: &State,
        c: &State,
    ) -> Result<(ValueId, ValueId)> {
        let (fa, ga, ha) = (cx.act(0), cx.act(1), cx.act(2));
        // gates i, o, f, c; peepholes i, o, f
        let mut pre_i = self.gate_pre(cx, 0, h)?;
        let mut pre_f = self.gate_pre(cx, 2, h)?;
        let pre_c = self.gate_pre(cx, 3, h)?;
        if cx.wt.p.is_some() {
            pre_i = self.peephole(cx, pre_i, 0, c, "pi")?;
            pre_f = self.peephole(cx, pre_f, 2, c, "pf")?;
        }
        let i = self.node(cx, "i", fa.clone(), vec![Operand::Value(pre_i)])?;
        let f = self.node(cx, "f", fa.clone(), vec![Operand::Value(pre_f)])?;
        let g = self.node(cx, "g", ga, vec![Operand::Value(pre_c)])?;
        let ig = self.node(
            cx,
            "ig",
            FOp::Mul,
            vec![Operand::Value(i), Operand::Value(g)],
        )?;
        let fc = match c {
            State::Zero => None,
            State::Const(c0) => {
                let k = self.state_const(cx, "c0", c0.clone());
                Some(self.node(cx, "fc", FOp::Mul, vec![Operand::Value(f), k])?)
            }
            State::Value(cv) => Some(self.node(
                cx,
                "fc",
                FOp::Mul,
                vec![Operand::Value(f), Operand::Value(*cv)],
            )?),
        };
        let c_new = match fc {
            None => ig,
            Some(fc) => self.node(
                cx,
                "c",
                FOp::Add,
                vec![Operand::Value(fc), Operand::Value(ig)],
            )?,
        };
        let mut pre_o = self.gate_pre(cx, 1, h)?;
        if cx.wt.p.is_some() {
            pre_o = self.peephole(cx, pre_o, 1, &State::Value(c_new), "po")?;
        }
        let o = self.node(cx, "o", fa, vec![Operand::Value(pre_o)])?;
        let hc = self.node(cx, "hc", ha, vec![Operand::Value(c_new)])?;
        let h_new = self.node(
            cx,
            "h",
            FOp::Mul,
            vec![Operand::Value(o), Operand::Value(hc)],
        )?;
        Ok((h_new, c_new))
    }

    fn gru_step(&mut self, cx: &mut StepCx<'_, '_>, h: &State, lbr: bool) -> Result<ValueId> {
        let (fa, ga) = (cx.act(0), cx.act(1));
        let pre_z = self.gate_pre(cx, 0, h)?;
        let pre_r = self.gate_pre(cx, 1, h)?;
        let z = self.node(cx, "z", fa.clone(), vec![Operand::Value(pre_z)])?;
        let r = self.node(cx, "r", fa, vec![Operand::Value(pre_r)])?;
        let xh = self.x_at(cx, 2)?;
        let rec = if lbr {
            // r ⊙ (H·Rhᵀ + Rbh)
            match self.recurrent_term(cx, 2, h, true)? {
                None => None,
                Some(t) => Some(Operand::Value(self.node(
                    cx,
                    "rh",
                    FOp::Mul,
                    vec![Operand::Value(r), t],
                )?)),
            }
        } else {
            // (r ⊙ H)·Rhᵀ
            let rh = match h {
                State::Zero => None,
                State::Const(h0) => {
                    let k = self.state_const(cx, "h0", h0.clone());
                    Some(self.node(cx, "rh", FOp::Mul, vec![Operand::Value(r), k])?)
                }
                State::Value(v) => Some(self.node(
                    cx,
                    "rh",
                    FOp::Mul,
                    vec![Operand::Value(r), Operand::Value(*v)],
                )?),
            };
            match rh {
                None => None,
                Some(rh) => self.recurrent_term(cx, 2, &State::Value(rh), false)?,
            }
        };
        let pre_h = match rec {
            None => xh,
            Some(t) => self.node(cx, "pre2", FOp::Add, vec![Operand::Value(xh), t])?,
        };
        let cand = self.node(cx, "cand", ga, vec![Operand::Value(pre_h)])?;
        // H' = ĥ + z ⊙ (H - ĥ)
        let v = |v: ValueId| Operand::Value(v);
        match h {
            State::Value(hp) => {
                let d = self.node(cx, "diff", FOp::Sub, vec![v(*hp), v(cand)])?;
                let zd = self.node(cx, "zd", FOp::Mul, vec![v(z), v(d)])?;
                self.node(cx, "h", FOp::Add, vec![v(cand), v(zd)])
            }
            State::Zero | State::Const(_) => {
                let zc = self.node(cx, "zc", FOp::Mul, vec![v(z), v(cand)])?;
                let keep = self.node(cx, "keep", FOp::Sub, vec![v(cand), v(zc)])?;
                let State::Const(h0) = h else {
                    return Ok(keep);
                };
                let k = self.state_const(cx, "h0", h0.clone());
                let zh = self.node(cx, "zh", FOp::Mul, vec![v(z), k])?;
                self.node(cx, "h", FOp::Add, vec![v(keep), v(zh)])
            }
        }
    }

    /// Gate `k`'s pre-activation: its input product at step `t` plus `H·R_kᵀ`.
    fn gate_pre(&mut self, cx: &mut StepCx<'_, '_>, k: usize, h: &State) -> Result<ValueId> {
        let x = self.x_at(cx, k)?;
        match self.recurrent_term(cx, k, h, false)? {
            None => Ok(x),
            Some(t) => self.node(cx, &format!("pre{k}"), FOp::Add, vec![Operand::Value(x), t]),
        }
    }

    /// Step `t` of gate `k`'s input product (a `Select` along the sequence axis).
    fn x_at(&mut self, cx: &mut StepCx<'_, '_>, k: usize) -> Result<ValueId> {
        let xw = cx
            .step
            .xw
            .get(k)
            .copied()
            .ok_or_else(|| cx.ctx.shape_err("gate"))?;
        let mut maps = vec![None; 3];
        if let Some(m) = maps.get_mut(cx.geo.seq_axis()) {
            *m = Some(vec![cx.step.t]);
        }
        let name = format!("{}.{}", cx.ctx.name, cx.name(&format!("x{k}")));
        self.select_named(cx.ctx, xw, maps, &name)
    }

    /// `H·R_kᵀ`, plus the GRU's `Rb_h` when `with_bias` (and it is not zero): nothing for a
    /// zero state without bias, a constant for a constant state (or the bias alone), else a
    /// `Linear` of the state by the direction's shared `R_k`.
    fn recurrent_term(
        &mut self,
        cx: &mut StepCx<'_, '_>,
        k: usize,
        h: &State,
        with_bias: bool,
    ) -> Result<Option<Operand>> {
        let hh = cx.geo.hidden;
        let bias = cx.wt.rbh.as_ref().filter(|_| with_bias);
        match h {
            State::Zero => Ok(bias.map(|(_, id)| Operand::Const(*id))),
            State::Const(h0) => {
                let r = cx
                    .wt
                    .r
                    .get(k * hh * hh..(k + 1) * hh * hh)
                    .unwrap_or_default();
                let mut out = Vec::with_capacity(h0.len());
                for row in h0.chunks(hh.max(1)) {
                    for j in 0..hh {
                        let w = r.get(j * hh..(j + 1) * hh).unwrap_or_default();
                        let dot: f32 = w.iter().zip(row).map(|(a, b)| a * b).sum();
                        out.push(dot + bias.and_then(|(b, _)| b.get(j)).copied().unwrap_or(0.0));
                    }
                }
                Ok(Some(self.state_const(cx, &format!("hr{k}"), out)))
            }
            State::Value(v) => {
                let weight = cx
                    .wt
                    .r_ids
                    .get(k)
                    .copied()
                    .ok_or_else(|| cx.ctx.shape_err("gate"))?;
                let op = FOp::Linear {
                    weight,
                    bias: bias.map(|(_, id)| *id),
                };
                let t = self.node(cx, &format!("hr{k}"), op, vec![Operand::Value(*v)])?;
                Ok(Some(Operand::Value(t)))
            }
        }
    }

    /// `pre + P_k ⊙ c` (peephole `k` of `i, o, f`; nothing for a zero peephole or state).
    fn peephole(
        &mut self,
        cx: &mut StepCx<'_, '_>,
        pre: ValueId,
        k: usize,
        c: &State,
        tag: &str,
    ) -> Result<ValueId> {
        let hh = cx.geo.hidden;
        let Some(pk) = cx.wt.p_ids.get(k).copied().flatten() else {
            return Ok(pre);
        };
        let term = match c {
            State::Zero => return Ok(pre),
            State::Const(c0) => {
                let p = cx
                    .wt
                    .p
                    .as_ref()
                    .and_then(|p| p.get(k * hh..(k + 1) * hh))
                    .unwrap_or_default();
                let pc: Vec<f32> = c0
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| v * p.get(i % hh.max(1)).copied().unwrap_or(0.0))
                    .collect();
                self.state_const(cx, tag, pc)
            }
            State::Value(cv) => {
                let ins = vec![Operand::Value(*cv), Operand::Const(pk)];
                Operand::Value(self.node(cx, &format!("{tag}c"), FOp::Mul, ins)?)
            }
        };
        self.node(
            cx,
            &format!("{tag}pre"),
            FOp::Add,
            vec![Operand::Value(pre), term],
        )
    }

    /// A constant shaped like a state.
    fn state_const(&mut self, cx: &StepCx<'_, '_>, tag: &str, data: Vec<f32>) -> Operand {
        Operand::Const(self.new_const(cx.ctx, &cx.name(tag), cx.geo.cshape.clone(), data))
    }

    /// A node of this step with one state-shaped output.
    fn node(
        &mut self,
        cx: &StepCx<'_, '_>,
        tag: &str,
        op: FOp,
        ins: Vec<Operand>,
    ) -> Result<ValueId> {
        // a state of one row (batch 1 where the step's batch is symbolic) keeps its shape
        // until a batched operand joins it (numpy broadcasting)
        let mut shape = cx.geo.state.clone();
        let values: Vec<Vec<Dim>> = ins
            .iter()
            .filter_map(|o| match o {
                Operand::Value(v) => Some(self.shape(*v)),
                Operand::Const(_) => None,
            })
            .collect();
        if !values.is_empty() {
            for (a, d) in shape.iter_mut().enumerate() {
                if *d == Dim::Batch && values.iter().all(|s| s.get(a) == Some(&Dim::Fixed(1))) {
                    *d = Dim::Fixed(1);
                }
            }
        }
        self.emit_tmp(cx.ctx, &cx.name(tag), op, ins, shape)
    }
}

/// What every part of one step reads.
struct StepCx<'a, 'n> {
    ctx: &'a Ctx<'n>,
    geo: &'a Geometry,
    wt: &'a Weights,
    step: &'a Step<'a>,
}

impl StepCx<'_, '_> {
    /// A derived name: direction, step and `tag`.
    fn name(&self, tag: &str) -> String {
        format!("d{}.t{}.{tag}", self.step.dir, self.step.t)
    }

    /// Activation `i` of the direction (`f`, `g`, `h`).
    fn act(&self, i: usize) -> FOp {
        self.step.acts.get(i).cloned().unwrap_or(FOp::Tanh)
    }
}
