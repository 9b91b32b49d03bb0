//! `vouch key` end to end, as a user runs it: a keystore from the real `cast wallet new`
//! (`node_modules/.bin/cast`, from `scripts/bootstrap-node.sh`) imported with `--keystore`,
//! listed with the address cast printed, read back by cast; a wrong password; a file copied by
//! hand; `key new` at geth's scrypt cost with its progress message.

mod common;

use common::tmp;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PW: &str = "hunter2 but longer";

fn vouch(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("VOUCH_PASSWORD")
        .env_remove("VOUCH_DATA_DIR")
        .output()
        .expect("run vouch")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn cast(args: &[&str]) -> String {
    let bin = std::env::var_os("VOUCH_CAST").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node_modules/.bin/cast"),
        PathBuf::from,
    );
    assert!(
        bin.exists(),
        "{} not found: run scripts/bootstrap-node.sh (or set VOUCH_CAST)",
        bin.display()
    );
    let o = Command::new(&bin).args(args).output().expect("run cast");
    assert!(o.status.success(), "cast {args:?}: {}", text(&o).1);
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn import_a_cast_keystore_list_it_and_refuse_a_wrong_password() {
    let dir = tmp("cast");
    let data = dir.join("data");
    let pw_file = dir.join("pw");
    std::fs::write(&pw_file, format!("{PW}\n")).unwrap();
    let wrong_file = dir.join("wrong");
    std::fs::write(&wrong_file, "Tr0ub4dor&3\n").unwrap();

    // cast wallet new DIR NAME --unsafe-password PW --json (DIR must exist: cast says so on
    // stderr but exits 0)
    let ks_dir = dir.join("cast");
    std::fs::create_dir_all(&ks_dir).unwrap();
    let out = cast(&[
        "wallet",
        "new",
        ks_dir.to_str().unwrap(),
        "acct",
        "--unsafe-password",
        PW,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let address = v[0]["address"].as_str().unwrap().to_owned();
    let file = v[0]["path"].as_str().unwrap().to_owned();
    let secret = cast(&[
        "wallet",
        "decrypt-keystore",
        "acct",
        "-k",
        ks_dir.to_str().unwrap(),
        "--unsafe-password",
        PW,
    ]);
    let secret = secret
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_start_matches("0x")
        .to_owned();

    // a wrong password: a clear error, exit 1, no key and no password printed, nothing stored
    let o = vouch(
        &data,
        &[
            "key",
            "import",
            "acct",
            "--keystore",
            &file,
            "--password-file",
            wrong_file.to_str().unwrap(),
        ],
    );
    let (so, se) = text(&o);
    assert!(!o.status.success());
    assert!(se.contains("wrong password"), "{se}");
    for shown in [&so, &se] {
        assert!(
            !shown.contains(&secret) && !shown.contains("Tr0ub4dor") && !shown.contains(PW),
            "{shown}"
        );
    }

    // the import: the address cast printed, the progress message, the file re-encrypted
    let o = vouch(
        &data,
        &[
            "key",
            "import",
            "acct",
            "--keystore",
            &file,
            "--password-file",
            pw_file.to_str().unwrap(),
        ],
    );
    let (so, se) = text(&o);
    assert!(o.status.success(), "{se}");
    assert_eq!(so.trim(), format!("acct  {address}"));
    assert!(se.contains("re-encrypting it (scrypt n=2^18"), "{se}");
    assert!(!so.contains(&secret) && !se.contains(&secret) && !se.contains(PW));
    let stored = data.join("keys/acct.json");
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&stored).unwrap()).unwrap();
    assert_eq!(j["crypto"]["kdfparams"]["n"], 262144);
    assert_eq!(
        format!("0x{}", j["address"].as_str().unwrap()),
        address.to_lowercase()
    );

    // cast reads vouch's file with the same password
    let back = cast(&[
        "wallet",
        "address",
        "--keystore",
        stored.to_str().unwrap(),
        "--password",
        PW,
    ]);
    assert_eq!(back.trim(), address);

    // a file copied by hand (no address field) lists as unknown, never as 0x000…0
    std::fs::copy(&file, data.join("keys/copied.json")).unwrap();
    let o = vouch(&data, &["key", "list"]);
    let (so, se) = text(&o);
    assert!(o.status.success(), "{se}");
    let row = |name: &str| {
        so.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no `{name}` row in\n{so}"))
            .to_owned()
    };
    assert!(row("acct").ends_with(&address), "{so}");
    assert!(row("copied").contains("unknown"), "{so}");
    assert!(
        !so.contains("0x0000000000000000000000000000000000000000"),
        "{so}"
    );

    // the name is taken: refused before any decryption
    let o = vouch(
        &data,
        &[
            "key",
            "import",
            "acct",
            "--keystore",
            &file,
            "--password-file",
            pw_file.to_str().unwrap(),
        ],
    );
    assert!(text(&o).1.contains("exists already"), "{}", text(&o).1);

    // not a keystore
    let junk = dir.join("junk.txt");
    std::fs::write(&junk, format!("0x{secret}\n")).unwrap();
    let o = vouch(
        &data,
        &[
            "key",
            "import",
            "junk",
            "--keystore",
            junk.to_str().unwrap(),
            "--password-file",
            pw_file.to_str().unwrap(),
        ],
    );
    let (_, se) = text(&o);
    assert!(
        !o.status.success() && se.contains("not a JSON keystore"),
        "{se}"
    );
    assert!(!se.contains(&secret), "{se}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn key_new_uses_geths_scrypt_cost_and_says_so() {
    let dir = tmp("new");
    let data = dir.join("data");
    let pw_file = dir.join("pw");
    std::fs::write(&pw_file, format!("{PW}\n")).unwrap();
    let o = vouch(
        &data,
        &[
            "key",
            "new",
            "fresh",
            "--password-file",
            pw_file.to_str().unwrap(),
        ],
    );
    let (so, se) = text(&o);
    assert!(o.status.success(), "{se}");
    assert!(
        se.contains("encrypting (scrypt n=2^18, about a second)"),
        "{se}"
    );
    let address = so.split_whitespace().nth(1).unwrap().to_owned();
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("keys/fresh.json")).unwrap()).unwrap();
    let p = &j["crypto"]["kdfparams"];
    assert_eq!(
        (p["n"].as_u64(), p["r"].as_u64(), p["p"].as_u64()),
        (Some(262144), Some(8), Some(1))
    );
    let o = vouch(&data, &["key", "list"]);
    assert!(text(&o).0.contains(&address), "{}", text(&o).0);
    // --private-key-file and --keystore exclude each other
    let o = vouch(
        &data,
        &[
            "key",
            "import",
            "x",
            "--keystore",
            "a",
            "--private-key-file",
            "b",
        ],
    );
    assert!(text(&o).1.contains("cannot be used with"), "{}", text(&o).1);
    let _ = std::fs::remove_dir_all(&dir);
}
