//! Tree ensembles in `f32`, as onnxruntime computes them: each row walks every tree with float
//! comparisons ([`vouch_semantics::NodeMode::holds_f32`]), the leaf values of each target are
//! summed (or their min / max taken) in tree order, `AVERAGE` divides the sum by the number of
//! trees, and the base value is added last.

use super::Cx;
use crate::Result;
use vouch_onnx::graph::{Aggregate, FTrees, NodeMode};

/// The leaf row tree `root` reaches on the float row `x`.
pub(crate) fn walk(t: &FTrees, root: usize, x: &[f32]) -> Option<usize> {
    let mut i = root;
    loop {
        let n = t.nodes.get(i)?;
        if n.mode == NodeMode::Leaf {
            return Some(i);
        }
        let v = *x.get(n.feature)?;
        let next = if n.mode.holds_f32(v, n.threshold, n.missing) {
            n.a
        } else {
            n.b
        };
        if next <= i {
            return None;
        }
        i = next;
    }
}

/// `TreeEnsemble`: `[..., F]` features to `[..., N]` scores.
pub(super) fn tree_ensemble(cx: &Cx<'_>, t: &FTrees) -> Result<Vec<f32>> {
    let f = t.features;
    let n = t.base.len();
    if cx.x.shape.last() != Some(&f) || f == 0 {
        return Err(cx.err("input features do not match the trees"));
    }
    let mut out = Vec::with_capacity(cx.total);
    let mut acc: Vec<Option<f32>> = vec![None; n];
    #[expect(clippy::cast_precision_loss, reason = "tree counts are small")]
    let trees = t.roots.len() as f32;
    for x in cx.x.data.chunks_exact(f) {
        acc.fill(None);
        for &root in &t.roots {
            let leaf = walk(t, root, x).ok_or_else(|| cx.err("malformed tree"))?;
            let node = &t.nodes[leaf];
            for &(k, w) in t.weights.get(node.a..node.a + node.b).unwrap_or_default() {
                let slot = acc.get_mut(k).ok_or_else(|| cx.err("leaf target"))?;
                *slot = Some(match (t.aggregate, *slot) {
                    (_, None) => w,
                    (Aggregate::Sum, Some(a)) => a + w,
                    (Aggregate::Min, Some(a)) => a.min(w),
                    (Aggregate::Max, Some(a)) => a.max(w),
                });
            }
        }
        for (a, b) in acc.iter().zip(&t.base) {
            let s = a.unwrap_or(0.0);
            out.push(if t.average { s / trees + b } else { s + b });
        }
    }
    Ok(out)
}
