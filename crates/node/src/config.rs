//! What a node does and how.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The roles a node plays (several at once if asked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roles {
    /// Claims optimistic and zk tasks of the models it serves, executes and submits them,
    /// finalizes them after the window and answers disputes.
    pub provider: bool,
    /// Re-executes results posted by others (all, or a sampled share) and disputes mismatches.
    pub challenger: bool,
    /// Serves in committees it is drawn into: commit, reveal, dispute disagreements.
    pub committee: bool,
    /// Audits tasks flagged for audit: re-executes them in the audit window, confirms a
    /// matching result (paid `auditReward` when the window ends unchallenged), challenges a
    /// differing one, and closes the audit after the window.
    pub auditor: bool,
}

/// How a faulty node lies (for demos and tests of the slashing path).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lie {
    /// Never.
    #[default]
    Never,
    /// Every result it posts has its last output element changed by one.
    Always,
}

/// A node's configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// A name for logs and metrics labels.
    pub name: String,
    /// Roles.
    pub roles: Roles,
    /// Model ids served; empty serves every model this key is opted in to.
    pub models: Vec<u32>,
    /// Lying policy (honest by default).
    pub lie: Lie,
    /// Blocks an event must be buried under before the node acts on it.
    pub confirmations: u64,
    /// How often the node polls the chain head.
    pub poll: Duration,
    /// Where the journal (`node.sqlite`) and the blob store (`store/`) live.
    pub data_dir: PathBuf,
    /// Base URLs of peer nodes whose stores serve model packages (`GET /blocks/{cid}`).
    pub peers: Vec<String>,
    /// Where to serve `GET /metrics` and the store (`GET /blocks/{cid}`); none to not serve.
    pub listen: Option<SocketAddr>,
    /// Share of other providers' results a challenger re-executes, in basis points.
    pub sample_bps: u16,
    /// Zk proving keys per `(model, version)` (zk tasks are skipped without them).
    pub zk_keys: BTreeMap<(u32, u16), PathBuf>,
    /// Flush the receipt chain into one EAS attestation this often (none: never).
    pub flush_receipts: Option<Duration>,
    /// Attest the receipt of every finalized task, in journaled batches (none: never).
    pub attest_receipts: Option<crate::ReceiptBatching>,
    /// Longest random wait before claiming an optimistic task (spreads work over providers).
    pub stagger: Duration,
    /// First block to read events from when the journal has no cursor yet (none: the
    /// deployment block).
    pub start_block: Option<u64>,
    /// A beacon node's REST API (`http://host:5052`) to read blob inputs back from
    /// (`GET /eth/v1/beacon/blobs/{block_id}`); none: anvil's own pool (`anvil_getBlobByHash`),
    /// which only an anvil RPC answers.
    pub beacon_url: Option<String>,
}

impl NodeConfig {
    /// A provider-only node with the defaults of a local devnet.
    pub fn new(name: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            roles: Roles {
                provider: true,
                ..Roles::default()
            },
            models: Vec::new(),
            lie: Lie::Never,
            confirmations: 0,
            poll: Duration::from_millis(250),
            data_dir: data_dir.into(),
            peers: Vec::new(),
            listen: None,
            sample_bps: 10_000,
            zk_keys: BTreeMap::new(),
            flush_receipts: None,
            attest_receipts: None,
            stagger: Duration::from_millis(100),
            start_block: None,
            beacon_url: None,
        }
    }
}
