//! `vouch up` as a process: killed with SIGKILL it leaves no anvil behind on its port, and
//! `vouch up --resume` brings the same network (chain, contracts, journals) back from its
//! directory.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Starts `vouch up` in `dir` and reads its output until it serves; returns the process, the
/// devnet's port and the output so far.
fn up(dir: &Path, resume: bool) -> (Child, u16, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vouch"));
    cmd.arg("up")
        .arg("--dir")
        .arg(dir)
        .args(["--rpc-port", "0", "--gateway", "127.0.0.1:0"]);
    if resume {
        cmd.arg("--resume");
    } else {
        cmd.args(["--no-zk", "--providers", "1", "--window", "2"]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run vouch up");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut text = String::new();
    let start = Instant::now();
    loop {
        let line = match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(l) => l,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                assert!(
                    start.elapsed() < Duration::from_secs(240),
                    "vouch up did not come up:\n{text}"
                );
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.kill();
                panic!("vouch up exited early:\n{text}");
            }
        };
        text.push_str(&line);
        text.push('\n');
        if line.contains("ctrl-c stops everything") {
            break;
        }
    }
    let port = text
        .split("devnet up at http://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no devnet port in\n{text}"));
    (child, port, text)
}

fn answers(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Kills `child` with SIGKILL (no shutdown step of its own) and waits until nothing answers
/// on the devnet's port.
fn kill_hard(mut child: Child, port: u16) {
    assert!(answers(port), "the devnet answers while vouch up runs");
    child.kill().unwrap();
    child.wait().unwrap();
    let start = Instant::now();
    while answers(port) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "anvil is still running on port {port} after vouch up was killed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_killed_network_leaves_nothing_behind_and_resumes_from_its_directory() {
    let dir = std::env::temp_dir().join(format!("vouch-up-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    // resuming where nothing was saved is a clear error
    let o = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["up", "--resume", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("nothing to resume"),
        "{err}"
    );

    let (child, port, text) = up(&dir, false);
    assert!(text.contains("contracts deployed"), "{text}");
    kill_hard(child, port);
    assert!(dir.join("anvil-state.json").exists(), "the chain is saved");

    let (child, port, text) = up(&dir, true);
    assert!(
        text.contains("saved state loaded")
            && text.contains("found on the resumed chain")
            && !text.contains("contracts deployed"),
        "{text}"
    );
    kill_hard(child, port);
    let _ = std::fs::remove_dir_all(&dir);
}
