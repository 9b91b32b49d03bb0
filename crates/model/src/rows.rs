//! Rows: how a package runs several inputs at once (`docs/semantics.md` sections 1 and 8.5).
//!
//! An execution of `R` rows *is* `R` executions of the graph with the batch dimension at 1,
//! one per row, every tensor being its rows end to end. [`Package::takes_rows`] says whether a
//! package can be given several rows at all (every graph input has its batch dimension first,
//! so row `r` is a contiguous block); [`Package::row_separable`] says whether running the graph
//! on batched shapes computes exactly those bits (so the engine may do so), a static property
//! checked per operator.

use crate::ir::{Dim, Op, Operand};
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
    /// the rows run one by one and put end to end: every value has its batch dimension at axis
    /// 0 and no operator reads across axis 0 (`docs/semantics.md` section 8.5).
    pub fn row_separable(&self) -> bool {
        if !self.takes_rows() || !self.values.iter().all(|v| batch_first(&v.shape)) {
            return false;
        }
        let rank = |v: u32| self.values.get(v as usize).map_or(0, |t| t.shape.len());
        self.nodes.iter().all(|node| {
            let dyn_ranks: Vec<usize> = node
                .inputs
                .iter()
                .filter_map(|o| match o {
                    Operand::Value(v) => Some(rank(*v)),
                    Operand::Const(_) => None,
                })
                .collect();
            let consts: Vec<&[u32]> = node
                .inputs
                .iter()
                .filter_map(|o| match o {
                    Operand::Const(c) => self.consts.get(*c as usize).map(|k| k.shape.as_slice()),
                    Operand::Value(_) => None,
                })
                .collect();
            let first = dyn_ranks.first().copied().unwrap_or(0);
            match &node.op {
                // the last axis is reduced: a rank-1 input would reduce over the rows
                Op::Linear { .. } => first >= 2,
                // N is axis 0
                Op::Conv { .. } | Op::MaxPool { .. } | Op::AveragePool { .. } => first >= 3,
                // batch dims broadcast elementwise only when both operands have them in line
                Op::MatMul { .. } => {
                    consts.is_empty()
                        && dyn_ranks.len() == 2
                        && dyn_ranks.iter().all(|&r| r == first && r >= 3)
                }
                // broadcasting aligns from the last axis: a constant must not reach axis 0
                // unless it is 1 there
                Op::Add { .. } | Op::Mul { .. } | Op::Max | Op::Min => {
                    dyn_ranks.iter().all(|&r| r == first)
                        && consts
                            .iter()
                            .all(|c| c.len() < first || (c.len() == first && c.first() == Some(&1)))
                }
                Op::PRelu { slope, .. } => self
                    .consts
                    .get(*slope as usize)
                    .is_some_and(|c| c.shape.len() < first || c.shape.first() == Some(&1)),
                Op::Reduce { axes, .. } => !axes.contains(&0),
                Op::Softmax { axis, .. } | Op::ArgMax { axis, .. } => *axis != 0,
                Op::Transpose { perm } => perm.first() == Some(&0),
                // the batch axis kept as it is
                Op::Select { maps } => maps.first().is_some_and(Vec::is_empty),
                Op::Concat { axis } => *axis != 0 && consts.is_empty(),
                // a constant table picked by each row's indices, or a computed tensor picked
                // along another axis (its indices then hold no batch: one batch axis)
                Op::Gather { axis } => match node.inputs.first() {
                    Some(Operand::Const(_)) => *axis == 0,
                    _ => *axis != 0,
                },
                // no rows added before or after the batch
                Op::Pad { pads, .. } => {
                    pads.first() == Some(&0) && pads.get(pads.len() / 2) == Some(&0)
                }
                // each row's features give that row's scores
                Op::TreeEnsemble { .. } => first >= 2,
                Op::Rescale { .. }
                | Op::Relu
                | Op::Clip { .. }
                | Op::LeakyRelu { .. }
                | Op::Lut { .. }
                | Op::Reshape => true,
            }
        })
    }
}
