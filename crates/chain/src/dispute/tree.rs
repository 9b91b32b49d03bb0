//! The tree partial-sum game of a `SUM` `TreeEnsemble` element (docs/semantics.md section
//! 8.6): the prefix sums over trees an honest party posts, and the one-step arguments that
//! prove only the walked path: one window of the feature codes (or one per tested code when
//! they are spread wide), and windows of `[roots, base, weights, nodes rows ..]`, each later
//! window of one tensor sharing the first one's commitment proof.

use super::need::{dim, numel};
use super::{Evidence, HonestTrace, OneStepArgs, input_data, to_usize, window};
use crate::{Error, Result};
use alloy::primitives::B256;
use vouch_bindings::dispute_game::OneStepVerifier::Node;
use vouch_semantics::NodeMode;
use vouch_semantics::tree::{NODE_COLS, WEIGHT_COLS};

/// Constant slots of a `TreeEnsemble` descriptor: `[nodes, weights, roots, base, bounds,
/// thresholds]`.
const NODES: usize = 0;
const WEIGHTS: usize = 1;
const ROOTS: usize = 2;
const BASE: usize = 3;

/// Tested codes whose span is at most this many elements per code are proven by one window
/// of `X` (a read element costs about what a window's proof does per 16 elements); wider
/// ones by one window each.
const SPAN_PER_CODE: usize = 16;

fn bad(j: usize, what: &str) -> Error {
    Error::TraceMismatch {
        message: format!("tree node {j}: {what}"),
    }
}

/// Whether `node` is a `TreeEnsemble` descriptor.
pub(super) fn is_tree(node: &Node) -> bool {
    node.op == crate::graph::op::TREE_ENSEMBLE
}

/// The data of constant slot `slot` of `node`.
fn konst<'a>(ev: &'a Evidence, node: &Node, j: usize, slot: usize) -> Result<&'a [i32]> {
    let id = to_usize(
        *node.consts.get(slot).ok_or_else(|| bad(j, "constant"))?,
        "constant",
    )?;
    ev.consts
        .get(id)
        .map(Vec::as_slice)
        .ok_or_else(|| bad(j, "constant"))
}

fn at(s: &[i32], i: usize, j: usize) -> Result<usize> {
    s.get(i)
        .and_then(|&v| usize::try_from(v).ok())
        .ok_or_else(|| bad(j, "index"))
}

/// What one element of a tree node reads: the task row's feature codes, its target.
struct Element<'a> {
    node: Node,
    nodes: &'a [i32],
    weights: &'a [i32],
    roots: &'a [i32],
    base: &'a [i32],
    /// The row's feature codes.
    x: &'a [i32],
    /// Offset of the row in `X`.
    x_base: usize,
    k: usize,
}

fn element<'a>(me: &'a HonestTrace, ev: &'a Evidence, j: usize, e: usize) -> Result<Element<'a>> {
    let node = ev
        .nodes
        .get(j)
        .filter(|n| is_tree(n))
        .ok_or_else(|| bad(j, "not a tree ensemble"))?
        .clone();
    let n1 = numel(&node.outShape).max(1);
    let targets = node.constShapes.get(BASE).map_or(1, |s| dim(s, 0)).max(1);
    let f = node
        .inShapes
        .first()
        .map_or(0, |s| dim(s, s.len().saturating_sub(1)));
    let (row, e1) = (e / n1, e % n1);
    // the element comes from the chain: no arithmetic on it may overflow
    let x_base = numel(node.inShapes.first().map_or(&[][..], Vec::as_slice))
        .checked_mul(row)
        .and_then(|b| b.checked_add((e1 / targets).checked_mul(f)?))
        .ok_or_else(|| bad(j, "element out of range"))?;
    let x_all = input_data(me, ev, &node, 0)?;
    let x = x_base
        .checked_add(f)
        .and_then(|end| x_all.get(x_base..end))
        .ok_or_else(|| bad(j, "feature row"))?;
    Ok(Element {
        nodes: konst(ev, &node, j, NODES)?,
        weights: konst(ev, &node, j, WEIGHTS)?,
        roots: konst(ev, &node, j, ROOTS)?,
        base: konst(ev, &node, j, BASE)?,
        node,
        x,
        x_base,
        k: e1 % targets,
    })
}

impl Element<'_> {
    /// The rows tree `t` walks (root first, leaf last).
    fn path(&self, t: usize, j: usize) -> Result<Vec<usize>> {
        let mut i = at(self.roots, t, j)?;
        let mut rows = Vec::new();
        loop {
            rows.push(i);
            let r = self
                .nodes
                .get(i * NODE_COLS..(i + 1) * NODE_COLS)
                .ok_or_else(|| bad(j, "node row"))?;
            let mode = NodeMode::from_code(r[0]).ok_or_else(|| bad(j, "node mode"))?;
            if mode == NodeMode::Leaf {
                return Ok(rows);
            }
            let q = *self.x.get(at(r, 1, j)?).ok_or_else(|| bad(j, "feature"))?;
            let next = at(r, if mode.holds(q, r[2], r[3] != 0) { 4 } else { 5 }, j)?;
            if next <= i {
                return Err(bad(j, "child before its parent"));
            }
            i = next;
        }
    }

    /// The leaf's weight rows `[a, a + b)`.
    fn leaf_rows(&self, leaf: usize, j: usize) -> Result<(usize, usize)> {
        let a = at(self.nodes, leaf * NODE_COLS + 4, j)?;
        Ok((a, a + at(self.nodes, leaf * NODE_COLS + 5, j)?))
    }

    /// Tree `t`'s leaf values for the element's target.
    fn contribution(&self, t: usize, j: usize) -> Result<i64> {
        let path = self.path(t, j)?;
        let leaf = *path.last().ok_or_else(|| bad(j, "empty path"))?;
        let (a, b) = self.leaf_rows(leaf, j)?;
        let ws = self
            .weights
            .get(a * WEIGHT_COLS..b * WEIGHT_COLS)
            .ok_or_else(|| bad(j, "leaf weights"))?;
        let mut v = 0i64;
        for w in ws.chunks_exact(WEIGHT_COLS) {
            if usize::try_from(w[0]).ok() == Some(self.k) {
                v += i64::from(w[1]);
            }
        }
        Ok(v)
    }
}

/// The prefix sum `P_t` of element `e` of `SUM` tree node `j`: `base[k]` plus the leaf values
/// of target `k` in trees `0 .. t` (docs/semantics.md section 8.6); `P_T` is the output.
pub fn partial_sum(me: &HonestTrace, ev: &Evidence, j: usize, e: usize, t: usize) -> Result<i64> {
    let el = element(me, ev, j, e)?;
    let mut p = i64::from(*el.base.get(el.k).ok_or_else(|| bad(j, "base"))?);
    for tree in 0..t.min(el.roots.len()) {
        p += el.contribution(tree, j)?;
    }
    Ok(p)
}

/// The number of trees of tree node `j` (the partial-sum game's `m`).
pub(super) fn trees(ev: &Evidence, j: usize) -> Result<usize> {
    let node = ev.nodes.get(j).ok_or_else(|| bad(j, "no such node"))?;
    Ok(konst(ev, node, j, ROOTS)?.len())
}

/// The `oneStep` arguments of the tree step on tree `t` for element `e` of node `j`: windows
/// of the tested feature codes, then `[roots, base, weights, nodes rows ..]`.
pub(super) fn step_args(
    me: &HonestTrace,
    ev: &Evidence,
    descent: &[(B256, B256)],
    j: usize,
    e: usize,
    t: usize,
) -> Result<OneStepArgs> {
    let el = element(me, ev, j, e)?;
    let path = el.path(t, j)?;
    let missing = |what: &str| Error::OutOfRange {
        what: format!("tree one-step: {what}"),
    };
    let node_proof = super::node_proof(ev, j).ok_or_else(|| missing("node"))?;
    // the feature codes: a graph input (validated packages) or, in general, a trace leaf
    let x_ref = *el.node.inputs.first().ok_or_else(|| missing("input"))?;
    let (x_all, x_proof) =
        super::operand(me, ev, descent, x_ref, j).ok_or_else(|| missing("input proof"))?;
    let branches = path.len().saturating_sub(1);
    let codes: Vec<usize> = path
        .iter()
        .take(branches)
        .map(|&r| at(el.nodes, r * NODE_COLS + 1, j))
        .collect::<Result<_>>()?;
    let mut ins = Vec::new();
    if let (Some(lo), Some(hi)) = (codes.iter().min(), codes.iter().max()) {
        if hi - lo < SPAN_PER_CODE * codes.len() {
            ins.push(window(x_all, x_proof, el.x_base + lo, el.x_base + hi + 1));
        } else {
            for (n, f) in codes.iter().enumerate() {
                let proof = if n == 0 { x_proof.clone() } else { Vec::new() };
                ins.push(window(x_all, proof, el.x_base + f, el.x_base + f + 1));
            }
        }
    } else {
        // a tree that is one leaf tests no code; the game still wants a proven window
        ins.push(window(x_all, x_proof, el.x_base, el.x_base + 1));
    }
    let const_window = |slot: usize, lo: usize, hi: usize, proven: bool| -> Result<_> {
        let id = to_usize(
            *el.node
                .consts
                .get(slot)
                .ok_or_else(|| missing("constant"))?,
            "constant",
        )?;
        let data = ev.consts.get(id).ok_or_else(|| missing("constant"))?;
        let proof = if proven {
            ev.const_proof(id).ok_or_else(|| missing("constant"))?
        } else {
            Vec::new()
        };
        Ok(window(data, proof, lo, hi))
    };
    let leaf = *path.last().ok_or_else(|| missing("path"))?;
    let (a, b) = el.leaf_rows(leaf, j)?;
    let mut cs = vec![
        const_window(ROOTS, t, t + 1, true)?,
        const_window(BASE, el.k, el.k + 1, true)?,
        const_window(
            WEIGHTS,
            a * WEIGHT_COLS,
            (b * WEIGHT_COLS).max(a * WEIGHT_COLS + 1),
            true,
        )?,
    ];
    for (n, &r) in path.iter().enumerate() {
        cs.push(const_window(
            NODES,
            r * NODE_COLS,
            (r + 1) * NODE_COLS,
            n == 0,
        )?);
    }
    Ok((
        el.node,
        node_proof.into_iter().map(B256::from).collect(),
        ins,
        cs,
    ))
}
