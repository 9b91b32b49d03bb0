//! The graph header committed in the registry as `graphRoot`:
//! `keccak256(abi.encode(uint256 numNodes, bytes32 nodesRoot, uint256[] outputNodes))`, where
//! `nodesRoot` is the Merkle root of `keccak256(abi.encode(node descriptor))` per node
//! (contracts/src/DisputeGame.sol, `postGraph`).

use alloy::primitives::{B256, U256, keccak256};
use alloy::sol_types::SolValue;

/// The preimage of a model version's `graphRoot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphHeader {
    /// Number of nodes (trace leaves).
    pub num_nodes: u64,
    /// Merkle root of the node descriptor hashes.
    pub nodes_root: B256,
    /// Trace indices of the graph outputs, in output order.
    pub output_nodes: Vec<u64>,
}

impl GraphHeader {
    /// `keccak256(abi.encode(numNodes, nodesRoot, outputNodes))`.
    pub fn root(&self) -> B256 {
        let outs: Vec<U256> = self.output_nodes.iter().map(|&n| U256::from(n)).collect();
        keccak256((U256::from(self.num_nodes), self.nodes_root, outs).abi_encode_params())
    }

    /// `outputNodes` as the contract takes them.
    pub fn output_nodes_u256(&self) -> Vec<U256> {
        self.output_nodes.iter().map(|&n| U256::from(n)).collect()
    }
}

/// Placeholder leaf of one node until the descriptor encoding of `OneStepVerifier.Node`
/// lands on the Rust side: `keccak256` of the node's JSON form. It binds the graph (so
/// `postGraph` and the trace descent work) but `oneStep` cannot open it yet.
fn node_leaf(node: &vouch_model::Node) -> B256 {
    keccak256(serde_json::to_vec(node).unwrap_or_default())
}

/// The graph header of a package: one leaf per node, outputs by producing node.
pub fn header_of(pkg: &vouch_model::Package) -> GraphHeader {
    let leaves: Vec<[u8; 32]> = pkg.nodes.iter().map(|n| node_leaf(n).0).collect();
    let output_nodes = pkg
        .outputs
        .iter()
        .filter_map(|o| pkg.nodes.iter().position(|n| n.output == o.value))
        .map(|i| i as u64)
        .collect();
    GraphHeader {
        num_nodes: pkg.nodes.len() as u64,
        nodes_root: B256::from(vouch_primitives::merkle_root(&leaves)),
        output_nodes,
    }
}

/// What the registry stores for a package file's bytes.
pub fn commitments_of(bytes: &[u8], pkg: &vouch_model::Package) -> crate::system::ModelCommitments {
    let cid = vouch_primitives::Cid::of(bytes);
    let raw = cid.to_bytes();
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&raw[4..]);
    crate::system::ModelCommitments {
        package_cid: cid.to_string(),
        package_hash: B256::from(digest),
        weights_root: B256::from(pkg.weights_root()),
        graph_root: header_of(pkg).root(),
        semantics_version: pkg.semantics_version,
        metadata_uri: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_abi_encode_of_the_three_fields() {
        let h = GraphHeader {
            num_nodes: 2,
            nodes_root: B256::repeat_byte(7),
            output_nodes: vec![1],
        };
        // abi.encode(2, 0x07.., [1]): head (3 words) + length + element
        let mut enc = Vec::new();
        enc.extend(U256::from(2).to_be_bytes::<32>());
        enc.extend([7u8; 32]);
        enc.extend(U256::from(96).to_be_bytes::<32>());
        enc.extend(U256::from(1).to_be_bytes::<32>());
        enc.extend(U256::from(1).to_be_bytes::<32>());
        assert_eq!(h.root(), keccak256(&enc));
    }
}
