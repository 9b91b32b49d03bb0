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

use crate::chain_args::runtime;
use crate::cmd::model_import;
use crate::out;
use clap::Args;
use eyre::{Result, WrapErr, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};
use vouch_chain::alloy::primitives::{Address, U256};
use vouch_chain::alloy::signers::local::PrivateKeySigner;
use vouch_chain::{Client, DeployConfig, Devnet, DevnetConfig, System, TOKEN};
use vouch_model::Package;
use vouch_node::{Lie, Node, NodeConfig, Roles};
use vouch_primitives::Cid;

/// The embedded model: the scikit-learn digits MLP.
pub const MODEL: &[u8] = include_bytes!("../../../../testdata/models/digits_mlp/model.onnx");
/// Its calibration rows.
pub const CALIBRATION: &str =
    include_str!("../../../../testdata/models/digits_mlp/calibration.json");
/// Held-out inputs.
pub const INPUT: &str = include_str!("../../../../testdata/models/digits_mlp/input.json");
/// Their labels.
pub const LABELS: &str = include_str!("../../../../testdata/models/digits_mlp/labels.json");

/// anvil's well-known dev accounts 0..9 (public test keys, for the local devnet only).
pub use vouch_chain::devnet::DEV_KEYS;

/// The demo client's key index.
pub const CLIENT_KEY: usize = 9;

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

/// What [`start`] needs.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Provider nodes.
    pub providers: usize,
    /// Lying providers (the last ones).
    pub liars: usize,
    /// RPC port (0: free port).
    pub rpc_port: u16,
    /// Gateway listen address (port 0: free port).
    pub gateway: SocketAddr,
    /// Working directory.
    pub dir: PathBuf,
    /// Challenge / reveal window, seconds.
    pub window: u32,
    /// Set up zk for the model.
    pub zk: bool,
    /// Interval mining (`None`: a block per transaction, plus an empty block each second).
    pub block_time: Option<Duration>,
    /// Continue the network saved in `dir` instead of wiping it.
    pub resume: bool,
}

/// What `vouch up` records in its directory to resume a network (`network.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Saved {
    providers: usize,
    liars: usize,
    window: u32,
    chain_id: u64,
    model_id: u32,
    zk: Option<(Address, PathBuf)>,
}

impl Saved {
    fn path(dir: &std::path::Path) -> PathBuf {
        dir.join("network.json")
    }

    fn load(dir: &std::path::Path) -> Result<Self> {
        let path = Self::path(dir);
        let text = std::fs::read_to_string(&path).wrap_err_with(|| {
            format!(
                "nothing to resume in {} (no network.json: start without --resume)",
                dir.display()
            )
        })?;
        serde_json::from_str(&text).wrap_err_with(|| format!("cannot read {}", path.display()))
    }

    fn save(&self, dir: &std::path::Path) -> Result<()> {
        let path = Self::path(dir);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .wrap_err_with(|| format!("cannot write {}", path.display()))
    }
}

/// The deployment parameters of a local network with windows of `window` seconds.
fn deploy_config(window: u32) -> DeployConfig {
    DeployConfig {
        challenge_window: window,
        reveal_window: window,
        step_timeout: 60,
        // the audit share `vouch deploy` keeps (5%), audited by the challenger node
        audit_window: window,
        committee_size: 3,
        unbonding_delay: 60,
        ..DeployConfig::default()
    }
}

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
        }
    }
}

/// One provider node of the network.
#[derive(Debug)]
pub struct ProviderNode {
    /// The node.
    pub node: Node,
    /// Whether it lies.
    pub liar: bool,
    /// Its dev key index.
    pub key: usize,
    /// Its configuration (a restart reuses it: same key, same journal).
    pub cfg: NodeConfig,
}

/// A provider node stopped as a crash stops it (no shutdown step); [`Network::restart_provider`]
/// starts it again on the same key and data directory, and it resumes from its journal.
#[derive(Debug)]
pub struct CrashedProvider {
    cfg: NodeConfig,
    liar: bool,
    key: usize,
    index: usize,
}

/// A running local network.
#[derive(Debug)]
pub struct Network {
    /// The devnet.
    pub devnet: Devnet,
    /// The deployment config used.
    pub cfg: DeployConfig,
    /// The deployment.
    pub deployment: vouch_chain::Deployment,
    /// The published model id (version 1).
    pub model_id: u32,
    /// The package.
    pub pkg: Package,
    /// Its CID.
    pub cid: Cid,
    /// zk verifier and keys file, when set up.
    pub zk: Option<(Address, PathBuf)>,
    /// Provider nodes.
    pub providers: Vec<ProviderNode>,
    /// The challenger node.
    pub challenger: Node,
    /// The gateway.
    pub gateway: vouch_gateway::chain_sink::Served,
    /// The working directory.
    pub dir: PathBuf,
    devnet_cfg: DevnetConfig,
    gateway_addr: SocketAddr,
    miner: tokio::task::JoinHandle<()>,
}

/// The secp256k1 key of dev account `i` (to sign in to the gateway with SIWE).
pub fn dev_signing_key(i: usize) -> Result<k256::ecdsa::SigningKey> {
    let hex = DEV_KEYS
        .get(i)
        .ok_or_else(|| eyre::eyre!("no dev key {i}"))?
        .trim_start_matches("0x");
    let bytes = vouch_chain::alloy::hex::decode(hex).map_err(|e| eyre::eyre!("dev key: {e}"))?;
    Ok(k256::ecdsa::SigningKey::from_slice(&bytes)?)
}

/// The dev signer `i`.
pub fn dev_signer(i: usize) -> Result<PrivateKeySigner> {
    let k = DEV_KEYS
        .get(i)
        .ok_or_else(|| eyre::eyre!("no dev key {i}"))?;
    Ok(PrivateKeySigner::from_str(k)?)
}

impl Network {
    /// The devnet's RPC URL.
    pub fn rpc_url(&self) -> String {
        self.devnet.url()
    }

    /// A [`System`] signing with dev key `i`.
    pub async fn system(&self, i: usize) -> Result<System> {
        let c = Client::connect(&self.devnet.url(), Some(dev_signer(i)?)).await?;
        Ok(System::new(c, self.deployment.clone())?)
    }

    /// Stops provider `i` as a crash would: its running tasks are dropped mid-step.
    pub fn crash_provider(&mut self, i: usize) -> Result<CrashedProvider> {
        if i >= self.providers.len() {
            eyre::bail!("no provider {i} (the network has {})", self.providers.len());
        }
        let p = self.providers.remove(i);
        p.node.kill();
        Ok(CrashedProvider {
            cfg: p.cfg,
            liar: p.liar,
            key: p.key,
            index: i,
        })
    }

    /// Starts a crashed provider again on its key and data directory; it resumes every task
    /// its journal holds.
    pub async fn restart_provider(&mut self, c: CrashedProvider) -> Result<()> {
        let sys = connect(&self.devnet.url(), &self.deployment, c.key).await?;
        let node = Node::start(sys, c.cfg.clone(), Some(crate::cmd::node::prover())).await?;
        let at = c.index.min(self.providers.len());
        self.providers.insert(
            at,
            ProviderNode {
                node,
                liar: c.liar,
                key: c.key,
                cfg: c.cfg,
            },
        );
        Ok(())
    }

    /// Stops anvil as `kill` does (SIGTERM: it writes its state and exits); the nodes and the
    /// gateway keep running and retry. [`Self::start_devnet`] brings it back.
    pub fn stop_devnet(&mut self) {
        self.devnet.stop();
    }

    /// Starts anvil again on the same port from the state it saved.
    pub async fn start_devnet(&mut self) -> Result<()> {
        self.devnet = Devnet::spawn(&self.devnet_cfg)
            .await
            .wrap_err("cannot restart anvil")?;
        Ok(())
    }

    /// Stops the gateway (its in-flight requests are cut) and starts it again on the same
    /// address, journal and store: it resumes following every unfinished task. Sessions are
    /// in memory, so clients sign in again.
    pub async fn restart_gateway(&mut self) -> Result<()> {
        self.gateway.stop();
        let bytes = self.pkg.to_bytes();
        let url = self.devnet.url();
        self.gateway =
            start_gateway(&url, &self.deployment, &self.dir, self.gateway_addr, &bytes).await?;
        Ok(())
    }

    /// Prints where everything is.
    pub fn print(&self) {
        let c = &self.deployment.contracts;
        let mut rows = vec![
            vec!["devnet (anvil)".to_owned(), self.devnet.url()],
            vec!["gateway".to_owned(), self.gateway.url()],
            vec![
                "openapi".to_owned(),
                format!("{}/openapi.json", self.gateway.url()),
            ],
            vec!["TaskManager".to_owned(), c.task_manager.to_string()],
            vec![
                "model".to_owned(),
                format!("{} v1, digits MLP, cid {}", self.model_id, self.cid),
            ],
        ];
        if let Some((v, _)) = &self.zk {
            rows.push(vec!["zk verifier".to_owned(), v.to_string()]);
        }
        for p in &self.providers {
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
                self.challenger.address(),
                self.challenger
                    .http_addr()
                    .map_or_else(String::new, |a| a.to_string())
            ),
        ]);
        out::line(out::table(&["component", "where"], &rows));
    }

    /// Stops every node, the gateway and the devnet.
    pub fn stop(mut self) {
        self.miner.abort();
        self.gateway.stop();
        for p in self.providers {
            p.node.kill();
        }
        self.challenger.kill();
        self.devnet.stop();
    }
}

fn step(t: &Instant, what: &str) {
    out::line(format!("  [{:>5.1} s] {what}", t.elapsed().as_secs_f64()));
}

/// The embedded digits MLP as a package.
pub fn embedded_package() -> Result<Package> {
    let calibration: serde_json::Value =
        serde_json::from_str(CALIBRATION).wrap_err("embedded calibration")?;
    model_import::import_bytes(
        MODEL,
        &calibration,
        Some(vec!["probabilities".to_owned()]),
        "digits_mlp",
    )
}

/// Starts the whole network: fresh in a wiped directory, or (`resume`) the one saved there.
pub async fn start(o: &UpOptions) -> Result<Network> {
    let t = Instant::now();
    let saved = if o.resume {
        Some(Saved::load(&o.dir)?)
    } else {
        if o.providers == 0 || o.providers > 6 {
            bail!("--providers must be between 1 and 6 (dev keys 2..7)");
        }
        if o.liars >= o.providers {
            bail!("--liars must leave at least one honest provider");
        }
        if o.dir.exists() {
            std::fs::remove_dir_all(&o.dir)
                .wrap_err_with(|| format!("cannot clear {}", o.dir.display()))?;
        }
        None
    };
    std::fs::create_dir_all(&o.dir)
        .wrap_err_with(|| format!("cannot create {}", o.dir.display()))?;
    let mut devnet_cfg = DevnetConfig {
        port: o.rpc_port,
        log: Some(o.dir.join("anvil.log")),
        state: Some(o.dir.join("anvil-state.json")),
        state_interval: Some(Duration::from_secs(2)),
        die_with_parent: true,
        timeout_secs: 30,
        block_time: o.block_time,
        ..DevnetConfig::default()
    };
    let devnet = Devnet::spawn(&devnet_cfg)
        .await
        .wrap_err("cannot start anvil (run scripts/bootstrap-node.sh, or set VOUCH_ANVIL)")?;
    // a restart comes back on the same port, where every client points
    devnet_cfg.port = devnet.port();
    let url = devnet.url();
    step(
        &t,
        &format!(
            "devnet up at {url}{}",
            if saved.is_some() {
                " (its saved state loaded)"
            } else {
                ""
            }
        ),
    );
    let (providers_n, liars, window) = match &saved {
        Some(s) => (s.providers, s.liars, s.window),
        None => (o.providers, o.liars, o.window),
    };
    let cfg = deploy_config(window);
    let c0 = Client::connect(&url, Some(dev_signer(0)?)).await?;
    let pkg = embedded_package()?;
    let bytes = pkg.to_bytes();
    let cid = Cid::of(&bytes);
    let (deployment, model_id, zk) = match &saved {
        Some(s) => {
            let d = vouch_chain::Deployment::load(&o.dir, s.chain_id)?;
            use vouch_chain::alloy::providers::Provider;
            let code = c0
                .provider()
                .get_code_at(d.contracts.task_manager)
                .await
                .wrap_err("cannot read the devnet")?;
            if code.is_empty() {
                bail!(
                    "the devnet's saved state in {} does not hold the deployment (the chain was \
                     lost); start a fresh network without --resume",
                    o.dir.display()
                );
            }
            step(
                &t,
                "deployment, model and stakes found on the resumed chain",
            );
            (d, s.model_id, s.zk.clone())
        }
        None => {
            let (d, model_id, zk) = fresh(&t, o, &c0, &cfg, &pkg, &bytes, &cid).await?;
            Saved {
                providers: o.providers,
                liars: o.liars,
                window: o.window,
                chain_id: d.chain_id,
                model_id,
                zk: zk.clone(),
            }
            .save(&o.dir)?;
            (d, model_id, zk)
        }
    };
    let owner = System::new(c0, deployment.clone())?;
    let mut providers = Vec::new();
    let mut first_peer: Option<String> = None;
    for n in 0..providers_n {
        let key = 2 + n;
        let liar = n >= providers_n - liars;
        let sys = connect(&url, &deployment, key).await?;
        let dir = o.dir.join(format!("provider{n}"));
        let mut ncfg = NodeConfig::new(format!("provider{n}"), &dir);
        ncfg.roles = Roles {
            provider: true,
            challenger: false,
            committee: true,
            auditor: false,
        };
        ncfg.lie = if liar { Lie::Always } else { Lie::Never };
        ncfg.listen = Some("127.0.0.1:0".parse()?);
        ncfg.stagger = if liar {
            Duration::ZERO
        } else {
            Duration::from_millis(300)
        };
        ncfg.flush_receipts = None;
        if let Some((_, keys)) = &zk {
            ncfg.zk_keys.insert((model_id, 1), keys.clone());
        }
        match &first_peer {
            // the first provider holds the package; the others fetch it by CID
            None => {
                vouch_store::Store::open(dir.join("store"))?.put(&bytes)?;
            }
            Some(p) => ncfg.peers = vec![p.clone()],
        }
        let node = Node::start(sys, ncfg.clone(), Some(crate::cmd::node::prover())).await?;
        if first_peer.is_none() {
            first_peer = node.http_addr().map(|a| format!("http://{a}"));
        }
        providers.push(ProviderNode {
            node,
            liar,
            key,
            cfg: ncfg,
        });
    }
    step(
        &t,
        &format!(
            "{} provider nodes staked and running ({} lying)",
            providers_n, liars
        ),
    );
    let ckey = 2 + providers_n;
    let csys = connect(&url, &deployment, ckey).await?;
    let mut ccfg = NodeConfig::new("challenger", o.dir.join("challenger"));
    ccfg.roles = Roles {
        provider: false,
        challenger: true,
        committee: false,
        auditor: true,
    };
    ccfg.listen = Some("127.0.0.1:0".parse()?);
    ccfg.peers = first_peer.clone().into_iter().collect();
    ccfg.flush_receipts = Some(Duration::from_secs(3));
    let challenger = Node::start(csys, ccfg, None).await?;
    step(
        &t,
        "challenger node running (re-executes every result, audits flagged tasks, attests receipts)",
    );

    let gateway = start_gateway(&url, &deployment, &o.dir, o.gateway, &bytes).await?;
    step(&t, &format!("gateway serving at {}", gateway.url()));

    // an empty block a second: committee draws read a future block hash (interval mining
    // makes them anyway)
    let miner_client = owner.client().clone();
    let auto_mine = o.block_time.is_none();
    let miner = tokio::spawn(async move {
        if !auto_mine {
            return;
        }
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _: std::result::Result<serde_json::Value, _> =
                miner_client.raw("evm_mine", ()).await;
        }
    });
    let gateway_addr = gateway.addr;
    Ok(Network {
        gateway_addr,
        devnet,
        cfg,
        deployment,
        model_id,
        pkg,
        cid,
        zk,
        providers,
        challenger,
        gateway,
        dir: o.dir.clone(),
        devnet_cfg,
        miner,
    })
}

/// A fresh chain: deploys the contracts, publishes the embedded model (with a zk verifier
/// unless `--no-zk`), hands out tokens and stakes the providers.
async fn fresh(
    t: &Instant,
    o: &UpOptions,
    c0: &Client,
    cfg: &DeployConfig,
    pkg: &Package,
    bytes: &[u8],
    cid: &Cid,
) -> Result<(vouch_chain::Deployment, u32, Option<(Address, PathBuf)>)> {
    let deployment = vouch_chain::deploy(c0, cfg).await?;
    deployment.save(&o.dir)?;
    let owner = System::new(c0.clone(), deployment.clone())?;
    step(
        t,
        "contracts deployed (EAS, token, registry, staking, task manager, dispute game, receipts, governor)",
    );
    let mut commitments = vouch_chain::graph::commitments_of(bytes, pkg);
    commitments.metadata_uri = "vouch:embedded/digits_mlp".to_owned();
    let zk = if o.zk {
        let (verifier, keys) =
            crate::cmd::zk::setup_and_deploy_zk(&owner, pkg, &o.dir.join("zk")).await?;
        step(t, &format!("zk keys and verifier ready ({verifier})"));
        Some((verifier, keys))
    } else {
        None
    };
    let published = match &zk {
        Some((v, _)) => owner.publish_with_verifier(&commitments, *v, None).await?.0,
        None => owner.publish(&commitments).await?,
    };
    step(
        t,
        &format!(
            "model {} v{} published, package {cid}",
            published.model_id, published.version
        ),
    );
    // tokens for everyone, stakes for the providers
    for i in 1..DEV_KEYS.len() {
        owner
            .transfer(dev_signer(i)?.address(), U256::from(50_000 * TOKEN))
            .await?;
    }
    for n in 0..o.providers {
        let sys = connect(c0.url(), &deployment, 2 + n).await?;
        // 20,000 VOUCH: bonds for 200 tasks in their windows at once
        sys.join(published.model_id, 20_000 * TOKEN).await?;
    }
    Ok((deployment, published.model_id, zk))
}

/// The gateway (dev key 1 pays the fees) over its journal and store in `dir/gateway`, on
/// `addr`; its store holds the package.
async fn start_gateway(
    url: &str,
    deployment: &vouch_chain::Deployment,
    dir: &std::path::Path,
    addr: SocketAddr,
    bytes: &[u8],
) -> Result<vouch_gateway::chain_sink::Served> {
    let gsys = connect(url, deployment, 1).await?;
    let gstore = vouch_store::Store::open(dir.join("gateway/store"))?;
    gstore.put(bytes)?;
    // a restarted gateway binds the address its predecessor just released
    let mut tries = 0;
    let listener = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) if tries < 50 && addr.port() != 0 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e).wrap_err_with(|| format!("cannot listen on {addr}")),
        }
    };
    let domain = listener.local_addr()?.to_string();
    let mut gcfg = vouch_gateway::GatewayConfig::new(domain, deployment.chain_id);
    // a local network: room for benchmarks that poll many tasks (per identity: 5,000
    // requests/s, 10,000 VOUCH)
    gcfg.limits = vouch_gateway::LimitConfig {
        burst: 10_000.0,
        per_sec: 5_000.0,
        spend_cap: 10_000 * TOKEN,
    };
    let sink_cfg = vouch_gateway::chain_sink::ChainSinkConfig {
        poll: Duration::from_millis(250),
        deadline_secs: 120,
        ..Default::default()
    };
    vouch_gateway::chain_sink::serve(
        gsys,
        gstore,
        &dir.join("gateway/tasks.sqlite"),
        listener,
        gcfg,
        sink_cfg,
    )
    .await
    .map_err(|e| eyre::eyre!("cannot start the gateway: {e}"))
}

async fn connect(url: &str, d: &vouch_chain::Deployment, key: usize) -> Result<System> {
    let c = Client::connect(url, Some(dev_signer(key)?)).await?;
    Ok(System::new(c, d.clone())?)
}

/// Runs `vouch up`.
pub fn run(a: &UpArgs) -> Result<()> {
    crate::logging::init();
    runtime()?.block_on(async {
        out::line("vouch up: a local network on the embedded defaults");
        let net = start(&UpOptions::from(a)).await?;
        net.print();
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
