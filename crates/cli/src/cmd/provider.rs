//! `vouch provider join|leave|status`: stake tokens in ProviderStaking and opt in to a model;
//! opt out and start unbonding.

use crate::chain_args::{ChainArgs, fmt_tokens, parse_tokens, runtime};
use crate::out;
use clap::{Args, Subcommand};
use eyre::Result;
use serde_json::json;
use vouch_chain::alloy::primitives::U256;

/// `vouch provider ...`
#[derive(Debug, Subcommand)]
pub enum ProviderCmd {
    /// Stake tokens and opt in to serve a model.
    Join(JoinArgs),
    /// Opt out of a model and (with --unbond) start unbonding the free stake.
    Leave(LeaveArgs),
    /// Stake, locked bonds, unbonding and credited balance of an address.
    Status(StatusArgs),
}

/// `vouch provider join`
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The model id.
    #[arg(long, short = 'm')]
    pub model: u32,
    /// Tokens to add to the stake (0: opt in with the current stake).
    #[arg(long, default_value = "0")]
    pub stake: String,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `vouch provider leave`
#[derive(Debug, Args)]
pub struct LeaveArgs {
    /// The model id.
    #[arg(long, short = 'm')]
    pub model: u32,
    /// Also start unbonding all free stake.
    #[arg(long)]
    pub unbond: bool,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `vouch provider status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Address or key name (default: --key).
    pub who: Option<String>,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// Runs `vouch provider ...`.
pub fn run(cmd: &ProviderCmd) -> Result<()> {
    runtime()?.block_on(async {
        match cmd {
            ProviderCmd::Join(a) => {
                let sys = a.chain.system().await?;
                sys.join(a.model, parse_tokens(&a.stake)?).await?;
                let me = sys.client().sender("join")?;
                let p = sys.provider_info(me).await?;
                let v = json!({ "address": me.to_string(), "model_id": a.model, "stake": p.stake.to_string() });
                out::result(v, || {
                    out::line(format!(
                        "{me} serves model {} with {} VOUCH staked",
                        a.model,
                        fmt_tokens(U256::from(p.stake))
                    ));
                });
            }
            ProviderCmd::Leave(a) => {
                let sys = a.chain.system().await?;
                let free = sys.leave(a.model, a.unbond).await?;
                let v = json!({ "model_id": a.model, "unbonding": a.unbond.then(|| free.to_string()) });
                out::result(v, || {
                    out::line(format!("left model {}", a.model));
                    if a.unbond {
                        out::line(format!("unbonding {} VOUCH", fmt_tokens(free)));
                    }
                });
            }
            ProviderCmd::Status(a) => {
                let sys = a.chain.system().await?;
                let who = match &a.who {
                    Some(w) => a.chain.address_of(w)?,
                    None => sys.client().sender("provider status")?,
                };
                let p = sys.provider_info(who).await?;
                let rows = vec![
                    vec!["staked".to_owned(), fmt_tokens(U256::from(p.stake))],
                    vec!["locked".to_owned(), fmt_tokens(U256::from(p.locked))],
                    vec!["unbonding".to_owned(), fmt_tokens(U256::from(p.unbonding))],
                    vec!["wallet".to_owned(), fmt_tokens(sys.balance(who).await?)],
                    vec![
                        "credited (task manager)".to_owned(),
                        fmt_tokens(sys.credits(who).await?),
                    ],
                ];
                let standing = if p.ejected {
                    "ejected (takes no task; its stake can only unbond)"
                } else {
                    "in good standing"
                };
                let v = json!({
                    "address": who.to_string(),
                    "stake": p.stake.to_string(),
                    "locked": p.locked.to_string(),
                    "unbonding": p.unbonding.to_string(),
                    "wallet": sys.balance(who).await?.to_string(),
                    "credited": sys.credits(who).await?.to_string(),
                    "faults": p.faults,
                    "ejected": p.ejected,
                });
                out::result(v, || {
                    out::line(format!("{who}"));
                    out::line(out::table(&["", "VOUCH"], &rows));
                    out::line(format!("{} slash(es) counted; {standing}", p.faults));
                });
            }
        }
        Ok(())
    })
}
