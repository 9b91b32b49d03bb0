//! How a run's rows execute: inline or in the pool, one batched run of a row-separable
//! package (in blocks of rows side by side when its nodes are too small to split), or the rows
//! one by one, joined in row order (`docs/semantics.md` section 1: the same bits either way).

use super::rows::{rows_first, rows_in, run_rows_of};
use super::{Engine, Execution, INLINE_WORK};
use crate::Result;
use crate::tensor::{Tensor, resolve};

impl Engine<'_> {
    /// Whether a run on `inputs` costs less than [`INLINE_WORK`] (malformed inputs are not
    /// small: the pool path reports their error).
    pub(super) fn is_small(&self, inputs: &[Tensor]) -> bool {
        run_rows_of(self.pkg, inputs)
            .is_ok_and(|rows| (rows as u64).saturating_mul(self.work_per_row) < INLINE_WORK)
    }

    /// Whether `inputs` hold several rows that run one by one (a package that is not
    /// row-separable): the pool then runs the rows side by side, however small each is.
    pub(super) fn rows_apart(&self, inputs: &[Tensor]) -> bool {
        !self.row_separable
            && inputs.len() == self.pkg.inputs.len()
            && run_rows_of(self.pkg, inputs).is_ok_and(|rows| rows > 1)
    }

    pub(super) fn run_rows(&self, inputs: Vec<Tensor>) -> Result<Execution> {
        if inputs.len() != self.pkg.inputs.len() {
            return self.run_inner(inputs);
        }
        let rows = run_rows_of(self.pkg, &inputs)?;
        if rows <= 1 {
            return self.run_inner(inputs);
        }
        if self.row_separable {
            let blocks = self.row_blocks(rows);
            if blocks <= 1 {
                return self.run_batched(inputs, rows);
            }
            // blocks of consecutive rows, each one batched run, side by side in the pool
            let per = rows.div_ceil(blocks);
            let block = |b: usize| {
                let (r0, n) = (b * per, per.min(rows.saturating_sub(b * per)));
                let ins = inputs.iter().map(|t| rows_in(t, rows, r0, n)).collect();
                self.run_batched(ins, n)
            };
            use rayon::prelude::*;
            let runs = (0..rows.div_ceil(per)).into_par_iter().map(block).collect();
            return self.join_rows(runs, rows);
        }
        // an input without a batch dimension is shared: every row reads all of it (unless the
        // package runs row by row: then axis 0 of every input holds the rows)
        let by_row = self.pkg.runs_row_by_row();
        let shared: Vec<bool> = self
            .pkg
            .inputs
            .iter()
            .map(|io| {
                !by_row
                    && self
                        .pkg
                        .values
                        .get(io.value as usize)
                        .is_some_and(|v| !v.shape.contains(&vouch_model::Dim::Batch))
            })
            .collect();
        let one = |r: usize| {
            let row: Vec<Tensor> = inputs
                .iter()
                .zip(&shared)
                .map(|(t, &s)| if s { t.clone() } else { rows_in(t, rows, r, 1) })
                .collect();
            self.run_inner(row)
        };
        // Rows are independent runs: side by side in a pool (each row's nodes may still split
        // over it), joined in row order, so the bits are those of one row after another.
        let runs: Vec<Result<Execution>> = if crate::gemm::in_parallel_pool() {
            use rayon::prelude::*;
            (0..rows).into_par_iter().map(one).collect()
        } else {
            (0..rows).map(one).collect()
        };
        self.join_rows(runs, rows)
    }

    /// How many blocks of rows a row-separable run of `rows` rows splits into, each run
    /// batched, side by side: one per thread when the pool is there and the package's nodes
    /// are too small at `rows` to split over it themselves (an unrolled recurrent cell: the
    /// keyword LSTM's 1,297 nodes do about 1,100 multiply-adds a row each), else 1. The bits
    /// do not depend on it.
    fn row_blocks(&self, rows: usize) -> usize {
        let nodes = self.pkg.nodes.len().max(1) as u64;
        let per_node = (rows as u64).saturating_mul(self.work_per_row) / nodes;
        if crate::gemm::in_parallel_pool() && per_node < INLINE_WORK {
            self.opts.threads.min(rows)
        } else {
            1
        }
    }

    /// One run of a row-separable package on `rows` batched rows; a value whose batch axis is
    /// not first holds its rows interleaved there, which the definition has end to end
    /// ([`rows_first`]).
    fn run_batched(&self, inputs: Vec<Tensor>, rows: usize) -> Result<Execution> {
        let mut ex = self.run_inner(inputs)?;
        let outer = |v: u32| {
            self.pkg
                .values
                .get(v as usize)
                .map_or(1, |t| vouch_model::rows::outer_rows(&t.shape))
        };
        for (t, o) in ex.outputs.iter_mut().zip(&self.pkg.outputs) {
            rows_first(t, outer(o.value), rows);
        }
        for (t, n) in ex.trace.iter_mut().zip(&self.pkg.nodes) {
            rows_first(t, outer(n.output), rows);
        }
        Ok(ex)
    }

    /// Runs of consecutive rows, in row order, put end to end: outputs and trace with the
    /// shapes the model declares at `rows` (the data is the rows end to end); a value without
    /// a batch dimension is its `rows` copies along axis 0.
    fn join_rows(&self, runs: Vec<Result<Execution>>, rows: usize) -> Result<Execution> {
        let mut all: Option<Execution> = None;
        for ex in runs {
            let ex = ex?;
            all = Some(match all {
                None => ex,
                Some(mut acc) => {
                    for (a, b) in acc.outputs.iter_mut().zip(ex.outputs) {
                        a.data.extend(b.data);
                    }
                    for (a, b) in acc.trace.iter_mut().zip(ex.trace) {
                        a.data.extend(b.data);
                    }
                    acc
                }
            });
        }
        let mut ex = all.unwrap_or_default();
        let shape_of = |v: u32| {
            let declared = &self.pkg.values[v as usize].shape;
            let mut shape = resolve(declared, rows);
            if !declared.contains(&vouch_model::Dim::Batch) {
                match shape.first_mut() {
                    Some(d) => *d = d.saturating_mul(rows),
                    None => shape.push(rows),
                }
            }
            shape
        };
        for (t, o) in ex.outputs.iter_mut().zip(&self.pkg.outputs) {
            t.shape = shape_of(o.value);
        }
        for (t, n) in ex.trace.iter_mut().zip(&self.pkg.nodes) {
            t.shape = shape_of(n.output);
        }
        Ok(ex)
    }
}
