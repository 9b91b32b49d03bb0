//! What `GET /models` and `GET /providers` list. [`Directory`] is the seam to the chain's
//! `ModelRegistry` and `ProviderStaking`; [`StaticDirectory`] is a fixed list for tests and
//! the local network.

use serde::{Deserialize, Serialize};
use std::sync::RwLock;

/// A registered model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Package CID.
    pub cid: String,
    /// Human name.
    pub name: String,
    /// Input tensor names, in order (requests must supply exactly these).
    pub inputs: Vec<String>,
    /// Modes offered (`zk`, `optimistic`, `committee`); a frozen model offers zk only.
    pub modes: Vec<String>,
    /// Whether it is frozen (by strikes from distinct providers, or governance) or deprecated:
    /// it takes no new task except in the modes still listed (zk on a frozen model).
    pub frozen: bool,
}

/// A staked provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// Address (EIP-55).
    pub address: String,
    /// Stake in base units (decimal string).
    pub stake: String,
    /// Model CIDs served.
    pub models: Vec<String>,
    /// Blob store URL, if it serves one.
    pub store_url: Option<String>,
}

/// Lists models and providers.
pub trait Directory: Send + Sync + 'static {
    /// Every model.
    fn models(&self) -> Vec<ModelInfo>;
    /// Every provider.
    fn providers(&self) -> Vec<ProviderInfo>;
    /// The model with package CID `cid`.
    fn model(&self, cid: &str) -> Option<ModelInfo> {
        self.models().into_iter().find(|m| m.cid == cid)
    }
}

/// A fixed, editable directory.
#[derive(Debug, Default)]
pub struct StaticDirectory {
    models: RwLock<Vec<ModelInfo>>,
    providers: RwLock<Vec<ProviderInfo>>,
}

impl StaticDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a model.
    pub fn add_model(&self, m: ModelInfo) {
        let mut g = self.models.write().unwrap_or_else(|p| p.into_inner());
        g.retain(|x| x.cid != m.cid);
        g.push(m);
    }

    /// Adds or replaces a provider.
    pub fn add_provider(&self, p: ProviderInfo) {
        let mut g = self.providers.write().unwrap_or_else(|p| p.into_inner());
        g.retain(|x| x.address != p.address);
        g.push(p);
    }
}

impl Directory for StaticDirectory {
    fn models(&self) -> Vec<ModelInfo> {
        self.models
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn providers(&self) -> Vec<ProviderInfo> {
        self.providers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
