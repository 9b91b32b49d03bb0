//! `vouch deploy`: deploys the whole system (EAS + schema registry, token, timelock, governor,
//! model registry, staking, randomness, task manager, dispute game, receipt attester) from the bytecode built
//! into the binary, and records the addresses in `<data-dir>/deployments/<chainid>.json`.
//! Committee draws use the future-block randomness source unless `--vrf-coordinator` (with
//! `--vrf-subscription` and `--vrf-key-hash`) selects the Chainlink VRF v2.5 adapter.
//! `--eas ADDRESS` uses an existing EAS (and the schema registry it names) instead of deploying
//! a private one, so receipts and provenance are attestations the EAS tools already index; the
//! schemas are registered there only when their UIDs are not there yet.

use crate::chain_args::{ChainArgs, parse_tokens, runtime};
use crate::out;
use clap::Args;
use eyre::{Result, bail};
use serde_json::json;
use vouch_chain::alloy::primitives::{Address, B256, U256};
use vouch_chain::{DeployConfig, Deployment, RandomnessConfig, VrfConfig};

/// `vouch deploy`
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Challenge window of optimistic results, in seconds (default 3600).
    #[arg(long)]
    pub challenge_window: Option<u32>,
    /// Seconds each dispute step may take (default 3600).
    #[arg(long)]
    pub step_timeout: Option<u64>,
    /// Minimum stake to opt in to a model, in tokens (default 1000).
    #[arg(long)]
    pub min_stake: Option<String>,
    /// Bond locked per optimistic task, in tokens (default 100).
    #[arg(long)]
    pub provider_bond: Option<String>,
    /// Bond a challenger posts, in tokens (default 100).
    #[arg(long)]
    pub challenger_bond: Option<String>,
    /// Keep governance with the deployer instead of handing it to the timelock (devnets).
    #[arg(long)]
    pub keep_governance: bool,
    /// Slashes after which a provider is ejected; 0 never ejects (default 3).
    #[arg(long)]
    pub max_faults: Option<u8>,
    /// An address that may unfreeze a frozen model version at once (and do nothing else).
    #[arg(long)]
    pub guardian: Option<Address>,
    /// Draw committees with Chainlink VRF v2.5 through this coordinator instead of the hash of
    /// a future block (which the block's builder can bias).
    #[arg(long, requires_all = ["vrf_subscription", "vrf_key_hash"])]
    pub vrf_coordinator: Option<Address>,
    /// The VRF subscription that pays for the requests (the adapter is added as a consumer
    /// when the deploying key owns it).
    #[arg(long, requires = "vrf_coordinator")]
    pub vrf_subscription: Option<U256>,
    /// The VRF key hash (gas lane).
    #[arg(long, requires = "vrf_coordinator")]
    pub vrf_key_hash: Option<B256>,
    /// Blocks the coordinator waits before fulfilling (default 3).
    #[arg(long, requires = "vrf_coordinator")]
    pub vrf_confirmations: Option<u16>,
    /// Gas limit of the VRF fulfilment callback (default 100000).
    #[arg(long, requires = "vrf_coordinator")]
    pub vrf_callback_gas: Option<u32>,
    /// Pay VRF requests in the native token instead of LINK.
    #[arg(long, requires = "vrf_coordinator")]
    pub vrf_native: bool,
    /// Attest on this existing EAS contract (its schema registry is read from it) instead of
    /// deploying a new EAS and schema registry.
    #[arg(long, value_name = "ADDRESS")]
    pub eas: Option<Address>,
    /// Replace an existing deployment record for this chain.
    #[arg(long)]
    pub force: bool,
}

/// Runs `vouch deploy`.
pub fn run(a: &DeployArgs) -> Result<()> {
    runtime()?.block_on(async {
        let client = a.chain.client().await?;
        if client.from().is_none() {
            bail!("vouch deploy needs a funded key: pass --key NAME (see `vouch key list`)");
        }
        let path = Deployment::path(&a.chain.dirs.data_dir, client.chain_id());
        if path.exists() && !a.force {
            bail!(
                "{} exists already: pass --force to deploy again",
                path.display()
            );
        }
        let d = DeployConfig::default();
        let tokens = |v: &Option<String>, default: u128| -> Result<u128> {
            v.as_deref().map_or(Ok(default), parse_tokens)
        };
        let randomness = match (a.vrf_coordinator, a.vrf_subscription, a.vrf_key_hash) {
            (Some(coordinator), Some(sub), Some(key_hash)) => {
                let mut v = VrfConfig::new(coordinator, sub, key_hash);
                v.confirmations = a.vrf_confirmations.unwrap_or(v.confirmations);
                v.callback_gas = a.vrf_callback_gas.unwrap_or(v.callback_gas);
                v.native_payment = a.vrf_native;
                RandomnessConfig::ChainlinkVrf(v)
            }
            _ => RandomnessConfig::FutureBlock,
        };
        let cfg = DeployConfig {
            challenge_window: a.challenge_window.unwrap_or(d.challenge_window),
            step_timeout: a.step_timeout.unwrap_or(d.step_timeout),
            min_stake: tokens(&a.min_stake, d.min_stake)?,
            provider_bond: tokens(&a.provider_bond, d.provider_bond)?,
            challenger_bond: tokens(&a.challenger_bond, d.challenger_bond)?,
            max_faults: a.max_faults.unwrap_or(d.max_faults),
            guardian: a.guardian,
            randomness,
            hand_over_governance: !a.keep_governance,
            eas: a.eas,
            ..d.clone()
        };
        let pb = out::spinner("deploying");
        let dep = vouch_chain::deploy(&client, &cfg).await;
        pb.finish_and_clear();
        let dep = dep?;
        let path = dep.save(&a.chain.dirs.data_dir)?;
        let c = &dep.contracts;
        let rows: Vec<Vec<String>> = [
            ("SchemaRegistry", c.schema_registry),
            ("EAS", c.eas),
            ("VouchToken", c.token),
            ("TimelockController", c.timelock),
            ("VouchGovernor", c.governor),
            ("ModelRegistry", c.registry),
            ("ProviderStaking", c.staking),
            (
                match cfg.randomness {
                    RandomnessConfig::FutureBlock => "FutureBlockRandomness",
                    RandomnessConfig::ChainlinkVrf(_) => "ChainlinkVrfRandomness",
                },
                c.randomness,
            ),
            ("TaskManager", c.task_manager),
            ("DisputeGame", c.dispute_game),
            ("ReceiptAttester", c.receipts),
        ]
        .iter()
        .map(|(n, a)| vec![(*n).to_owned(), a.to_string()])
        .collect();
        let contracts: serde_json::Map<String, serde_json::Value> =
            rows.iter().map(|r| (r[0].clone(), json!(r[1]))).collect();
        let v = json!({
            "chain_id": dep.chain_id,
            "eas": if a.eas.is_some() { "existing" } else { "deployed" },
            "governance": dep.governance.to_string(),
            "contracts": contracts,
            "deployment": path.display().to_string(),
        });
        out::result(v, || {
            out::line(out::table(&["contract", "address"], &rows));
            out::line(format!(
                "chain {}; governance: {}; recorded in {}",
                dep.chain_id,
                dep.governance,
                path.display()
            ));
        });
        if let RandomnessConfig::ChainlinkVrf(v) = &cfg.randomness
            && !vouch_chain::deploy::vrf_consumer_added(&client, v, c.randomness).await?
        {
            out::line(format!(
                "the deploying key does not own VRF subscription {}: its owner must add {} as a \
                 consumer (addConsumer) before committee tasks can be requested",
                v.subscription_id, c.randomness
            ));
        }
        Ok(())
    })
}
