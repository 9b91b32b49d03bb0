//! Structural validation of a decoded package: every reference in range, every op's operand
//! count right, constants the right size, parameters in their semantic domain. Shape agreement
//! of dynamic tensors is checked by the engine as it runs.

use crate::ir::{Dim, Kind, Op, Operand};
use crate::package::{MAX_LIMB_BITS, Package};
use vouch_semantics::{PadMode, ReduceMode};
use vouch_semantics::{SEMANTICS_VERSION, SEMANTICS_VERSION_MIN};

/// Why a package is structurally invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidPackage {
    /// Semantics version unknown to this build.
    #[error(
        "package needs semantics version {found}; this build implements versions {SEMANTICS_VERSION_MIN} to {SEMANTICS_VERSION}"
    )]
    SemanticsVersion {
        /// The version found.
        found: u32,
    },
    /// A node refers to something that does not exist or is not yet computed.
    #[error("node {node:?}: {reason}")]
    Node {
        /// The node name.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// A constant's data does not match its shape.
    #[error("constant {name:?}: {len} elements for shape {shape:?}")]
    ConstShape {
        /// Constant name.
        name: String,
        /// Data length.
        len: usize,
        /// Declared shape.
        shape: Vec<u32>,
    },
    /// An input or output refers to a missing value.
    #[error("graph {which} {name:?} refers to a missing value")]
    Io {
        /// `input` or `output`.
        which: &'static str,
        /// Its name.
        name: String,
    },
}

pub(crate) fn node_err(node: &str, reason: impl Into<String>) -> InvalidPackage {
    InvalidPackage::Node {
        node: node.to_owned(),
        reason: reason.into(),
    }
}

fn arity(op: &Op) -> Option<usize> {
    match op {
        Op::Linear { .. }
        | Op::Conv { .. }
        | Op::Rescale { .. }
        | Op::Relu
        | Op::Clip { .. }
        | Op::LeakyRelu { .. }
        | Op::Lut { .. }
        | Op::Softmax { .. }
        | Op::ArgMax { .. }
        | Op::MaxPool { .. }
        | Op::AveragePool { .. }
        | Op::Reshape
        | Op::Transpose { .. }
        | Op::Pad { .. }
        | Op::Reduce { .. }
        | Op::PRelu { .. }
        | Op::TreeEnsemble { .. }
        | Op::Select { .. } => Some(1),
        Op::MatMul { .. } | Op::Add { .. } | Op::Mul { .. } | Op::Gather { .. } => Some(2),
        Op::Concat { .. } | Op::Max | Op::Min => None,
    }
}

impl Package {
    /// Checks references, arities, constant sizes and parameter domains.
    pub fn validate(&self) -> Result<(), InvalidPackage> {
        if !vouch_semantics::supports_version(self.semantics_version) {
            return Err(InvalidPackage::SemanticsVersion {
                found: self.semantics_version,
            });
        }
        if self.semantics_version < 2
            && let Some(v) = self.values.iter().find(|v| v.kind == Kind::Act16)
        {
            return Err(node_err(&v.name, "act16 tensors need semantics version 2"));
        }
        for c in &self.consts {
            let n = c
                .shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d as usize));
            if n != Some(c.data.len()) {
                return Err(InvalidPackage::ConstShape {
                    name: c.name.clone(),
                    len: c.data.len(),
                    shape: c.shape.clone(),
                });
            }
        }
        let nvalues = self.values.len();
        let mut ready = vec![false; nvalues];
        for io in &self.inputs {
            match ready.get_mut(io.value as usize) {
                Some(r) => *r = true,
                None => {
                    return Err(InvalidPackage::Io {
                        which: "input",
                        name: io.name.clone(),
                    });
                }
            }
        }
        for node in &self.nodes {
            let n = &node.name;
            if let Some(a) = arity(&node.op)
                && node.inputs.len() != a
            {
                return Err(node_err(
                    n,
                    format!(
                        "{} takes {a} inputs, has {}",
                        node.op.name(),
                        node.inputs.len()
                    ),
                ));
            }
            if node.inputs.is_empty() {
                return Err(node_err(n, "no inputs"));
            }
            for inp in &node.inputs {
                match *inp {
                    Operand::Value(v) if ready.get(v as usize) == Some(&true) => {}
                    Operand::Value(v) => {
                        return Err(node_err(
                            n,
                            format!("value {v} is not computed before this node"),
                        ));
                    }
                    Operand::Const(c) if (c as usize) < self.consts.len() => {}
                    Operand::Const(c) => {
                        return Err(node_err(n, format!("constant {c} does not exist")));
                    }
                }
            }
            for c in node.op.param_consts() {
                if c as usize >= self.consts.len() {
                    return Err(node_err(n, format!("constant {c} does not exist")));
                }
            }
            self.validate_params(node)?;
            match ready.get_mut(node.output as usize) {
                Some(r) if !*r => *r = true,
                Some(_) => return Err(node_err(n, "output value written twice")),
                None => return Err(node_err(n, "output value does not exist")),
            }
        }
        for io in &self.outputs {
            if ready.get(io.value as usize) != Some(&true)
                || !io.feature_scales.is_empty()
                || io.imputation.is_some()
                || io.integer.is_some()
                || io.limb_bits != 0
            {
                return Err(InvalidPackage::Io {
                    which: "output",
                    name: io.name.clone(),
                });
            }
        }
        for i in 0..self.inputs.len() {
            if self.input_encoding(i)?.is_some() && !self.inputs[i].feature_scales.is_empty() {
                return Err(node_err(
                    &self.inputs[i].name,
                    "an input of feature codes has feature scales",
                ));
            }
            self.validate_feature_scales(&self.inputs[i])?;
            self.validate_integer(&self.inputs[i])?;
        }
        for v in &self.values {
            if v.shape.iter().filter(|d| **d == Dim::Batch).count() > 1 {
                return Err(node_err(&v.name, "more than one batch axis"));
            }
        }
        Ok(())
    }

    /// Per-feature input scales: none, or one positive finite scale per element of the last
    /// (fixed) axis of an activation input, or of each of its two `act16` limbs
    /// ([`crate::IoSpec::limb_bits`]); an imputation: one value per feature.
    fn validate_feature_scales(&self, io: &crate::IoSpec) -> Result<(), InvalidPackage> {
        let v = self.values.get(io.value as usize);
        let last = v.and_then(|v| v.shape.last().copied());
        // two act16 limbs per feature (high limbs first)
        let (per, kind_ok) = match io.limb_bits {
            0 => (1, v.is_some_and(|v| v.kind.act_range().is_some())),
            1..=MAX_LIMB_BITS => (2, v.is_some_and(|v| v.kind == Kind::Act16)),
            _ => (0, false),
        };
        let f = &io.feature_scales;
        if let Some(imp) = &io.imputation
            && last != Some(Dim::Fixed(imp.values_bits.len() as u32 * per.max(1)))
        {
            return Err(node_err(
                &io.name,
                "the imputation does not fit the input's features",
            ));
        }
        if f.is_empty() {
            return if io.limb_bits == 0 {
                Ok(())
            } else {
                Err(node_err(&io.name, "limbs without feature scales"))
            };
        }
        let ok = kind_ok
            && last == Some(Dim::Fixed(f.len() as u32 * per))
            && f.iter().all(|s| s.is_finite() && *s > 0.0);
        if ok {
            Ok(())
        } else {
            Err(node_err(
                &io.name,
                format!(
                    "{} feature scales do not fit the input (one positive scale per feature)",
                    f.len()
                ),
            ))
        }
    }

    /// An exact integer input: scale 1, no feature scales or imputation, its range inside its
    /// kind's.
    fn validate_integer(&self, io: &crate::IoSpec) -> Result<(), InvalidPackage> {
        let Some((lo, hi)) = io.integer else {
            return Ok(());
        };
        let v = self.values.get(io.value as usize);
        let ok = v.is_some_and(|v| {
            v.scale == 1.0
                && v.kind
                    .act_range()
                    .is_some_and(|(klo, khi)| klo <= lo && lo <= hi && hi <= khi)
        }) && io.feature_scales.is_empty()
            && io.imputation.is_none();
        if ok {
            Ok(())
        } else {
            Err(node_err(
                &io.name,
                format!("the integer range [{lo}, {hi}] does not fit the input's kind and scale"),
            ))
        }
    }

    /// A `Linear` or `Conv` bias is `[N]` (`N` the weight's first dimension) or, from semantics
    /// version 5, a wide `[N, 2]` (`vouch_semantics::bias_values`).
    fn validate_bias(
        &self,
        node: &crate::ir::Node,
        weight: u32,
        bias: Option<u32>,
    ) -> Result<(), InvalidPackage> {
        let (Some(w), Some(b)) = (
            self.consts.get(weight as usize),
            bias.and_then(|b| self.consts.get(b as usize)),
        ) else {
            return Ok(());
        };
        let n = w.shape.first().map_or(0, |&d| d as usize);
        if vouch_semantics::bias_values(&b.shape, &b.data, n).is_none() {
            return Err(node_err(
                &node.name,
                format!(
                    "bias shape {:?} holds neither {n} values nor [{n}, 2]",
                    b.shape
                ),
            ));
        }
        if vouch_semantics::is_wide_bias(&b.shape, n)
            && self.semantics_version < vouch_semantics::WIDE_BIAS_VERSION
        {
            return Err(node_err(
                &node.name,
                "a wide ([N, 2]) bias needs semantics version 5",
            ));
        }
        if vouch_semantics::is_per_channel(&b.shape, n) {
            if self.semantics_version < vouch_semantics::PER_CHANNEL_VERSION {
                return Err(node_err(
                    &node.name,
                    "per-channel multipliers ([N, 3] bias) need semantics version 6",
                ));
            }
            if vouch_semantics::channel_multipliers(&b.shape, &b.data, n).is_none() {
                return Err(node_err(
                    &node.name,
                    "a per-channel multiplier is outside [1, 2^31)",
                ));
            }
        }
        Ok(())
    }

    /// Whether a `Linear` or `Conv` node requantizes per output channel (an `[N, 3]` bias,
    /// `docs/semantics.md` section 3, version 6).
    fn per_channel(&self, weight: u32, bias: Option<u32>) -> bool {
        let n = self
            .consts
            .get(weight as usize)
            .and_then(|w| w.shape.first())
            .map_or(0, |&d| d as usize);
        bias.and_then(|b| self.consts.get(b as usize))
            .is_some_and(|b| vouch_semantics::is_per_channel(&b.shape, n))
    }

    fn validate_params(&self, node: &crate::ir::Node) -> Result<(), InvalidPackage> {
        let n = &node.name;
        let const_len = |c: u32| self.consts.get(c as usize).map_or(0, |c| c.data.len());
        let check_rq =
            |rq: &vouch_semantics::Requant| rq.validate().map_err(|e| node_err(n, e.to_string()));
        if let Op::Linear {
            weight,
            bias,
            rq,
            wide,
        }
        | Op::Conv {
            weight,
            bias,
            rq,
            wide,
            ..
        } = &node.op
        {
            self.validate_bias(node, *weight, *bias)?;
            // per channel: M = 0 in the node, M[n] in the bias, never on a wide output
            if self.per_channel(*weight, *bias) != (rq.m == 0) || (rq.m == 0 && *wide) {
                return Err(node_err(
                    n,
                    "M = 0 (per-channel multipliers) needs an [N, 3] bias and a requantized output",
                ));
            }
        }
        // a per-channel node's M is 0 (checked above); its shift and bounds are checked here
        let check_dense_rq = |rq: &vouch_semantics::Requant| {
            let rq = vouch_semantics::Requant {
                m: if rq.m == 0 { 1 } else { rq.m },
                ..*rq
            };
            check_rq(&rq)
        };
        // an `Add`'s constant operand is its second: the one-step check reads the computed
        // operands first and the constants after them (section 8.1), so a constant first
        // would swap the multipliers there and not in the engine
        if matches!(node.op, Op::Add { .. })
            && matches!(
                node.inputs.as_slice(),
                [Operand::Const(_), Operand::Value(_)]
            )
        {
            return Err(node_err(
                n,
                "a constant first operand (a constant operand must be the second)",
            ));
        }
        match &node.op {
            Op::Linear { rq, .. } => check_dense_rq(rq)?,
            Op::MatMul { rq, .. }
            | Op::Mul { rq }
            | Op::Rescale { rq }
            | Op::LeakyRelu { rq }
            | Op::PRelu { rq, .. } => check_rq(rq)?,
            Op::Conv {
                rq,
                kernel,
                strides,
                dilations,
                group,
                ..
            } => {
                check_dense_rq(rq)?;
                if kernel.contains(&0)
                    || strides.contains(&0)
                    || dilations.contains(&0)
                    || *group == 0
                {
                    return Err(node_err(n, "zero kernel, stride, dilation or group"));
                }
            }
            Op::MaxPool {
                kernel,
                strides,
                dilations,
                ..
            } if kernel.contains(&0) || strides.contains(&0) || dilations.contains(&0) => {
                return Err(node_err(n, "zero kernel, stride or dilation"));
            }
            Op::AveragePool {
                kernel, strides, ..
            } if kernel.contains(&0) || strides.contains(&0) => {
                return Err(node_err(n, "zero kernel or stride"));
            }
            Op::Add { ma, mb, rq } => {
                check_rq(rq)?;
                if ma.unsigned_abs() >= 1 << 31 || mb.unsigned_abs() >= 1 << 31 {
                    return Err(node_err(n, "add multiplier out of range"));
                }
            }
            Op::Softmax { rq, .. } if rq.lo != 0 || rq.hi != 255 || rq.validate().is_err() => {
                return Err(node_err(
                    n,
                    "softmax index map must be a valid requant onto [0, 255]",
                ));
            }
            Op::Softmax { table, .. } if const_len(*table) != 256 => {
                return Err(node_err(n, "table must have 256 entries"));
            }
            Op::Lut { table }
                if !vouch_semantics::lut_size_ok(const_len(*table), self.semantics_version) =>
            {
                return Err(node_err(
                    n,
                    "table must have 256 entries (from semantics version 4: a power of two from \
                     256 to 65536)",
                ));
            }
            Op::Clip { lo, hi } if lo > hi => return Err(node_err(n, "clip bounds reversed")),
            Op::Pad { mode, pads, value } => self.validate_pad(node, *mode, pads, *value)?,
            Op::Reduce { mode, axes, rq, .. } => {
                check_rq(rq)?;
                self.validate_reduce(node, *mode, axes, rq)?;
            }
            Op::TreeEnsemble { .. } => self.validate_tree(node)?,
            Op::Select { maps } => self.validate_select(node, maps)?,
            Op::Gather { axis } => self.validate_gather(node, *axis)?,
            _ => {}
        }
        if let Some(v) = self.values.get(node.output as usize)
            && matches!(node.op, Op::ArgMax { .. })
            && v.kind != Kind::Index
        {
            return Err(node_err(n, "ArgMax output must be an index tensor"));
        }
        Ok(())
    }

    /// `Reduce`: increasing axes of a dynamic activation input, none of them the batch axis
    /// or empty, a span the one-step verifier can read ([`vouch_semantics::MAX_REDUCE_SPAN`]),
    /// and a sum whose requantization product stays in `i64` (section 4).
    fn validate_reduce(
        &self,
        node: &crate::ir::Node,
        mode: ReduceMode,
        axes: &[u32],
        rq: &vouch_semantics::Requant,
    ) -> Result<(), InvalidPackage> {
        let n = &node.name;
        let x = match node.inputs.first() {
            Some(Operand::Value(v)) => self.values.get(*v as usize),
            _ => None,
        }
        .ok_or_else(|| node_err(n, "Reduce reads a dynamic input"))?;
        let magnitude = x
            .kind
            .act_range()
            .map(|_| x.kind.magnitude())
            .ok_or_else(|| node_err(n, "Reduce reads an act8/act16 tensor"))?;
        if axes.windows(2).any(|w| w[0] >= w[1]) {
            return Err(node_err(n, "Reduce axes must be strictly increasing"));
        }
        let mut dims = Vec::with_capacity(x.shape.len());
        for d in &x.shape {
            dims.push(match d {
                Dim::Batch => 1,
                Dim::Fixed(d) => *d as usize,
            });
        }
        for &a in axes {
            if x.shape.get(a as usize) == Some(&Dim::Batch) {
                return Err(node_err(n, format!("Reduce over the batch axis {a}")));
            }
        }
        let axes: Vec<usize> = axes.iter().map(|&a| a as usize).collect();
        let span = vouch_semantics::reduce_span(&dims, &axes)
            .ok_or_else(|| node_err(n, "Reduce axis out of range or empty"))?;
        if span > vouch_semantics::MAX_REDUCE_SPAN {
            return Err(node_err(
                n,
                format!(
                    "Reduce output element spans {span} input elements; the one-step \
                     verifier reads at most {}",
                    vouch_semantics::MAX_REDUCE_SPAN
                ),
            ));
        }
        // |Σ| <= span · magnitude; that times M must stay in i64 (other modes stay in range)
        let bound = i128::try_from(span).unwrap_or(i128::MAX) * i128::from(magnitude);
        if mode == ReduceMode::Sum && !vouch_semantics::accumulator_fits(bound, rq, false) {
            return Err(node_err(n, "Reduce sum times its multiplier overflows i64"));
        }
        Ok(())
    }

    /// `Gather`: `X` (a dynamic tensor or a constant) with a fixed, non-empty `axis`, `I` a
    /// dynamic integer tensor (`index`, or an activation kind at scale 1), and the output
    /// `X[..axis] ++ I ++ X[axis + 1..]` of `X`'s kind (an activation kind for a constant `X`).
    fn validate_gather(&self, node: &crate::ir::Node, axis: u32) -> Result<(), InvalidPackage> {
        let n = &node.name;
        let (x, x_kind): (Vec<Dim>, Option<Kind>) = match node.inputs.first() {
            Some(Operand::Value(v)) => self
                .values
                .get(*v as usize)
                .map(|t| (t.shape.clone(), Some(t.kind)))
                .unwrap_or_default(),
            Some(Operand::Const(c)) => self
                .consts
                .get(*c as usize)
                .map(|k| (k.shape.iter().map(|&d| Dim::Fixed(d)).collect(), None))
                .unwrap_or_default(),
            None => (Vec::new(), None),
        };
        let idx = match node.inputs.get(1) {
            Some(Operand::Value(v)) => self.values.get(*v as usize),
            _ => None,
        }
        .filter(|t| t.kind == Kind::Index || (t.kind.act_range().is_some() && t.scale == 1.0))
        .ok_or_else(|| node_err(n, "Gather's indices must be a computed integer tensor"))?;
        let a = axis as usize;
        if !matches!(x.get(a), Some(Dim::Fixed(d)) if *d > 0) {
            return Err(node_err(
                n,
                format!("Gather axis {axis} of {x:?} is not a fixed, non-empty axis"),
            ));
        }
        let want: Vec<Dim> = x[..a]
            .iter()
            .chain(&idx.shape)
            .chain(&x[a + 1..])
            .copied()
            .collect();
        let out = self.values.get(node.output as usize);
        let kind_ok = out.is_some_and(|o| match x_kind {
            Some(k) => o.kind == k,
            None => o.kind.act_range().is_some(),
        });
        if out.map(|o| &o.shape) != Some(&want) || !kind_ok {
            return Err(node_err(
                n,
                format!("Gather output must be {want:?} of its data's kind"),
            ));
        }
        Ok(())
    }

    /// `Pad`: one begin and one end per input axis, none on the batch axis, a reflection
    /// shorter than its axis, something to repeat for edge and wrap, and the value in the
    /// output kind's range (0 outside constant mode).
    /// `Select`: one map per input axis, none on the batch axis, every index inside its axis,
    /// and the declared output shape the maps' lengths (the input's size on identity axes).
    fn validate_select(
        &self,
        node: &crate::ir::Node,
        maps: &[Vec<u32>],
    ) -> Result<(), InvalidPackage> {
        let n = &node.name;
        let shape = match node.inputs.first() {
            Some(Operand::Value(v)) => self.values.get(*v as usize).map(|t| t.shape.as_slice()),
            _ => None,
        }
        .ok_or_else(|| node_err(n, "Select reads a dynamic input"))?;
        let out = self
            .values
            .get(node.output as usize)
            .map(|t| t.shape.as_slice())
            .unwrap_or_default();
        if maps.len() != shape.len() || out.len() != shape.len() {
            return Err(node_err(
                n,
                format!("{} maps for an input of rank {}", maps.len(), shape.len()),
            ));
        }
        for (a, (m, (d, o))) in maps.iter().zip(shape.iter().zip(out)).enumerate() {
            let ok = match (*d, m.is_empty()) {
                (_, true) => d == o,
                (Dim::Batch, false) => false,
                (Dim::Fixed(d), false) => {
                    *o == Dim::Fixed(m.len() as u32) && m.iter().all(|&i| i < d)
                }
            };
            if !ok {
                return Err(node_err(
                    n,
                    format!("the map of axis {a} does not select from {d:?} into {o:?}"),
                ));
            }
        }
        Ok(())
    }

    fn validate_pad(
        &self,
        node: &crate::ir::Node,
        mode: PadMode,
        pads: &[u32],
        value: i32,
    ) -> Result<(), InvalidPackage> {
        let n = &node.name;
        let shape = match node.inputs.first() {
            Some(Operand::Value(v)) => self.values.get(*v as usize).map(|t| t.shape.as_slice()),
            _ => None,
        }
        .ok_or_else(|| node_err(n, "Pad reads a dynamic input"))?;
        let r = shape.len();
        if pads.len() != 2 * r {
            return Err(node_err(
                n,
                format!("{} pads for an input of rank {r}", pads.len()),
            ));
        }
        for (a, d) in shape.iter().enumerate() {
            let (b, e) = (pads[a], pads[r + a]);
            match *d {
                Dim::Batch if b != 0 || e != 0 => {
                    return Err(node_err(n, format!("pads the batch axis {a}")));
                }
                Dim::Fixed(d) if mode == PadMode::Reflect && (b >= d || e >= d) && (b | e) != 0 => {
                    return Err(node_err(
                        n,
                        format!("reflect pads {b}, {e} not below the size {d} of axis {a}"),
                    ));
                }
                Dim::Fixed(0) if mode != PadMode::Constant && (b | e) != 0 => {
                    return Err(node_err(n, format!("pads the empty axis {a}")));
                }
                _ => {}
            }
        }
        let out_kind = self.values.get(node.output as usize).map(|v| v.kind);
        let in_range = out_kind
            .and_then(Kind::act_range)
            .is_some_and(|(lo, hi)| (lo..=hi).contains(&value));
        if !in_range || (mode != PadMode::Constant && value != 0) {
            return Err(node_err(
                n,
                format!(
                    "pad value {value} outside the output kind's range (or not 0 in {} mode)",
                    mode.name()
                ),
            ));
        }
        Ok(())
    }
}
