//! One module per subcommand.

pub mod demo;
pub mod infer;
pub mod model_import;
pub mod model_inspect;
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
        Command::Zk(c) => zk::run(&c),
    }
}
