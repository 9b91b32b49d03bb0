//! The `vouch` binary.

fn main() -> std::process::ExitCode {
    vouch_cli::main()
}
