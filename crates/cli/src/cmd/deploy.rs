//! `vouch deploy`: deploys the whole system (EAS + schema registry, token, timelock, governor,
//! model registry, staking, randomness, task manager, dispute game, receipt attester) from the bytecode built
//! into the binary, and records the addresses in `<data-dir>/deployments/<chainid>.json`.

use crate::cmd::key::{ChainArgs, parse_tokens, runtime};
use crate::out;
use clap::Args;
use eyre::{Result, bail};
use vouch_chain::{DeployConfig, Deployment};

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
        let cfg = DeployConfig {
            challenge_window: a.challenge_window.unwrap_or(d.challenge_window),
            step_timeout: a.step_timeout.unwrap_or(d.step_timeout),
            min_stake: tokens(&a.min_stake, d.min_stake)?,
            provider_bond: tokens(&a.provider_bond, d.provider_bond)?,
            challenger_bond: tokens(&a.challenger_bond, d.challenger_bond)?,
            hand_over_governance: !a.keep_governance,
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
            ("FutureBlockRandomness", c.randomness),
            ("TaskManager", c.task_manager),
            ("DisputeGame", c.dispute_game),
            ("ReceiptAttester", c.receipts),
        ]
        .iter()
        .map(|(n, a)| vec![(*n).to_owned(), a.to_string()])
        .collect();
        out::line(out::table(&["contract", "address"], &rows));
        out::line(format!(
            "chain {}; governance: {}; recorded in {}",
            dep.chain_id,
            dep.governance,
            path.display()
        ));
        Ok(())
    })
}
