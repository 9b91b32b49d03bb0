//! `vouch up`: a whole local network in one process, on the embedded defaults.
//!
//! anvil (fresh chain, every transaction mined at once, plus one empty block a second so that
//! committee draws, which read a future block hash, never wait for traffic), the contracts,
//! the embedded digits MLP published (with a zk verifier set up for it unless `--no-zk`),
//! N staked provider nodes (the last `--liars` of them post wrong results), a challenger node
//! that re-executes every result, audits flagged tasks and attests receipts, and the gateway.
//! Stops on ctrl-c.
//!
//! Everything lives in `--dir`: the chain (anvil's state, written every two seconds and at
//! exit), the deployment, the node and gateway journals. `--resume` starts the same network
//! again from there after a crash or a stop, and every node and the gateway continue their
//! unfinished tasks. anvil stops with the process, also when it is killed.
//!
//! Keys are anvil's public dev accounts: 0 deploys and publishes, 1 runs the gateway (it pays
//! fees), 2.. are providers, the next one the challenger, 9 the demo client. Never use them
//! on a real chain.
//!
//! The network itself is [`vouch_localnet`]; this file is its command line.

use crate::chain_args::runtime;
use crate::out;
use clap::Args;
use eyre::{Result, WrapErr};
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use vouch_localnet::{Network, Progress, UpOptions};

/// `vouch up`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Provider nodes (at most 6).
    #[arg(long, default_value_t = 4)]
    pub providers: usize,
    /// How many of the providers post wrong results (to watch them get slashed).
    #[arg(long, default_value_t = 0)]
    pub liars: usize,
    /// Port of the devnet's JSON-RPC endpoint (0: any free port).
    #[arg(long, default_value_t = 8545)]
    pub rpc_port: u16,
    /// Where the gateway listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub gateway: SocketAddr,
    /// Working directory: wiped at start (a fresh chain) unless `--resume` is given.
    #[arg(long, default_value = ".vouch/up")]
    pub dir: PathBuf,
    /// Continue the network saved in `--dir` (after a crash or a stop): same chain, contracts,
    /// keys and journals; the other options are those it was started with.
    #[arg(long)]
    pub resume: bool,
    /// Challenge and reveal windows in seconds.
    #[arg(long, default_value_t = 10)]
    pub window: u32,
    /// Skip the zk setup (zk-mode tasks are then refused by the contracts).
    #[arg(long)]
    pub no_zk: bool,
    /// Mine a block every SECONDS (fractions allowed) holding all pending transactions,
    /// instead of one block per transaction as it arrives.
    #[arg(long, value_name = "SECONDS", value_parser = parse_block_time)]
    pub block_time: Option<Duration>,
}

fn parse_block_time(s: &str) -> std::result::Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.05..=60.0).contains(&v) => Ok(Duration::from_secs_f64(v)),
        _ => Err(format!(
            "'{s}' is not a block time between 0.05 and 60 seconds"
        )),
    }
}

/// Progress of `vouch up` as the CLI prints it: steps on stdout, notes on stderr.
pub const PRINT: Progress = Progress {
    step: |s| out::line(s),
    note: |s| out::note(s),
};

impl From<&UpArgs> for UpOptions {
    fn from(a: &UpArgs) -> Self {
        Self {
            providers: a.providers,
            liars: a.liars,
            rpc_port: a.rpc_port,
            gateway: a.gateway,
            dir: a.dir.clone(),
            window: a.window,
            zk: !a.no_zk,
            block_time: a.block_time,
            resume: a.resume,
            progress: PRINT,
        }
    }
}

/// Prints where everything is.
pub fn print(net: &Network) {
    let c = &net.deployment.contracts;
    let mut rows = vec![
        vec!["devnet (anvil)".to_owned(), net.devnet.url()],
        vec!["gateway".to_owned(), net.gateway.url()],
        vec![
            "openapi".to_owned(),
            format!("{}/openapi.json", net.gateway.url()),
        ],
        vec!["TaskManager".to_owned(), c.task_manager.to_string()],
        vec![
            "model".to_owned(),
            format!("{} v1, digits MLP, cid {}", net.model_id, net.cid),
        ],
    ];
    if let Some((v, _)) = &net.zk {
        rows.push(vec!["zk verifier".to_owned(), v.to_string()]);
    }
    for p in &net.providers {
        rows.push(vec![
            format!("provider{}", if p.liar { " (lies)" } else { "" }),
            format!(
                "{} metrics http://{}/metrics",
                p.node.address(),
                p.node
                    .http_addr()
                    .map_or_else(String::new, |a| a.to_string())
            ),
        ]);
    }
    rows.push(vec![
        "challenger".to_owned(),
        format!(
            "{} metrics http://{}/metrics",
            net.challenger.address(),
            net.challenger
                .http_addr()
                .map_or_else(String::new, |a| a.to_string())
        ),
    ]);
    let v: serde_json::Map<String, serde_json::Value> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            // providers share a label: number them
            let key = if r[0].starts_with("provider") {
                format!("{}{i}", r[0])
            } else {
                r[0].clone()
            };
            (key, json!(r[1]))
        })
        .collect();
    // what a client needs (the Python and TypeScript SDK tests read it): the endpoints, the
    // deployment's addresses (as in `deployments/<chain id>.json`) and the published model
    let doc = json!({
        "gateway": net.gateway.url(),
        "rpc_url": net.devnet.url(),
        "deployment": net.deployment,
        "model": { "id": net.model_id, "version": 1, "cid": net.cid.to_string() },
        "components": v,
    });
    out::result(doc, || {
        out::line(out::table(&["component", "where"], &rows));
    });
}

/// Runs `vouch up`.
pub fn run(a: &UpArgs) -> Result<()> {
    crate::logging::init();
    runtime()?.block_on(async {
        out::line("vouch up: a local network on the embedded defaults");
        let net = vouch_localnet::start(&UpOptions::from(a)).await?;
        print(&net);
        out::line("");
        out::line(format!(
            "try: curl {}/models   (sign in with SIWE to create tasks; see docs)",
            net.gateway.url()
        ));
        out::line("ctrl-c stops everything");
        wait_for_stop().await?;
        net.stop();
        Ok(())
    })
}

/// Waits for ctrl-c (SIGINT) or SIGTERM: both stop the network cleanly (anvil writes its
/// state, so `--resume` continues from the last block).
async fn wait_for_stop() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).wrap_err("waiting for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.wrap_err("waiting for ctrl-c")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .wrap_err("waiting for ctrl-c")?;
    Ok(())
}
