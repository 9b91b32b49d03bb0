//! One module per subcommand.

pub mod demo;
pub mod deploy;
pub mod devnet;
pub mod gateway;
pub mod infer;
pub mod key;
pub mod model_import;
pub mod model_inspect;
pub mod node;
pub mod pipeline;
pub mod provider;
pub mod publish;
pub mod receipt;
pub mod store;
pub mod task;
pub mod up;
pub mod zk;

use crate::opts::{Cli, Command, ModelCmd};
use eyre::Result;

/// Dispatches a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Model(ModelCmd::Import(a)) => model_import::run(&a),
        Command::Model(ModelCmd::Inspect(a)) => model_inspect::run(&a),
        Command::Infer(a) => infer::run(&a),
        Command::Demo(a) => demo::run(&a),
        Command::Model(ModelCmd::Publish(a)) => publish::run(&a),
        Command::Devnet(c) => devnet::run(&c),
        Command::Deploy(a) => deploy::run(&a),
        Command::Key(c) => key::run(&c),
        Command::Provider(c) => provider::run(&c),
        Command::Task(c) => task::run(&c),
        Command::Store(c) => store::run(&c),
        Command::Zk(c) => zk::run(&c),
        Command::Node(a) => node::run(&a),
        Command::Gateway(a) => gateway::run(&a),
        Command::Up(a) => up::run(&a),
        Command::Receipt(c) => receipt::run(&c),
    }
}
