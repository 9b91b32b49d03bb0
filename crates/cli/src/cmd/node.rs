//! `vouch node`: run the provider, challenger, committee and auditor roles for one key until
//! stopped.

use crate::chain_args::{ChainArgs, runtime};
use crate::out;
use clap::Args;
use eyre::{Result, WrapErr, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use vouch_node::{Lie, Node, NodeConfig, ReceiptBatching, Roles};

/// `vouch node`
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Roles to play, comma separated: provider, challenger, committee, auditor.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "provider,challenger,committee,auditor"
    )]
    pub roles: Vec<String>,
    /// Model ids to serve (default: every model this key is opted in to).
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<u32>,
    /// Where the journal and the store live (default: <data dir>/node/<key>).
    #[arg(long)]
    pub node_dir: Option<PathBuf>,
    /// Serve GET /metrics and the store (GET /blocks/{cid}) here.
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub listen: SocketAddr,
    /// Base URLs of peers whose stores serve model packages.
    #[arg(long, value_delimiter = ',')]
    pub peers: Vec<String>,
    /// Blocks an event must be buried under before the node acts on it.
    #[arg(long, default_value_t = 0)]
    pub confirmations: u64,
    /// Share of other providers' results to re-execute as a challenger, in percent.
    #[arg(long, default_value_t = 100.0)]
    pub sample: f64,
    /// Zk proving keys for a model: MODEL:VERSION=KEYS (repeatable).
    #[arg(long = "zk-keys", value_parser = parse_zk_keys)]
    pub zk_keys: Vec<((u32, u16), PathBuf)>,
    /// Attest finalized receipts as one EAS attestation every this many seconds (0: never).
    #[arg(long, default_value_t = 0)]
    pub flush_receipts: u64,
    /// Attest the receipt of every finalized task automatically, one EAS attestation per task
    /// (recipient: its requester), sent in batches of this many (0: never).
    #[arg(long, default_value_t = 0)]
    pub attest_receipts: usize,
    /// Longest a finalized task waits for its receipt batch to fill, in seconds.
    #[arg(long, default_value_t = 60)]
    pub attest_wait: u64,
    /// A beacon node's REST API (e.g. http://localhost:5052) to read blob inputs back from:
    /// a task whose input travels as EIP-4844 blobs is served (and challenged) only if its
    /// blobs can be read, and a real chain keeps them on its consensus layer (about 18 days).
    /// Without it, blobs are read with `anvil_getBlobByHash` (anvil only).
    #[arg(long, env = "VOUCH_BEACON_URL")]
    pub beacon_url: Option<String>,
    /// Post wrong results on purpose (a faulty provider for demos; its bond gets slashed).
    #[arg(long)]
    pub lie: bool,
    /// Endpoint, data directory and key.
    #[command(flatten)]
    pub chain: ChainArgs,
}

fn parse_zk_keys(s: &str) -> Result<((u32, u16), PathBuf), String> {
    let (mv, path) = s
        .split_once('=')
        .ok_or_else(|| format!("expected MODEL:VERSION=KEYS, got {s:?}"))?;
    let (m, v) = mv.split_once(':').unwrap_or((mv, "1"));
    let m = m.parse().map_err(|_| format!("bad model id {m:?}"))?;
    let v = v.parse().map_err(|_| format!("bad version {v:?}"))?;
    Ok(((m, v), PathBuf::from(path)))
}

/// Parses role names.
pub fn roles_of(names: &[String]) -> Result<Roles> {
    let mut r = Roles::default();
    for n in names {
        match n.trim() {
            "provider" => r.provider = true,
            "challenger" => r.challenger = true,
            "committee" => r.committee = true,
            "auditor" => r.auditor = true,
            other => bail!(
                "unknown role {other:?} (expected provider, challenger, committee or auditor)"
            ),
        }
    }
    Ok(r)
}

/// The node's zk prover.
pub fn prover() -> std::sync::Arc<dyn vouch_node::ZkProver> {
    vouch_localnet::prover::prover()
}

/// Runs `vouch node`.
pub fn run(a: &NodeArgs) -> Result<()> {
    crate::logging::init();
    runtime()?.block_on(async {
        let sys = a.chain.system().await?;
        let me = sys.client().sender("vouch node")?;
        let dir = match &a.node_dir {
            Some(d) => d.clone(),
            None => a.chain.dirs.data_dir.join("node").join(me.to_string()),
        };
        let mut cfg = NodeConfig::new(a.chain.key.clone().unwrap_or_else(|| me.to_string()), dir);
        cfg.roles = roles_of(&a.roles)?;
        cfg.models = a.models.clone();
        cfg.listen = Some(a.listen);
        cfg.peers = a.peers.clone();
        cfg.confirmations = a.confirmations;
        cfg.sample_bps = (a.sample.clamp(0.0, 100.0) * 100.0) as u16;
        cfg.zk_keys = a.zk_keys.iter().cloned().collect();
        cfg.flush_receipts = (a.flush_receipts > 0).then(|| Duration::from_secs(a.flush_receipts));
        cfg.attest_receipts = (a.attest_receipts > 0).then(|| ReceiptBatching {
            max_batch: a.attest_receipts,
            max_wait: Duration::from_secs(a.attest_wait),
        });
        cfg.beacon_url = a.beacon_url.clone();
        cfg.lie = if a.lie { Lie::Always } else { Lie::Never };
        let node = Node::start(sys, cfg, Some(prover()))
            .await
            .wrap_err("cannot start the node")?;
        out::line(format!("node {me} running"));
        if let Some(addr) = node.http_addr() {
            out::line(format!("  metrics http://{addr}/metrics"));
            out::line(format!("  store   http://{addr}/blocks/{{cid}}"));
        }
        tokio::signal::ctrl_c()
            .await
            .wrap_err("waiting for ctrl-c")?;
        out::line(format!(
            "stopping; {} unfinished task(s) stay in the journal and resume on the next start",
            node.busy()
        ));
        node.kill();
        Ok(())
    })
}
