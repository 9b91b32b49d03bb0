//! An unrolled recurrent cell's gate pre-activations (`Xk[t] + H·Rkᵀ` of each gate `k`: an
//! `Add` of a step's `Select` of the gate's input product and a `Linear` of the state `H`)
//! run together in untraced runs with the fast paths on. Every gate of one step reads the
//! same `H`, so at the first of the step's nodes the engine computes each gate's product and
//! sum, reading the step's slice of `Xk` in place; the `Select`s' and `Linear`s' outputs are
//! never stored and the step's later nodes are skipped (the keyword LSTM's 4 `Select`s, 4
//! `Linear`s and 4 `Add`s per step become one pass).
//!
//! The same integers as the nodes one by one, which run instead (in node order, nothing
//! stored by the pass) whenever a run-time check declines: a shape that does not match, an
//! `Add` whose bound could overflow the plain arithmetic. The pattern is only taken when no
//! node of it can fail once those checks pass (every output's clamp lies inside its kind's
//! range, no wide output), so computing a later gate early cannot change which error a run
//! reports.

use super::silu::Readers;
use super::{Engine, Prepared};
use crate::ops::dense::{Accum, linear_fast_into};
use crate::ops::elementwise::add_slices;
use crate::tensor::{Tensor, numel, resolve};
use std::collections::BTreeMap;
use vouch_model::{Kind, Op, Operand, Package};

/// One gate: `Add(Select(x), Linear(h))` or `Add(Linear(h), Select(x))`, the `Select` taking
/// step `t` of `x`'s first axis.
#[derive(Debug, Clone, Copy)]
struct Gate {
    select: usize,
    linear: usize,
    add: usize,
    /// The value the `Select` reads, and the step it takes.
    x: u32,
    t: usize,
    /// The `Select`'s output is the `Add`'s first operand.
    select_first: bool,
}

/// The gates of one step: every one reads the same state `h`.
#[derive(Debug, Clone)]
pub(super) struct StepGates {
    h: u32,
    gates: Vec<Gate>,
}

impl StepGates {
    /// Every node of the step's gates.
    fn nodes(&self) -> impl Iterator<Item = usize> + '_ {
        self.gates.iter().flat_map(|g| [g.select, g.linear, g.add])
    }
}

/// The steps of a package whose gates run as one pass, and each node's part in them.
#[derive(Debug, Clone, Default)]
pub(super) struct Steps {
    groups: Vec<StepGates>,
    /// Per node, its step's index in `groups` and whether it is the step's first node.
    role: Vec<Option<(usize, bool)>>,
}

impl Steps {
    /// How many steps run as one pass.
    pub(super) fn len(&self) -> usize {
        self.groups.len()
    }

    /// The steps of `pkg` (fast paths on, untraced runs only): `taken` marks nodes another
    /// fast path already handles.
    pub(super) fn of(
        pkg: &Package,
        prepared: &[Prepared],
        readers: &Readers,
        last_use: &[usize],
        taken: &[bool],
    ) -> Self {
        let mut by_state: BTreeMap<u32, Vec<Gate>> = BTreeMap::new();
        for j in 0..pkg.nodes.len() {
            if let Some((h, g)) = gate_at(pkg, prepared, readers, last_use, j) {
                let nodes = [g.select, g.linear, g.add];
                if nodes.iter().all(|&n| taken.get(n) == Some(&false)) {
                    by_state.entry(h).or_default().push(g);
                }
            }
        }
        let mut steps = Self {
            groups: Vec::new(),
            role: vec![None; pkg.nodes.len()],
        };
        for (h, gates) in by_state {
            let group = StepGates { h, gates };
            let Some(lead) = group.nodes().min() else {
                continue;
            };
            // every value the step reads is computed before its first node
            let before = |v: u32| readers.writer_of(v).is_none_or(|w| w < lead);
            if !before(h) || !group.gates.iter().all(|g| before(g.x)) {
                continue;
            }
            let s = steps.groups.len();
            for n in group.nodes() {
                steps.role[n] = Some((s, n == lead));
            }
            steps.groups.push(group);
        }
        steps
    }
}

/// Whether the kind `kind` holds every value in `[lo, hi]` (an output clamped there passes the
/// output check).
fn holds(kind: Kind, lo: i32, hi: i32) -> bool {
    kind.act_range().is_none_or(|(a, b)| a <= lo && hi <= b)
}

/// Whether node `j` of `pkg` is a gate's `Add` ([`Gate`]): its operands two values of its own
/// declared shape, each written by the `Select` or the `Linear` and read by the `Add` only
/// (neither a graph output); the `Select` takes one index of the first axis and keeps the
/// others, into a kind that holds its input's; the `Linear` is requantized (not wide) within
/// its kind's range, its weights prepared; the `Add`'s clamp lies within its kind's range.
/// Returns the state the `Linear` reads and the gate.
fn gate_at(
    pkg: &Package,
    prepared: &[Prepared],
    readers: &Readers,
    last_use: &[usize],
    j: usize,
) -> Option<(u32, Gate)> {
    let add = pkg.nodes.get(j)?;
    let (Op::Add { rq, .. }, [Operand::Value(a), Operand::Value(b)]) = (&add.op, &add.inputs[..])
    else {
        return None;
    };
    let info = |v: u32| pkg.values.get(v as usize);
    let out = info(add.output)?;
    if a == b || !holds(out.kind, rq.lo, rq.hi) {
        return None;
    }
    let operand = |v: u32| {
        let i = info(v)?;
        let ok = i.shape == out.shape
            && readers.of_value(v) == [j]
            && last_use.get(v as usize) == Some(&j);
        ok.then(|| readers.writer_of(v))
            .flatten()
            .map(|w| (w, i.kind))
    };
    let select = |v: u32| -> Option<(usize, u32, usize)> {
        let (s, kind) = operand(v)?;
        let node = pkg.nodes.get(s)?;
        let (Op::Select { maps }, [Operand::Value(x)]) = (&node.op, &node.inputs[..]) else {
            return None;
        };
        let (first, rest) = maps.split_first()?;
        let [t] = first[..] else {
            return None;
        };
        let x_kind = info(*x)?.kind;
        let kept = x_kind
            .act_range()
            .map_or(kind.act_range().is_none(), |(lo, hi)| holds(kind, lo, hi));
        (rest.iter().all(Vec::is_empty) && kept).then_some((s, *x, t as usize))
    };
    let linear = |v: u32| -> Option<(usize, u32)> {
        let (l, kind) = operand(v)?;
        let node = pkg.nodes.get(l)?;
        let (
            Op::Linear {
                rq, wide: false, ..
            },
            [Operand::Value(h)],
        ) = (&node.op, &node.inputs[..])
        else {
            return None;
        };
        let packed = matches!(prepared.get(l), Some(Prepared::Linear(..)));
        (packed && holds(kind, rq.lo, rq.hi)).then_some((l, *h))
    };
    let (select_first, (s, x, t), (l, h)) = match (select(*a), linear(*b)) {
        (Some(s), Some(l)) => (true, s, l),
        _ => (false, select(*b)?, linear(*a)?),
    };
    let gate = Gate {
        select: s,
        linear: l,
        add: j,
        x,
        t,
        select_first,
    };
    Some((h, gate))
}

impl Engine<'_> {
    /// Node `i`'s part in a step ([`Steps`]): at the step's first node, its gates as one pass
    /// (`done[step]` set when it ran and stored every gate's sum). `true` when node `i` is not
    /// to run on its own (its step ran as one pass); then the values it last reads are
    /// dropped, as after a node.
    pub(super) fn step_gates_at(
        &self,
        i: usize,
        done: &mut [bool],
        values: &mut [Option<Tensor>],
        batch: usize,
    ) -> bool {
        let Some(Some((s, lead))) = self.steps.role.get(i).copied() else {
            return false;
        };
        let (Some(group), Some(node)) = (self.steps.groups.get(s), self.pkg.nodes.get(i)) else {
            return false;
        };
        if lead && let Some(outs) = self.step_gates_fast(group, values, batch) {
            for (g, out) in group.gates.iter().zip(outs) {
                values[self.pkg.nodes[g.add].output as usize] = Some(out);
            }
            done[s] = true;
        }
        if done.get(s) != Some(&true) {
            return false;
        }
        self.drop_read(node, i, values);
        true
    }

    /// Each gate's `Add` output (in the order of `g.gates`), or `None` when a check declines
    /// (nothing computed is kept).
    fn step_gates_fast(
        &self,
        g: &StepGates,
        values: &[Option<Tensor>],
        batch: usize,
    ) -> Option<Vec<Tensor>> {
        let pkg = self.pkg;
        let value = |v: u32| values.get(v as usize)?.as_ref();
        let h = value(g.h)?;
        let mut product = Vec::new();
        let mut outs = Vec::with_capacity(g.gates.len());
        for gate in &g.gates {
            let add = pkg.nodes.get(gate.add)?;
            let Op::Add { ma, mb, rq } = &add.op else {
                return None;
            };
            let out_shape = resolve(&pkg.values.get(add.output as usize)?.shape, batch);
            // the step's slice of `x`, read in place: `x[t]` is `[1, ...]` of the output's shape
            let x = value(gate.x)?;
            let inner = numel(&out_shape)?;
            let fits = out_shape.first() == Some(&1)
                && x.shape.get(1..) == out_shape.get(1..)
                && x.shape.first().is_some_and(|&n| gate.t < n);
            if !fits {
                return None;
            }
            let slice = x.data.get(gate.t * inner..(gate.t + 1) * inner)?;
            let (Op::Linear { rq: lrq, .. }, Some(Prepared::Linear(w, acc64, ch))) = (
                &pkg.nodes.get(gate.linear)?.op,
                self.prepared.get(gate.linear),
            ) else {
                return None;
            };
            let (hr, or) = (h.shape.len(), out_shape.len());
            let product_shape = hr == or
                && h.shape.last() == Some(&w.k)
                && out_shape.last() == Some(&w.rows)
                && h.shape.get(..hr - 1) == out_shape.get(..or - 1);
            if !product_shape {
                return None;
            }
            let accum = Accum {
                wide: false,
                acc64: *acc64,
            };
            linear_fast_into(&h.data, w, ch.view(0, w.rows), lrq, accum, &mut product).ok()?;
            let (p, q) = if gate.select_first {
                (slice, product.as_slice())
            } else {
                (product.as_slice(), slice)
            };
            let data = add_slices(p, q, *ma, *mb, rq, None)?;
            outs.push(Tensor {
                shape: out_shape,
                data,
            });
        }
        Some(outs)
    }
}
