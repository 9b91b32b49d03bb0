//! The `vouch` command line: a clap tree with one module per subcommand.
//!
//! | module | holds |
//! |---|---|
//! | [`opts`] | the argument tree |
//! | [`cmd`] | one file per subcommand |
//! | [`io`] | JSON inputs and outputs, package files |
//! | [`logging`] | structured logs of long-running commands |
//! | [`out`] | everything printed to the terminal |

#![forbid(unsafe_code)]
pub mod cmd;
pub mod io;
pub mod logging;
pub mod opts;
pub mod out;

use clap::Parser;

/// Runs the CLI and returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let args = opts::Cli::parse();
    match cmd::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            out::error(&e);
            std::process::ExitCode::FAILURE
        }
    }
}
