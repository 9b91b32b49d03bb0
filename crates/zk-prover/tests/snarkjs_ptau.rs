//! `vouch zk ptau new`'s file against the real snarkjs (npm, pinned in
//! `interop/package-lock.json`, installed by `scripts/bootstrap-interop.sh`, which this test
//! calls): `snarkjs powersoftau verify` accepts it (the contribution record, its proof of
//! knowledge, the transcript hashes and the phase-2 sections all check), and rejects it once
//! one tau power is changed.
//!
//! Needs node and npm: without them the test fails and says so (it does not skip).
#![allow(clippy::print_stderr)]

mod common;

use std::ffi::OsStr;
use std::path::Path;
use vouch_zk_prover::ptau;

fn snarkjs_verify(nm: &Path, ptau: &Path) -> (bool, String) {
    let args = [
        OsStr::new("powersoftau"),
        OsStr::new("verify"),
        ptau.as_os_str(),
    ];
    let cli = nm.join("snarkjs/build/cli.cjs");
    vouch_testkit::interop::run_node(&cli, &args, &common::root())
}

#[test]
fn snarkjs_verifies_the_local_ptau() {
    let nm = vouch_testkit::interop::node_modules();
    let dir = std::env::temp_dir().join(format!("vouch-snarkjs-ptau-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dev.ptau");
    let bytes = ptau::insecure_new(6, &|_| {}).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let (ok, text) = snarkjs_verify(&nm, &path);
    assert!(ok && text.contains("Powers of Tau Ok!"), "{text}");
    assert!(text.contains(ptau::INSECURE_NAME), "{text}");

    // vouch still reads it.
    let p = ptau::Ptau::parse(&bytes).unwrap();
    assert!(p.is_prepared());
    p.srs(6).unwrap();

    // One tau power replaced by another point: refused.
    let mut bad = bytes.clone();
    let s2 = find_section(&bytes, 2);
    let p4 = bytes[s2 + 64 * 4..s2 + 64 * 5].to_vec();
    bad[s2 + 64 * 3..s2 + 64 * 4].copy_from_slice(&p4);
    std::fs::write(&path, &bad).unwrap();
    let (ok, text) = snarkjs_verify(&nm, &path);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!ok, "{text}");
}

/// The offset of section `ty`'s data.
fn find_section(b: &[u8], ty: u32) -> usize {
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let mut at = 12;
    for _ in 0..u32_at(8) {
        let size = u64::from_le_bytes(b[at + 4..at + 12].try_into().unwrap()) as usize;
        if u32_at(at) == ty {
            return at + 12;
        }
        at += 12 + size;
    }
    panic!("no section {ty}");
}
