//! The ecosystem's own tools the interop tests judge vouch by (snarkjs, ipfs-car, circomlibjs),
//! pinned in `interop/package-lock.json` and installed on first use by
//! `scripts/bootstrap-interop.sh`. A machine without Node.js fails the test with what to
//! install; it never skips.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `interop/node_modules` folder, installing the pinned tools first if the checkout lacks
/// them.
pub fn node_modules() -> PathBuf {
    for tool in ["node", "npm"] {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "this test runs the ecosystem's own tools: it needs `{tool}` (Node.js 18+) on PATH; \
             install Node.js, then run scripts/bootstrap-interop.sh"
        );
    }
    let out = Command::new("bash")
        .arg(crate::repo().join("scripts/bootstrap-interop.sh"))
        .output()
        .expect("cannot run scripts/bootstrap-interop.sh");
    assert!(
        out.status.success(),
        "scripts/bootstrap-interop.sh failed (is npm installed and the registry reachable?):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let folder = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(folder.lines().last().unwrap_or_default().trim())
}

/// The path of an installed tool's entry (`snarkjs/build/cli.cjs`, `.bin/ipfs-car`), checked
/// to exist.
pub fn tool(entry: &str) -> PathBuf {
    let path = node_modules().join(entry);
    assert!(
        path.exists(),
        "{} is missing after scripts/bootstrap-interop.sh",
        path.display()
    );
    path
}

/// Runs `node script args...` in `cwd`, echoing the command and its output (shown with
/// `--nocapture`); returns whether it succeeded and its stdout followed by its stderr.
pub fn run_node<S: AsRef<OsStr>>(script: &Path, args: &[S], cwd: &Path) -> (bool, String) {
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    eprintln!("$ node {} {}", script.display(), shown.join(" "));
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("cannot run node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    (out.status.success(), text)
}
