//! The deployments file: `<datadir>/deployments/<chainid>.json`, the addresses of one
//! deployment of the whole system on one chain.

use crate::{Error, Result};
use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Addresses of every contract of one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Addresses {
    /// EAS schema registry.
    pub schema_registry: Address,
    /// EAS.
    pub eas: Address,
    /// VouchToken.
    pub token: Address,
    /// TimelockController (executes governance).
    pub timelock: Address,
    /// VouchGovernor.
    pub governor: Address,
    /// ModelRegistry.
    pub registry: Address,
    /// ProviderStaking.
    pub staking: Address,
    /// The randomness source (`FutureBlockRandomness` or `ChainlinkVrfRandomness`).
    pub randomness: Address,
    /// TaskManager.
    pub task_manager: Address,
    /// DisputeGame.
    pub dispute_game: Address,
    /// ReceiptAttester.
    pub receipts: Address,
    /// FeeVault: fees in a version's own token (or ETH) and client-signed requests. Zero in a
    /// deployments file written before the vault existed.
    #[serde(default)]
    pub fee_vault: Address,
}

/// One deployment on one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// The chain id.
    pub chain_id: u64,
    /// The account that deployed (holds the initial token supply).
    pub deployer: Address,
    /// The block of the last deployment transaction.
    pub block: u64,
    /// Who governs the registry, staking and task manager (the timelock, or the deployer
    /// when governance was not handed over).
    pub governance: Address,
    /// The contracts.
    pub contracts: Addresses,
}

impl Deployment {
    /// `<datadir>/deployments/<chain_id>.json`.
    pub fn path(data_dir: &Path, chain_id: u64) -> PathBuf {
        data_dir
            .join("deployments")
            .join(format!("{chain_id}.json"))
    }

    /// Loads the deployment for `chain_id`.
    pub fn load(data_dir: &Path, chain_id: u64) -> Result<Self> {
        let path = Self::path(data_dir, chain_id);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotDeployed { chain_id, path });
            }
            Err(source) => return Err(Error::Io { path, source }),
        };
        serde_json::from_str(&text).map_err(|source| Error::Json { path, source })
    }

    /// Writes this deployment to its file (replacing an earlier one).
    pub fn save(&self, data_dir: &Path) -> Result<PathBuf> {
        let path = Self::path(data_dir, self.chain_id);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|source| Error::Json {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, text + "\n").map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}
