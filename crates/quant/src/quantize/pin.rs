//! Pinning a pre-quantized model's tensors to the model's own grid (`docs/semantics.md`
//! section 5, "Pre-quantized models").
//!
//! The importer writes a model's quantization of a computed tensor (`QuantizeLinear`, a
//! `QLinear*` output) as the chain `Mul` by `1/s`, `Round`, `Clip` to `[lo - zp, hi - zp]`,
//! `Mul` by `s`, and marks its last value with the grid ([`vouch_onnx::Grid`]). Instead of
//! carrying those four ops at calibrated scales, the quantizer gives the chain's value the
//! model's grid: scale `s`, the integer `q - zp` (the zero point an offset, as every vouch
//! tensor is symmetric), clamped to `[lo - zp, hi - zp]`. The chain is then one requantization
//! onto that grid:
//!
//! - written by the product that computes the chain's input (`Linear`, `Conv`, `MatMul`,
//!   `Add`, `Sub`, with a fused `Relu` or `Clip`) when that input has no other reader: its
//!   requantization goes from the accumulator's scale straight to `s`, with the clamp;
//! - else a `Rescale` of the input onto the grid (a `Clip` when the input is at `s` already,
//!   a graph input given the grid's scale; nothing when that clamp holds the whole kind).
//!
//! A `Linear` or `Conv` writing a grid reads its weights on the model's grid too: each output
//! channel's weights are integer multiples of one step (the model's `(w - w_zp) · s_w`,
//! folded by the importer), found here, so the accumulator is the model's exact integer sum
//! and the bias (`B · s_x · s_w`) the model's integers. Requantizations onto a grid use the
//! finest multiplier `M < 2^31` that section 4 admits, not one below `2^15` (`M / 2^s` within
//! `2^-31` of the ratio), so that only a value within about `2^-24` of a half step (where
//! onnxruntime's `f32` ratio and product, and its half-to-even rounding, decide) can round
//! away from onnxruntime's.
//!
//! Only grids whose `[lo - zp, hi - zp]` fits an activation kind are pinned: `act16` at 16
//! bits; at 8 bits `act8` when it fits, else `act16` (a `uint8` or `int8` tensor with a zero
//! point off the middle spans 256 steps on one side of 0). A model with no grid is quantized
//! exactly as before.

use super::{Builder, Precision, QVal, accumulator_bound, clamp_bounds, kind_range, quant_sym};
use crate::Result;
use vouch_model::{Kind, Op, Operand, Requant};
use vouch_onnx::ScalarFn;
use vouch_onnx::graph::{self as fg, FGraph, FNode, FOp};
use vouch_semantics::{ACT_MAX, ACT_MIN, ACT16_MAX, ACT16_MIN};

/// The largest weight step count searched for a channel's grid: an 8-bit weight's `w - w_zp`
/// spans at most 255 steps on one side.
const MAX_WEIGHT_STEPS: u32 = 255;

/// How far from an integer (in steps) a weight may be and still be on a grid: the folded
/// weights are `f32` products, within `255 · 2^-23` steps of their integers.
const ON_GRID: f64 = 1e-3;

/// The integer grid of a pinned tensor.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pin {
    /// The model's scale.
    pub scale: f64,
    /// The activation kind that holds `[lo, hi]`.
    pub kind: Kind,
    /// `lo - zp`, the smallest integer.
    pub lo: i32,
    /// `hi - zp`, the largest integer.
    pub hi: i32,
}

/// A quantization chain of the float graph: its first node's input `x` and last value `y`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Chain {
    x: usize,
    y: usize,
    pin: Pin,
}

/// The chains of a graph and which values a producer may write on a grid.
#[derive(Debug, Default)]
pub(super) struct Pins {
    /// Per node: the chain whose first `Mul` it is.
    chain: Vec<Option<Chain>>,
    /// Per value: the grid of the chain that is its one reader (it is no graph output).
    read_by: Vec<Option<Pin>>,
    /// Per value: its producer wrote it on its `read_by` grid, clamped.
    on_grid: Vec<bool>,
    /// Per value: a chain's value, on its grid.
    pinned: Vec<bool>,
}

impl Pins {
    /// The grid value `v` may be written on, if the chain reading it is its only reader.
    pub(super) fn grid_of(&self, v: usize) -> Option<Pin> {
        self.read_by.get(v).copied().flatten()
    }
}

/// The kind holding `[lo, hi]` at `precision`, if one does.
fn pin_kind(lo: i64, hi: i64, precision: Precision) -> Option<Kind> {
    let fits = |a: i32, b: i32| lo >= i64::from(a) && hi <= i64::from(b);
    if precision == Precision::Int8 && fits(ACT_MIN, ACT_MAX) {
        Some(Kind::Act8)
    } else if fits(ACT16_MIN, ACT16_MAX) {
        Some(Kind::Act16)
    } else {
        None
    }
}

/// Finds the chains ending at a value with a grid; returns them and the nodes the chain's
/// first `Mul` lowers for (the `Round`, `Clip` and last `Mul`, to be marked fused).
pub(super) fn find(
    g: &FGraph,
    consumers: &[Vec<usize>],
    is_output: &[bool],
    precision: Precision,
) -> (Pins, Vec<usize>) {
    let mut producer = vec![None; g.values.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        producer[n.output] = Some(i);
    }
    let mut pins = Pins {
        chain: vec![None; g.nodes.len()],
        read_by: vec![None; g.values.len()],
        on_grid: vec![false; g.values.len()],
        pinned: vec![false; g.values.len()],
    };
    let mut fused = Vec::new();
    // the node writing `v` and its one computed input, when `v`'s only reader is `next`
    let step = |v: usize, next: usize| -> Option<(usize, usize)> {
        if is_output[v] || consumers[v].as_slice() != [next] {
            return None;
        }
        let p = producer[v]?;
        match g.nodes[p].inputs.first() {
            Some(fg::Operand::Value(u)) => Some((p, *u)),
            _ => None,
        }
    };
    let scalar = |n: &FNode, want: f64| match n.inputs.get(1) {
        Some(fg::Operand::Const(c)) => {
            matches!(g.consts[*c].data.as_slice(), [s] if (f64::from(*s) - want).abs() <= want * 1e-6)
        }
        _ => false,
    };
    for (y, info) in g.values.iter().enumerate() {
        let Some(grid) = info.grid else { continue };
        let Some(n4) = producer[y] else { continue };
        let s = f64::from(grid.scale);
        let Some(fg::Operand::Value(t3)) = g.nodes[n4].inputs.first().copied() else {
            continue;
        };
        let found = (|| {
            let (n3, t2) = step(t3, n4)?;
            let (n2, t1) = step(t2, n3)?;
            let (n1, x) = step(t1, n2)?;
            let ok = matches!(g.nodes[n4].op, FOp::Mul)
                && scalar(&g.nodes[n4], s)
                && matches!(g.nodes[n3].op, FOp::Clip { .. })
                && matches!(g.nodes[n2].op, FOp::Map { f: ScalarFn::Round })
                && matches!(g.nodes[n1].op, FOp::Mul)
                && scalar(&g.nodes[n1], 1.0 / s);
            ok.then_some((n1, n2, n3, x))
        })();
        let Some((n1, n2, n3, x)) = found else {
            continue;
        };
        let (lo, hi) = (
            grid.lo.saturating_sub(grid.zero_point),
            grid.hi.saturating_sub(grid.zero_point),
        );
        let Some(kind) = pin_kind(lo, hi, precision) else {
            continue;
        };
        let narrow = |v: i64| i32::try_from(v).unwrap_or(0);
        let pin = Pin {
            scale: s,
            kind,
            lo: narrow(lo),
            hi: narrow(hi),
        };
        pins.chain[n1] = Some(Chain { x, y, pin });
        if !is_output[x] && consumers[x].as_slice() == [n1] {
            pins.read_by[x] = Some(pin);
        }
        fused.extend([n2, n3, n4]);
    }
    (pins, fused)
}

/// `(M, s)` with `M / 2^s` as close to `r` as `M < 2^31` allows (the largest shift) for which
/// an accumulator bounded by `bound` passes section 4 (`bound · M + 2^(s-1) < 2^63`).
pub(super) fn fine_multiplier(r: f64, bound: i128) -> Option<(i64, u32)> {
    if !(r.is_finite() && r > 0.0) {
        return None;
    }
    (0..=62u32).rev().find_map(|s| {
        let m = (r * f64::from(2u32).powi(s as i32)).round();
        if !(1.0..2_147_483_648.0).contains(&m) {
            return None;
        }
        let rq = Requant {
            m: m as i64,
            s,
            lo: 0,
            hi: 0,
        };
        vouch_semantics::accumulator_fits(bound, &rq, false).then_some((m as i64, s))
    })
}

/// The step of one output channel's weights when every weight is an integer multiple of it
/// (at most [`MAX_WEIGHT_STEPS`] of them), snapped to the `f32` the model holds; `Some(None)`
/// for a channel of zeros (any step).
fn row_grid(row: &[f32]) -> Option<Option<f64>> {
    let a = row.iter().fold(0f32, |m, v| m.max(v.abs()));
    if a == 0.0 {
        return Some(None);
    }
    let on = |s: f64| {
        row.iter().all(|&v| {
            let k = f64::from(v) / s;
            (k - k.round()).abs() <= ON_GRID
        })
    };
    (1..=MAX_WEIGHT_STEPS).find_map(|m| {
        let s = f64::from(a) / f64::from(m);
        let snapped = f64::from(s as f32);
        if on(snapped) {
            Some(Some(snapped))
        } else {
            on(s).then_some(Some(s))
        }
    })
}

/// A `Linear` or `Conv` lowered onto its output's grid: weight, bias, requantization, output.
pub(super) struct GridProduct {
    /// The weight constant (the model's integers).
    pub weight: u32,
    /// The bias: plain or wide per tensor, `[N, 3]` per channel.
    pub bias: Option<u32>,
    /// The requantization (`M = 0` per channel).
    pub rq: Requant,
    /// The output value.
    pub out: u32,
}

impl Builder<'_> {
    /// The value a product writing `v` binds (a fused `Relu`'s or `Clip`'s output, or `v`)
    /// and its grid, when it has one; no side effect.
    fn grid_target(&self, v: usize) -> Option<Pin> {
        let target = self.fusable(v).map_or(v, |c| self.g.nodes[c].output);
        self.pins.grid_of(target)
    }

    /// The activation kind value `v` is bound at: its grid's, or the package's.
    pub(super) fn target_kind(&self, v: usize) -> Kind {
        self.pins.grid_of(v).map_or(self.act(), |p| p.kind)
    }

    /// [`Builder::act_target`] for a value written on its grid: `(s, lo, hi)` with the fused
    /// clamp's bounds at `s` inside the grid's; marks the value as on its grid.
    pub(super) fn pinned_target(
        &mut self,
        target: usize,
        clamp: Option<(f32, f32)>,
    ) -> Option<(f64, i32, i32)> {
        let pin = self.pins.grid_of(target)?;
        if let Some(g) = self.pins.on_grid.get_mut(target) {
            *g = true;
        }
        let (lo, hi) = match clamp {
            Some((a, b)) => clamp_bounds(a, b, pin.scale, pin.kind),
            None => kind_range(pin.kind),
        };
        let lo = lo.max(pin.lo).min(pin.hi);
        Some((pin.scale, lo, hi.min(pin.hi).max(lo)))
    }

    /// Lowers a chain's first `Mul` (the rest are fused): the chain's value is its input
    /// when the producer wrote that on the grid (or it is on the grid and the grid's clamp
    /// holds its kind), else a `Rescale` of the input onto it (a `Clip` when the scales are
    /// equal).
    pub(super) fn chain(&mut self, node: &FNode, name: String, ni: usize) -> Result<bool> {
        let Some(Chain { x, y, pin }) = self.pins.chain.get(ni).copied().flatten() else {
            return Ok(false);
        };
        let q = self.map[x].ok_or_else(|| Self::err(node, "input not quantized"))?;
        if let Some(p) = self.pins.pinned.get_mut(y) {
            *p = true;
        }
        if self.pins.on_grid.get(x).copied().unwrap_or(false) {
            // the model's name for the tensor (its quantized output), not the float one's
            if let Some(info) = self.values.get_mut(q.id as usize) {
                info.name.clone_from(&self.g.values[y].name);
            }
            self.map[y] = Some(q);
            return Ok(true);
        }
        let Some((klo, khi)) = q.kind.act_range() else {
            return Err(Self::err(node, "operand is not an activation tensor"));
        };
        // already on the grid, and the grid's clamp holds every integer of its kind
        if q.scale == pin.scale && q.kind == pin.kind && pin.lo <= klo && pin.hi >= khi {
            self.map[y] = Some(q);
            return Ok(true);
        }
        let out = self.bind(node, y, pin.kind, pin.scale)?;
        let op = if q.scale == pin.scale && q.kind == pin.kind {
            Op::Clip {
                lo: pin.lo,
                hi: pin.hi,
            }
        } else {
            let bound = i128::from(q.kind.magnitude());
            let (m, s) = fine_multiplier(q.scale / pin.scale, bound)
                .ok_or_else(|| Self::err(node, "rescale ratio out of range"))?;
            Op::Rescale {
                rq: Requant {
                    m,
                    s,
                    lo: pin.lo,
                    hi: pin.hi,
                },
            }
        };
        self.push(node, name, op, vec![Operand::Value(q.id)], out.id);
        Ok(true)
    }

    /// A `Linear` or `Conv` whose output is written on a grid and whose weights are on one
    /// (per output channel), lowered with the model's integers: `None` otherwise.
    pub(super) fn grid_product(
        &mut self,
        node: &FNode,
        x: QVal,
        weight: usize,
        bias: Option<usize>,
    ) -> Result<Option<GridProduct>> {
        let g = self.g;
        if self.grid_target(node.output).is_none() {
            return Ok(None);
        }
        let fc = &g.consts[weight];
        let rows = fc.shape.first().copied().unwrap_or(0);
        if rows == 0 || fc.data.is_empty() || !fc.data.len().is_multiple_of(rows) {
            return Ok(None);
        }
        let per = fc.data.len() / rows;
        let Some(grids) = fc
            .data
            .chunks(per)
            .map(row_grid)
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(None);
        };
        let Some(first) = grids.iter().copied().flatten().next() else {
            return Ok(None);
        };
        let s_w: Vec<f64> = grids.iter().map(|s| s.unwrap_or(first)).collect();
        // one scale for the tensor when the channels' steps agree to f32 rounding (a per-tensor
        // quantization, its steps found from different rows): the most frequent
        let common = s_w
            .iter()
            .copied()
            .max_by_key(|&s| s_w.iter().filter(|&&t| t == s).count())
            .unwrap_or(first);
        let s_w = if s_w.iter().all(|&s| (s - common).abs() <= common * 1e-6) {
            vec![common; s_w.len()]
        } else {
            s_w
        };
        let first = common;
        let lim = ACT16_MAX;
        let mut wq = Vec::with_capacity(fc.data.len());
        for (row, &s) in fc.data.chunks(per).zip(&s_w) {
            wq.extend(row.iter().map(|&v| quant_sym(v, s, lim)));
        }
        let (target, s_z, lo, hi) = self.act_target(node.output);
        let kind = self.target_kind(target);
        let bad = || Self::err(node, "requantization ratio out of range");
        if s_w.iter().all(|&s| s == first) {
            let acc = x.scale * first;
            let w = self.add_const(format!("{}.weight", node.name), first, fc.shape.clone(), wq);
            let (b, bq) = self.bias(node, bias, acc)?;
            let bound = accumulator_bound(self.const_data(w), per, &bq, x.kind);
            let (m, s) = fine_multiplier(acc / s_z, bound).ok_or_else(bad)?;
            let out = self.bind(node, target, kind, s_z)?;
            return Ok(Some(GridProduct {
                weight: w,
                bias: b,
                rq: Requant { m, s, lo, hi },
                out: out.id,
            }));
        }
        let bq =
            super::channels::channel_biases(bias.map(|c| &g.consts[c].data[..]), x.scale, &s_w)
                .ok_or_else(|| Self::err(node, "bias does not fit i64 at the model's scale"))?;
        let ratios: Vec<f64> = s_w.iter().map(|&s| x.scale * s / s_z).collect();
        let mut chosen = None;
        for shift in (0..=62u32).rev() {
            let p = f64::from(2u32).powi(shift as i32);
            let mults: Vec<i64> = ratios.iter().map(|&r| (r * p).round() as i64).collect();
            if mults.iter().any(|&m| !(1..1 << 31).contains(&m)) {
                continue;
            }
            let rq = Requant {
                m: 0,
                s: shift,
                lo,
                hi,
            };
            let mag = x.kind.magnitude();
            if vouch_semantics::channels_fit(&wq, per, Some(&bq), mag, &rq, &mults).is_some() {
                chosen = Some((rq, mults));
                break;
            }
        }
        let (rq, mults) = chosen.ok_or_else(bad)?;
        let mut triples = Vec::with_capacity(rows * 3);
        for (&b, &m) in bq.iter().zip(&mults) {
            let t = vouch_semantics::split_channel(b, m)
                .ok_or_else(|| Self::err(node, "bias or multiplier out of range"))?;
            triples.extend(t);
        }
        let s_top = s_w.iter().copied().fold(0f64, f64::max);
        let w = self.add_const(format!("{}.weight", node.name), s_top, fc.shape.clone(), wq);
        let b = self.add_const(
            format!("{}.bias", node.name),
            x.scale * s_top,
            vec![rows, 3],
            triples,
        );
        let out = self.bind(node, target, kind, s_z)?;
        Ok(Some(GridProduct {
            weight: w,
            bias: Some(b),
            rq,
            out: out.id,
        }))
    }

    /// Whether `node` (an `Add` or `Sub`) writes a grid or reads a chain's value: it is
    /// lowered with fine multipliers ([`Builder::add_sub_pinned`]).
    pub(super) fn add_on_grid(&self, node: &FNode) -> bool {
        self.grid_target(node.output).is_some()
            || node.inputs.iter().any(|o| match *o {
                fg::Operand::Value(v) => self.pins.pinned.get(v).copied().unwrap_or(false),
                fg::Operand::Const(_) => false,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, Precision, fine_multiplier, pin_kind, row_grid};

    #[test]
    fn a_row_of_multiples_has_its_grid() {
        let s = 0.005_267_787_3_f32;
        let row: Vec<f32> = [3, -127, 0, 55, 1].iter().map(|&k| k as f32 * s).collect();
        assert_eq!(row_grid(&row), Some(Some(f64::from(s))));
        // integers with a common factor: a coarser grid, on which they are still integers
        let even: Vec<f32> = [4, -126, 0, 56].iter().map(|&k| k as f32 * s).collect();
        let g = row_grid(&even).flatten().unwrap();
        assert!((g / (2.0 * f64::from(s)) - 1.0).abs() < 1e-6, "{g}");
        assert_eq!(row_grid(&[0.0; 3]), Some(None));
        assert_eq!(row_grid(&[0.1, 0.2337, 0.5]), None);
    }

    #[test]
    fn the_multiplier_is_as_fine_as_the_bound_allows() {
        let r = 0.011_458_554_f64 / 0.015_801_134;
        let (m, s) = fine_multiplier(r, 1).unwrap();
        assert!((1 << 30..1 << 31).contains(&m), "{m}");
        assert!((m as f64 / f64::from(2u32).powi(s as i32) - r).abs() <= r * 2f64.powi(-30));
        // an accumulator of up to 2^40: M · 2^40 must stay below 2^63
        let (m, _) = fine_multiplier(r, 1 << 40).unwrap();
        assert!((1 << 21..1 << 23).contains(&m), "{m}");
        assert_eq!(fine_multiplier(0.0, 1), None);
    }

    #[test]
    fn a_grid_takes_the_narrowest_kind_that_holds_it() {
        // int8 at zero point -128: [0, 255]
        assert_eq!(pin_kind(0, 255, Precision::Int8), Some(Kind::Act16));
        // uint8 at zero point 128: [-128, 127]
        assert_eq!(pin_kind(-128, 127, Precision::Int8), Some(Kind::Act8));
        assert_eq!(pin_kind(-128, 127, Precision::Int16), Some(Kind::Act16));
        // uint16 at zero point 0
        assert_eq!(pin_kind(0, 65535, Precision::Int16), None);
    }
}
