//! Rows: how a package runs several inputs at once (`docs/semantics.md` sections 1 and 8.5).
//!
//! An execution of `R` rows *is* `R` executions of the graph with the batch dimension at 1,
//! one per row, every tensor being its rows end to end. [`Package::takes_rows`] says whether a
//! package can be given several rows at all (every graph input has its batch dimension first,
//! so row `r` is a contiguous block); [`Package::row_separable`] says whether running the graph
//! on batched shapes computes exactly those bits (so the engine may do so), a static property
//! checked per operator.

use crate::ir::{Dim, Node, Op, Operand};
use crate::package::Package;

/// The batch dimension is axis 0 and no other axis.
fn batch_first(shape: &[Dim]) -> bool {
    shape.first() == Some(&Dim::Batch) && !shape.iter().skip(1).any(|d| *d == Dim::Batch)
}

impl Package {
    /// Whether a task may hold more than one row: every graph input has its batch dimension
    /// at axis 0. A package with a fixed-size input runs one row per execution.
    pub fn takes_rows(&self) -> bool {
        !self.inputs.is_empty()
            && self.inputs.iter().all(|io| {
                self.values
                    .get(io.value as usize)
                    .is_some_and(|v| batch_first(&v.shape))
            })
    }

    /// Whether the engine runs several rows of this package by sharing inputs: some graph
    /// inputs have their batch dimension at axis 0 and every other input has none (a
    /// recurrent state given once, with its own batch of 1). Each row then runs with its
    /// block of the batched inputs and the whole of the others; a task still holds one row of
    /// such a package ([`Package::takes_rows`] is false).
    pub fn shares_inputs(&self) -> bool {
        let shapes: Vec<&[Dim]> = self
            .inputs
            .iter()
            .filter_map(|io| {
                self.values
                    .get(io.value as usize)
                    .map(|v| v.shape.as_slice())
            })
            .collect();
        shapes.len() == self.inputs.len()
            && shapes.iter().any(|s| batch_first(s))
            && shapes.iter().any(|s| !s.contains(&Dim::Batch))
            && shapes
                .iter()
                .all(|s| batch_first(s) || !s.contains(&Dim::Batch))
    }

    /// Whether the engine runs several rows of this package one at a time by splitting its
    /// inputs: every graph input fixes axis 0 at 1 and none has a batch dimension (a model
    /// exported without `dynamic_axes` whose graph cannot read axis 0 as the rows). Row `r`
    /// of each input is its `r`-th block along axis 0; a task still holds one row
    /// ([`Package::takes_rows`] is false).
    pub fn runs_row_by_row(&self) -> bool {
        !self.inputs.is_empty()
            && self.inputs.iter().all(|io| {
                self.values.get(io.value as usize).is_some_and(|v| {
                    v.shape.first() == Some(&Dim::Fixed(1)) && !v.shape.contains(&Dim::Batch)
                })
            })
    }

    /// Whether running the graph on shapes with the batch dimension at `R` gives, bit for bit,
    /// the rows run one by one (`docs/semantics.md` section 8.5): every value has exactly one
    /// batch dimension, wherever it sits, and every operator treats its operands' batch axes
    /// as a batch axis, putting its output's where the package declares it
    /// ([`Package::batch_axes`]). A value whose batch axis is not first then holds the rows
    /// interleaved: its tensor as the definition has it (rows end to end) is the batched one
    /// with the batch axis moved first, [`outer_rows`].
    pub fn row_separable(&self) -> bool {
        if !self.takes_rows() {
            return false;
        }
        let Some(axes) = self.batch_axes() else {
            return false;
        };
        self.nodes.iter().all(|node| {
            axes.get(node.output as usize)
                .is_some_and(|&out| self.separable_output_axis(node, &axes) == Some(out))
        })
    }

    /// Every value's batch axis, or `None` when some value has none or more than one.
    pub fn batch_axes(&self) -> Option<Vec<usize>> {
        self.values.iter().map(|v| batch_axis(&v.shape)).collect()
    }

    /// Where `node`'s output has its batch axis when the node treats its operands' batch axes
    /// (`axes`, per value) as one batch axis, so that the batched node is the rows' nodes side
    /// by side; `None` when it reads across rows (or its operands' batch axes disagree).
    fn separable_output_axis(&self, node: &Node, axes: &[usize]) -> Option<usize> {
        let shape = |v: u32| self.values.get(v as usize).map(|t| t.shape.as_slice());
        // the dynamic operands' (rank, batch axis)
        let dynamic: Vec<(usize, usize)> = node
            .inputs
            .iter()
            .filter_map(|o| match *o {
                Operand::Value(v) => Some((shape(v)?.len(), *axes.get(v as usize)?)),
                Operand::Const(_) => None,
            })
            .collect();
        if dynamic.len()
            != node
                .inputs
                .iter()
                .filter(|o| matches!(o, Operand::Value(_)))
                .count()
        {
            return None;
        }
        let consts: Vec<&[u32]> = node
            .inputs
            .iter()
            .filter_map(|o| match o {
                Operand::Const(c) => self.consts.get(*c as usize).map(|k| k.shape.as_slice()),
                Operand::Value(_) => None,
            })
            .collect();
        let &(rank, b) = dynamic.first()?;
        // every dynamic operand has the same rank and batch axis
        let aligned = dynamic.iter().all(|&d| d == (rank, b));
        // a constant broadcast from the last axis reaches the batch axis only with size 1 there
        let fits = |c: &[u32]| {
            c.len() <= rank && (c.len() < rank - b || c.get(b + c.len() - rank) == Some(&1))
        };
        let out_rank = shape(node.output).map_or(0, <[Dim]>::len);
        match &node.op {
            // the last axis is reduced
            Op::Linear { .. } => (b + 1 < rank).then_some(b),
            // N is axis 0
            Op::Conv { .. } | Op::MaxPool { .. } | Op::AveragePool { .. } => {
                (b == 0 && rank >= 3).then_some(0)
            }
            // batch dims broadcast elementwise only when both operands have them in line
            Op::MatMul { .. } => {
                (consts.is_empty() && dynamic.len() == 2 && aligned && b + 2 < rank).then_some(b)
            }
            Op::Add { .. } | Op::Mul { .. } | Op::Max | Op::Min => {
                (aligned && out_rank == rank && consts.iter().all(|c| fits(c))).then_some(b)
            }
            Op::PRelu { slope, .. } => self
                .consts
                .get(*slope as usize)
                .is_some_and(|c| fits(&c.shape))
                .then_some(b),
            Op::Reduce { axes, keepdims, .. } => {
                let before = axes.iter().filter(|&&a| (a as usize) < b).count();
                (!axes.contains(&(b as u32))).then_some(if *keepdims { b } else { b - before })
            }
            Op::Softmax { axis, .. } => (*axis as usize != b).then_some(b),
            Op::ArgMax { axis, keepdims, .. } => {
                let a = *axis as usize;
                (a != b).then_some(if *keepdims || a > b { b } else { b - 1 })
            }
            Op::Transpose { perm } => perm.iter().position(|&p| p as usize == b),
            // the batch axis kept as it is
            Op::Select { maps } => maps.get(b).is_some_and(Vec::is_empty).then_some(b),
            Op::Concat { axis } => {
                (*axis as usize != b && consts.is_empty() && aligned).then_some(b)
            }
            // a constant table picked by each row's indices, or a computed tensor picked along
            // another axis by constant indices
            Op::Gather { axis } => {
                let a = *axis as usize;
                match (node.inputs.first(), node.inputs.get(1)) {
                    (Some(Operand::Const(_)), Some(Operand::Value(_))) => Some(a + b),
                    (Some(Operand::Value(_)), Some(Operand::Const(c))) if a != b => {
                        let k = self.consts.get(*c as usize)?.shape.len();
                        Some(if b < a { b } else { b + k - 1 })
                    }
                    _ => None,
                }
            }
            // no rows added before or after the batch
            Op::Pad { pads, .. } => {
                (pads.get(b) == Some(&0) && pads.get(pads.len() / 2 + b) == Some(&0)).then_some(b)
            }
            // each row's features give that row's scores
            Op::TreeEnsemble { .. } => (b == 0 && rank >= 2).then_some(0),
            // the same elements before the batch axis: each row's block is the row reshaped
            Op::Reshape => {
                let Some(Operand::Value(v)) = node.inputs.first() else {
                    return None;
                };
                let (input, out) = (shape(*v)?, shape(node.output)?);
                let ob = batch_axis(out)?;
                (outer_elements(input, b) == outer_elements(out, ob)).then_some(ob)
            }
            Op::Rescale { .. }
            | Op::Relu
            | Op::Clip { .. }
            | Op::LeakyRelu { .. }
            | Op::Lut { .. } => Some(b),
        }
    }
}

/// The axis of `shape`'s one batch dimension; `None` without one or with several.
pub fn batch_axis(shape: &[Dim]) -> Option<usize> {
    let mut at = shape.iter().enumerate().filter(|(_, d)| **d == Dim::Batch);
    let (b, _) = at.next()?;
    at.next().is_none().then_some(b)
}

/// How many elements `shape` has before axis `b` (its fixed dimensions' product): the number
/// of interleaved blocks a batched tensor holds each row in.
fn outer_elements(shape: &[Dim], b: usize) -> Option<u64> {
    shape.get(..b)?.iter().try_fold(1u64, |n, d| match d {
        Dim::Fixed(k) => n.checked_mul(u64::from(*k)),
        Dim::Batch => None,
    })
}

/// The number of blocks each row of a value of `shape` forms in the batched tensor (the
/// product of the dimensions before its batch axis, 1 when it is first or absent): above 1, a
/// batched run holds the value's rows interleaved, `[outer, R, inner]`, where the definition
/// (section 1) has them end to end, `[R, outer, inner]`.
pub fn outer_rows(shape: &[Dim]) -> usize {
    batch_axis(shape)
        .and_then(|b| outer_elements(shape, b))
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(1)
}
