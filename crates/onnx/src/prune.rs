//! Dead nodes: a lowering that reads past a pattern (the magnitude of a pair reads the
//! operands of the squares) leaves the pattern's nodes behind; the finished graph keeps only
//! the nodes some graph output depends on.

use crate::graph::{FGraph, Operand};

/// Drops the nodes of `g` no graph output depends on (nodes are in topological order).
pub(crate) fn drop_dead_nodes(g: &mut FGraph) {
    let mut live = vec![false; g.values.len()];
    for &o in &g.outputs {
        if let Some(l) = live.get_mut(o) {
            *l = true;
        }
    }
    let mut keep = vec![false; g.nodes.len()];
    for (k, n) in g.nodes.iter().enumerate().rev() {
        if live.get(n.output).copied().unwrap_or(true) {
            keep[k] = true;
            for i in &n.inputs {
                if let Operand::Value(v) = *i
                    && let Some(l) = live.get_mut(v)
                {
                    *l = true;
                }
            }
        }
    }
    let mut keep = keep.into_iter();
    g.nodes.retain(|_| keep.next().unwrap_or(true));
}
