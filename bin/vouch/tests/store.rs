//! `vouch store` end to end against the real `ipfs-car` (installed by
//! `scripts/bootstrap-interop.sh`): `put` prints ipfs-car's CID, `get` writes the file back,
//! `import` takes ipfs-car's default (directory-wrapped) CAR and vouch's own export, and a
//! broken CAR is an error, not a panic.

use std::path::PathBuf;
use std::process::{Command, Output};

fn vouch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .output()
        .expect("run vouch")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "vouch failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The real `ipfs-car` (pinned in `interop/package-lock.json`).
fn ipfs_car() -> PathBuf {
    vouch_testkit::interop::tool(".bin/ipfs-car")
}

#[test]
fn put_get_import_match_ipfs_car() {
    let bin = ipfs_car();
    let dir = std::env::temp_dir().join(format!("vouch-store-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p = |name: &str| dir.join(name).display().to_string();

    let mut s = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..3 * (1 << 20) + 5)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect();
    std::fs::write(p("model.bin"), &data).unwrap();

    // put: the CID ipfs-car prints for the bare file.
    let cid = ok(&vouch(&[
        "store",
        "put",
        &p("model.bin"),
        "--data-dir",
        &p("a"),
    ]));
    let cid = cid.trim();
    let theirs = Command::new(&bin)
        .args([
            "pack",
            &p("model.bin"),
            "--no-wrap",
            "--output",
            &p("bare.car"),
        ])
        .output()
        .unwrap();
    assert_eq!(cid, String::from_utf8_lossy(&theirs.stdout).trim());
    assert!(cid.starts_with("bafybei"), "{cid}");

    // get: the same bytes back.
    ok(&vouch(&[
        "store",
        "get",
        cid,
        "-o",
        &p("out.bin"),
        "--data-dir",
        &p("a"),
    ]));
    assert!(std::fs::read(p("out.bin")).unwrap() == data);

    // import ipfs-car's default, directory-wrapped CAR: the file is listed by CID and name.
    let wrapped = Command::new(&bin)
        .args(["pack", &p("model.bin"), "--output", &p("wrapped.car")])
        .output()
        .unwrap();
    assert!(wrapped.status.success());
    let listed = ok(&vouch(&[
        "store",
        "import",
        &p("wrapped.car"),
        "--data-dir",
        &p("b"),
    ]));
    assert_eq!(listed.trim(), format!("{cid}  model.bin"));
    ok(&vouch(&[
        "store",
        "get",
        cid,
        "-o",
        &p("out2.bin"),
        "--data-dir",
        &p("b"),
    ]));
    assert!(std::fs::read(p("out2.bin")).unwrap() == data);

    // export from one store, import into another.
    ok(&vouch(&[
        "store",
        "export",
        "--car",
        cid,
        "-o",
        &p("ours.car"),
        "--data-dir",
        &p("a"),
    ]));
    let listed = ok(&vouch(&[
        "store",
        "import",
        &p("ours.car"),
        "--data-dir",
        &p("c"),
    ]));
    assert_eq!(listed.trim(), cid);

    // A CAR cut short, and junk: clear errors, no panic, exit code 1.
    let car = std::fs::read(p("ours.car")).unwrap();
    std::fs::write(p("cut.car"), &car[..car.len() / 2]).unwrap();
    std::fs::write(p("junk.car"), b"\x05hello not a car").unwrap();
    for bad in ["cut.car", "junk.car"] {
        let o = vouch(&["store", "import", &p(bad), "--data-dir", &p("d")]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{bad} imported");
        assert!(
            err.contains("cannot import") && !err.contains("panicked"),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
