//! Weight bands: a `Conv` whose output channels' weights differ in magnitude by more than
//! [`BAND_RATIO`] is lowered as several `Conv`s, one per band of channels of like magnitude,
//! each with its own weight scale, requantized onto the one output scale, joined by a `Concat`
//! and put back in channel order by a `Select` (`docs/architecture.md`, "Weight bands").
//! Weights are quantized per tensor (`s_w = max |W| / L`), so a channel whose
//! weights are `2^k` times smaller than the tensor's largest keeps only `L / 2^k` steps: a
//! folded `BatchNormalization` can leave channels millions of times apart, which rounds them
//! to 0. Every op stays as section 3 defines it; only the importer's choice of scales changes.
//!
//! This module also holds what a banded `Conv` shares with a plain one: the requantized
//! output's target value, scale and clamp ([`Builder::act_target`]) and the bias at an
//! accumulator scale ([`Builder::bias_of`]).

use super::{Builder, QVal, accumulator_bound, act_scale, clamp_bounds, kind_range, multiplier};
use super::{MIN_SCALE, quant_sym};
use crate::Result;
use vouch_model::{Dim, Op, Operand, Requant};
use vouch_onnx::graph::{FNode, FOp};

/// The largest ratio of two channels' weight magnitudes (`max |W[c]|`) inside one band: the
/// smallest channel of a band keeps at least `L / 16` steps (2047 of `i16`'s 32767).
pub(crate) const BAND_RATIO: f32 = 16.0;

/// The most bands one `Conv` is split into; channels past the last band's reach join it
/// (`16^8 = 2^32` below the largest channel, their products are far below an output step).
pub(crate) const MAX_BANDS: usize = 8;

/// The bands of units (output channels, or groups of a grouped `Conv`) with largest weight
/// magnitudes `unit_max`: each band a list of unit indices in ascending order, bands from the
/// largest magnitude down. A unit joins the current band while its magnitude is at least the
/// band's largest over [`BAND_RATIO`] (an all-zero unit joins any band: it is exact at every
/// scale), else it starts a new band while fewer than [`MAX_BANDS`] exist. `None` when one band
/// holds every unit (the plain lowering).
pub(crate) fn weight_bands(unit_max: &[f32]) -> Option<Vec<Vec<usize>>> {
    let mut order: Vec<usize> = (0..unit_max.len()).collect();
    order.sort_by(|&a, &b| unit_max[b].total_cmp(&unit_max[a]).then(a.cmp(&b)));
    let mut bands: Vec<Vec<usize>> = Vec::new();
    let mut top = 0f32;
    for u in order {
        let m = unit_max[u];
        let full = bands.len() >= MAX_BANDS;
        match bands.last_mut() {
            Some(band) if m == 0.0 || m * BAND_RATIO >= top || full => {
                band.push(u);
            }
            _ => {
                bands.push(vec![u]);
                top = m;
            }
        }
    }
    if bands.len() < 2 {
        return None;
    }
    for band in &mut bands {
        band.sort_unstable();
    }
    Some(bands)
}

/// The attributes of a `Conv` other than its weight and bias.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConvAttrs {
    pub kernel: [u32; 2],
    pub strides: [u32; 2],
    pub pads: [u32; 4],
    pub dilations: [u32; 2],
    pub group: u32,
}

impl Builder<'_> {
    /// Where an accumulating node's requantized output goes: its own value, or that of the
    /// `Relu`/`Clip` fused into it (marked fused); the output scale (the calibrated range with
    /// headroom, at most a fused clip's bound over `L`) and the clamp `[lo, hi]`.
    pub(super) fn act_target(&mut self, node: &FNode) -> (usize, f64, (i32, i32)) {
        let v = node.output;
        let (target, lo_hi) = match self.fusable(v) {
            Some(c) => {
                self.fused[c] = true;
                let cn = &self.g.nodes[c];
                (
                    cn.output,
                    match cn.op {
                        FOp::Clip { min, max } => Some((min, max)),
                        _ => Some((0.0, f32::INFINITY)),
                    },
                )
            }
            None => (v, None),
        };
        let s_z = self.act_scale(self.ranges[target]);
        // a clipped value never passes its bounds: no headroom beyond them
        let s_z = match lo_hi.map(|(a, b)| a.abs().max(b.abs())) {
            Some(r) if r > 0.0 => s_z.min(act_scale(r, self.lim())),
            _ => s_z,
        };
        let act = self.act();
        let bounds = match lo_hi {
            Some((a, b)) => clamp_bounds(a, b, s_z, act),
            None => kind_range(act),
        };
        (target, s_z, bounds)
    }

    /// The bias `data` (of `shape`) at the accumulator scale `scale`, exact to the step: stored
    /// as it is when every value fits `i32`, else as a wide `[N, 2]` bias (`docs/semantics.md`
    /// section 3, version 5) of `i64`-ranged values. Returns the constant and the values.
    pub(super) fn bias_of(
        &mut self,
        node: &FNode,
        name: String,
        data: &[f32],
        shape: Vec<usize>,
        scale: f64,
    ) -> Result<(u32, Vec<i64>)> {
        let mut values = Vec::with_capacity(data.len());
        for &b in data {
            let q = (f64::from(b) / scale).round();
            // 2^62: the widest value a [hi, lo] pair holds (hi = floor(q / 2^31) in i32)
            if !q.is_finite() || q.abs() >= 4_611_686_018_427_387_904.0 {
                return Err(Self::err(
                    node,
                    "bias does not fit i64 at the accumulator scale",
                ));
            }
            values.push(q as i64);
        }
        let narrow: Option<Vec<i32>> = values.iter().map(|&v| i32::try_from(v).ok()).collect();
        let (shape, data) = match narrow {
            Some(data) => (shape, data),
            None => {
                let pairs: Option<Vec<[i32; 2]>> = values
                    .iter()
                    .map(|&v| vouch_semantics::split_bias(v))
                    .collect();
                let pairs =
                    pairs.ok_or_else(|| Self::err(node, "bias does not fit a wide bias"))?;
                (vec![values.len(), 2], pairs.concat())
            }
        };
        Ok((self.add_const(name, scale, shape, data), values))
    }

    /// The weight bands of a `Conv` with weight constant `weight` and `group` groups: units are
    /// output channels (`group == 1`) or groups; `None` when its output stays a wide
    /// accumulator (one accumulator scale) or one band holds every unit.
    pub(super) fn conv_bands(
        &self,
        node: &FNode,
        weight: usize,
        group: usize,
    ) -> Option<Vec<Vec<usize>>> {
        if self.wide_ok(node.output) {
            return None;
        }
        let w = &self.g.consts[weight];
        let rows = w.shape.first().copied().unwrap_or(0);
        let units = if group == 1 { rows } else { group };
        if units < 2 || w.data.is_empty() || w.data.len() % units != 0 || rows % units != 0 {
            return None;
        }
        let per_unit = w.data.len() / units;
        let unit_max: Vec<f32> = w
            .data
            .chunks_exact(per_unit)
            .map(|c| c.iter().fold(0f32, |m, v| m.max(v.abs())))
            .collect();
        weight_bands(&unit_max)
    }

    /// `Conv` of `x` lowered as one `Conv` per band of units (`bands`, from
    /// [`Self::conv_bands`]): a grouped `Conv`'s band first `Select`s its groups' input
    /// channels; each band's weights at their own scale, its bias at its own accumulator scale,
    /// requantized onto the common output scale and clamp ([`Self::act_target`]); a `Concat`
    /// of the bands on the channel axis and a `Select` back to channel order.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn banded_conv(
        &mut self,
        node: &FNode,
        name: String,
        x: QVal,
        weight: usize,
        bias: Option<usize>,
        attrs: ConvAttrs,
        bands: &[Vec<usize>],
    ) -> Result<()> {
        let g = self.g;
        let (target, s_z, (lo, hi)) = self.act_target(node);
        let act = self.act();
        let lim = self.lim();
        let w = &g.consts[weight];
        let rows = w.shape.first().copied().unwrap_or(0);
        let per_row = w.data.len() / rows.max(1);
        let group = attrs.group as usize;
        // output channels (weight rows) and input channels per unit
        let rows_per_unit = if group == 1 { 1 } else { rows / group };
        let cin_per_unit = w.shape.get(1).copied().unwrap_or(1);
        let x_shape = self.values[x.id as usize].shape.clone();
        let out_shape = self.shape(node, node.output)?;
        let with_channels = |shape: &[Dim], n: usize| {
            let mut s = shape.to_vec();
            if let Some(d) = s.get_mut(1) {
                *d = Dim::Fixed(n as u32);
            }
            s
        };
        let mut order = Vec::with_capacity(rows);
        let mut outs = Vec::with_capacity(bands.len());
        for (k, band) in bands.iter().enumerate() {
            let band_rows: Vec<usize> = band
                .iter()
                .flat_map(|&u| u * rows_per_unit..(u + 1) * rows_per_unit)
                .collect();
            let input = if group == 1 {
                x.id
            } else {
                let chans: Vec<u32> = band
                    .iter()
                    .flat_map(|&u| u * cin_per_unit..(u + 1) * cin_per_unit)
                    .map(|c| c as u32)
                    .collect();
                let iname = format!("{name}/band{k}/in");
                let shape = with_channels(&x_shape, chans.len());
                let id = self.new_value(iname.clone(), x.kind, x.scale, shape);
                let mut maps = vec![Vec::new(); x_shape.len()];
                maps[1] = chans;
                let op = Op::Select { maps };
                self.push(node, iname, op, vec![Operand::Value(x.id)], id);
                id
            };
            let wb: Vec<f32> = band_rows
                .iter()
                .flat_map(|&r| w.data[r * per_row..(r + 1) * per_row].iter().copied())
                .collect();
            let top = wb.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s_w = if top > 0.0 {
                f64::from(top) / f64::from(lim)
            } else {
                1.0
            };
            let wq: Vec<i32> = wb.iter().map(|&v| quant_sym(v, s_w, lim)).collect();
            let mut wshape = w.shape.clone();
            wshape[0] = band_rows.len();
            let wid = self.add_const(format!("{name}.weight.band{k}"), s_w, wshape, wq.clone());
            let acc = x.scale * s_w;
            let (bid, bq) = match bias {
                Some(c) => {
                    let bd: Vec<f32> = band_rows.iter().map(|&r| g.consts[c].data[r]).collect();
                    let bname = format!("{name}.bias.band{k}");
                    let (id, v) = self.bias_of(node, bname, &bd, vec![bd.len()], acc)?;
                    (Some(id), v)
                }
                None => (None, Vec::new()),
            };
            let bound = accumulator_bound(&wq, per_row, &bq, x.kind);
            let (m, s) = multiplier(acc / s_z.max(MIN_SCALE))
                .ok_or_else(|| Self::err(node, "requantization ratio out of range"))?;
            let rq = Requant { m, s, lo, hi };
            Self::requant_fits(node, bound, &rq)?;
            let oname = format!("{name}/band{k}");
            let oid = self.new_value(
                oname.clone(),
                act,
                s_z,
                with_channels(&out_shape, band_rows.len()),
            );
            let op = Op::Conv {
                weight: wid,
                bias: bid,
                kernel: attrs.kernel,
                strides: attrs.strides,
                pads: attrs.pads,
                dilations: attrs.dilations,
                group: if group == 1 { 1 } else { band.len() as u32 },
                rq,
                wide: false,
            };
            self.push(node, oname, op, vec![Operand::Value(input)], oid);
            outs.push(Operand::Value(oid));
            order.extend(band_rows);
        }
        let cname = format!("{name}/bands");
        let cid = self.new_value(cname.clone(), act, s_z, out_shape.clone());
        self.push(node, cname, Op::Concat { axis: 1 }, outs, cid);
        // channel c of the output is element inv[c] of the concatenation
        let mut inv = vec![0u32; order.len()];
        for (p, &c) in order.iter().enumerate() {
            inv[c] = p as u32;
        }
        let mut maps = vec![Vec::new(); out_shape.len()];
        maps[1] = inv;
        let q = self.bind(node, target, act, s_z)?;
        self.push(
            node,
            name,
            Op::Select { maps },
            vec![Operand::Value(cid)],
            q.id,
        );
        Ok(())
    }
}
