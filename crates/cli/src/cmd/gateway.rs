//! `vouch gateway`: the HTTP gateway (Sign-In with Ethereum, task creation, SSE events,
//! `/openapi.json`) over a deployment. Tasks are requested on-chain from the `--key` account,
//! which pays every fee and charges it against the identity's spend cap; packages come from
//! the data directory's blob store; tasks are journaled in `<data-dir>/gateway/journal.sqlite`.
//! In-process users (`vouch up`) call [`vouch_gateway::serve`] directly.

use crate::chain_args::{ChainArgs, parse_tokens, runtime};
use crate::out;
use clap::Args;
use eyre::{Result, WrapErr, bail};
use std::path::PathBuf;
use std::time::Duration;
use vouch_gateway::{ChainSinkConfig, GatewayConfig};
use vouch_store::Store;

/// `vouch gateway`
#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Endpoint, data directory and the key that pays the fees.
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The domain sign-in messages must name (default: the listen address).
    #[arg(long)]
    pub domain: Option<String>,
    /// The most one identity may spend in fees, in tokens.
    #[arg(long, default_value = "10")]
    pub spend_cap: String,
    /// Requests per second per identity (sustained).
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Requests per identity in a burst.
    #[arg(long, default_value_t = 60.0)]
    pub burst: f64,
    /// Seconds a provider has to deliver a task.
    #[arg(long, default_value_t = 3600)]
    pub deadline: u32,
    /// Milliseconds between chain polls.
    #[arg(long, default_value_t = 2000)]
    pub poll_ms: u64,
    /// The task journal (default: `<data-dir>/gateway/journal.sqlite`).
    #[arg(long)]
    pub journal: Option<PathBuf>,
}

/// Runs `vouch gateway`.
pub fn run(a: &GatewayArgs) -> Result<()> {
    if a.chain.key.is_none() {
        bail!("vouch gateway needs --key: the gateway pays each task's fee from that account");
    }
    runtime()?.block_on(async {
        let sys = a.chain.system().await?;
        let data_dir = &a.chain.dirs.data_dir;
        let store = Store::open_in_data_dir(data_dir)
            .wrap_err_with(|| format!("cannot open the store in {}", data_dir.display()))?;
        let journal = a
            .journal
            .clone()
            .unwrap_or_else(|| data_dir.join("gateway").join("journal.sqlite"));
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .wrap_err_with(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        let mut cfg = GatewayConfig::new(
            a.domain.clone().unwrap_or_else(|| addr.to_string()),
            sys.client().chain_id(),
        );
        cfg.limits.spend_cap = parse_tokens(&a.spend_cap)?;
        cfg.limits.per_sec = a.rate;
        cfg.limits.burst = a.burst;
        let sink_cfg = ChainSinkConfig {
            poll: Duration::from_millis(a.poll_ms.max(100)),
            deadline_secs: a.deadline,
            ..ChainSinkConfig::default()
        };
        let payer = sys.client().from();
        let served = vouch_gateway::serve(sys, store, &journal, listener, cfg, sink_cfg)
            .await
            .wrap_err("cannot start the gateway")?;
        out::line(format!("gateway listening on {}", served.url()));
        out::line(format!("  OpenAPI  {}/openapi.json", served.url()));
        if let Some(p) = payer {
            out::line(format!("  fees paid by {p}"));
        }
        out::line(format!("  journal  {}", journal.display()));
        served.wait().await.wrap_err("the gateway stopped")?;
        Ok(())
    })
}
