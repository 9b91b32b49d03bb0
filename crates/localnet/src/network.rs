//! The network itself: anvil, the contracts, the published model, the provider and challenger
//! nodes and the gateway, started fresh or resumed from their directory.

use crate::embedded::{CALIBRATION, MODEL};
use crate::zk_setup::setup_and_deploy_zk;
use crate::{Progress, prover};
use eyre::{Result, WrapErr, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};
use vouch_chain::alloy::primitives::{Address, U256};
use vouch_chain::alloy::signers::local::PrivateKeySigner;
use vouch_chain::devnet::DEV_KEYS;
use vouch_chain::{Client, DeployConfig, Devnet, DevnetConfig, System, TOKEN};
use vouch_model::Package;
use vouch_node::{Lie, Node, NodeConfig, Roles};
use vouch_primitives::Cid;

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
    /// Where progress goes (the CLI prints it; tests may drop it).
    pub progress: Progress,
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
        let node = Node::start(sys, c.cfg.clone(), Some(prover::prover())).await?;
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

fn step(t: &Instant, progress: &Progress, what: &str) {
    (progress.step)(&format!("  [{:>5.1} s] {what}", t.elapsed().as_secs_f64()));
}

/// The embedded digits MLP as a package.
pub fn embedded_package() -> Result<Package> {
    let calibration: serde_json::Value =
        serde_json::from_str(CALIBRATION).wrap_err("embedded calibration")?;
    crate::import::import_bytes(
        MODEL,
        &calibration,
        Some(vec!["probabilities".to_owned()]),
        "digits_mlp",
        vouch_quant::Precision::default(),
        |_| {},
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
        &o.progress,
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
    let cid = Package::cid_of_bytes(&bytes);
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
                &o.progress,
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
        let node = Node::start(sys, ncfg.clone(), Some(prover::prover())).await?;
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
        &o.progress,
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
        &o.progress,
        "challenger node running (re-executes every result, audits flagged tasks, attests receipts)",
    );

    let gateway = start_gateway(&url, &deployment, &o.dir, o.gateway, &bytes).await?;
    step(
        &t,
        &o.progress,
        &format!("gateway serving at {}", gateway.url()),
    );

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
        &o.progress,
        "contracts deployed (EAS, token, registry, staking, task manager, dispute game, receipts, governor)",
    );
    let mut commitments = vouch_chain::graph::commitments_of(bytes, pkg);
    commitments.metadata_uri = "vouch:embedded/digits_mlp".to_owned();
    let zk = if o.zk {
        let (verifier, keys) =
            setup_and_deploy_zk(&owner, pkg, &o.dir.join("zk"), o.progress.note).await?;
        step(
            t,
            &o.progress,
            &format!("zk keys and verifier ready ({verifier})"),
        );
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
        &o.progress,
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
