//! Lowering a calibrated float graph to the integer IR.

use crate::{Error, Result};
use vouch_model::{Const, Dim, IoSpec, Kind, Node, Op, Operand, Package, Requant, TensorInfo};
use vouch_onnx::graph::{self as fg, FGraph, FNode, FOp};
use vouch_semantics::{ACT_MAX, ACT_MIN, SEMANTICS_VERSION};

/// How wide the integers of a package are (`vouch model import --bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// `act8` activations and `i8` weights (semantics version 1): the fastest engine kernels
    /// and the smallest circuits; about 1% of an output's range in error per layer.
    Int8,
    /// `act16` activations and `i16` weights (semantics version 2, the default): 256 times
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
    /// The semantics version a package at this precision records.
    pub fn semantics_version(self) -> u32 {
        match self {
            Self::Int8 => 1,
            Self::Int16 => SEMANTICS_VERSION,
        }
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
/// Softmax table step in logit units when the input is wide (the table spans `e^0 .. e^-16`).
const SOFTMAX_STEP: f64 = 16.0 / 255.0;

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
    nodes: Vec<Node>,
    map: Vec<Option<QVal>>,
    consumers: Vec<Vec<usize>>,
    is_output: Vec<bool>,
    fused: Vec<bool>,
    precision: Precision,
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

    fn add_const(&mut self, name: String, scale: f64, shape: Vec<usize>, data: Vec<i32>) -> u32 {
        let shape = shape.iter().map(|&d| d as u32).collect();
        self.consts.push(Const {
            name,
            scale,
            shape,
            data,
        });
        (self.consts.len() - 1) as u32
    }

    fn push(&mut self, node: &FNode, name: String, op: Op, inputs: Vec<Operand>, out: u32) {
        let _ = node;
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
        let fg::Operand::Value(v) = node.inputs[0] else {
            return Err(Self::err(node, "expected a dynamic input"));
        };
        let scale = act_scale(self.ranges[v], ACT_MAX);
        let (m, s) = multiplier(x.scale / scale)
            .ok_or_else(|| Self::err(node, "rescale ratio out of range"))?;
        let name = format!("{}/to_act8", node.name);
        let shape = self.values[x.id as usize].shape.clone();
        let id = self.new_value(name.clone(), Kind::Act8, scale, shape);
        let rq = Requant {
            m,
            s,
            lo: ACT_MIN,
            hi: ACT_MAX,
        };
        self.push(
            node,
            name,
            Op::Rescale { rq },
            vec![Operand::Value(x.id)],
            id,
        );
        Ok(QVal {
            id,
            scale,
            kind: Kind::Act8,
        })
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
    /// Softmax) and it has at least one consumer or is a graph output.
    fn wide_ok(&self, v: usize) -> bool {
        (self.is_output[v] || !self.consumers[v].is_empty())
            && self.consumers[v]
                .iter()
                .all(|&c| matches!(self.g.nodes[c].op, FOp::ArgMax { .. } | FOp::Softmax { .. }))
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
        let (m, s) = multiplier(acc_scale / s_z)
            .ok_or_else(|| Self::err(node, "requantization ratio out of range"))?;
        let act = self.act();
        let (lo, hi) = match lo_hi {
            Some((a, b)) => clamp_bounds(a, b, s_z, act),
            None => kind_range(act),
        };
        let rq = Requant { m, s, lo, hi };
        Self::requant_fits(node, bound, &rq)?;
        let q = self.bind(node, target, act, s_z)?;
        Ok((rq, false, q.id))
    }

    fn weights(&mut self, node: &FNode, c: usize) -> (u32, f64, Vec<i32>) {
        let fc = &self.g.consts[c];
        let range = fc.data.iter().fold(0f32, |m, v| m.max(v.abs()));
        let lim = self.lim();
        let s_w = if range > 0.0 {
            f64::from(range) / f64::from(lim)
        } else {
            1.0
        };
        let data: Vec<i32> = fc.data.iter().map(|&v| quant_sym(v, s_w, lim)).collect();
        let id = self.add_const(
            format!("{}.weight", node.name),
            s_w,
            fc.shape.clone(),
            data.clone(),
        );
        (id, s_w, data)
    }

    fn bias(
        &mut self,
        node: &FNode,
        c: Option<usize>,
        scale: f64,
    ) -> Result<(Option<u32>, Vec<i32>)> {
        let Some(c) = c else {
            return Ok((None, Vec::new()));
        };
        let fc = &self.g.consts[c];
        let mut data = Vec::with_capacity(fc.data.len());
        for &b in &fc.data {
            let q = (f64::from(b) / scale).round();
            if q.abs() >= 2_147_483_647.0 {
                return Err(Self::err(
                    node,
                    "bias does not fit i32 at the accumulator scale",
                ));
            }
            data.push(q as i32);
        }
        let id = self.add_const(
            format!("{}.bias", node.name),
            scale,
            fc.shape.clone(),
            data.clone(),
        );
        Ok((Some(id), data))
    }

    fn lower(&mut self, ni: usize) -> Result<()> {
        let g = self.g;
        let node = &g.nodes[ni];
        if self.fused[ni] {
            return Ok(());
        }
        let name = node.name.clone();
        match &node.op {
            FOp::Linear { weight, bias } => {
                let x = self.input(node, 0)?;
                let (w, s_w, wq) = self.weights(node, *weight);
                let acc = x.scale * s_w;
                let (b, bq) = self.bias(node, *bias, acc)?;
                let k = g.consts[*weight].shape.get(1).copied().unwrap_or(0);
                let bound = accumulator_bound(&wq, k, &bq, x.kind);
                let (rq, wide, out) = self.accum_output(node, acc, bound)?;
                self.push(
                    node,
                    name,
                    Op::Linear {
                        weight: w,
                        bias: b,
                        rq,
                        wide,
                    },
                    vec![Operand::Value(x.id)],
                    out,
                );
            }
            FOp::Conv {
                weight,
                bias,
                kernel,
                strides,
                pads,
                dilations,
                group,
            } => {
                let x = self.input(node, 0)?;
                let (w, s_w, wq) = self.weights(node, *weight);
                let acc = x.scale * s_w;
                let (b, bq) = self.bias(node, *bias, acc)?;
                let per_out: usize = g.consts[*weight].shape.iter().skip(1).product();
                let bound = accumulator_bound(&wq, per_out, &bq, x.kind);
                let (rq, wide, out) = self.accum_output(node, acc, bound)?;
                let u =
                    |v: usize| u32::try_from(v).map_err(|_| Self::err(node, "attribute too large"));
                let op = Op::Conv {
                    weight: w,
                    bias: b,
                    kernel: [u(kernel[0])?, u(kernel[1])?],
                    strides: [u(strides[0])?, u(strides[1])?],
                    pads: [u(pads[0])?, u(pads[1])?, u(pads[2])?, u(pads[3])?],
                    dilations: [u(dilations[0])?, u(dilations[1])?],
                    group: u(*group)?,
                    rq,
                    wide,
                };
                self.push(node, name, op, vec![Operand::Value(x.id)], out);
            }
            FOp::MatMul => {
                let (a, sa) = self.operand(node, &node.inputs[0], None)?;
                let (b, sb) = self.operand(node, &node.inputs[1], None)?;
                let mag = |o: &Operand| match *o {
                    Operand::Value(v) => i128::from(self.values[v as usize].kind.magnitude()),
                    Operand::Const(_) => i128::from(self.lim()) + 1,
                };
                let k = match node.inputs[0] {
                    fg::Operand::Value(v) => match g.values[v].shape.last() {
                        Some(fg::Dim::Fixed(k)) => *k as i128,
                        _ => return Err(Self::err(node, "MatMul inner dimension must be fixed")),
                    },
                    fg::Operand::Const(c) => g.consts[c].shape.last().copied().unwrap_or(0) as i128,
                };
                let bound = k * mag(&a) * mag(&b);
                let (rq, wide, out) = self.accum_output(node, sa * sb, bound)?;
                self.push(node, name, Op::MatMul { rq, wide }, vec![a, b], out);
            }
            FOp::Add | FOp::Sub => {
                let (a, sa) = self.operand(node, &node.inputs[0], None)?;
                let (b, sb) = self.operand(node, &node.inputs[1], None)?;
                let s_z = self.act_scale(self.ranges[node.output]);
                let (ra, rb) = (sa / s_z, sb / s_z);
                let (_, s) = multiplier(ra.max(rb))
                    .ok_or_else(|| Self::err(node, "rescale ratio out of range"))?;
                let p = f64::from(2u32).powi(s as i32);
                let (ma, mut mb) = ((ra * p).round() as i64, (rb * p).round() as i64);
                if matches!(node.op, FOp::Sub) {
                    mb = -mb;
                }
                let act = self.act();
                let q = self.bind(node, node.output, act, s_z)?;
                let (lo, hi) = kind_range(act);
                let rq = Requant { m: 1, s, lo, hi };
                self.push(node, name, Op::Add { ma, mb, rq }, vec![a, b], q.id);
            }
            FOp::Mul => {
                let (a, sa) = self.operand(node, &node.inputs[0], None)?;
                let (b, sb) = self.operand(node, &node.inputs[1], None)?;
                let s_z = self.act_scale(self.ranges[node.output]);
                let (m, s) = multiplier(sa * sb / s_z)
                    .ok_or_else(|| Self::err(node, "ratio out of range"))?;
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
            }
            FOp::Relu | FOp::Clip { .. } => {
                let x = self.input(node, 0)?;
                let op = match node.op {
                    FOp::Clip { min, max } => {
                        let (lo, hi) = clamp_bounds(min, max, x.scale, x.kind);
                        Op::Clip { lo, hi }
                    }
                    _ => Op::Relu,
                };
                let q = self.bind(node, node.output, x.kind, x.scale)?;
                self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
            }
            FOp::LeakyRelu { alpha } => {
                let x = self.input(node, 0)?;
                let (m, s) = multiplier(f64::from(*alpha))
                    .ok_or_else(|| Self::err(node, "LeakyRelu needs alpha > 0"))?;
                let q = self.bind(node, node.output, x.kind, x.scale)?;
                let (lo, hi) = kind_range(x.kind);
                let rq = Requant { m, s, lo, hi };
                self.push(
                    node,
                    name,
                    Op::LeakyRelu { rq },
                    vec![Operand::Value(x.id)],
                    q.id,
                );
            }
            FOp::Sigmoid | FOp::Tanh => {
                let x = self.act8_input(node)?;
                let sig = matches!(node.op, FOp::Sigmoid);
                let table: Vec<i32> = (-128..=127)
                    .map(|i| {
                        let v = i as f32 * x.scale as f32;
                        let y = if sig {
                            1.0 / (1.0 + libm::expf(-v))
                        } else {
                            libm::tanhf(v)
                        };
                        (libm::roundf(y * 127.0) as i32).clamp(ACT_MIN, ACT_MAX)
                    })
                    .collect();
                let t = self.add_const(format!("{name}.table"), 1.0, vec![256], table);
                let q = self.bind(node, node.output, Kind::Act8, 1.0 / 127.0)?;
                self.push(
                    node,
                    name,
                    Op::Lut { table: t },
                    vec![Operand::Value(x.id)],
                    q.id,
                );
            }
            FOp::Softmax { axis } => {
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
                    axis: *axis as u32,
                    table: t,
                    rq,
                };
                self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
            }
            FOp::ArgMax {
                axis,
                keepdims,
                select_last_index,
            } => {
                let x = self.input(node, 0)?;
                let q = self.bind(node, node.output, Kind::Index, 1.0)?;
                let op = Op::ArgMax {
                    axis: *axis as u32,
                    keepdims: *keepdims,
                    select_last_index: *select_last_index,
                };
                self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
            }
            FOp::MaxPool {
                kernel,
                strides,
                pads,
                dilations,
                ..
            } => {
                let x = self.input(node, 0)?;
                let q = self.bind(node, node.output, x.kind, x.scale)?;
                let op = Op::MaxPool {
                    kernel: u32s(kernel),
                    strides: u32s(strides),
                    pads: u32s(pads),
                    dilations: u32s(dilations),
                };
                self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
            }
            FOp::AveragePool {
                kernel,
                strides,
                pads,
                count_include_pad,
                ..
            } => {
                let x = self.input(node, 0)?;
                let q = self.bind(node, node.output, x.kind, x.scale)?;
                let op = Op::AveragePool {
                    kernel: u32s(kernel),
                    strides: u32s(strides),
                    pads: u32s(pads),
                    count_include_pad: *count_include_pad,
                };
                self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
            }
            FOp::GlobalAveragePool => {
                let x = self.input(node, 0)?;
                let fg::Operand::Value(xv) = node.inputs[0] else {
                    return Err(Self::err(node, "expected a dynamic input"));
                };
                let dims: Vec<usize> = g.values[xv]
                    .shape
                    .iter()
                    .skip(2)
                    .map(|d| {
                        if let fg::Dim::Fixed(n) = d {
                            Ok(*n)
                        } else {
                            Err(Self::err(node, "spatial size must be fixed"))
                        }
                    })
                    .collect::<Result<_>>()?;
                let kernel = match dims[..] {
                    [h, w] => [h, w],
                    [w] => [1, w],
                    _ => {
                        return Err(Self::err(
                            node,
                            "GlobalAveragePool needs a 1-D or 2-D input",
                        ));
                    }
                };
                let q = self.bind(node, node.output, x.kind, x.scale)?;
                let op = Op::AveragePool {
                    kernel: u32s(&kernel),
                    strides: [1, 1],
                    pads: [0; 4],
                    count_include_pad: false,
                };
                self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
            }
            FOp::Reshape | FOp::Transpose { .. } => {
                let x = self.input(node, 0)?;
                let q = self.bind(node, node.output, x.kind, x.scale)?;
                let op = match &node.op {
                    FOp::Transpose { perm } => Op::Transpose {
                        perm: perm.iter().map(|&p| p as u32).collect(),
                    },
                    _ => Op::Reshape,
                };
                self.push(node, name, op, vec![Operand::Value(x.id)], q.id);
            }
            FOp::Concat { axis } => {
                let target = node
                    .inputs
                    .iter()
                    .filter_map(|o| {
                        if let fg::Operand::Value(v) = o {
                            self.map[*v].map(|q| q.scale)
                        } else {
                            None
                        }
                    })
                    .fold(0f64, f64::max);
                let target = if target > 0.0 {
                    target
                } else {
                    self.act_scale(self.ranges[node.output])
                };
                let act = self.act();
                let (lo, hi) = kind_range(act);
                let mut ins = Vec::new();
                for (i, o) in node.inputs.iter().enumerate() {
                    let (op, s) = self.operand(node, o, Some(target))?;
                    if (s - target).abs() <= f64::EPSILON * target {
                        ins.push(op);
                        continue;
                    }
                    let (m, sh) = multiplier(s / target)
                        .ok_or_else(|| Self::err(node, "rescale ratio out of range"))?;
                    let Operand::Value(id) = op else {
                        unreachable!("constants are quantized at the target scale")
                    };
                    let shape = self.values[id as usize].shape.clone();
                    let rid = self.new_value(format!("{name}/rescale{i}"), act, target, shape);
                    let rq = Requant { m, s: sh, lo, hi };
                    self.push(
                        node,
                        format!("{name}/rescale{i}"),
                        Op::Rescale { rq },
                        vec![op],
                        rid,
                    );
                    ins.push(Operand::Value(rid));
                }
                let q = self.bind(node, node.output, act, target)?;
                self.push(node, name, Op::Concat { axis: *axis as u32 }, ins, q.id);
            }
        }
        Ok(())
    }
}

fn u32s<const N: usize>(a: &[usize; N]) -> [u32; N] {
    a.map(|v| u32::try_from(v).unwrap_or(u32::MAX))
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

/// The section 4 accumulator bound of a `Linear`/`Conv` over an input of kind `input`.
fn accumulator_bound(w: &[i32], per_row: usize, bias: &[i32], input: Kind) -> i128 {
    let bias = (!bias.is_empty()).then_some(bias);
    vouch_semantics::accumulator_bound(w, per_row.max(1), bias, input.magnitude())
}

/// Lowers `g`, given the calibrated largest magnitude of every value and which graph inputs
/// were integer-valued in every calibration sample, to a package at `precision`.
pub fn quantize(
    g: &FGraph,
    ranges: &[f32],
    integral: &[bool],
    name: &str,
    source_sha256: [u8; 32],
    precision: Precision,
) -> Result<Package> {
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
        nodes: Vec::new(),
        map: vec![None; nv],
        consumers,
        is_output,
        fused: vec![false; g.nodes.len()],
        precision,
    };
    let (act, lim) = (precision.kind(), precision.lim());
    let mut inputs = Vec::new();
    for (i, &v) in g.inputs.iter().enumerate() {
        let shape = g.values[v]
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
        let scale =
            if integral.get(i).copied().unwrap_or(false) && (1.0..=lim as f32).contains(&range) {
                1.0 / (f64::from(lim) / f64::from(range)).floor()
            } else {
                act_scale(range, lim)
            };
        let id = b.new_value(g.values[v].name.clone(), act, scale, shape);
        b.map[v] = Some(QVal {
            id,
            scale,
            kind: act,
        });
        inputs.push(IoSpec {
            name: g.values[v].name.clone(),
            value: id,
        });
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
            Ok(IoSpec {
                name: g.values[v].name.clone(),
                value: q.id,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let pkg = Package {
        semantics_version: precision.semantics_version(),
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
