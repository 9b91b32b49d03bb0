//! The `vouch` command line: the top of the argument tree, one module per subcommand (its
//! arguments and what it does), and the pieces they share.
//!
//! | module | holds |
//! |---|---|
//! | [`opts`] | the top of the argument tree |
//! | [`cmd`] | one file per subcommand: its arguments and its work |
//! | [`chain_args`] | the endpoint, data directory and key arguments chain commands share |
//! | [`io`] | JSON inputs and outputs, package files |
//! | [`logging`] | structured logs of long-running commands |
//! | [`out`] | everything printed to the terminal |

#![forbid(unsafe_code)]
pub mod chain_args;
pub mod cmd;
pub mod io;
pub mod logging;
pub mod opts;
pub mod out;

use clap::Parser;
use opts::{Cli, Command, ModelCmd};

/// Runs the CLI and returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let args = opts::Cli::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            out::error(&e);
            std::process::ExitCode::FAILURE
        }
    }
}

/// Dispatches a parsed command line.
pub fn run(cli: Cli) -> eyre::Result<()> {
    use cmd::*;
    out::set_json(cli.json);
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
