//! Helpers the `vouch` binary's test files share: running the binary, fixture paths and
//! scratch directories.
#![allow(dead_code, unreachable_pub)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `vouch` binary under test with `args`.
pub fn vouch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .output()
        .expect("run vouch")
}

/// The path of `file` of fixture model `model` (`testdata/models/<model>/<file>`).
pub fn fixture(model: &str, file: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/models")
        .join(model)
        .join(file)
        .display()
        .to_string()
}

/// A fresh, empty scratch directory named after the test binary, this process and `name`.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "vouch-{}-{}-{name}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
