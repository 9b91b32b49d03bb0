//! `vouch devnet up|down|status|fund|warp`: a local anvil whose chain state persists in
//! `<data-dir>/devnet/state.json` across `down` and `up`.

use crate::chain_args::{ChainArgs, DataDirArgs, fmt_tokens, parse_tokens, runtime};
use crate::out;
use clap::{Args, Subcommand};
use eyre::{Result, WrapErr, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vouch_chain::alloy::primitives::U256;
use vouch_chain::devnet::{chain_id_of, is_alive, terminate};
use vouch_chain::{Client, Deployment, Devnet, DevnetConfig, System};

/// `vouch devnet ...`
#[derive(Debug, Subcommand)]
pub enum DevnetCmd {
    /// Start a local anvil in the background (state kept in the data directory).
    Up(UpArgs),
    /// Stop it (its state is written back first).
    Down(DataDirArgs),
    /// Is it running, on which port, at which block, with which deployment.
    Status(DataDirArgs),
    /// Give an account ETH (and tokens from the deployer) on the devnet.
    Fund(FundArgs),
    /// Advance the devnet's clock (e.g. past a challenge window) and mine a block.
    Warp(WarpArgs),
}

/// `vouch devnet up`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
    /// Port to listen on.
    #[arg(long, default_value_t = 8545)]
    pub port: u16,
    /// The anvil binary (default: node_modules/.bin/anvil of the repository, or VOUCH_ANVIL).
    #[arg(long, env = "VOUCH_ANVIL")]
    pub anvil: Option<PathBuf>,
}

/// `vouch devnet fund`
#[derive(Debug, Args)]
pub struct FundArgs {
    /// Address or key name.
    pub who: String,
    /// ETH to set as its balance.
    #[arg(long, default_value = "100")]
    pub eth: String,
    /// Tokens to transfer from the deployer (0: none).
    #[arg(long, default_value = "0")]
    pub tokens: String,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// `vouch devnet warp`
#[derive(Debug, Args)]
pub struct WarpArgs {
    /// Seconds to advance.
    pub seconds: u64,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// What `up` records for `down` and `status`.
#[derive(Debug, Serialize, Deserialize)]
struct Running {
    pid: u32,
    port: u16,
    url: String,
}

fn dir(d: &DataDirArgs) -> PathBuf {
    d.data_dir.join("devnet")
}

fn read_running(dir: &Path) -> Option<Running> {
    let text = std::fs::read_to_string(dir.join("devnet.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Runs `vouch devnet ...`.
pub fn run(cmd: &DevnetCmd) -> Result<()> {
    let rt = runtime()?;
    rt.block_on(async {
        match cmd {
            DevnetCmd::Up(a) => up(a).await,
            DevnetCmd::Down(d) => down(d).await,
            DevnetCmd::Status(d) => status(d).await,
            DevnetCmd::Fund(a) => fund(a).await,
            DevnetCmd::Warp(a) => {
                let c = Client::connect(&a.chain.rpc_url, None).await?;
                c.warp(a.seconds).await?;
                out::result(json!({ "advanced_seconds": a.seconds }), || {
                    out::line(format!("advanced {} s", a.seconds));
                });
                Ok(())
            }
        }
    })
}

async fn up(a: &UpArgs) -> Result<()> {
    let d = dir(&a.dirs);
    if let Some(r) = read_running(&d)
        && is_alive(r.pid)
        && chain_id_of(&r.url).await.is_some()
    {
        out::result(
            json!({ "rpc_url": r.url, "pid": r.pid, "started": false }),
            || {
                out::line(format!(
                    "devnet already running at {} (pid {})",
                    r.url, r.pid
                ));
            },
        );
        return Ok(());
    }
    std::fs::create_dir_all(&d).wrap_err_with(|| format!("cannot create {}", d.display()))?;
    let cfg = DevnetConfig {
        anvil: a.anvil.clone(),
        port: a.port,
        state: Some(d.join("state.json")),
        log: Some(d.join("anvil.log")),
        chain_id: None,
        timeout_secs: 30,
        block_time: None,
        hardfork: None,
        // detached on purpose: `vouch devnet down` stops it
        ..DevnetConfig::default()
    };
    let dn = Devnet::spawn(&cfg).await?;
    let url = dn.url();
    let port = dn.port();
    let pid = dn.detach();
    let r = Running {
        pid,
        port,
        url: url.clone(),
    };
    std::fs::write(d.join("devnet.json"), serde_json::to_string_pretty(&r)?)
        .wrap_err("cannot record the devnet")?;
    out::result(
        json!({ "rpc_url": url, "pid": pid, "started": true }),
        || {
            out::line(format!("devnet up at {url} (pid {pid})"));
        },
    );
    out::note(format!(
        "state: {}  log: {}",
        d.join("state.json").display(),
        d.join("anvil.log").display()
    ));
    Ok(())
}

async fn down(dd: &DataDirArgs) -> Result<()> {
    let d = dir(dd);
    let Some(r) = read_running(&d) else {
        bail!(vouch_chain::Error::DevnetNotRunning { dir: d });
    };
    if is_alive(r.pid) {
        terminate(r.pid);
        for _ in 0..100 {
            if !is_alive(r.pid) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let _ = std::fs::remove_file(d.join("devnet.json"));
    let state = d.join("state.json").display().to_string();
    out::result(json!({ "stopped": true, "state": state }), || {
        out::line(format!("devnet stopped; state kept in {state}"));
    });
    Ok(())
}

async fn status(dd: &DataDirArgs) -> Result<()> {
    let d = dir(dd);
    let Some(r) = read_running(&d).filter(|r| is_alive(r.pid)) else {
        out::result(json!({ "running": false }), || {
            out::line("devnet: not running")
        });
        return Ok(());
    };
    let c = Client::connect(&r.url, None).await?;
    use vouch_chain::alloy::providers::Provider;
    let block = c.provider().get_block_number().await.unwrap_or(0);
    let dep = Deployment::load(&dd.data_dir, c.chain_id()).ok();
    let path = Deployment::path(&dd.data_dir, c.chain_id());
    let v = json!({
        "running": true,
        "rpc_url": r.url,
        "pid": r.pid,
        "chain_id": c.chain_id(),
        "block": block,
        "deployment": dep.as_ref().map(|_| path.display().to_string()),
        "task_manager": dep.as_ref().map(|d| d.contracts.task_manager.to_string()),
    });
    out::result(v, || {
        out::line(format!(
            "devnet: running at {} (pid {}), chain {}, block {block}",
            r.url,
            r.pid,
            c.chain_id()
        ));
        match &dep {
            Some(dep) => out::line(format!(
                "deployment: {} (task manager {})",
                path.display(),
                dep.contracts.task_manager
            )),
            None => out::line("deployment: none (run `vouch deploy`)"),
        }
    });
    Ok(())
}

async fn fund(a: &FundArgs) -> Result<()> {
    let to = a.chain.address_of(&a.who)?;
    let c = Client::connect(&a.chain.rpc_url, None).await?;
    let wei = U256::from(parse_tokens(&a.eth)?);
    let _: serde_json::Value = c.raw("anvil_setBalance", (to, wei)).await?;
    out::line(format!("{to}: {} ETH", a.eth));
    let tokens = parse_tokens(&a.tokens)?;
    if tokens > 0 {
        let sys = System::load(c.clone(), &a.chain.dirs.data_dir)?;
        let holder = sys.deployment().deployer;
        let _: serde_json::Value = c.raw("anvil_impersonateAccount", (holder,)).await?;
        let token = sys.token();
        let call = token.transfer(to, U256::from(tokens)).from(holder);
        let res = c.send("VouchToken.transfer", call).await;
        let _: serde_json::Value = c.raw("anvil_stopImpersonatingAccount", (holder,)).await?;
        res?;
        let bal = sys.balance(to).await?;
        out::line(format!("{to}: {} VOUCH", fmt_tokens(bal)));
    }
    Ok(())
}
