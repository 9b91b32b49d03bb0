//! Lowering a tree ensemble (`docs/semantics.md` sections 3.1 and 5): each feature's distinct
//! thresholds become the input encoding, each branch its threshold code `2j + 1`, and leaf and
//! base values fixed point at one scale `s = B / 2^30` (`B` the largest `|base| + Σ|w|` of a
//! target), so every score fits `i32` and rounds each value by at most `s / 2`.

use super::Builder;
use crate::Result;
use vouch_model::{Kind, Op, Operand};
use vouch_onnx::graph::{FNode, FTrees, NodeMode};
use vouch_semantics::tree::{MAX_THRESHOLDS, threshold_code};

/// `2^30`: the fixed-point range the largest target bound is scaled to.
const LEAF_RANGE: f64 = 1_073_741_824.0;

/// Each feature's sorted distinct thresholds.
pub(crate) fn feature_thresholds(t: &FTrees) -> Vec<Vec<f32>> {
    let mut th: Vec<Vec<f32>> = vec![Vec::new(); t.features];
    for n in t.nodes.iter().filter(|n| n.mode != NodeMode::Leaf) {
        if let Some(v) = th.get_mut(n.feature) {
            v.push(n.threshold);
        }
    }
    for v in &mut th {
        v.sort_by(f32::total_cmp);
        v.dedup();
    }
    th
}

impl Builder<'_> {
    /// `TreeEnsemble` over a graph input encoded as feature codes.
    pub(super) fn tree_ensemble(&mut self, node: &FNode, name: String, t: &FTrees) -> Result<()> {
        let x = self.input(node, 0)?;
        if x.kind != Kind::Act16 {
            return Err(Self::err(
                node,
                "the trees' input is not encoded as feature codes",
            ));
        }
        let th = feature_thresholds(t);
        if th.iter().any(|v| v.len() > MAX_THRESHOLDS) {
            return Err(Self::err(
                node,
                format!("a feature has more than {MAX_THRESHOLDS} distinct thresholds"),
            ));
        }
        #[expect(clippy::cast_precision_loss, reason = "tree counts are small")]
        let div = if t.average {
            t.roots.len().max(1) as f64
        } else {
            1.0
        };
        let value = |w: f32| f64::from(w) / div;
        let mut bound: Vec<f64> = t.base.iter().map(|b| f64::from(*b).abs()).collect();
        for &(k, w) in &t.weights {
            if let Some(b) = bound.get_mut(k) {
                *b += value(w).abs();
            }
        }
        let b = bound.iter().fold(0f64, |m, v| m.max(*v));
        if !b.is_finite() {
            return Err(Self::err(node, "a leaf or base value is not finite"));
        }
        let s = if b > 0.0 { b / LEAF_RANGE } else { 1.0 };
        let q = |v: f64| (v / s).round() as i32;
        let mut rows = Vec::with_capacity(t.nodes.len() * 6);
        for n in &t.nodes {
            let too_big = || Self::err(node, "tree too large");
            let (a, bb) = (
                i32::try_from(n.a).map_err(|_| too_big())?,
                i32::try_from(n.b).map_err(|_| too_big())?,
            );
            if n.mode == NodeMode::Leaf {
                rows.extend([n.mode.code(), 0, 0, 0, a, bb]);
            } else {
                let list = &th[n.feature];
                let j = list.partition_point(|v| *v < n.threshold);
                let c = threshold_code(j).map_err(|e| Self::err(node, e.to_string()))?;
                let f = i32::try_from(n.feature).map_err(|_| too_big())?;
                rows.extend([n.mode.code(), f, c, i32::from(n.missing), a, bb]);
            }
        }
        let weights: Vec<i32> = t
            .weights
            .iter()
            .flat_map(|&(k, w)| [k as i32, q(value(w))])
            .collect();
        let base: Vec<i32> = t.base.iter().map(|&v| q(f64::from(v))).collect();
        let roots: Vec<i32> = t.roots.iter().map(|&r| r as i32).collect();
        let mut bounds = vec![0i32];
        let mut thresholds = Vec::new();
        for v in &th {
            thresholds.extend(v.iter().map(|x| x.to_bits() as i32));
            bounds.push(thresholds.len() as i32);
        }
        let (nn, nw, nt, nf, nth) = (
            t.nodes.len(),
            t.weights.len(),
            roots.len(),
            bounds.len(),
            thresholds.len(),
        );
        let nodes = self.add_const(format!("{name}.nodes"), 1.0, vec![nn, 6], rows);
        let weights = self.add_const(format!("{name}.weights"), s, vec![nw, 2], weights);
        let roots = self.add_const(format!("{name}.roots"), 1.0, vec![nt], roots);
        let nb = base.len();
        let base = self.add_const(format!("{name}.base"), s, vec![nb], base);
        let bounds = self.add_const(format!("{name}.bounds"), 1.0, vec![nf], bounds);
        let thresholds = self.add_const(format!("{name}.thresholds"), 1.0, vec![nth], thresholds);
        let out = self.bind(node, node.output, Kind::Wide, s)?;
        let op = Op::TreeEnsemble {
            nodes,
            weights,
            roots,
            base,
            bounds,
            thresholds,
            aggregate: t.aggregate,
        };
        self.push(node, name, op, vec![Operand::Value(x.id)], out.id);
        Ok(())
    }
}
