//! A local anvil devnet: find the binary, start it on a port, wait until it answers, and stop
//! it with SIGTERM so `--state` is written back.
//!
//! The binary is `$VOUCH_ANVIL` when set, else the native binary of the npm package
//! `@foundry-rs/anvil-<platform>` or the `node_modules/.bin/anvil` shim of the first folder up
//! from the current directory (or this crate's source) that has one, else `anvil` on `PATH`.

use crate::{Error, Result};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// anvil's well-known dev accounts 0..9 (public keys printed by every anvil: for a local devnet
/// only, never on a real chain).
pub const DEV_KEYS: [&str; 10] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// How to start anvil.
#[derive(Debug, Clone, Default)]
pub struct DevnetConfig {
    /// The anvil binary (found with [`find_anvil`] when `None`).
    pub anvil: Option<PathBuf>,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// State file loaded at start and written at exit (`--state`).
    pub state: Option<PathBuf>,
    /// How often the state file is also written while running (`--state-interval`, whole
    /// seconds; default 60): a hard kill of anvil loses at most this much of the chain.
    pub state_interval: Option<Duration>,
    /// Stop anvil (SIGTERM, which writes its state) when the thread that started it exits,
    /// also when this process is killed with SIGKILL (Linux `PR_SET_PDEATHSIG`), so a killed
    /// `vouch up` leaves no anvil behind on its port. Only for a process whose starting
    /// thread lives as long as the devnet (the main thread of a CLI).
    pub die_with_parent: bool,
    /// Where anvil's output goes (discarded when `None`).
    pub log: Option<PathBuf>,
    /// Chain id (anvil's default 31337 when `None`).
    pub chain_id: Option<u64>,
    /// Seconds anvil may take to answer.
    pub timeout_secs: u64,
    /// Mine a block this often with every pending transaction (`--block-time`); `None`
    /// mines one block per transaction as it arrives.
    pub block_time: Option<Duration>,
    /// The hardfork (`--hardfork`, e.g. `cancun`); `None` is anvil's default, a post-Osaka
    /// fork. Pin it where gas figures must be comparable across anvil versions.
    pub hardfork: Option<String>,
}

/// A running anvil. Stopped on drop unless [`Devnet::detach`]ed.
#[derive(Debug)]
pub struct Devnet {
    child: Option<Child>,
    pid: u32,
    port: u16,
}

impl Devnet {
    /// Starts anvil and waits until it answers `eth_chainId`.
    pub async fn spawn(cfg: &DevnetConfig) -> Result<Self> {
        let anvil = match &cfg.anvil {
            Some(p) => p.clone(),
            None => find_anvil()?,
        };
        let port = if cfg.port == 0 {
            free_port()?
        } else {
            cfg.port
        };
        let mut cmd = Command::new(&anvil);
        cmd.arg("--port")
            .arg(port.to_string())
            .arg("--host")
            .arg("127.0.0.1");
        if let Some(state) = &cfg.state {
            if let Some(dir) = state.parent() {
                std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                    path: dir.to_owned(),
                    source,
                })?;
            }
            cmd.arg("--state").arg(state);
            // also write periodically, so a hard kill loses at most an interval
            let every = cfg.state_interval.map_or(60, |d| d.as_secs().max(1));
            cmd.arg("--state-interval").arg(every.to_string());
        }
        if let Some(b) = cfg.block_time {
            cmd.arg("--block-time").arg(b.as_secs_f64().to_string());
        }
        if let Some(fork) = &cfg.hardfork {
            cmd.arg("--hardfork").arg(fork);
        }
        if let Some(id) = cfg.chain_id {
            cmd.arg("--chain-id").arg(id.to_string());
        }
        let log_path = cfg
            .log
            .clone()
            .unwrap_or_else(|| PathBuf::from("/dev/null"));
        let (out, err) = match &cfg.log {
            Some(p) => {
                let f = std::fs::File::create(p).map_err(|source| Error::Io {
                    path: p.clone(),
                    source,
                })?;
                let g = f.try_clone().map_err(|source| Error::Io {
                    path: p.clone(),
                    source,
                })?;
                (Stdio::from(f), Stdio::from(g))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        if cfg.die_with_parent {
            die_with_parent(&mut cmd);
        }
        let child = cmd.spawn().map_err(|source| Error::Io {
            path: anvil.clone(),
            source,
        })?;
        let mut dn = Self {
            pid: child.id(),
            child: Some(child),
            port,
        };
        let secs = if cfg.timeout_secs == 0 {
            20
        } else {
            cfg.timeout_secs
        };
        if !wait_until_answers(&dn.url(), Duration::from_secs(secs)).await {
            dn.stop();
            return Err(Error::DevnetTimeout {
                url: dn.url(),
                secs,
                log: log_path,
            });
        }
        Ok(dn)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Leaves anvil running after this handle is dropped; returns its pid.
    pub fn detach(mut self) -> u32 {
        self.child = None;
        self.pid
    }

    /// Stops anvil (SIGTERM, so it writes its state) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(self.pid);
            let _ = child.wait();
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Makes the child get SIGTERM when the spawning thread exits.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec; it only calls prctl, which
    // is async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Elsewhere the devnet is stopped on drop only.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Sends SIGTERM to `pid`.
pub fn terminate(pid: u32) -> bool {
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether a process with `pid` exists.
pub fn is_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        || Command::new("kill")
            .arg("-0")
            .arg(pid.to_string())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Polls `eth_chainId` at `url` until it answers or `timeout` passes.
pub async fn wait_until_answers(url: &str, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if chain_id_of(url).await.is_some() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The chain id at `url`, if it answers.
pub async fn chain_id_of(url: &str) -> Option<u64> {
    use alloy::providers::{Provider, ProviderBuilder};
    let parsed = url.parse().ok()?;
    let p = ProviderBuilder::new().connect_http(parsed);
    tokio::time::timeout(Duration::from_secs(2), p.get_chain_id())
        .await
        .ok()?
        .ok()
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|source| Error::Io {
        path: PathBuf::from("127.0.0.1:0"),
        source,
    })?;
    let port = l
        .local_addr()
        .map_err(|source| Error::Io {
            path: PathBuf::from("127.0.0.1:0"),
            source,
        })?
        .port();
    Ok(port)
}

/// Every folder from the current directory up, then from this crate's source up: where the
/// repository's `node_modules` and `scripts/` are looked for.
pub(crate) fn search_dirs() -> Vec<PathBuf> {
    let mut starts = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        starts.push(cwd);
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    starts
        .iter()
        .flat_map(|s| s.ancestors().map(Path::to_path_buf))
        .collect()
}

/// Finds the anvil binary (see the module docs).
pub fn find_anvil() -> Result<PathBuf> {
    let mut tried = Vec::new();
    if let Some(p) = std::env::var_os("VOUCH_ANVIL") {
        return Ok(PathBuf::from(p));
    }
    for dir in search_dirs() {
        let nm = dir.join("node_modules");
        if !nm.is_dir() {
            continue;
        }
        if let Ok(rd) = std::fs::read_dir(nm.join("@foundry-rs")) {
            for e in rd.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().starts_with("anvil-") {
                    let bin = e.path().join("bin").join("anvil");
                    if bin.is_file() {
                        return Ok(bin);
                    }
                }
            }
        }
        let shim = nm.join(".bin").join("anvil");
        if shim.exists() {
            return Ok(shim);
        }
        tried.push(shim.display().to_string());
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let bin = dir.join("anvil");
            if bin.is_file() {
                return Ok(bin);
            }
        }
    }
    tried.push("anvil on PATH".to_owned());
    Err(Error::AnvilNotFound {
        tried: tried.join(", "),
    })
}
