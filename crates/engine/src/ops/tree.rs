//! Decision-tree ensembles: the integer `TreeEnsemble` (`docs/semantics.md` section 3.1).
//! Each row walks every tree on its feature codes, then the leaf values of each target are
//! aggregated and added to the target's base value. Rows are independent and each is computed
//! in one fixed order, so batch size and thread count never change a bit (blocks of rows run
//! on the engine's threads).

use super::{NodeRun, SemResult};
use crate::Result;
use crate::tensor::Tensor;
use vouch_model::{Op, Package};
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
/// split across the current rayon pool when it has two or more threads. Compiles the trees
/// for this call (see [`Compiled`]; the engine compiles them once per package).
pub fn tree_ensemble(x: &Tensor, trees: &Trees<'_>, out_shape: &[usize]) -> SemResult<Tensor> {
    tree_ensemble_with(x, trees, Compiled::new(trees).as_ref(), out_shape)
}

/// [`tree_ensemble`] with the trees compiled beforehand (`None`: the reference walk).
pub fn tree_ensemble_with(
    x: &Tensor,
    trees: &Trees<'_>,
    compiled: Option<&Compiled>,
    out_shape: &[usize],
) -> SemResult<Tensor> {
    let f = trees.bounds.len().saturating_sub(1);
    let n = trees.base.len();
    if x.shape.last() != Some(&f) || out_shape.last() != Some(&n) {
        return Err(domain("tree ensemble shapes"));
    }
    let rows = x.data.len().checked_div(f).unwrap_or(0);
    let mut data = vec![0i32; rows * n];
    // one block of rows: the compiled walk, or the reference walk row by row (which also
    // gives a block that fails its exact error, as if the compiled walk did not exist)
    let block = |xs: &[i32], outs: &mut [i32]| -> SemResult<()> {
        if let Some(c) = compiled
            && c.block(trees, xs, outs).is_ok()
        {
            return Ok(());
        }
        let mut acc = vec![None; n];
        xs.chunks_exact(f)
            .zip(outs.chunks_exact_mut(n.max(1)))
            .try_for_each(|(row, out)| trees.row(row, &mut acc, out))
    };
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
                xs.chunks(LANES * f)
                    .zip(outs.chunks_mut(LANES * n.max(1)))
                    .try_for_each(|(xs, outs)| block(xs, outs))
            })?;
    } else {
        x.data
            .chunks(LANES * f)
            .zip(data.chunks_mut(LANES * n.max(1)))
            .try_for_each(|(xs, outs)| block(xs, outs))?;
    }
    Ok(Tensor {
        shape: out_shape.to_vec(),
        data,
    })
}

/// Rows the compiled walk moves through a tree together: their node reads are independent, so
/// the processor overlaps them instead of waiting on one row's chain of dependent loads.
const LANES: usize = 8;

/// One node of a compiled tree. A feature code `q` goes to `missing` when it is the missing
/// code, else to `inside` when `q - lo` (wrapping, as `u32`) is below `width`, else to
/// `outside`. A leaf points to itself on every side, so a walk may take more steps than its
/// path and stay on its leaf.
#[derive(Debug, Clone, Copy)]
struct Step {
    feature: u32,
    lo: i32,
    width: u32,
    inside: u32,
    outside: u32,
    missing: u32,
}

/// A validated ensemble compiled for the engine's walk: every branch test turned into one
/// interval test on the code (exact for the codes a row may hold, `[0, 2 |T_f|]` and the
/// missing code, which each row is checked against first), every node checked once instead of
/// on every visit, and each tree's depth so that [`LANES`] rows walk it in lockstep. It
/// computes the same leaves as the walk of `docs/semantics.md` section 3.1, and folds each
/// row's leaf values in the same order (tree by tree), so the same bits.
#[derive(Debug, Clone)]
pub struct Compiled {
    steps: Vec<Step>,
    /// Per node: its leaf weight rows `(start, count)` (`(0, 0)` for a branch).
    leaves: Vec<(u32, u32)>,
    /// `(target, value)` of each weight row.
    weights: Vec<(usize, i64)>,
    roots: Vec<u32>,
    /// Branches on the longest path of each tree.
    depth: Vec<u32>,
}

impl Compiled {
    /// Branches one row passes at most: the sum of every tree's longest path.
    pub fn branches_per_row(&self) -> u64 {
        self.depth.iter().map(|&d| u64::from(d)).sum()
    }

    /// Compiles `trees`, or `None` when any node, root or weight row is malformed (the
    /// reference walk then runs, and fails on a row that reaches the malformed part).
    pub fn new(trees: &Trees<'_>) -> Option<Self> {
        let f = trees.bounds.len().checked_sub(1)?;
        let n = trees.base.len();
        let n_nodes = trees.nodes.len() / NODE_COLS;
        if f == 0 || !trees.nodes.len().is_multiple_of(NODE_COLS) || u32::try_from(n_nodes).is_err()
        {
            return None;
        }
        let weights = trees
            .weights
            .chunks_exact(WEIGHT_COLS)
            .map(|w| {
                let t = usize::try_from(w[0]).ok().filter(|&t| t < n)?;
                Some((t, i64::from(w[1])))
            })
            .collect::<Option<Vec<_>>>()?;
        let mut steps = Vec::with_capacity(n_nodes);
        let mut leaves = Vec::with_capacity(n_nodes);
        for (i, r) in trees.nodes.chunks_exact(NODE_COLS).enumerate() {
            let me = i as u32;
            let mode = NodeMode::from_code(r[0])?;
            if mode == NodeMode::Leaf {
                let (start, count) = (u32::try_from(r[4]).ok()?, u32::try_from(r[5]).ok()?);
                let end = usize::try_from(start.checked_add(count)?).ok()?;
                if end > weights.len() {
                    return None;
                }
                steps.push(Step {
                    feature: 0,
                    lo: 0,
                    width: 0,
                    inside: me,
                    outside: me,
                    missing: me,
                });
                leaves.push((start, count));
                continue;
            }
            let feature = usize::try_from(r[1]).ok().filter(|&x| x < f)?;
            let child = |v: i32| {
                u32::try_from(v)
                    .ok()
                    .filter(|&c| c > me && (c as usize) < n_nodes)
            };
            let (a, b) = (child(r[4])?, child(r[5])?);
            // the codes a row may hold for this feature: [0, top], and the missing code
            let top = 2 * (i64::from(trees.bounds[feature + 1]) - i64::from(trees.bounds[feature]));
            let c = i64::from(r[2]);
            let (lo, hi, inside, outside) = match mode {
                NodeMode::Leq => (i64::MIN, c, a, b),
                NodeMode::Lt => (i64::MIN, c - 1, a, b),
                NodeMode::Gte => (c, i64::MAX, a, b),
                NodeMode::Gt => (c + 1, i64::MAX, a, b),
                NodeMode::Eq => (c, c, a, b),
                NodeMode::Neq => (c, c, b, a),
                NodeMode::Leaf => return None,
            };
            let (lo, hi) = (lo.max(0), hi.min(top));
            let width = u32::try_from((hi - lo + 1).max(0)).ok()?;
            let missing = if mode.holds(MISSING, r[2], r[3] != 0) {
                a
            } else {
                b
            };
            steps.push(Step {
                feature: feature as u32,
                lo: i32::try_from(lo.min(top.max(0))).ok()?,
                width,
                inside,
                outside,
                missing,
            });
            leaves.push((0, 0));
        }
        let roots = trees
            .roots
            .iter()
            .map(|&r| u32::try_from(r).ok().filter(|&r| (r as usize) < n_nodes))
            .collect::<Option<Vec<_>>>()?;
        // children come after their parents: depths from the last node up
        let mut below = vec![0u32; n_nodes];
        for i in (0..n_nodes).rev() {
            let s = steps[i];
            if s.inside != i as u32 {
                below[i] = 1 + below[s.inside as usize].max(below[s.outside as usize]);
            }
        }
        let depth = roots.iter().map(|&r| below[r as usize]).collect();
        Some(Self {
            steps,
            leaves,
            weights,
            roots,
            depth,
        })
    }

    /// Scores of a block of rows (`xs`: at most [`LANES`] rows of `F` codes) into `outs`.
    fn block(&self, trees: &Trees<'_>, xs: &[i32], outs: &mut [i32]) -> SemResult<()> {
        let f = trees.bounds.len() - 1;
        let n = trees.base.len();
        let lanes = xs.len() / f;
        for row in xs.chunks_exact(f) {
            for (q, b) in row.iter().zip(trees.bounds.windows(2)) {
                let top = 2 * (i64::from(b[1]) - i64::from(b[0]));
                if *q != MISSING && !(0..=top).contains(&i64::from(*q)) {
                    return Err(domain("feature code outside its feature's range"));
                }
            }
        }
        let mut acc = vec![None::<i64>; lanes * n];
        let mut at = [0u32; LANES];
        for (&root, &depth) in self.roots.iter().zip(&self.depth) {
            at[..lanes].fill(root);
            for _ in 0..depth {
                for (l, node) in at[..lanes].iter_mut().enumerate() {
                    let s = &self.steps[*node as usize];
                    let q = xs[l * f + s.feature as usize];
                    let mut next = if (q.wrapping_sub(s.lo) as u32) < s.width {
                        s.inside
                    } else {
                        s.outside
                    };
                    if q == MISSING {
                        next = s.missing;
                    }
                    *node = next;
                }
            }
            for (l, &node) in at[..lanes].iter().enumerate() {
                let (start, count) = self.leaves[node as usize];
                let acc = &mut acc[l * n..(l + 1) * n];
                for &(t, v) in &self.weights[start as usize..(start + count) as usize] {
                    acc[t] = Some(trees.aggregate.fold(acc[t], v)?);
                }
            }
        }
        for (out, acc) in outs.chunks_exact_mut(n.max(1)).zip(acc.chunks(n.max(1))) {
            for ((o, a), b) in out.iter_mut().zip(acc).zip(trees.base) {
                let z = i64::from(*b) + a.unwrap_or(0);
                *o = i32::try_from(z).map_err(|_| SemError::Overflow {
                    what: "tree ensemble score",
                })?;
            }
        }
        Ok(())
    }
}

/// The trees of a `TreeEnsemble` op, read from the package's constants.
pub(crate) fn trees_of<'a>(pkg: &'a Package, op: &Op) -> Option<Trees<'a>> {
    let Op::TreeEnsemble {
        nodes,
        weights,
        roots,
        base,
        bounds,
        aggregate,
        ..
    } = op
    else {
        return None;
    };
    let konst = |c: u32| pkg.consts.get(c as usize).map(|t| t.data.as_slice());
    Some(Trees {
        nodes: konst(*nodes)?,
        weights: konst(*weights)?,
        roots: konst(*roots)?,
        base: konst(*base)?,
        bounds: konst(*bounds)?,
        aggregate: *aggregate,
    })
}

/// Runs a `TreeEnsemble` node, with its trees compiled when the package's were.
pub(crate) fn run_tree_ensemble(r: &NodeRun<'_>, compiled: Option<&Compiled>) -> Result<Tensor> {
    let trees = trees_of(r.pkg, &r.node.op).ok_or_else(|| r.err("not a tree ensemble"))?;
    let f = trees.bounds.len().saturating_sub(1);
    if r.x.shape.last() != Some(&f) || r.out_shape.last() != Some(&trees.base.len()) {
        return Err(r.err("input or output last axis does not match the trees"));
    }
    tree_ensemble_with(r.x, &trees, compiled, r.out_shape).map_err(|e| r.sem(e))
}
