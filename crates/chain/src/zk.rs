//! zk-mode settlement: deploying an exported verifier, registering a version with it, and
//! `TaskManager.submitZk`.
//!
//! The verifier of a model version is the contract `vouch zk export-verifier` writes
//! (`vouch_zk::solidity`). It exposes `VK_HASH` (hash of its verifying key) and `WEIGHTS_ROOT`
//! as constants in its immutable code; the ModelRegistry records its address for the version
//! (and the provenance attestation includes that address), so the version's verifying key hash
//! is `IVouchZkVerifier(registry.commitments(model, version).zkVerifier).VK_HASH()`.
//! [`System::publish_with_verifier`] refuses a verifier made for other weights, or (when given)
//! for another verifying key.
//!
//! Solidity is compiled with solcjs through the repository's wrapper
//! (`scripts/solc/solc-0.8.29`, node_modules from `scripts/bootstrap-node.sh`) by
//! [`compile_solidity`].

use crate::system::{ModelCommitments, Published, event};
use crate::{Error, Result, System};
use alloy::contract::RawCallBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use std::path::{Path, PathBuf};
use vouch_bindings::model_registry::ModelRegistry;

alloy::sol! {
    /// The exported verifier (`vouch zk export-verifier`), as far as the client reads it.
    #[sol(rpc)]
    #[allow(missing_docs)]
    interface IVouchZkVerifier {
        /// A precompile call failed (out of gas; for ecPairing also a proof point outside the
        /// G2 subgroup). A proof that does not verify returns false instead.
        error PrecompileFailed(address precompile);
        function VK_HASH() external view returns (bytes32);
        function WEIGHTS_ROOT() external view returns (bytes32);
        function NUM_OUTPUTS() external view returns (uint256);
        function verifyProof(
            bytes32 weightsRoot,
            bytes32 graphRoot,
            bytes32 inputCommitment,
            bytes32 outputCommitment,
            bytes calldata proof
        ) external view returns (bool);
    }
}

/// What a deployed verifier says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifierInfo {
    /// Its address.
    pub address: Address,
    /// Hash of its verifying key (`VK_HASH`).
    pub vk_hash: B256,
    /// The weights root it was generated for (`WEIGHTS_ROOT`).
    pub weights_root: B256,
}

impl System {
    /// Posts a zk-mode result: `output` is the keccak output commitment and `proof` the
    /// `abi.encode(uint256[8], int32[])` blob the verifier takes. A rejected proof comes back
    /// as [`Error::Reverted`] with reason `ProofRejected()` (a verifier that ran out of gas:
    /// `PrecompileFailed(..)`). Returns the receipt (status 1: the verifier returned true).
    pub async fn submit_zk(
        &self,
        task: U256,
        output: B256,
        proof: Bytes,
    ) -> Result<TransactionReceipt> {
        let t = self.task(task).await?;
        self.client()
            .send(
                "TaskManager.submitZk",
                self.task_manager().submitZk(task, t.record, output, proof),
            )
            .await
    }

    /// Deploys creation bytecode (e.g. a compiled verifier, [`compile_solidity`]); returns the
    /// contract address.
    pub async fn deploy_verifier(&self, bytecode: Bytes) -> Result<Address> {
        self.client().sender("deploy a verifier")?;
        let call =
            RawCallBuilder::<&DynProvider>::new_raw_deploy(self.client().provider(), bytecode);
        let r = self.client().send("deploy verifier", call).await?;
        r.contract_address.ok_or_else(|| Error::MissingEvent {
            call: "deploy verifier".to_owned(),
            event: "contractAddress",
        })
    }

    /// Reads `VK_HASH` and `WEIGHTS_ROOT` of a deployed verifier.
    pub async fn verifier_info(&self, verifier: Address) -> Result<VerifierInfo> {
        let code = self
            .client()
            .provider()
            .get_code_at(verifier)
            .await
            .map_err(|e| Error::Rpc {
                call: "eth_getCode".to_owned(),
                message: e.to_string(),
            })?;
        if code.is_empty() {
            return Err(Error::NoCode {
                address: verifier.to_string(),
            });
        }
        let v = IVouchZkVerifier::new(verifier, self.client().provider());
        let vk_hash = self.client().call("verifier.VK_HASH", v.VK_HASH()).await?;
        let weights_root = self
            .client()
            .call("verifier.WEIGHTS_ROOT", v.WEIGHTS_ROOT())
            .await?;
        Ok(VerifierInfo {
            address: verifier,
            vk_hash,
            weights_root,
        })
    }

    /// The zk verifier a model version registered (zero when none).
    pub async fn zk_verifier_of(&self, model_id: u32, version: u32) -> Result<Address> {
        let c = self
            .client()
            .call(
                "ModelRegistry.commitments",
                self.registry().commitments(model_id, version),
            )
            .await?;
        Ok(c.zkVerifier)
    }

    /// Registers a new model with its first version and a zk verifier. Checks first that the
    /// verifier was generated for `m.weights_root` and, when `vk_hash` is given, for that
    /// verifying key; returns the registration and the verifier's [`VerifierInfo`].
    pub async fn publish_with_verifier(
        &self,
        m: &ModelCommitments,
        verifier: Address,
        vk_hash: Option<B256>,
    ) -> Result<(Published, VerifierInfo)> {
        let info = self.verifier_info(verifier).await?;
        if info.weights_root != m.weights_root {
            return Err(Error::VerifierMismatch {
                verifier: verifier.to_string(),
                what: "is for weights root",
                on_chain: info.weights_root.to_string(),
                ours_from: "package has",
                ours: m.weights_root.to_string(),
            });
        }
        if let Some(h) = vk_hash
            && h != info.vk_hash
        {
            return Err(Error::VerifierMismatch {
                verifier: verifier.to_string(),
                what: "has verifying key hash",
                on_chain: info.vk_hash.to_string(),
                ours_from: "keys have",
                ours: h.to_string(),
            });
        }
        let input = ModelRegistry::VersionInput {
            packageCid: m.package_cid.clone(),
            packageHash: m.package_hash,
            weightsRoot: m.weights_root,
            graphRoot: m.graph_root,
            semanticsVersion: m.semantics_version,
            metadataUri: m.metadata_uri.clone(),
            zkVerifier: verifier,
            outputs: m.outputs.iter().map(|o| o.to_sol()).collect(),
            customFee: false,
            feeToken: Address::ZERO,
        };
        let r = self
            .client()
            .send("ModelRegistry.register", self.registry().register(input))
            .await?;
        let ev: ModelRegistry::VersionRegistered =
            event(&r, "ModelRegistry.register", "VersionRegistered")?;
        Ok((
            Published {
                model_id: ev.modelId,
                version: ev.version,
                provenance_uid: ev.provenanceUid,
            },
            info,
        ))
    }
}

/// The solcjs wrapper `scripts/solc/solc-0.8.29`: `VOUCH_SOLC`, else the first folder up from
/// the current directory (or this crate's source) holding the wrapper and `node_modules/solc`.
pub fn find_solc() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("VOUCH_SOLC") {
        return Ok(PathBuf::from(p));
    }
    for dir in crate::devnet::search_dirs() {
        let w = dir.join("scripts/solc/solc-0.8.29");
        if w.is_file() && dir.join("node_modules/solc/package.json").is_file() {
            return Ok(w);
        }
    }
    Err(Error::Solc {
        message: "the Solidity compiler (solcjs) was not found: run scripts/bootstrap-node.sh in the vouch repository (needs Node.js 18+), or set VOUCH_SOLC to a `solc` that takes --standard-json".to_owned(),
    })
}

/// Compiles one self-contained Solidity source with the repository's settings (optimizer 200
/// runs, cancun, no metadata hash) and returns the creation bytecode of `contract`.
pub fn compile_solidity(source: &str, contract: &str) -> Result<Bytes> {
    let solc = find_solc()?;
    compile_with(&solc, source, contract)
}

/// [`compile_solidity`] with an explicit compiler (a `solc` binary or a node script taking
/// `--standard-json`).
pub fn compile_with(solc: &Path, source: &str, contract: &str) -> Result<Bytes> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let input = serde_json::json!({
        "language": "Solidity",
        "sources": {"Verifier.sol": {"content": source}},
        "settings": {
            "optimizer": {"enabled": true, "runs": 200},
            "evmVersion": "cancun",
            "metadata": {"bytecodeHash": "none"},
            "outputSelection": {"Verifier.sol": {(contract): ["evm.bytecode.object"]}},
        },
    });
    let is_script = std::fs::read(solc).is_ok_and(|b| b.starts_with(b"#!/usr/bin/env node"));
    let mut cmd = if is_script {
        let mut c = Command::new("node");
        c.arg(solc);
        c
    } else {
        Command::new(solc)
    };
    let io_err = |source| Error::Io {
        path: solc.to_path_buf(),
        source,
    };
    let mut child = cmd
        .arg("--standard-json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::Solc {
                    message: format!(
                        "cannot run {} ({e}): install Node.js 18+ and run scripts/bootstrap-node.sh",
                        if is_script { "node" } else { "solc" }
                    ),
                }
            } else {
                io_err(e)
            }
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.to_string().as_bytes())
            .map_err(io_err)?;
    }
    let out = child.wait_with_output().map_err(io_err)?;
    if !out.status.success() {
        return Err(Error::Solc {
            message: format!(
                "solc failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|source| Error::Json {
            path: solc.to_path_buf(),
            source,
        })?;
    let errors: Vec<String> = v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["severity"] == "error")
                .map(|e| {
                    e["formattedMessage"]
                        .as_str()
                        .or_else(|| e["message"].as_str())
                        .unwrap_or("?")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(Error::Solc {
            message: format!("solc rejected the source: {}", errors.join("\n")),
        });
    }
    let hex = v["contracts"]["Verifier.sol"][contract]["evm"]["bytecode"]["object"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::Solc {
            message: format!("solc output has no bytecode for `{contract}`"),
        })?;
    let bytes = alloy::primitives::hex::decode(hex).map_err(|e| Error::Solc {
        message: format!("solc bytecode is not hex: {e}"),
    })?;
    Ok(Bytes::from(bytes))
}
