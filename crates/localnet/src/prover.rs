//! The node's zk prover: [`vouch_node::ZkProver`] backed by `vouch-zk-prover`, reading the keys
//! file of the task's model version for every task. The node reaches the prover only through
//! that trait, so `vouch-node` does not link the prover.

use std::path::Path;
use std::sync::Arc;
use vouch_chain::alloy::primitives::{B256, Bytes};

/// Proves zk tasks with `vouch-zk-prover` (keys read from their file per task).
#[derive(Debug, Clone, Copy, Default)]
pub struct TaskProver;

impl vouch_node::ZkProver for TaskProver {
    fn prove(
        &self,
        pkg: &vouch_model::Package,
        keys: &Path,
        inputs: Vec<vouch_engine::Tensor>,
    ) -> Result<(B256, Bytes), String> {
        let b = std::fs::read(keys).map_err(|e| format!("{}: {e}", keys.display()))?;
        let s = vouch_zk_prover::task::prove(pkg, &b, inputs).map_err(|e| e.to_string())?;
        Ok((B256::from(s.output_commitment), Bytes::from(s.calldata)))
    }
}

/// The prover a node starts with.
pub fn prover() -> Arc<dyn vouch_node::ZkProver> {
    Arc::new(TaskProver)
}
