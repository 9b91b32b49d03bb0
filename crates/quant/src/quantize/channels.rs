//! Per-output-channel weight scales for `Linear` and `Conv` (`docs/semantics.md` sections 3
//! and 5, version 6): output channel `n` gets its own weight scale `s_w[n] = max |W[n, :]| / L`,
//! its bias at `s_x · s_w[n]` and its own multiplier `M[n] ≈ s_x · s_w[n] / s_z · 2^s` under
//! the node's one shift `s`; the node's `M` is 0 and its bias is `[N, 3]`
//! (`vouch_semantics::channels`).

use super::{Builder, QVal, depthwise, multiplier, quant_sym};
use crate::Result;
use vouch_model::Requant;
use vouch_onnx::graph::FNode;

/// A node goes per channel when some channel's weight range is below this share of the
/// largest: per tensor, that channel would lose 7 bits or more of its weights (a 16-bit
/// package's channel would keep fewer than 256 steps; an 8-bit one's less than one). A
/// smaller spread stays per tensor: swept on the production survey (1/2 to 1/32, and every
/// node per channel, for `Conv` and `Linear` together and apart; docs/architecture.md, "Plain
/// per-channel spread swept"), no lower threshold brought a model within 2% without taking
/// another out, and one scale keeps the node's partial-sum game and zk circuit as they are.
const SPREAD: f32 = 1.0 / 128.0;

/// A product lowered per channel: its weight and bias constants, requantization (`M = 0`) and
/// output value.
pub(super) struct PerChannel {
    /// The weight constant (`i16`-ranged, row `n` at `s_w[n]`).
    pub weight: u32,
    /// The `[N, 3]` bias constant (`[hi, lo, M[n]]`).
    pub bias: u32,
    /// `M = 0`, the shared shift and the clamp bounds.
    pub rq: Requant,
    /// The output value.
    pub out: u32,
}

impl Builder<'_> {
    /// Lowers the weights, bias and output of a `Linear` or `Conv` per output channel when its
    /// channels' weight ranges differ by more than [`SPREAD`] and its output is requantized
    /// (a `wide` output keeps one scale: nothing after it would undo per-channel scales).
    /// `None`: the node stays per tensor.
    pub(super) fn per_channel(
        &mut self,
        node: &FNode,
        x: QVal,
        weight: usize,
        bias: Option<usize>,
    ) -> Result<Option<PerChannel>> {
        let g = self.g;
        let fc = &g.consts[weight];
        let rows = fc.shape.first().copied().unwrap_or(0);
        if rows < 2 || fc.data.is_empty() || self.wide_ok(node.output) {
            return Ok(None);
        }
        let per = fc.data.len() / rows;
        let ranges: Vec<f32> = fc
            .data
            .chunks(per.max(1))
            .map(|r| r.iter().fold(0f32, |m, v| m.max(v.abs())))
            .collect();
        let top = ranges.iter().copied().fold(0f32, f32::max);
        // a depthwise channel goes per channel at a smaller spread (`depthwise.rs`)
        let share = if depthwise::is_depthwise(g, node) {
            depthwise::DEPTHWISE_SPREAD
        } else {
            SPREAD
        };
        let spread = ranges.iter().any(|&r| r > 0.0 && r < top * share);
        if !(top > 0.0 && top.is_finite() && spread) {
            return Ok(None);
        }
        let lim = self.lim();
        let l = f64::from(lim);
        // a channel of zeros keeps the largest scale (its weights are 0 at any scale)
        let s_w: Vec<f64> = ranges
            .iter()
            .map(|&r| f64::from(if r > 0.0 { r } else { top }) / l)
            .collect();
        let mut wq = Vec::with_capacity(fc.data.len());
        for (row, &s) in fc.data.chunks(per.max(1)).zip(&s_w) {
            wq.extend(row.iter().map(|&v| quant_sym(v, s, lim)));
        }
        // a bias past a [hi, lo] pair: per tensor, which refuses or widens on its own terms
        let Some(bq) = channel_biases(bias.map(|c| &g.consts[c].data[..]), x.scale, &s_w) else {
            return Ok(None);
        };
        let (target, s_z, lo, hi) = self.act_target(node.output);
        let ratios: Vec<f64> = s_w.iter().map(|&s| x.scale * s / s_z).collect();
        // M[n]'s rounding is a gain error of 1 / (2 M[n]) on channel n: take the largest shift
        // (up to the one that gives the smallest ratio M >= 2^14) whose multipliers stay below
        // 2^31 and pass section 4 on every channel; the largest ratio's own shift (M < 2^15, as
        // per tensor) is the floor
        let r_max = ratios.iter().copied().fold(0f64, f64::max);
        let r_min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let bad = || Self::err(node, "requantization ratio out of range");
        let (_, s_lo) = multiplier(r_max).ok_or_else(bad)?;
        let (_, s_hi) = multiplier(r_min).ok_or_else(bad)?;
        let mut chosen = None;
        for shift in (s_lo..=s_hi.max(s_lo)).rev() {
            let scale = f64::from(2u32).powi(shift as i32);
            let mults: Vec<i64> = ratios
                .iter()
                .map(|&r| ((r * scale).round() as i64).max(1))
                .collect();
            let rq = Requant {
                m: 0,
                s: shift,
                lo,
                hi,
            };
            let fits = mults.iter().all(|&m| m < 1 << 31)
                && vouch_semantics::channels_fit(
                    &wq,
                    per,
                    Some(&bq),
                    x.kind.magnitude(),
                    &rq,
                    &mults,
                )
                .is_some();
            if fits {
                chosen = Some((rq, mults));
                break;
            }
        }
        // no shift passes section 4 on every channel (a wide fan-in of act16 inputs against
        // weights that each fill the i16 range): per tensor, whose own bound check decides
        let Some((rq, mults)) = chosen else {
            return Ok(None);
        };
        let mut triples = Vec::with_capacity(rows * 3);
        for (&b, &m) in bq.iter().zip(&mults) {
            let t = vouch_semantics::split_channel(b, m)
                .ok_or_else(|| Self::err(node, "bias or multiplier out of range"))?;
            triples.extend(t);
        }
        let s_top = f64::from(top) / l;
        let w_id = self.add_const(format!("{}.weight", node.name), s_top, fc.shape.clone(), wq);
        let b_id = self.add_const(
            format!("{}.bias", node.name),
            x.scale * s_top,
            vec![rows, 3],
            triples,
        );
        let q = self.bind(node, target, self.target_kind(target), s_z)?;
        Ok(Some(PerChannel {
            weight: w_id,
            bias: b_id,
            rq,
            out: q.id,
        }))
    }
}

/// Each output channel's bias at `s_x · s_w[n]` (`0` for a node without one); `None` when one
/// is past 2^62, the widest value a `[hi, lo]` pair holds (a nearly dead channel's fine scale
/// can put its bias there).
pub(super) fn channel_biases(bias: Option<&[f32]>, s_x: f64, s_w: &[f64]) -> Option<Vec<i64>> {
    s_w.iter()
        .enumerate()
        .map(|(n, &s)| {
            let b = bias.and_then(|b| b.get(n)).copied().unwrap_or(0.0);
            let q = (f64::from(b) / (s_x * s)).round();
            (q.is_finite() && q.abs() < 4_611_686_018_427_387_904.0).then_some(q as i64)
        })
        .collect()
}
