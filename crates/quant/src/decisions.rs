//! The decision check of tree ensembles (`docs/semantics.md` section 3.1): on float rows, the
//! leaf each tree of the float model reaches against the leaf the integer model reaches on the
//! rows' feature codes. Section 3.1 proves they are always equal; the import report counts the
//! differences on the calibration data so a broken encoding cannot go unnoticed.

use crate::float::tree::walk;
use crate::{FTensor, Result};
use vouch_model::{Op, Package};
use vouch_onnx::graph::{FGraph, FOp};
use vouch_semantics::NodeMode;
use vouch_semantics::tree::NODE_COLS;

/// Decisions compared on some rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeDecisions {
    /// `(row, tree)` walks compared, over every tree ensemble.
    pub walks: usize,
    /// Walks whose leaf differs between the float and the integer model.
    pub differing: usize,
}

/// The integer walk of the tree rooted at row `root` of `nodes` on feature codes `q`.
fn int_walk(nodes: &[i32], root: usize, q: &[i32]) -> Option<usize> {
    let mut i = root;
    loop {
        let r = nodes.get(i * NODE_COLS..(i + 1) * NODE_COLS)?;
        let mode = NodeMode::from_code(r[0])?;
        if mode == NodeMode::Leaf {
            return Some(i);
        }
        let v = *q.get(usize::try_from(r[1]).ok()?)?;
        let next = usize::try_from(if mode.holds(v, r[2], r[3] != 0) {
            r[4]
        } else {
            r[5]
        })
        .ok()?;
        if next <= i {
            return None;
        }
        i = next;
    }
}

/// Compares the leaves of every tree ensemble of `g` (float, on `inputs`) and of `pkg` (its
/// integer lowering, on the encoded inputs). The `k`-th tree node of one is the `k`-th of the
/// other, with the same node rows.
pub fn tree_decisions(g: &FGraph, pkg: &Package, inputs: &[FTensor]) -> Result<TreeDecisions> {
    let codes = crate::quantize_inputs(pkg, inputs);
    let fl = g.nodes.iter().filter_map(|n| match &n.op {
        FOp::TreeEnsemble(t) => Some((n, t)),
        _ => None,
    });
    let int = pkg.nodes.iter().filter_map(|n| match &n.op {
        Op::TreeEnsemble { nodes, roots, .. } => Some((n, *nodes, *roots)),
        _ => None,
    });
    let mut d = TreeDecisions::default();
    for ((fnode, t), (inode, nodes, roots)) in fl.zip(int) {
        let err = |why: &str| crate::Error::Node {
            node: inode.name.clone(),
            reason: why.to_owned(),
        };
        let input_pos = |v: Option<usize>| v.ok_or_else(|| err("trees read no graph input"));
        let fi = input_pos(fnode.inputs.first().and_then(|o| match o {
            vouch_onnx::graph::Operand::Value(v) => g.inputs.iter().position(|i| i == v),
            vouch_onnx::graph::Operand::Const(_) => None,
        }))?;
        let ii = input_pos(inode.inputs.first().and_then(|o| match o {
            vouch_model::Operand::Value(v) => pkg.inputs.iter().position(|i| i.value == *v),
            vouch_model::Operand::Const(_) => None,
        }))?;
        let (x, q) = (
            inputs.get(fi).ok_or_else(|| err("missing input"))?,
            codes.get(ii).ok_or_else(|| err("missing input"))?,
        );
        // the float model sees the input after its imputation, as the codes do
        let mut x = x.clone();
        if let Some(imp) = g
            .inputs
            .get(fi)
            .and_then(|&v| g.values[v].imputation.as_ref())
        {
            imp.apply_all(&mut x.data);
        }
        let konst = |c: u32| pkg.consts.get(c as usize).map(|c| c.data.as_slice());
        let (nodes, roots) = (
            konst(nodes).ok_or_else(|| err("missing constant"))?,
            konst(roots).ok_or_else(|| err("missing constant"))?,
        );
        let f = t.features.max(1);
        for (xr, qr) in x.data.chunks_exact(f).zip(q.data.chunks_exact(f)) {
            for (&fr, &ir) in t.roots.iter().zip(roots) {
                let a = walk(t, fr, xr);
                let b = usize::try_from(ir)
                    .ok()
                    .and_then(|r| int_walk(nodes, r, qr));
                d.walks += 1;
                if a.is_none() || a != b {
                    d.differing += 1;
                }
            }
        }
    }
    Ok(d)
}
