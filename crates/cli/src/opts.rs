//! The top of the argument tree: every subcommand keeps its own arguments in its file under
//! [`crate::cmd`].

use clap::{Parser, Subcommand};

/// vouch: verifiable AI inference settled on Ethereum.
///
/// Import an ONNX model into a content-addressed integer package, run it bit-exactly, and
/// settle its answers on a chain with a zk proof, a fraud proof or a staked committee.
/// `vouch demo` runs the whole flow on a local network; `vouch up` keeps one running.
#[derive(Debug, Parser)]
#[command(name = "vouch", version, about, long_about = None)]
pub struct Cli {
    /// Print the result as one JSON document on stdout (the gateway API's field names); text
    /// goes to stderr.
    #[arg(long, global = true)]
    pub json: bool,
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
    Infer(crate::cmd::infer::InferArgs),
    /// The end-to-end demo: a local network, a task in each mode, a liar slashed, receipts
    /// verified (`--offline`: the model pipeline alone).
    Demo(crate::cmd::demo::DemoArgs),
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
    /// Run a node: provider, challenger, committee and auditor roles, store and metrics over HTTP.
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
    Import(crate::cmd::model_import::ImportArgs),
    /// Describe a package: content id, weights root, inputs, outputs, nodes, accuracy.
    Inspect(crate::cmd::model_inspect::InspectArgs),
    /// Register a package on-chain (CID, hash, weights root, graph root, semantics version).
    Publish(crate::cmd::publish::PublishArgs),
}
