//! Lowering a calibrated float graph to the integer IR.
//!
//! This module chooses the scales of the graph inputs, walks the nodes and dispatches each to
//! the module of its op's family ([`FOp::family`]); it holds what the families share: the
//! `Builder` that collects values, constants and nodes, operand quantization, weights and
//! biases, and the output binding of accumulating ops with its overflow checks. Each family
//! module adds the `Builder` methods that lower its ops:
//!
//! | module | ops |
//! |---|---|
//! | `dense` | `Linear`, `MatMul` |
//! | `conv` | `Conv` |
//! | `elementwise` | `Add`, `Sub`, `Mul`, `Max`, `Min` |
//! | `logic` | `Logic` (comparisons and logic ops to `0`/`1`), `Where` (elementwise family) |
//! | `activation` | `Relu`, `Clip`, `LeakyRelu`, `PRelu`, `Sigmoid`, `Tanh` |
//! | `reduce` | `ArgMax`, `Reduce` |
//! | `softmax` | `Softmax` (the op, or a finer form at 16 bits), `SoftmaxZero` (that finer form over the non-zero scores) |
//! | `softmax_long` | the finer form over a slice longer than a `Reduce` spans (a tree of maxima, an exact sum, a reciprocal in pieces) |
//! | `pool` | `MaxPool`, `AveragePool`, `GlobalAveragePool` |
//! | `layout` | `Reshape`, `Transpose`, `Concat`, `Pad`, `Select`, `Gather` |
//! | `tree` | `TreeEnsemble` |
//! | `pin` | a pre-quantized model's quantization chains, on the model's own grid |
//!
//! Equal constants (scale, shape and values) are stored once (`shared`).

mod activation;
mod channels;
mod conv;
mod dense;
mod depthwise;
mod elementwise;
pub(crate) mod features;
mod gate;
mod layout;
mod logic;
mod neck;
mod pin;
mod pool;
mod reduce;
mod shared;
mod softmax;
mod softmax_long;
mod state;
pub(crate) mod tree;
mod weights;

use crate::{Error, Result};
use vouch_model::{Const, Dim, IoSpec, Kind, Node, Op, Operand, Package, Requant, TensorInfo};
use vouch_onnx::graph::{self as fg, FGraph, FNode, FOp};
use vouch_semantics::{ACT_MAX, ACT_MIN, ACT16_MAX, ACT16_MIN, WIDE_BIAS_VERSION};

/// How wide the integers of a package are (`vouch model import --bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// `act8` activations and `i8` weights: the fastest engine kernels
    /// and the smallest circuits; about 1% of an output's range in error per layer.
    Int8,
    /// `act16` activations and `i16` weights (the default): 256 times
    /// finer steps; products that outgrow `i32` accumulate in `i64`.
    #[default]
    Int16,
}

impl Precision {
    /// From a bit count (8 or 16).
    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits {
            8 => Some(Self::Int8),
            16 => Some(Self::Int16),
            _ => None,
        }
    }
    /// Activation kind.
    pub fn kind(self) -> Kind {
        match self {
            Self::Int8 => Kind::Act8,
            Self::Int16 => Kind::Act16,
        }
    }
    /// Largest positive activation (and weight) step count: 127 or 32767.
    pub fn lim(self) -> i32 {
        match self {
            Self::Int8 => ACT_MAX,
            Self::Int16 => vouch_semantics::ACT16_MAX,
        }
    }
    /// The semantics version a package at this precision records: version 4 for both (version 3
    /// defines the zk statement, which `act8` packages use most). A package with a wide bias
    /// records version 5 instead ([`WIDE_BIAS_VERSION`]), so every other package keeps the
    /// bytes and content id it had before version 5 existed.
    pub fn semantics_version(self) -> u32 {
        WIDE_BIAS_VERSION - 1
    }
}

fn kind_range(kind: Kind) -> (i32, i32) {
    kind.act_range().unwrap_or((ACT_MIN, ACT_MAX))
}

/// Smallest activation scale.
const MIN_SCALE: f64 = 1.0 / 16_777_216.0;
/// Largest requantization multiplier the importer picks (`docs/semantics.md` section 5).
const M_TARGET: f64 = 32768.0;
/// How far past the calibrated range an `act16` activation reaches: held-out inputs push
/// hidden activations beyond what calibration saw, and a clipped activation costs far more
/// than one bit of resolution (over the fixture models' held-out rows, LeNet's largest logit
/// error is 0.090 with no headroom, 0.0079 with 2x, 0.011 with 4x).
const HEADROOM_16: f64 = 2.0;

#[derive(Debug, Clone, Copy)]
struct QVal {
    id: u32,
    scale: f64,
    kind: Kind,
}

/// Chooses `(M, s)` with `M / 2^s ≈ r`, `M < 2^15` and `s` as large as possible (`s <= 62`).
pub fn multiplier(r: f64) -> Option<(i64, u32)> {
    if !(r.is_finite() && r > 0.0) {
        return None;
    }
    for s in (0..=62u32).rev() {
        let m = (r * f64::from(2u32).powi(s as i32)).round();
        if m < M_TARGET {
            return Some(((m as i64).max(1), s));
        }
    }
    let m = r.round();
    (m < 2_147_483_648.0).then_some((m as i64, 0))
}

fn act_scale(range: f32, lim: i32) -> f64 {
    (f64::from(range) / f64::from(lim)).max(MIN_SCALE)
}

fn quant_sym(v: f32, scale: f64, lim: i32) -> i32 {
    ((f64::from(v) / scale).round() as i64).clamp(i64::from(-lim), i64::from(lim)) as i32
}

struct Builder<'g> {
    g: &'g FGraph,
    ranges: &'g [f32],
    values: Vec<TensorInfo>,
    consts: Vec<Const>,
    /// The constants by value, so equal ones are stored once (`shared.rs`).
    shared: shared::Shared,
    nodes: Vec<Node>,
    map: Vec<Option<QVal>>,
    consumers: Vec<Vec<usize>>,
    is_output: Vec<bool>,
    fused: Vec<bool>,
    precision: Precision,
    /// Per float value: the feature scales of a graph input that has them (`features.rs`).
    feature_scales: Vec<Option<Vec<f64>>>,
    /// A pre-quantized model's quantization chains (`pin.rs`).
    pins: pin::Pins,
}

impl Builder<'_> {
    fn err(node: &FNode, reason: impl Into<String>) -> Error {
        Error::Node {
            node: node.name.clone(),
            reason: reason.into(),
        }
    }

    fn shape(&self, node: &FNode, v: usize) -> Result<Vec<Dim>> {
        self.g.values[v]
            .shape
            .iter()
            .map(|d| match d {
                fg::Dim::Batch => Ok(Dim::Batch),
                fg::Dim::Fixed(n) => u32::try_from(*n)
                    .map(Dim::Fixed)
                    .map_err(|_| Self::err(node, "dimension too large")),
            })
            .collect()
    }

    fn new_value(&mut self, name: String, kind: Kind, scale: f64, shape: Vec<Dim>) -> u32 {
        self.values.push(TensorInfo {
            name,
            kind,
            scale,
            shape,
        });
        (self.values.len() - 1) as u32
    }

    fn bind(&mut self, node: &FNode, fv: usize, kind: Kind, scale: f64) -> Result<QVal> {
        let shape = self.shape(node, fv)?;
        let id = self.new_value(self.g.values[fv].name.clone(), kind, scale, shape);
        let q = QVal { id, scale, kind };
        self.map[fv] = Some(q);
        Ok(q)
    }

    /// Appends a node; an `Add` or `Mul` of a constant and a computed operand gets the
    /// constant second ([`elementwise::constant_second`]).
    fn push(&mut self, node: &FNode, name: String, op: Op, inputs: Vec<Operand>, out: u32) {
        let _ = node;
        let (op, inputs) = elementwise::constant_second(op, inputs);
        self.nodes.push(Node {
            name,
            op,
            inputs,
            output: out,
        });
    }

    fn act(&self) -> Kind {
        self.precision.kind()
    }

    fn lim(&self) -> i32 {
        self.precision.lim()
    }

    /// The scale of an activation computed by a node: the calibrated range over the kind's
    /// steps, times [`HEADROOM_16`] for `act16` (graph inputs use [`act_scale`] directly).
    fn act_scale(&self, range: f32) -> f64 {
        let s = act_scale(range, self.lim());
        match self.precision {
            Precision::Int8 => s,
            Precision::Int16 => s * HEADROOM_16,
        }
    }

    /// The quantized activation of an operand (constants are quantized with their own scale).
    fn operand(
        &mut self,
        node: &FNode,
        o: &fg::Operand,
        scale_hint: Option<f64>,
    ) -> Result<(Operand, f64)> {
        match *o {
            fg::Operand::Value(v) => {
                let q = self.map[v].ok_or_else(|| {
                    Self::err(
                        node,
                        format!("value {} not quantized", self.g.values[v].name),
                    )
                })?;
                if q.kind.act_range().is_none() {
                    return Err(Self::err(node, "operand is not an activation tensor"));
                }
                Ok((Operand::Value(q.id), q.scale))
            }
            fg::Operand::Const(c) => {
                let fc = &self.g.consts[c];
                let range = fc.data.iter().fold(0f32, |m, v| m.max(v.abs()));
                let scale = scale_hint.unwrap_or_else(|| self.act_scale(range));
                let lim = self.lim();
                let data = fc.data.iter().map(|&v| quant_sym(v, scale, lim)).collect();
                let id = self.add_const(fc.name.clone(), scale, fc.shape.clone(), data);
                Ok((Operand::Const(id), scale))
            }
        }
    }

    fn input(&self, node: &FNode, i: usize) -> Result<QVal> {
        match node.inputs.get(i) {
            Some(fg::Operand::Value(v)) => {
                self.map[*v].ok_or_else(|| Self::err(node, "input not quantized"))
            }
            _ => Err(Self::err(node, "expected a dynamic input")),
        }
    }

    /// Input 0 as an `act8` tensor (a `Lut` indexes 256 entries): an `act16` input is first
    /// rescaled onto `[-128, 127]` at its calibrated range by an inserted `Rescale` node.
    fn act8_input(&mut self, node: &FNode) -> Result<QVal> {
        let x = self.input(node, 0)?;
        if x.kind == Kind::Act8 {
            return Ok(x);
        }
        let scale = act_scale(self.range_of(node, 0)?, ACT_MAX);
        self.rescaled_input(node, Kind::Act8, scale, (ACT_MIN, ACT_MAX), "to_act8")
    }

    /// The calibrated largest magnitude of dynamic operand `i` of `node`.
    fn range_of(&self, node: &FNode, i: usize) -> Result<f32> {
        match node.inputs.get(i) {
            Some(fg::Operand::Value(v)) => Ok(self.ranges[*v]),
            _ => Err(Self::err(node, "expected a dynamic input")),
        }
    }

    /// Input 0 rescaled by an inserted `Rescale` node (named `<node>/<suffix>`) onto `kind` at
    /// `scale`, clamped to `[lo, hi]`.
    fn rescaled_input(
        &mut self,
        node: &FNode,
        kind: Kind,
        scale: f64,
        (lo, hi): (i32, i32),
        suffix: &str,
    ) -> Result<QVal> {
        let x = self.input(node, 0)?;
        let (m, s) = multiplier(x.scale / scale)
            .ok_or_else(|| Self::err(node, "rescale ratio out of range"))?;
        let name = format!("{}/{suffix}", node.name);
        let shape = self.values[x.id as usize].shape.clone();
        let id = self.new_value(name.clone(), kind, scale, shape);
        let rq = Requant { m, s, lo, hi };
        self.push(
            node,
            name,
            Op::Rescale { rq },
            vec![Operand::Value(x.id)],
            id,
        );
        Ok(QVal { id, scale, kind })
    }

    /// The single consumer of `v` if it is a Relu or Clip that can be fused.
    fn fusable(&self, v: usize) -> Option<usize> {
        if self.is_output[v] {
            return None;
        }
        match self.consumers[v].as_slice() {
            [c] if matches!(self.g.nodes[*c].op, FOp::Relu | FOp::Clip { .. }) => Some(*c),
            _ => None,
        }
    }

    /// Whether `v` may stay a wide accumulator: every consumer reads wide values (ArgMax,
    /// Softmax, or data movement that only reorders or picks elements, `Select` and `Reshape`,
    /// whose own output may stay wide) and it has at least one consumer or is a graph output.
    /// A classifier's scores reversed or picked for its scores output (a binary SVM's `[-s, s]`,
    /// an `ArrayFeatureExtractor` column) keep the accumulator's precision that way.
    fn wide_ok(&self, v: usize) -> bool {
        (self.is_output[v] || !self.consumers[v].is_empty())
            && self.consumers[v].iter().all(|&c| {
                let n = &self.g.nodes[c];
                match n.op {
                    FOp::ArgMax { .. } | FOp::Softmax { .. } | FOp::SoftmaxZero { .. } => true,
                    FOp::Select { .. } | FOp::Reshape => n.output != v && self.wide_ok(n.output),
                    _ => false,
                }
            })
    }

    /// Section 4 for a requantized accumulator: `bound · M` must stay inside `i64`.
    fn requant_fits(node: &FNode, bound: i128, rq: &Requant) -> Result<()> {
        if vouch_semantics::accumulator_fits(bound, rq, false) {
            return Ok(());
        }
        Err(Self::err(
            node,
            format!(
                "accumulator bound {bound} times the multiplier {} overflows i64 (fan-in too large)",
                rq.m
            ),
        ))
    }

    /// Output binding for Linear/Conv/MatMul with accumulator scale `acc_scale` and the
    /// section 4 accumulator bound: a wide output where every reader takes one and the bound
    /// fits `i32`, else a requantized activation whose bound must fit the `i64` domain.
    fn accum_output(
        &mut self,
        node: &FNode,
        acc_scale: f64,
        bound: i128,
    ) -> Result<(Requant, bool, u32)> {
        let v = node.output;
        if self.wide_ok(v) {
            if bound < 1 << 31 {
                let q = self.bind(node, v, Kind::Wide, acc_scale)?;
                return Ok((Requant::IDENTITY, true, q.id));
            }
            // The accumulator may pass i32 (16-bit operands): requantize it into a wide tensor
            // with 2^24 steps for the calibrated range, so values far beyond calibration are
            // not clipped as an activation's would be.
            let s_z = (f64::from(self.ranges[v]) / f64::from(1u32 << 24)).max(MIN_SCALE);
            let (m, s) = multiplier(acc_scale / s_z)
                .ok_or_else(|| Self::err(node, "requantization ratio out of range"))?;
            let rq = Requant {
                m,
                s,
                lo: i32::MIN,
                hi: i32::MAX,
            };
            Self::requant_fits(node, bound, &rq)?;
            let q = self.bind(node, v, Kind::Wide, s_z)?;
            return Ok((rq, false, q.id));
        }
        let (target, s_z, lo, hi) = self.act_target(v);
        let (m, s) = if self.pins.grid_of(target).is_some() {
            pin::fine_multiplier(acc_scale / s_z, bound)
        } else {
            multiplier(acc_scale / s_z)
        }
        .ok_or_else(|| Self::err(node, "requantization ratio out of range"))?;
        let rq = Requant { m, s, lo, hi };
        Self::requant_fits(node, bound, &rq)?;
        let q = self.bind(node, target, self.target_kind(target), s_z)?;
        Ok((rq, false, q.id))
    }

    /// The activation a requantized product `v` writes: the value it binds (a fused `Relu` or
    /// `Clip`'s output, marked fused), its calibrated scale and its clamp bounds; for a value a
    /// pre-quantized model quantizes, its grid's scale and bounds (`pin.rs`).
    fn act_target(&mut self, v: usize) -> (usize, f64, i32, i32) {
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
        if let Some((s_z, lo, hi)) = self.pinned_target(target, lo_hi) {
            return (target, s_z, lo, hi);
        }
        let s_z = self.value_scale(target);
        // a clipped value never passes its bounds: no headroom beyond them
        let s_z = match lo_hi.map(|(a, b)| a.abs().max(b.abs())) {
            Some(r) if r > 0.0 => s_z.min(act_scale(r, self.lim())),
            _ => s_z,
        };
        let act = self.act();
        let (lo, hi) = match lo_hi {
            Some((a, b)) => clamp_bounds(a, b, s_z, act),
            None => kind_range(act),
        };
        (target, s_z, lo, hi)
    }

    /// The integers of package constant `id` (empty for an unknown id).
    fn const_data(&self, id: u32) -> &[i32] {
        self.consts.get(id as usize).map_or(&[], |c| &c.data)
    }

    /// Lowers node `ni` (nothing if it was fused into its producer) by the method its
    /// family's module defines.
    fn lower(&mut self, ni: usize) -> Result<()> {
        let g = self.g;
        let node = &g.nodes[ni];
        if self.fused[ni] {
            return Ok(());
        }
        let name = node.name.clone();
        match &node.op {
            FOp::Linear { weight, bias } => self.linear(node, name, *weight, *bias),
            FOp::MatMul => self.matmul(node, name),
            FOp::Conv {
                weight,
                bias,
                kernel,
                strides,
                pads,
                dilations,
                group,
            } => self.conv(
                node, name, *weight, *bias, *kernel, *strides, *pads, *dilations, *group,
            ),
            FOp::Add => self.add(node, name),
            FOp::Sub => self.sub(node, name),
            FOp::Mul => {
                if self.chain(node, name.clone(), ni)? {
                    return Ok(());
                }
                self.mul(node, name)
            }
            FOp::Relu => self.relu(node, name),
            FOp::Clip { min, max } => self.clip(node, name, *min, *max),
            FOp::LeakyRelu { alpha } => self.leaky_relu(node, name, *alpha),
            FOp::Sigmoid => self.sigmoid(node, name),
            FOp::Tanh => self.tanh(node, name),
            FOp::Map { f } => self.map(node, name, *f),
            FOp::Softmax { axis } => self.softmax(node, name, *axis),
            FOp::SoftmaxZero { axis } => self.softmax_zero(node, name, *axis),
            FOp::ArgMax {
                axis,
                keepdims,
                select_last_index,
            } => self.argmax(node, name, *axis, *keepdims, *select_last_index),
            FOp::MaxPool {
                kernel,
                strides,
                pads,
                dilations,
                ..
            } => self.max_pool(node, name, *kernel, *strides, *pads, *dilations),
            FOp::AveragePool {
                kernel,
                strides,
                pads,
                count_include_pad,
                ..
            } => self.average_pool(node, name, *kernel, *strides, *pads, *count_include_pad),
            FOp::GlobalAveragePool => self.global_average_pool(node, name),
            FOp::Reshape => self.reshape(node, name),
            FOp::Transpose { perm } => self.transpose(node, name, perm),
            FOp::Concat { axis } => self.concat(node, name, *axis),
            FOp::Pad { mode, pads, value } => self.pad(node, name, *mode, pads, *value),
            FOp::Select { maps } => self.select(node, name, maps),
            FOp::Gather { axis } => self.gather(node, name, *axis),
            FOp::Reduce {
                mode,
                axes,
                keepdims,
            } => self.reduce(node, name, *mode, axes, *keepdims),
            FOp::Max => self.min_max(node, name, true),
            FOp::Min => self.min_max(node, name, false),
            FOp::PRelu => self.prelu(node, name),
            FOp::TreeEnsemble(t) => self.tree_ensemble(node, name, t),
            FOp::Logic { op } => self.logic(node, name, *op),
            FOp::Where => self.select_where(node, name),
        }
    }
}

/// Whether the readers of a graph input are all tree ensembles (`Some(true)`), some are
/// (`Some(false)`), or none are (`None`).
fn tree_input(g: &FGraph, readers: &[usize]) -> Option<bool> {
    let trees = readers
        .iter()
        .filter(|&&c| matches!(g.nodes[c].op, FOp::TreeEnsemble(_)))
        .count();
    (trees > 0).then_some(trees == readers.len())
}

fn clamp_bounds(min: f32, max: f32, scale: f64, kind: Kind) -> (i32, i32) {
    let (klo, khi) = kind_range(kind);
    let q = |v: f32| {
        if v.is_infinite() {
            if v > 0.0 { khi } else { klo }
        } else {
            ((f64::from(v) / scale).round() as i64).clamp(i64::from(klo), i64::from(khi)) as i32
        }
    };
    // min > max clips everything to max, as numpy and ONNX do.
    let (lo, hi) = (q(min), q(max));
    (lo.min(hi), hi)
}

/// The kind and accepted range of an exact integer graph input `name` whose ONNX type holds
/// `type_range`, calibrated to largest magnitude `calibrated`: the type's range when it fits
/// `act16` (`bool`, `uint8`, `int8`, `int16`), else the calibrated magnitude's act8 or act16
/// range (within the type's). `act8` when the range fits it and the package is 8-bit, else
/// `act16`. A calibrated magnitude past `act16` is refused.
fn integer_input(
    name: &str,
    (tlo, thi): (i64, i64),
    calibrated: f32,
    precision: Precision,
) -> Result<(Kind, (i32, i32))> {
    let (lo16, hi16) = (i64::from(ACT16_MIN), i64::from(ACT16_MAX));
    let (lo, hi) = if tlo >= lo16 && thi <= hi16 {
        (tlo, thi)
    } else {
        let k = if calibrated <= ACT_MAX as f32 {
            i64::from(ACT_MAX)
        } else if calibrated <= ACT16_MAX as f32 {
            hi16
        } else {
            return Err(Error::Node {
                node: name.to_owned(),
                reason: format!(
                    "an integer input whose calibration values reach {calibrated}, past the \
                     act16 range [{ACT16_MIN}, {ACT16_MAX}] vouch reads integer inputs in"
                ),
            });
        };
        (tlo.max(-k - 1), thi.min(k))
    };
    let narrow = lo >= i64::from(ACT_MIN) && hi <= i64::from(ACT_MAX);
    let kind = if narrow && precision == Precision::Int8 {
        Kind::Act8
    } else {
        Kind::Act16
    };
    let r = |x: i64| i32::try_from(x).unwrap_or(0);
    Ok((kind, (r(lo), r(hi))))
}

/// The section 4 accumulator bound of a `Linear`/`Conv` over an input of kind `input`.
fn accumulator_bound(w: &[i32], per_row: usize, bias: &[i64], input: Kind) -> i128 {
    let bias = (!bias.is_empty()).then_some(bias);
    vouch_semantics::accumulator_bound(w, per_row.max(1), bias, input.magnitude())
}

/// Lowers `g`, given the calibrated largest magnitude of every value, of each feature (last
/// axis) of each `[N, F]` graph input (`features`, empty for other inputs) and which graph
/// inputs were integer-valued in every calibration sample, to a package at `precision`.
pub fn quantize(
    g: &FGraph,
    ranges: &[f32],
    features: &[Vec<f32>],
    integral: &[bool],
    name: &str,
    source_sha256: [u8; 32],
    precision: Precision,
) -> Result<Package> {
    let neck_ranges = neck::widened(g, ranges, precision);
    let ranges = neck_ranges.as_deref().unwrap_or(ranges);
    let nv = g.values.len();
    let mut consumers = vec![Vec::new(); nv];
    for (i, n) in g.nodes.iter().enumerate() {
        for o in &n.inputs {
            if let fg::Operand::Value(v) = o {
                consumers[*v].push(i);
            }
        }
    }
    let mut is_output = vec![false; nv];
    for &o in &g.outputs {
        is_output[o] = true;
    }
    let mut b = Builder {
        g,
        ranges,
        values: Vec::new(),
        consts: Vec::new(),
        shared: shared::Shared::default(),
        nodes: Vec::new(),
        map: vec![None; nv],
        consumers,
        is_output,
        fused: vec![false; g.nodes.len()],
        precision,
        feature_scales: vec![None; nv],
        pins: pin::Pins::default(),
    };
    let (pins, chain_nodes) = pin::find(g, &b.consumers, &b.is_output, precision);
    b.pins = pins;
    for n in chain_nodes {
        b.fused[n] = true;
    }
    let (act, lim) = (precision.kind(), precision.lim());
    let mut inputs = Vec::new();
    for (i, &v) in g.inputs.iter().enumerate() {
        let mut shape: Vec<Dim> = g.values[v]
            .shape
            .iter()
            .map(|d| match d {
                fg::Dim::Batch => Dim::Batch,
                fg::Dim::Fixed(n) => Dim::Fixed(*n as u32),
            })
            .collect();
        // Integer-valued inputs (pixel counts, categories) get a scale 1/k so every integer in
        // range is represented exactly.
        let range = ranges[v];
        let integer = integral.get(i).copied().unwrap_or(false);
        let mut scale = if integer && (1.0..=lim as f32).contains(&range) {
            1.0 / (f64::from(lim) / f64::from(range)).floor()
        } else if g.values[v].declared_range.is_none()
            && g.values[v].integer.is_none()
            && state::is_recurrent_input(g, &b.consumers, v)
        {
            // the previous call's output, a computed activation: the same headroom, so a
            // longer stream's state is not clipped (`state.rs`)
            b.act_scale(range)
        } else {
            act_scale(range, lim)
        };
        let fs = match features.get(i) {
            Some(r) if !integer && precision == Precision::Int16 => {
                let readers = &b.consumers[v];
                features::input_feature_scales(g, v, readers, b.is_output[v], r, lim)
            }
            _ => None,
        };
        if let Some(fs) = &fs {
            // the readers fold the scales in and read the integers at scale 1; the value's
            // scale is informative only
            scale = fs.iter().fold(0f64, |m, &s| m.max(s));
        }
        // an exact integer input: scale 1, the smallest kind that holds its range
        let exact = match g.values[v].integer {
            Some(t) => Some(integer_input(&g.values[v].name, t, range, precision)?),
            None => None,
        };
        // an input read by trees carries feature codes (`docs/semantics.md` section 3.1)
        let (kind, scale) = match tree_input(g, &b.consumers[v]) {
            Some(true) if exact.is_some() => {
                return Err(Error::Node {
                    node: g.values[v].name.clone(),
                    reason: "an integer input read by a tree ensemble (read it as float)".into(),
                });
            }
            Some(true) => (Kind::Act16, 1.0),
            Some(false) => {
                return Err(Error::Node {
                    node: g.values[v].name.clone(),
                    reason: "an input read by a tree ensemble is read by other ops too".into(),
                });
            }
            None => match (exact, b.pins.grid_of(v)) {
                (Some((kind, _)), _) => (kind, 1.0),
                // read only by a quantization of the model's: its grid's scale (`pin.rs`)
                (None, Some(pin)) if fs.is_none() => (pin.kind, pin.scale),
                (None, _) => (act, scale),
            },
        };
        let fs = if exact.is_some() { None } else { fs };
        // read by `Linear`s only: two limbs per feature (features.rs)
        let limbs = fs.as_deref().filter(|_| kind == Kind::Act16);
        let limbs = limbs.and_then(|f| features::limb_scales(g, v, &b.consumers[v], f));
        if let (Some(_), Some(Dim::Fixed(n))) = (&limbs, shape.last_mut()) {
            *n *= 2;
        }
        let id = b.new_value(g.values[v].name.clone(), kind, scale, shape);
        b.map[v] = Some(QVal { id, scale, kind });
        let mut spec = IoSpec::new(g.values[v].name.clone(), id);
        spec.imputation.clone_from(&g.values[v].imputation);
        spec.integer = exact.map(|(_, r)| r);
        if kind == act {
            spec.limb_bits = limbs.as_ref().map_or(0, |_| features::LIMB_BITS);
            let fs = limbs.or(fs);
            spec.feature_scales = fs.clone().unwrap_or_default();
            b.feature_scales[v] = fs;
        }
        inputs.push(spec);
    }
    for i in 0..g.nodes.len() {
        b.lower(i)?;
    }
    let outputs = g
        .outputs
        .iter()
        .map(|&v| {
            let q = b.map[v].ok_or_else(|| Error::Node {
                node: g.values[v].name.clone(),
                reason: "output not computed".into(),
            })?;
            Ok(IoSpec::new(g.values[v].name.clone(), q.id))
        })
        .collect::<Result<Vec<_>>>()?;
    // A wide bias needs version 5, per-channel multipliers version 6; every other package
    // keeps version 4.
    let needs = |n: &Node| match n.op {
        Op::Linear { weight, bias, .. } | Op::Conv { weight, bias, .. } => bias
            .zip(b.consts.get(weight as usize))
            .and_then(|(c, w)| Some((b.consts.get(c as usize)?, w)))
            .map_or(0, |(c, w)| {
                let n = w.shape.first().map_or(0, |&d| d as usize);
                if vouch_semantics::is_per_channel(&c.shape, n) {
                    vouch_semantics::PER_CHANNEL_VERSION
                } else if vouch_semantics::is_wide_bias(&c.shape, n) {
                    WIDE_BIAS_VERSION
                } else {
                    0
                }
            }),
        _ => 0,
    };
    let pkg = Package {
        // Every precision writes version 4 (tree feature codes are act16 tensors, which need
        // version 2 or later, at either precision), or 5 with a wide bias, 6 per channel.
        semantics_version: b
            .nodes
            .iter()
            .map(needs)
            .fold(precision.semantics_version(), u32::max),
        name: name.to_owned(),
        source_sha256,
        inputs,
        outputs,
        values: b.values,
        consts: b.consts,
        nodes: b.nodes,
        accuracy: Default::default(),
    };
    pkg.validate()?;
    Ok(pkg)
}

#[cfg(test)]
mod tests {
    use super::multiplier;

    #[test]
    fn multiplier_is_close_and_bounded() {
        for r in [1e-9, 3.3e-4, 0.5, 0.999, 1.0, 7.25, 1000.5] {
            let (m, s) = multiplier(r).unwrap();
            assert!(m < 1 << 31 && s <= 62);
            let back = m as f64 / f64::from(2u32).powi(s as i32);
            assert!((back - r).abs() / r < 1e-4, "r={r} m={m} s={s}");
        }
        assert_eq!(multiplier(0.0), None);
        assert_eq!(multiplier(f64::NAN), None);
    }
}
