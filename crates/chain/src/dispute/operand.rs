//! What a one-step check proves about the node and its dynamic inputs: the descriptor's
//! membership under the graph root, and each input's elements with their leaf proof (a graph
//! input under the input commitment, a node output under the trace root).

use super::{Evidence, HonestTrace, defender_leaf_proof};
use alloy::primitives::{B256, U256};
use vouch_primitives::commit::merkle_proof;
use vouch_primitives::tensor_commitment;

/// The membership proof of node `j`'s descriptor under the graph root.
pub(super) fn node_proof(ev: &Evidence, j: usize) -> Option<Vec<[u8; 32]>> {
    let leaves: Vec<[u8; 32]> = ev
        .nodes
        .iter()
        .map(|n| crate::graph::node_leaf(n).0)
        .collect();
    merkle_proof(&leaves, j)
}

/// The elements of dynamic input `r` of node `j` and their leaf proof: a graph input under the
/// input commitment, or a node output under the trace root (through the defender's revealed
/// `descent` when we are the challenger). `None` when `r` names nothing we hold.
pub(super) fn operand<'a>(
    me: &'a HonestTrace,
    ev: &'a Evidence,
    descent: &[(B256, B256)],
    r: U256,
    j: usize,
) -> Option<(&'a [i32], Vec<[u8; 32]>)> {
    if r & crate::graph::graph_input(0) != U256::ZERO {
        let k = crate::graph::input_index(r)?;
        let leaves: Vec<[u8; 32]> = ev.inputs.iter().map(|t| tensor_commitment(t)).collect();
        return Some((ev.inputs.get(k)?, merkle_proof(&leaves, k)?));
    }
    let k = usize::try_from(r).ok()?;
    let trace = me.leaves();
    let proof = if descent.is_empty() {
        merkle_proof(trace, k)
    } else {
        defender_leaf_proof(trace, descent, k, j)
    };
    Some((me.tensors().get(k)?, proof?))
}
