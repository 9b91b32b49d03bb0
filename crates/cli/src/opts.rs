//! The argument tree.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// vouch: verifiable AI inference settled on Ethereum.
///
/// Import an ONNX model into a content-addressed integer package, run it bit-exactly, and
/// (in later stages) settle its answers on a chain.
#[derive(Debug, Parser)]
#[command(name = "vouch", version, about, long_about = None)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import, inspect model packages.
    #[command(subcommand)]
    Model(ModelCmd),
    /// Run a package on inputs and print outputs and their commitment.
    Infer(InferArgs),
    /// The end-to-end demo: a local network, a task in each mode, a liar slashed, receipts
    /// verified (`--offline`: the model pipeline alone).
    Demo(DemoArgs),
    /// Zero-knowledge proofs of inference (Groth16): setup, prove, verify, Solidity export.
    #[command(subcommand)]
    Zk(crate::cmd::zk::ZkCmd),
    /// Start, stop and inspect the local devnet (anvil).
    #[command(subcommand)]
    Devnet(crate::cmd::devnet::DevnetCmd),
    /// Deploy the contracts and record their addresses.
    Deploy(crate::cmd::deploy::DeployArgs),
    /// Manage encrypted signing keys.
    #[command(subcommand)]
    Key(crate::cmd::key::KeyCmd),
    /// Stake and serve models as a provider.
    #[command(subcommand)]
    Provider(crate::cmd::provider::ProviderCmd),
    /// Request, submit, finalize and challenge inference tasks.
    #[command(subcommand)]
    Task(crate::cmd::task::TaskCmd),
    /// The local content-addressed store: put, get, CAR export/import.
    #[command(subcommand)]
    Store(crate::cmd::store::StoreCmd),
    /// Run a node: provider, challenger and committee roles, store and metrics over HTTP.
    Node(crate::cmd::node::NodeArgs),
    /// Serve the HTTP gateway: SIWE sign-in, tasks, events, models, providers, OpenAPI.
    Gateway(crate::cmd::gateway::GatewayArgs),
    /// Start a whole local network: devnet, contracts, model, providers, challenger, gateway.
    Up(crate::cmd::up::UpArgs),
    /// Check receipts of finalized tasks independently.
    #[command(subcommand)]
    Receipt(crate::cmd::receipt::ReceiptCmd),
}

/// `vouch model ...`
#[derive(Debug, Subcommand)]
pub enum ModelCmd {
    /// Import an ONNX model: calibrate, quantize, print the accuracy table and content id.
    Import(ImportArgs),
    /// Describe a package: content id, weights root, inputs, outputs, nodes, accuracy.
    Inspect(InspectArgs),
    /// Register a package on-chain (CID, hash, weights root, graph root, semantics version).
    Publish(crate::cmd::publish::PublishArgs),
}

/// `vouch model import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ONNX model file.
    pub model: PathBuf,
    /// Calibration samples: a JSON object mapping each input name to a nested array (rows = batch).
    #[arg(long, short = 'c')]
    pub calibration: PathBuf,
    /// Graph outputs to keep, comma separated (default: all outputs the importer supports).
    #[arg(long, value_delimiter = ',')]
    pub outputs: Option<Vec<String>>,
    /// Where to write the package (default: MODEL with the extension `.vpkg`).
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Display name recorded in the package (default: the file stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Integer width: 16 (act16 activations, i16 weights; about 256 times less error) or 8
    /// (act8/i8, semantics version 1: faster engine kernels and smaller zk circuits).
    #[arg(long, default_value_t = 16)]
    pub bits: u32,
}

/// `vouch model inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The package file.
    pub package: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// `vouch infer`
#[derive(Debug, Args)]
pub struct InferArgs {
    /// The package file.
    #[arg(long, short = 'm')]
    pub model: PathBuf,
    /// Inputs: a JSON object mapping each input name to a nested array (rows = batch).
    #[arg(long, short = 'i')]
    pub input: PathBuf,
    /// Worker threads (results are bit-identical for every value).
    #[arg(long, default_value_t = default_threads())]
    pub threads: usize,
    /// Write every layer's integer tensor and Merkle root to this directory.
    #[arg(long)]
    pub trace: Option<PathBuf>,
}

/// `vouch demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Working directory (wiped at start).
    #[arg(long, default_value = ".vouch/demo")]
    pub dir: PathBuf,
    /// Only the model pipeline: import, quantize, infer, check (no chain).
    #[arg(long)]
    pub offline: bool,
    /// Honest provider nodes.
    #[arg(long, default_value_t = 3)]
    pub providers: usize,
    /// Challenge and reveal windows in seconds.
    #[arg(long, default_value_t = 8)]
    pub window: u32,
    /// Skip the zk mode (no setup).
    #[arg(long)]
    pub no_zk: bool,
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
