//! The `vouch` binary.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    vouch_cli::main()
}
