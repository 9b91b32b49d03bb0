//! The recurrent ops, which belong to no family: ONNX `LSTM`, `GRU` and `RNN` unrolled at
//! import over their static sequence length into ops every checker already has. For each
//! direction and gate `k`, one [`FOp::Linear`] computes `X·W_kᵀ + b_k` over the whole sequence
//! (`b_k` the sum of the input and recurrent biases where ONNX adds both); then each step `t`
//! (in order, or from the last for `reverse`) reads its slice with a [`FOp::Select`], adds the
//! recurrent term `H_{t-1}·R_kᵀ` (a `Linear` of the previous state), applies the gate's
//! activation ([`FOp::Sigmoid`], [`FOp::Tanh`], [`FOp::Relu`], a tabulated [`FOp::Map`]) and
//! combines the gates with [`FOp::Mul`], [`FOp::Add`] and [`FOp::Sub`] ([`cell`]). `Y` is the
//! states put end to end by [`FOp::Concat`] with a [`FOp::Reshape`] adding the direction axis,
//! `Y_h` and `Y_c` the last states (a `Concat` of both directions when bidirectional).
//!
//! Layout 0 (`X` `[T, N, I]`) and layout 1 (`X` `[N, T, I]`, batch first, so a model keeps
//! its rows independent) are both read. Refused, naming node, op and form: a symbolic sequence
//! length, a computed weight or `sequence_lens`, `sequence_lens` other than `T` everywhere,
//! `clip`, `input_forget`, activations other than those above or with `activation_alpha` /
//! `activation_beta`, and more than [`MAX_STEPS`] unrolled steps.

mod cell;

use crate::error::Result;
use crate::graph::{ConstId, Dim, FOp, Operand, ScalarFn, ValueId};
use crate::import::{Ctx, Importer, Kind, Sym};

/// Most unrolled steps (sequence length times directions) one node may become.
pub(crate) const MAX_STEPS: usize = 1024;

/// Which recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    /// ONNX `LSTM`: gates `i, o, f, c`.
    Lstm,
    /// ONNX `GRU`: gates `z, r, h`; the recurrent product of `h` before the reset gate.
    Gru { linear_before_reset: bool },
    /// ONNX `RNN`: one gate.
    Rnn,
}

impl CellKind {
    /// Gates per direction.
    const fn gates(self) -> usize {
        match self {
            Self::Lstm => 4,
            Self::Gru { .. } => 3,
            Self::Rnn => 1,
        }
    }

    /// The default activations of one direction.
    const fn default_acts(self) -> &'static [&'static str] {
        match self {
            Self::Lstm => &["Sigmoid", "Tanh", "Tanh"],
            Self::Gru { .. } => &["Sigmoid", "Tanh"],
            Self::Rnn => &["Tanh"],
        }
    }
}

/// A recurrent state before a step.
#[derive(Debug, Clone)]
pub(super) enum State {
    /// All zeros (no initial state given).
    Zero,
    /// A constant initial state, laid out as [`Geometry::cshape`].
    Const(Vec<f32>),
    /// A computed state, shaped [`Geometry::state`].
    Value(ValueId),
}

/// The shapes one unrolled node works in.
pub(super) struct Geometry {
    /// Layout 1 (`X` `[N, T, I]`).
    batch_first: bool,
    /// Sequence length.
    steps: usize,
    /// Hidden size.
    pub(super) hidden: usize,
    /// Rows of a constant state (the batch size, 1 for a symbolic batch).
    pub(super) rows: usize,
    /// One step's state: `[1, N, H]` (layout 0) or `[N, 1, H]` (layout 1).
    pub(super) state: Vec<Dim>,
    /// A constant state's shape: `state` with [`Geometry::rows`] as its batch.
    pub(super) cshape: Vec<usize>,
}

impl Geometry {
    /// The sequence axis of `X`, `Y` and the states.
    const fn seq_axis(&self) -> usize {
        if self.batch_first { 1 } else { 0 }
    }

    /// The direction axis of `Y_h`, `Y_c` and the initial states.
    const fn dir_axis(&self) -> usize {
        self.seq_axis()
    }
}

/// One direction's constants, gate-major as ONNX stores them.
pub(super) struct Weights {
    /// `W` `[G·H, I]`.
    w: Vec<f32>,
    /// `R` `[G·H, H]`.
    pub(super) r: Vec<f32>,
    /// `Wb` then `Rb`, `[2·G·H]` (zeros when `B` is absent).
    pub(super) b: Vec<f32>,
    /// Peepholes `P` `[3·H]` (`i, o, f`), LSTM only.
    pub(super) p: Option<Vec<f32>>,
    /// Each gate's `R_k` `[H, H]` as one constant every step's `Linear` shares.
    pub(super) r_ids: Vec<ConstId>,
    /// The recurrent bias `Rb_h` `[H]` a GRU with `linear_before_reset` adds inside the reset
    /// (`None` when zero or another cell).
    pub(super) rbh: Option<(Vec<f32>, ConstId)>,
    /// Each peephole `P_k` `[H]` that is not all zeros, as one constant.
    pub(super) p_ids: [Option<ConstId>; 3],
}

/// What one step reads: the gates' input products and the activations.
pub(super) struct Step<'a> {
    /// Per gate, `X·W_kᵀ + b_k` over the whole sequence.
    pub(super) xw: &'a [ValueId],
    /// The step.
    pub(super) t: usize,
    /// The direction (for names).
    pub(super) dir: usize,
    /// The direction's activations.
    pub(super) acts: &'a [FOp],
}

/// The ONNX activation `name` as an elementwise op, or `None` if unsupported.
fn activation(name: &[u8]) -> Option<FOp> {
    Some(match name.to_ascii_lowercase().as_slice() {
        b"sigmoid" => FOp::Sigmoid,
        b"tanh" => FOp::Tanh,
        b"relu" => FOp::Relu,
        b"leakyrelu" => FOp::LeakyRelu { alpha: 0.01 },
        b"hardsigmoid" => FOp::Map {
            f: ScalarFn::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
        },
        b"elu" => FOp::Map {
            f: ScalarFn::Elu { alpha: 1.0 },
        },
        b"thresholdedrelu" => FOp::Map {
            f: ScalarFn::ThresholdedRelu { alpha: 1.0 },
        },
        b"softsign" => FOp::Map {
            f: ScalarFn::Softsign,
        },
        b"softplus" => FOp::Map {
            f: ScalarFn::Softplus,
        },
        _ => return None,
    })
}

impl Importer {
    /// ONNX `LSTM` (opsets 7 and 14), unrolled.
    pub(super) fn lstm(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        if ctx.int("input_forget", 0) != 0 {
            return Err(ctx.unsupported("input_forget = 1 (coupled input and forget gates)"));
        }
        self.recurrent(ctx, CellKind::Lstm)
    }

    /// ONNX `GRU` (opsets 7 and 14), both `linear_before_reset` forms, unrolled.
    pub(super) fn gru(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        let linear_before_reset = match ctx.int("linear_before_reset", 0) {
            0 => false,
            1 => true,
            v => return Err(ctx.bad_attr("linear_before_reset", format!("{v} is not 0 or 1"))),
        };
        self.recurrent(
            ctx,
            CellKind::Gru {
                linear_before_reset,
            },
        )
    }

    /// ONNX `RNN` (opsets 7 and 14), unrolled.
    pub(super) fn rnn(&mut self, ctx: &Ctx<'_>) -> Result<()> {
        self.recurrent(ctx, CellKind::Rnn)
    }

    /// The shared unrolling: attributes, constants, then every direction's steps and the
    /// outputs.
    fn recurrent(&mut self, ctx: &Ctx<'_>, kind: CellKind) -> Result<()> {
        let dirs: &[bool] = match ctx.string("direction").unwrap_or(b"forward") {
            b"forward" => &[false],
            b"reverse" => &[true],
            b"bidirectional" => &[false, true],
            other => {
                return Err(ctx.bad_attr(
                    "direction",
                    format!(
                        "unknown value {:?} (forward, reverse or bidirectional)",
                        String::from_utf8_lossy(other)
                    ),
                ));
            }
        };
        let nd = dirs.len();
        if ctx.attr("clip").is_some() {
            return Err(ctx.unsupported("clip (the cell-input clipping threshold)"));
        }
        let batch_first = match ctx.int("layout", 0) {
            0 => false,
            1 => true,
            v => return Err(ctx.bad_attr("layout", format!("{v} is not 0 or 1"))),
        };
        let acts = Self::activations(ctx, kind, nd)?;
        let x = self.value_in(ctx, 0)?;
        let xs = self.shape(x);
        let [a, b, i] = xs.as_slice() else {
            return Err(ctx.shape_err(format!("X {xs:?} is not of rank 3")));
        };
        let (tdim, batch) = if batch_first { (*b, *a) } else { (*a, *b) };
        let Dim::Fixed(steps) = tdim else {
            return Err(ctx.unsupported(
                "a symbolic sequence length (the sequence axis must be static to unroll)",
            ));
        };
        let Dim::Fixed(input) = *i else {
            return Err(ctx.shape_err("symbolic input size"));
        };
        if steps == 0 {
            return Err(ctx.unsupported("an empty sequence"));
        }
        if steps.saturating_mul(nd) > MAX_STEPS {
            return Err(ctx.unsupported(format!(
                "{steps} steps x {nd} directions: more than {MAX_STEPS} unrolled steps"
            )));
        }
        let g = kind.gates();
        let w = self.const_in(ctx, 1)?;
        let r = self.const_in(ctx, 2)?;
        let (wd, rd) = (
            w.to_f32()
                .ok_or_else(|| ctx.bad_input(1, "is not numeric"))?,
            r.to_f32()
                .ok_or_else(|| ctx.bad_input(2, "is not numeric"))?,
        );
        let hidden = match r.shape.as_slice() {
            [d, gh, h] if *d == nd && *gh == g * *h && *h > 0 => *h,
            s => {
                return Err(ctx.bad_input(
                    2,
                    format!("R {s:?} is not [{nd}, {g}·hidden_size, hidden_size]"),
                ));
            }
        };
        if ctx
            .attr("hidden_size")
            .is_some_and(|a| a.i != hidden as i64)
        {
            return Err(ctx.bad_attr(
                "hidden_size",
                format!("{} does not match R's {hidden}", ctx.int("hidden_size", 0)),
            ));
        }
        if w.shape != [nd, g * hidden, input] {
            return Err(ctx.bad_input(
                1,
                format!("W {:?} is not [{nd}, {}, {input}]", w.shape, g * hidden),
            ));
        }
        let bd = match self.opt_const_in(ctx, 3)? {
            Some(t) if t.shape == [nd, 2 * g * hidden] => t
                .to_f32()
                .ok_or_else(|| ctx.bad_input(3, "is not numeric"))?,
            Some(t) => {
                return Err(ctx.bad_input(
                    3,
                    format!("B {:?} is not [{nd}, {}]", t.shape, 2 * g * hidden),
                ));
            }
            None => vec![0.0; nd * 2 * g * hidden],
        };
        self.check_seq_lens(ctx, steps)?;
        let pd = match (kind, self.opt_const_in(ctx, 7)?) {
            (CellKind::Lstm, Some(t)) if t.shape == [nd, 3 * hidden] => Some(
                t.to_f32()
                    .ok_or_else(|| ctx.bad_input(7, "is not numeric"))?,
            ),
            (_, Some(t)) => {
                return Err(
                    ctx.bad_input(7, format!("P {:?} is not [{nd}, {}]", t.shape, 3 * hidden))
                );
            }
            (_, None) => None,
        };
        let (rows, state, cshape) = match batch {
            Dim::Fixed(n) if batch_first => (
                n,
                vec![batch, Dim::Fixed(1), Dim::Fixed(hidden)],
                vec![n, 1, hidden],
            ),
            Dim::Fixed(n) => (
                n,
                vec![Dim::Fixed(1), batch, Dim::Fixed(hidden)],
                vec![1, n, hidden],
            ),
            Dim::Batch if batch_first => (
                1,
                vec![batch, Dim::Fixed(1), Dim::Fixed(hidden)],
                vec![1, 1, hidden],
            ),
            Dim::Batch => (
                1,
                vec![Dim::Fixed(1), batch, Dim::Fixed(hidden)],
                vec![1, 1, hidden],
            ),
        };
        let geo = Geometry {
            batch_first,
            steps,
            hidden,
            rows,
            state,
            cshape,
        };
        let mut ys = Vec::with_capacity(nd);
        let mut hs = Vec::with_capacity(nd);
        let mut cs = Vec::with_capacity(nd);
        for (d, &reverse) in dirs.iter().enumerate() {
            let at = |v: &[f32], n: usize| v.get(d * n..(d + 1) * n).map(<[f32]>::to_vec);
            let r = at(&rd, g * hidden * hidden).unwrap_or_default();
            let b = at(&bd, 2 * g * hidden).unwrap_or_default();
            let p = pd.as_ref().and_then(|p| at(p, 3 * hidden));
            let (r_ids, rbh, p_ids) =
                self.recurrent_consts(ctx, kind, d, hidden, &r, &b, p.as_deref());
            let weights = Weights {
                w: at(&wd, g * hidden * input).unwrap_or_default(),
                r,
                b,
                p,
                r_ids,
                rbh,
                p_ids,
            };
            let h0 = self.initial_state(ctx, 5, &geo, nd, d)?;
            let c0 = if kind == CellKind::Lstm {
                self.initial_state(ctx, 6, &geo, nd, d)?
            } else {
                State::Zero
            };
            let xw = self.input_products(ctx, kind, x, &geo, &weights, d)?;
            let acts = acts
                .get(d * acts.len() / nd..(d + 1) * acts.len() / nd)
                .unwrap_or_default();
            let (mut h, mut c) = (h0, c0);
            let mut y = vec![None; steps];
            for k in 0..steps {
                let t = if reverse { steps - 1 - k } else { k };
                let step = Step {
                    xw: &xw,
                    t,
                    dir: d,
                    acts,
                };
                let (nh, nc) = self.cell_step(ctx, kind, &geo, &weights, &step, &h, &c)?;
                if let Some(slot) = y.get_mut(t) {
                    *slot = Some(nh);
                }
                (h, c) = (State::Value(nh), nc.map_or(State::Zero, State::Value));
            }
            ys.push(y.into_iter().flatten().collect::<Vec<_>>());
            hs.push(h);
            cs.push(c);
        }
        self.rnn_outputs(ctx, &geo, ys, hs, cs)
    }

    /// Direction `d`'s constants every step shares: each gate's `R_k`, a GRU's `Rb_h` inside
    /// the reset, the non-zero peepholes.
    #[expect(
        clippy::too_many_arguments,
        reason = "one direction's slices of R, B and P"
    )]
    #[expect(
        clippy::type_complexity,
        reason = "the three kinds of shared constants"
    )]
    fn recurrent_consts(
        &mut self,
        ctx: &Ctx<'_>,
        kind: CellKind,
        d: usize,
        h: usize,
        r: &[f32],
        b: &[f32],
        p: Option<&[f32]>,
    ) -> (
        Vec<ConstId>,
        Option<(Vec<f32>, ConstId)>,
        [Option<ConstId>; 3],
    ) {
        let g = kind.gates();
        let r_ids = (0..g)
            .map(|k| {
                let rk = r
                    .get(k * h * h..(k + 1) * h * h)
                    .unwrap_or_default()
                    .to_vec();
                self.new_const(ctx, &format!("d{d}.R{k}"), vec![h, h], rk)
            })
            .collect();
        let rbh = match kind {
            CellKind::Gru {
                linear_before_reset: true,
            } => Some(b.get((g + 2) * h..(g + 3) * h).unwrap_or_default().to_vec())
                .filter(|v| v.iter().any(|&x| x != 0.0))
                .map(|v| {
                    let id = self.new_const(ctx, &format!("d{d}.Rb2"), vec![h], v.clone());
                    (v, id)
                }),
            _ => None,
        };
        let mut p_ids = [None; 3];
        for (k, slot) in p_ids.iter_mut().enumerate() {
            let pk = p
                .and_then(|p| p.get(k * h..(k + 1) * h))
                .unwrap_or_default()
                .to_vec();
            if pk.iter().any(|&x| x != 0.0) {
                *slot = Some(self.new_const(ctx, &format!("d{d}.P{k}"), vec![h], pk));
            }
        }
        (r_ids, rbh, p_ids)
    }

    /// The `activations` attribute (or the cell's defaults), `count` per direction.
    fn activations(ctx: &Ctx<'_>, kind: CellKind, nd: usize) -> Result<Vec<FOp>> {
        for attr in ["activation_alpha", "activation_beta"] {
            if ctx.attr(attr).is_some_and(|a| !a.floats.is_empty()) {
                return Err(
                    ctx.unsupported(format!("{attr} (activations with their defaults only)"))
                );
            }
        }
        let per = kind.default_acts().len();
        let names: Vec<Vec<u8>> = match ctx.attr("activations").filter(|a| !a.strings.is_empty()) {
            Some(a) => a.strings.clone(),
            None => (0..nd)
                .flat_map(|_| kind.default_acts().iter().map(|s| s.as_bytes().to_vec()))
                .collect(),
        };
        if names.len() != per * nd {
            return Err(ctx.bad_attr(
                "activations",
                format!("{} names for {nd} directions of {per}", names.len()),
            ));
        }
        names
            .iter()
            .map(|n| {
                activation(n).ok_or_else(|| {
                    ctx.unsupported(format!(
                        "activation {:?} (Sigmoid, Tanh, Relu, LeakyRelu, HardSigmoid, Elu, \
                         ThresholdedRelu, Softsign and Softplus are supported)",
                        String::from_utf8_lossy(n)
                    ))
                })
            })
            .collect()
    }

    /// Input 4, `sequence_lens`: absent, or a constant equal to the sequence length for every
    /// row.
    fn check_seq_lens(&self, ctx: &Ctx<'_>, steps: usize) -> Result<()> {
        match self.opt_sym(ctx, 4)? {
            None => Ok(()),
            Some(Sym::Value(_)) => Err(ctx.unsupported(
                "a computed sequence_lens (it must be a constant equal to the sequence length)",
            )),
            Some(Sym::Const(t)) => {
                let v = t
                    .to_i64()
                    .ok_or_else(|| ctx.bad_input(4, "is not an integer tensor"))?;
                match v.iter().find(|&&l| l != steps as i64) {
                    None => Ok(()),
                    Some(l) => Err(ctx.unsupported(format!(
                        "sequence_lens that vary (a length {l} in a sequence of {steps}; \
                         every row must run the whole sequence)"
                    ))),
                }
            }
        }
    }

    /// Direction `d`'s initial state from input `slot` (`initial_h` or `initial_c`).
    fn initial_state(
        &mut self,
        ctx: &Ctx<'_>,
        slot: usize,
        geo: &Geometry,
        nd: usize,
        d: usize,
    ) -> Result<State> {
        let h = geo.hidden;
        match self.opt_sym(ctx, slot)? {
            None => Ok(State::Zero),
            Some(Sym::Const(t)) => {
                let data = t
                    .to_f32()
                    .ok_or_else(|| ctx.bad_input(slot, "is not numeric"))?;
                let n = geo.rows;
                let want = if geo.batch_first {
                    [n, nd, h]
                } else {
                    [nd, n, h]
                };
                if t.shape != want {
                    return Err(ctx.bad_input(
                        slot,
                        format!(
                            "initial state {:?} is not {want:?} (a symbolic batch takes one \
                             constant row)",
                            t.shape
                        ),
                    ));
                }
                let mut out = Vec::with_capacity(n * h);
                for row in 0..n {
                    let at = if geo.batch_first {
                        (row * nd + d) * h
                    } else {
                        (d * n + row) * h
                    };
                    out.extend_from_slice(data.get(at..at + h).unwrap_or_default());
                }
                Ok(State::Const(out))
            }
            Some(Sym::Value(v)) => {
                let s = self.shape(v);
                let a = geo.dir_axis();
                let mut want = geo.state.clone();
                if let Some(w) = want.get_mut(a) {
                    *w = Dim::Fixed(nd);
                }
                // a state of one row (a model's state input given once) is each row's state
                // when the batch is symbolic: the step's operations broadcast it
                let one_row = want
                    .iter()
                    .map(|d| if *d == Dim::Batch { Dim::Fixed(1) } else { *d })
                    .collect::<Vec<_>>();
                if s != want && s != one_row {
                    return Err(ctx.bad_input(slot, format!("initial state {s:?} is not {want:?}")));
                }
                if nd == 1 {
                    return Ok(State::Value(v));
                }
                let mut maps = vec![None; 3];
                if let Some(m) = maps.get_mut(a) {
                    *m = Some(vec![d]);
                }
                let name = format!("{}.d{d}.initial{slot}", ctx.name);
                Ok(State::Value(self.select_named(ctx, v, maps, &name)?))
            }
        }
    }

    /// Per gate `k`, the `Linear` `X·W_kᵀ + b_k` over the whole sequence.
    fn input_products(
        &mut self,
        ctx: &Ctx<'_>,
        kind: CellKind,
        x: ValueId,
        geo: &Geometry,
        wt: &Weights,
        d: usize,
    ) -> Result<Vec<ValueId>> {
        let h = geo.hidden;
        let g = kind.gates();
        let mut out_shape = self.shape(x);
        if let Some(last) = out_shape.last_mut() {
            *last = Dim::Fixed(h);
        }
        let input = wt.w.len() / (g * h).max(1);
        let mut xw = Vec::with_capacity(g);
        for k in 0..g {
            let w =
                wt.w.get(k * h * input..(k + 1) * h * input)
                    .unwrap_or_default()
                    .to_vec();
            let wb = wt.b.get(k * h..(k + 1) * h).unwrap_or_default();
            let rb = wt.b.get((g + k) * h..(g + k + 1) * h).unwrap_or_default();
            // GRU with linear_before_reset: the recurrent bias of `h` stays inside the reset
            let with_rb = !(matches!(
                kind,
                CellKind::Gru {
                    linear_before_reset: true
                }
            ) && k == 2);
            let bias: Vec<f32> = wb
                .iter()
                .zip(rb)
                .map(|(a, b)| if with_rb { a + b } else { *a })
                .collect();
            let weight = self.new_const(ctx, &format!("d{d}.W{k}"), vec![h, input], w);
            let bias = bias
                .iter()
                .any(|&v| v != 0.0)
                .then(|| self.new_const(ctx, &format!("d{d}.b{k}"), vec![h], bias));
            let op = FOp::Linear { weight, bias };
            let v = self.emit_tmp(
                ctx,
                &format!("d{d}.x{k}"),
                op,
                vec![Operand::Value(x)],
                out_shape.clone(),
            )?;
            xw.push(v);
        }
        Ok(xw)
    }

    /// Binds `Y` (states end to end, a direction axis added), `Y_h` and `Y_c` (the last
    /// states) when they are read.
    fn rnn_outputs(
        &mut self,
        ctx: &Ctx<'_>,
        geo: &Geometry,
        ys: Vec<Vec<ValueId>>,
        hs: Vec<State>,
        cs: Vec<State>,
    ) -> Result<()> {
        let names: Vec<Option<String>> = (0..3)
            .map(|i| {
                ctx.output(i)
                    .filter(|o| self.uses.contains_key(*o))
                    .map(str::to_owned)
            })
            .collect();
        let used = |i: usize| names.get(i).cloned().flatten();
        let nd = ys.len();
        let sa = geo.seq_axis();
        if let Some(name) = used(0) {
            // per direction [T, N, H] / [N, T, H], then [T, 1, N, H] / [N, T, 1, H]
            let mut seq = geo.state.clone();
            if let Some(s) = seq.get_mut(sa) {
                *s = Dim::Fixed(geo.steps);
            }
            let mut one = seq.clone();
            one.insert(sa + 1, Dim::Fixed(1));
            let mut parts = Vec::with_capacity(nd);
            for (d, y) in ys.iter().enumerate() {
                let ins: Vec<Operand> = y.iter().map(|&v| Operand::Value(v)).collect();
                let cat = match y.as_slice() {
                    [v] => *v,
                    _ => self.emit_tmp(
                        ctx,
                        &format!("d{d}.y"),
                        FOp::Concat { axis: sa },
                        ins,
                        seq.clone(),
                    )?,
                };
                let last = nd == 1;
                let op_in = vec![Operand::Value(cat)];
                let r = if last {
                    self.emit_named(ctx, FOp::Reshape, op_in, one.clone(), Kind::Float, &name)?
                } else {
                    self.emit_tmp(ctx, &format!("d{d}.y4"), FOp::Reshape, op_in, one.clone())?
                };
                parts.push(Operand::Value(r));
            }
            let v = match parts.as_slice() {
                [Operand::Value(v)] => *v,
                _ => {
                    let mut all = one;
                    if let Some(s) = all.get_mut(sa + 1) {
                        *s = Dim::Fixed(nd);
                    }
                    let op = FOp::Concat { axis: sa + 1 };
                    self.emit_named(ctx, op, parts, all, Kind::Float, &name)?
                }
            };
            self.set_out(ctx, 0, Sym::Value(v))?;
        }
        for (slot, states) in [(1, hs), (2, cs)] {
            let Some(name) = used(slot) else { continue };
            let mut parts = Vec::with_capacity(nd);
            for s in states {
                match s {
                    State::Value(v) => parts.push(Operand::Value(v)),
                    _ => return Err(ctx.shape_err(format!("output #{slot} is never computed"))),
                }
            }
            let v = match parts.as_slice() {
                [Operand::Value(v)] => *v,
                _ => {
                    let mut all = geo.state.clone();
                    if let Some(s) = all.get_mut(geo.dir_axis()) {
                        *s = Dim::Fixed(nd);
                    }
                    let op = FOp::Concat {
                        axis: geo.dir_axis(),
                    };
                    self.emit_named(ctx, op, parts, all, Kind::Float, &name)?
                }
            };
            self.set_out(ctx, slot, Sym::Value(v))?;
        }
        Ok(())
    }
}
