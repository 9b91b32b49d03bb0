//! Decision-tree ensembles: the integer `TreeEnsemble` (`docs/semantics.md` section 3.1).
//! Each row walks every tree on its feature codes, then the leaf values of each target are
//! aggregated and added to the target's base value. Rows are independent and each is computed
//! in one fixed order, so batch size and thread count never change a bit (blocks of rows run
//! on the engine's threads).

use super::{NodeRun, SemResult};
use crate::Result;
use crate::tensor::Tensor;
use vouch_model::Op;
use vouch_semantics::tree::{MISSING, NODE_COLS, WEIGHT_COLS};
use vouch_semantics::{Aggregate, Error as SemError, NodeMode};

/// The constants of a `TreeEnsemble` node (a validated package's, or a test vector's).
#[derive(Debug, Clone, Copy)]
pub struct Trees<'a> {
    /// `[n_nodes, 6]` rows `[mode, feature, c, missing, a, b]`.
    pub nodes: &'a [i32],
    /// `[n_w, 2]` rows `[target, value]`.
    pub weights: &'a [i32],
    /// The root row of each tree.
    pub roots: &'a [i32],
    /// The base value of each target.
    pub base: &'a [i32],
    /// `[F + 1]` offsets of each feature's thresholds (the code range of feature `f` is
    /// `[-1, 2 (bounds[f + 1] - bounds[f])]`).
    pub bounds: &'a [i32],
    /// How leaf values combine.
    pub aggregate: Aggregate,
}

fn domain(what: &'static str) -> SemError {
    SemError::Domain { what }
}

/// A small helper: element `i` of `s` as a `usize` index.
fn idx(s: &[i32], i: usize) -> SemResult<usize> {
    s.get(i)
        .and_then(|&v| usize::try_from(v).ok())
        .ok_or(domain("tree index"))
}

impl Trees<'_> {
    /// The leaf row tree `root` reaches on the feature codes `row`.
    fn walk(&self, root: usize, row: &[i32]) -> SemResult<usize> {
        let mut i = root;
        loop {
            let r = self
                .nodes
                .get(i * NODE_COLS..(i + 1) * NODE_COLS)
                .ok_or(domain("tree node row"))?;
            let mode = NodeMode::from_code(r[0]).ok_or(domain("tree node mode"))?;
            if mode == NodeMode::Leaf {
                return Ok(i);
            }
            let q = *row.get(idx(r, 1)?).ok_or(domain("tree feature"))?;
            let next = if mode.holds(q, r[2], r[3] != 0) {
                idx(r, 4)?
            } else {
                idx(r, 5)?
            };
            // children come after their parent (validated), so the walk ends
            if next <= i {
                return Err(domain("tree child before its parent"));
            }
            i = next;
        }
    }

    /// The `N` scores of one row of `F` feature codes.
    fn row(&self, row: &[i32], acc: &mut [Option<i64>], out: &mut [i32]) -> SemResult<()> {
        for (f, &q) in row.iter().enumerate() {
            let n = i64::from(self.bounds[f + 1]) - i64::from(self.bounds[f]);
            if q != MISSING && !(0..=2 * n).contains(&i64::from(q)) {
                return Err(domain("feature code outside its feature's range"));
            }
        }
        acc.fill(None);
        for t in 0..self.roots.len() {
            let leaf = self.walk(idx(self.roots, t)?, row)?;
            let r = &self.nodes[leaf * NODE_COLS..(leaf + 1) * NODE_COLS];
            let (start, count) = (idx(r, 4)?, idx(r, 5)?);
            let ws = self
                .weights
                .get(start * WEIGHT_COLS..(start + count) * WEIGHT_COLS)
                .ok_or(domain("leaf weights"))?;
            for w in ws.chunks_exact(WEIGHT_COLS) {
                let slot = acc.get_mut(idx(w, 0)?).ok_or(domain("leaf target"))?;
                *slot = Some(self.aggregate.fold(*slot, i64::from(w[1]))?);
            }
        }
        for ((o, a), b) in out.iter_mut().zip(acc.iter()).zip(self.base) {
            let z = i64::from(*b) + a.unwrap_or(0);
            *o = i32::try_from(z).map_err(|_| SemError::Overflow {
                what: "tree ensemble score",
            })?;
        }
        Ok(())
    }
}

/// Rows from which a `TreeEnsemble` inside a pool of two or more threads splits its rows
/// among them (each row walks every tree: a few microseconds for a 100-tree ensemble).
const PAR_ROWS: usize = 8;

/// `TreeEnsemble` on `x` (`[..., F]` feature codes) into `out_shape` (`[..., N]`), its rows
/// split across the current rayon pool when it has two or more threads.
pub fn tree_ensemble(x: &Tensor, trees: &Trees<'_>, out_shape: &[usize]) -> SemResult<Tensor> {
    let f = trees.bounds.len().saturating_sub(1);
    let n = trees.base.len();
    if x.shape.last() != Some(&f) || out_shape.last() != Some(&n) {
        return Err(domain("tree ensemble shapes"));
    }
    let rows = x.data.len().checked_div(f).unwrap_or(0);
    let mut data = vec![0i32; rows * n];
    if f == 0 {
        // no features: every row is the same walk on an empty row
        let mut acc = vec![None; n];
        for out in data.chunks_exact_mut(n.max(1)) {
            trees.row(&[], &mut acc, out)?;
        }
    } else if rows >= PAR_ROWS && crate::gemm::in_parallel_pool() {
        // rows are independent: one contiguous block of rows per task, the same bits
        use rayon::prelude::*;
        let per = rows.div_ceil(rayon::current_num_threads());
        x.data
            .par_chunks(per * f)
            .zip(data.par_chunks_mut(per * n.max(1)))
            .try_for_each(|(xs, outs)| {
                let mut acc = vec![None; n];
                xs.chunks_exact(f)
                    .zip(outs.chunks_exact_mut(n.max(1)))
                    .try_for_each(|(row, out)| trees.row(row, &mut acc, out))
            })?;
    } else {
        let mut acc = vec![None; n];
        for (row, out) in x.data.chunks_exact(f).zip(data.chunks_exact_mut(n.max(1))) {
            trees.row(row, &mut acc, out)?;
        }
    }
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data,
    })
}

/// Runs a `TreeEnsemble` node.
pub(crate) fn run_tree_ensemble(r: &NodeRun<'_>) -> Result<Tensor> {
    let Op::TreeEnsemble {
        nodes,
        weights,
        roots,
        base,
        bounds,
        aggregate,
        ..
    } = &r.node.op
    else {
        return Err(r.err("not a tree ensemble"));
    };
    let trees = Trees {
        nodes: r.konst(*nodes),
        weights: r.konst(*weights),
        roots: r.konst(*roots),
        base: r.konst(*base),
        bounds: r.konst(*bounds),
        aggregate: *aggregate,
    };
    let f = trees.bounds.len().saturating_sub(1);
    if r.x.shape.last() != Some(&f) || r.out_shape.last() != Some(&trees.base.len()) {
        return Err(r.err("input or output last axis does not match the trees"));
    }
    tree_ensemble(r.x, &trees, r.out_shape).map_err(|e| r.sem(e))
}
