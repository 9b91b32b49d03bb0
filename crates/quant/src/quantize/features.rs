//! Per-feature input scales (`docs/semantics.md` section 5): a tabular graph input whose
//! features span very different magnitudes (a balance in the thousands next to a ratio below
//! one) loses the small features to one scale per tensor. Such an input gets one scale per
//! feature instead, recorded in its [`vouch_model::IoSpec::feature_scales`] for the client's
//! codec, and its readers fold the scales into their constants, so the integer graph is
//! unchanged: a `Linear` multiplies weight column `k` by scale `k`, a `Mul` by a constant
//! multiplies the constant's element for feature `k` by scale `k`.
//!
//! When every reader is a `Linear`, the features are sent as two `act16` limbs each
//! ([`vouch_model::IoSpec::limb_bits`], [`LIMB_BITS`]): 16 bits per feature leave the raw
//! breast-cancer models 1.6e-3 to 3.9e-3 off onnxruntime however the weights are rounded; 24
//! bits do not. The `Linear` reads the high limbs with its weight columns times `2^m` and the
//! low limbs with the columns themselves ([`Builder::weights_limbs`]). With one reader each
//! feature's scale is then nudged so that its column's largest weight is an exact integer
//! ([`limb_scales`]): a binary model's weights (one row and its negation) are exact.

use super::{Builder, MIN_SCALE};
use vouch_model::Operand;
use vouch_onnx::graph::{self as fg, FGraph, FNode, FOp};

/// A feature whose calibrated range is below this share of the largest feature's range gets
/// fewer than 128 steps of a shared `act16` scale: the point where one scale per tensor stops
/// representing it.
const SPREAD: f32 = 1.0 / 256.0;

/// How far past its calibrated range a feature is represented: held-out rows of breast cancer
/// reach 2.6 times the largest value 128 calibration rows show, and a clipped feature moves a
/// score by its weight times the excess; three times the range still leaves each feature
/// 10,922 steps (measured on the linear fixtures: 2x clips the imputer pipeline's held-out
/// rows to a 1.8e-2 probability error, 3x gives 8.7e-4, 4x coarsens the raw-feature model's
/// input steps to 1.5e-3).
const FEATURE_HEADROOM: f64 = 3.0;

/// The per-feature scales of graph input `v` with calibrated per-feature ranges `ranges`, or
/// `None` to keep one scale: given when `v` is `[N, F]` (`F >= 2`, not a graph output), its
/// smallest nonzero feature range is below [`SPREAD`] times the largest, and every reader
/// folds them: a `Linear` reading it as `X`, or a `Mul` by a constant that varies along the
/// feature axis only. Scale `k` is `3 r_k / L` ([`FEATURE_HEADROOM`]); a feature never nonzero
/// in calibration gets the largest feature's scale.
pub(super) fn input_feature_scales(
    g: &FGraph,
    v: usize,
    readers: &[usize],
    is_output: bool,
    ranges: &[f32],
    lim: i32,
) -> Option<Vec<f64>> {
    let f = ranges.len();
    let shape = &g.values.get(v)?.shape;
    if is_output || readers.is_empty() || f < 2 || shape.len() != 2 {
        return None;
    }
    if shape.last() != Some(&fg::Dim::Fixed(f)) {
        return None;
    }
    let max = ranges.iter().fold(0f32, |m, &r| m.max(r));
    let min = ranges
        .iter()
        .copied()
        .filter(|&r| r > 0.0)
        .fold(f32::INFINITY, f32::min);
    if !(max > 0.0 && min < max * SPREAD) {
        return None;
    }
    if !readers.iter().all(|&n| folds(g, &g.nodes[n], v, f)) {
        return None;
    }
    let scale = |r: f32| (FEATURE_HEADROOM * f64::from(r) / f64::from(lim)).max(MIN_SCALE);
    Some(
        ranges
            .iter()
            .map(|&r| scale(if r > 0.0 { r } else { max }))
            .collect(),
    )
}

/// Whether `node` can fold per-feature scales of its input `v` (`f` features) into a constant.
fn folds(g: &FGraph, node: &FNode, v: usize, f: usize) -> bool {
    let is_v = |o: &fg::Operand| *o == fg::Operand::Value(v);
    match (&node.op, node.inputs.as_slice()) {
        (FOp::Linear { .. }, [x]) => is_v(x),
        (FOp::Mul, [a, b]) => {
            let c = match (a, b) {
                (x, fg::Operand::Const(c)) | (fg::Operand::Const(c), x) if is_v(x) => *c,
                _ => return false,
            };
            let shape = &g.consts[c].shape;
            // a scalar, or one value per feature on the last axis
            shape.iter().product::<usize>() == 1
                || (shape.last() == Some(&f) && shape.iter().rev().skip(1).all(|&d| d == 1))
        }
        _ => false,
    }
}

/// The low limb's bits `m` of a limbed input: features keep `15 + m` bits. 8 measured on the
/// raw breast-cancer models (`tests/linear.rs`): 6 leaves 9e-5 of logit error on
/// `linear_logreg_raw_bc`, 8 leaves 2.4e-5, and 8 still leaves each column's largest weight up
/// to 127 steps of `2^8` ([`limb_scales`]).
pub(super) const LIMB_BITS: u32 = 8;

/// The largest `p` of a high limb's weight `2^m p` ([`LIMB_BITS`]).
fn limb_units() -> f64 {
    f64::from(32767 >> LIMB_BITS)
}

/// The per-feature scales of graph input `v` sent as limbs, from its one-step scales `fs`
/// ([`input_feature_scales`]), or `None` to keep one element per feature: when every reader
/// is a `Linear`. Each feature keeps `2^m` times its steps (`fs[k] / 2^m`); with one reader,
/// whose weight column `k` has largest magnitude `a_k`, the scale becomes `σ p_k / a_k` with
/// `σ = max_k a_k fs[k] / (2^m P)` (`P = 32767 >> m`) and `p_k = ceil(a_k fs[k] / (2^m σ))`:
/// no finer than the range allows, and `a_k s_k / σ = p_k` an integer, so the column's largest
/// weight is exact at the accumulator scale `σ` ([`Builder::weights_limbs`]).
pub(super) fn limb_scales(g: &FGraph, v: usize, readers: &[usize], fs: &[f64]) -> Option<Vec<f64>> {
    let unit = f64::from(1u32 << LIMB_BITS);
    let fine: Vec<f64> = fs.iter().map(|s| s / unit).collect();
    let mut weight = None;
    for &n in readers {
        match (&g.nodes[n].op, g.nodes[n].inputs.as_slice()) {
            (FOp::Linear { weight: w, .. }, [x]) if *x == fg::Operand::Value(v) => {
                weight = Some(*w);
            }
            _ => return None,
        }
    }
    let (Some(w), [_]) = (weight, readers) else {
        return Some(fine);
    };
    let w = &g.consts[w];
    let k = fine.len();
    if w.shape.last() != Some(&k) {
        return None;
    }
    let mut a = vec![0f64; k];
    for (i, &x) in w.data.iter().enumerate() {
        a[i % k] = a[i % k].max(f64::from(x).abs());
    }
    let top = a.iter().zip(&fine).fold(0f64, |m, (a, s)| m.max(a * s));
    if top <= 0.0 {
        return Some(fine);
    }
    let sigma = top / limb_units();
    Some(
        a.iter()
            .zip(&fine)
            .map(|(&a, &s)| {
                if a > 0.0 {
                    let p = (a * s / sigma).ceil().clamp(1.0, limb_units());
                    sigma * p / a
                } else {
                    s
                }
            })
            .collect(),
    )
}

impl Builder<'_> {
    /// Whether operand `i` of `node` is a graph input sent as limbs: its package value holds
    /// two elements per feature scale.
    pub(super) fn limbs_of(&self, node: &FNode, i: usize) -> bool {
        let Some(fs) = self.feature_scales_of(node, i) else {
            return false;
        };
        let Some(fg::Operand::Value(v)) = node.inputs.get(i) else {
            return false;
        };
        self.map[*v].is_some_and(|q| {
            self.values[q.id as usize].shape.last()
                == Some(&vouch_model::Dim::Fixed(2 * fs.len() as u32))
        })
    }

    /// `Linear` weights `[N, K]` reading an input sent as limbs with feature scales `fs`:
    /// `[N, 2K]`, the high limbs' columns `round(2^m w s_k / σ)` then the low limbs' `round(w
    /// s_k / σ)`, at the accumulator scale `σ = max |w s_k| / P` (`P = 32767 >> m`), so that an
    /// exact column maximum `p σ` ([`limb_scales`]) is read exactly from both limbs.
    pub(super) fn weights_limbs(&mut self, node: &FNode, c: usize, fs: &[f64]) -> (u32, f64) {
        let fc = &self.g.consts[c];
        let k = fs.len();
        let folded = folded_columns(&fc.data, fs);
        let top = folded.iter().fold(0f64, |m, v| m.max(v.abs()));
        let sigma = if top > 0.0 { top / limb_units() } else { 1.0 };
        let unit = f64::from(1u32 << LIMB_BITS);
        let q = |x: f64| (x.round() as i64).clamp(-32767, 32767) as i32;
        let mut data = Vec::with_capacity(2 * folded.len());
        for row in folded.chunks(k.max(1)) {
            data.extend(row.iter().map(|&x| q(x * unit / sigma)));
            data.extend(row.iter().map(|&x| q(x / sigma)));
        }
        let n = fc.shape.first().copied().unwrap_or(0);
        let id = self.add_const(format!("{}.weight", node.name), sigma, vec![n, 2 * k], data);
        (id, sigma)
    }

    /// The per-feature scales of operand `i` of `node`, when it is a graph input that has them.
    pub(super) fn feature_scales_of(&self, node: &FNode, i: usize) -> Option<&[f64]> {
        match node.inputs.get(i) {
            Some(fg::Operand::Value(v)) => self.feature_scales.get(*v)?.as_deref(),
            _ => None,
        }
    }

    /// `Linear` weights `[N, K]` with column `k` multiplied by `fs[k]` (the input's feature
    /// scales), quantized per tensor: `(const id, scale)`. The input is then read at
    /// scale 1, so the accumulator's scale is the weights'.
    pub(super) fn weights_folded(&mut self, node: &FNode, c: usize, fs: &[f64]) -> (u32, f64) {
        let fc = &self.g.consts[c];
        let folded = folded_columns(&fc.data, fs);
        self.quantize_folded(node, "weight", fc.shape.clone(), &folded)
    }

    /// The constant operand `c` of a `Mul` by an input with feature scales `fs`, each
    /// feature's factor multiplied by its scale (a scalar constant becomes one per feature).
    pub(super) fn mul_const_folded(
        &mut self,
        node: &FNode,
        c: usize,
        fs: &[f64],
    ) -> (Operand, f64) {
        let fc = &self.g.consts[c];
        let k = fs.len();
        let folded: Vec<f64> = (0..k)
            .map(|i| f64::from(fc.data[if fc.data.len() == 1 { 0 } else { i }]) * fs[i])
            .collect();
        let shape = if fc.data.len() == 1 {
            vec![k]
        } else {
            fc.shape.clone()
        };
        let (id, scale) = self.quantize_folded(node, "factor", shape, &folded);
        (Operand::Const(id), scale)
    }

    /// Quantizes folded real values per tensor at `max |x| / L` into a new constant.
    fn quantize_folded(
        &mut self,
        node: &FNode,
        what: &str,
        shape: Vec<usize>,
        folded: &[f64],
    ) -> (u32, f64) {
        let lim = self.lim();
        let range = folded.iter().fold(0f64, |m, v| m.max(v.abs()));
        let s = if range > 0.0 {
            range / f64::from(lim)
        } else {
            1.0
        };
        // the folded values are quantized in f64 (no f32 rounding of the product)
        let data: Vec<i32> = folded
            .iter()
            .map(|&v| ((v / s).round() as i64).clamp(i64::from(-lim), i64::from(lim)) as i32)
            .collect();
        let id = self.add_const(format!("{}.{what}", node.name), s, shape, data);
        (id, s)
    }
}

/// The largest magnitude of each feature (last axis) of a calibration tensor of rank 2;
/// empty for any other rank.
pub(crate) fn feature_ranges(shape: &[usize], data: &[f32]) -> Vec<f32> {
    let [_, f] = shape else {
        return Vec::new();
    };
    let mut r = vec![0f32; *f];
    for (j, v) in data.iter().enumerate() {
        let k = j % f;
        r[k] = r[k].max(v.abs());
    }
    r
}

/// Weights `[N, K]` (row-major) with column `k` multiplied by the feature scale `fs[k]`.
fn folded_columns(w: &[f32], fs: &[f64]) -> Vec<f64> {
    let k = fs.len().max(1);
    w.iter()
        .enumerate()
        .map(|(i, &v)| f64::from(v) * fs[i % k])
        .collect()
}
