//! The directory a [`super::ChainSink`] keeps from its polls: the registered model versions (by
//! package CID) and the providers with their stakes and models.

use super::read;
use crate::directory::{Directory, ModelInfo, ProviderInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use vouch_chain::alloy::primitives::Address;

/// A registered model version as the directory keeps it.
#[derive(Debug, Clone)]
pub(super) struct ModelEntry {
    pub(super) cid: String,
    /// `ModelRegistry.Status` (1 = active).
    pub(super) status: u8,
    pub(super) zk: bool,
    /// What the directory reads from the package, once it is in the store.
    pub(super) pkg: Option<PackageFacts>,
}

/// What the directory reads from a registered package.
#[derive(Debug, Clone)]
pub(super) struct PackageFacts {
    pub(super) name: String,
    pub(super) inputs: Vec<String>,
    /// Its exact integer inputs and their ranges.
    pub(super) integer_inputs: Vec<crate::directory::IntegerInput>,
    /// The modes its ops can be checked in (`vouch_task::modes::supported_modes`): a tree
    /// ensemble the dispute game cannot judge takes no optimistic or committee task.
    pub(super) modes: Vec<vouch_task::Mode>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct ProviderEntry {
    pub(super) stake: u128,
    pub(super) models: BTreeSet<u32>,
}

#[derive(Debug, Default)]
pub(super) struct DirState {
    pub(super) models: RwLock<BTreeMap<(u32, u32), ModelEntry>>,
    pub(super) providers: RwLock<BTreeMap<Address, ProviderEntry>>,
}

impl DirState {
    /// The newest version registered with package `cid`.
    pub(super) fn by_cid(&self, cid: &str) -> Option<((u32, u32), ModelEntry)> {
        read(&self.models)
            .iter()
            .rev()
            .find(|(_, e)| e.cid == cid)
            .map(|(k, e)| (*k, e.clone()))
    }

    pub(super) fn info(key: (u32, u32), e: &ModelEntry) -> ModelInfo {
        let (name, inputs, modes, integer_inputs) = match &e.pkg {
            Some(p) => {
                // a frozen version (status 2) still serves zk requests: a proof cannot lie;
                // a deprecated one (3) serves nobody
                let open = |m: vouch_task::Mode| match m {
                    vouch_task::Mode::Zk => e.zk && e.status <= 2,
                    _ => e.status == 1,
                };
                use vouch_task::Mode;
                let modes = [Mode::Zk, Mode::Optimistic, Mode::Committee]
                    .iter()
                    .filter(|&&m| p.modes.contains(&m) && open(m))
                    .map(|m| m.as_str().to_owned())
                    .collect();
                (
                    p.name.clone(),
                    p.inputs.clone(),
                    modes,
                    p.integer_inputs.clone(),
                )
            }
            // Without the package the gateway can neither quantize nor check an input.
            None => (
                format!(
                    "model {} v{} (package not in this gateway's store)",
                    key.0, key.1
                ),
                Vec::new(),
                Vec::new(),
                Vec::new(),
            ),
        };
        ModelInfo {
            cid: e.cid.clone(),
            name,
            inputs,
            modes,
            frozen: e.status != 1,
            integer_inputs,
        }
    }
}

/// The models of the `ModelRegistry` (by package CID; the newest version of a CID wins) and
/// the providers of `ProviderStaking`, as of the [`ChainSink`]'s last poll.
#[derive(Debug, Clone)]
pub struct ChainDirectory {
    pub(super) state: Arc<DirState>,
}

impl Directory for ChainDirectory {
    fn models(&self) -> Vec<ModelInfo> {
        let models = read(&self.state.models);
        // one entry per CID: the newest version
        let mut seen = BTreeSet::new();
        let mut out: Vec<ModelInfo> = models
            .iter()
            .rev()
            .filter(|(_, e)| seen.insert(e.cid.clone()))
            .map(|(k, e)| DirState::info(*k, e))
            .collect();
        out.reverse();
        out
    }

    fn providers(&self) -> Vec<ProviderInfo> {
        let models = read(&self.state.models);
        read(&self.state.providers)
            .iter()
            .filter(|(_, p)| p.stake > 0 || !p.models.is_empty())
            .map(|(a, p)| ProviderInfo {
                address: a.to_checksum(None),
                stake: p.stake.to_string(),
                models: models
                    .iter()
                    .filter(|((id, _), _)| p.models.contains(id))
                    .map(|(_, e)| e.cid.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                store_url: None,
            })
            .collect()
    }

    fn model(&self, cid: &str) -> Option<ModelInfo> {
        self.state.by_cid(cid).map(|(k, e)| DirState::info(k, &e))
    }
}
