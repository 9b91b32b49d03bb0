//! The README's main job, `vouch demo`, run as a user runs it: a local network comes up, a task
//! settles in each mode, a lying provider is slashed and every receipt verifies; the process
//! exits 0 only if every step passed.

use std::process::Command;

#[test]
fn the_network_demo_runs_to_the_end() {
    let dir = std::env::temp_dir().join(format!("vouch-demo-{}", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["demo", "--dir"])
        .arg(&dir)
        .args(["--window", "4"])
        .output()
        .expect("run vouch demo");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "vouch demo failed\n{stdout}\n{stderr}");
    for what in [
        "the optimistic task settled on-chain",
        "the committee task settled on-chain",
        "the zk task settled on-chain",
        "the liar's bond is slashed",
        "demo finished: every check passed",
    ] {
        assert!(stdout.contains(what), "missing {what:?} in\n{stdout}");
    }
    assert!(
        stdout.matches("receipt checks pass").count() >= 3,
        "every settled task's receipt is verified\n{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
