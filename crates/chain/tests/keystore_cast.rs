//! Keystores written by the real `cast wallet new` (Foundry, from `scripts/bootstrap-node.sh`)
//! imported into vouch's keystore, and vouch's own files read back by cast: addresses, EIP-191
//! signatures, wrong passwords and files that lie about their address.
#![allow(clippy::print_stderr)] // prints the scrypt timings (`cargo test -- --nocapture`)

use std::path::{Path, PathBuf};
use vouch_chain::alloy::primitives::{Address, hex};
use vouch_chain::alloy::signers::SignerSync;
use vouch_chain::{Error, KeyfileError, Keystore, ScryptCost};
use vouch_testkit::run_cast;

const PW: &str = "correct horse battery staple";

/// `cast wallet new DIR NAME --unsafe-password PW --json`: the file and the address cast printed.
fn cast_wallet_new(dir: &Path, name: &str) -> (PathBuf, Address) {
    std::fs::create_dir_all(dir).unwrap();
    let out = run_cast(&[
        "wallet",
        "new",
        dir.to_str().unwrap(),
        name,
        "--unsafe-password",
        PW,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let address = v[0]["address"].as_str().unwrap().parse().unwrap();
    (PathBuf::from(v[0]["path"].as_str().unwrap()), address)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_cast_keystore_imports_with_its_address_and_signs_as_cast_does() {
    let dir = tempfile::tempdir().unwrap();
    let (file, address) = cast_wallet_new(&dir.path().join("cast"), "acct");
    assert!(
        json(&file).get("address").is_none(),
        "cast writes no address field"
    );

    // geth's standard cost: the stored file is n = 2^18
    let ks = Keystore::new(dir.path().join("keys"));
    let t = std::time::Instant::now();
    let entry = ks.import_keystore("acct", &file, PW.as_bytes()).unwrap();
    let import_time = t.elapsed();
    assert_eq!(entry.address, Some(address));
    assert_eq!(ks.list().unwrap(), vec![entry.clone()]);
    assert_eq!(json(&entry.path)["crypto"]["kdfparams"]["n"], 262144);

    let t = std::time::Instant::now();
    let signer = ks.unlock("acct", PW.as_bytes()).unwrap();
    let unlock_time = t.elapsed();
    assert_eq!(signer.address(), address);
    eprintln!(
        "import (decrypt n=2^13 + encrypt n=2^18) {import_time:?}, unlock n=2^18 {unlock_time:?}"
    );

    // the same EIP-191 signature as `cast wallet sign` with the original file
    let msg = "vouch issue 19";
    let ours = signer.sign_message_sync(msg.as_bytes()).unwrap();
    let theirs = run_cast(&[
        "wallet",
        "sign",
        "--keystore",
        file.to_str().unwrap(),
        "--password",
        PW,
        msg,
    ]);
    assert_eq!(hex::encode_prefixed(ours.as_bytes()), theirs.trim());

    // and cast reads the file vouch wrote (n = 2^18, address field, same password)
    let back = run_cast(&[
        "wallet",
        "address",
        "--keystore",
        entry.path.to_str().unwrap(),
        "--password",
        PW,
    ]);
    assert_eq!(back.trim().parse::<Address>().unwrap(), address);
}

#[test]
fn cast_keystores_with_and_without_address_and_the_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (file, address) = cast_wallet_new(&dir.path().join("cast"), "acct");
    let secret = run_cast(&[
        "wallet",
        "decrypt-keystore",
        "acct",
        "-k",
        dir.path().join("cast").to_str().unwrap(),
        "--unsafe-password",
        PW,
    ]);
    let secret = secret.trim().rsplit(' ').next().unwrap().to_owned();
    let secret = secret.trim_start_matches("0x").to_owned();
    assert_eq!(secret.len(), 64);
    let ks = Keystore::new(dir.path().join("keys")).with_cost(ScryptCost::LIGHT);

    // a wrong password: a typed error that shows neither the key nor the password
    let err = ks
        .import_keystore("acct", &file, b"not the password")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Keystore {
                source: KeyfileError::WrongPassword,
                ..
            }
        ),
        "{err}"
    );
    let msg = format!("{err} {err:?}");
    assert!(msg.contains("wrong password"), "{msg}");
    assert!(
        !msg.contains(&secret) && !msg.contains("not the password"),
        "{msg}"
    );

    // with the address field geth writes (lowercase, no 0x), and with 0x and checksum case
    let mut v = json(&file);
    for (name, field) in [
        ("geth", hex::encode(address)),
        ("checksummed", address.to_checksum(None)),
    ] {
        v["address"] = serde_json::json!(field);
        let f = dir.path().join(format!("{name}.json"));
        std::fs::write(&f, v.to_string()).unwrap();
        assert_eq!(
            ks.import_keystore(name, &f, PW.as_bytes()).unwrap().address,
            Some(address)
        );
    }
    // an address field that is not the key's: refused
    v["address"] = serde_json::json!("000000000000000000000000000000000000dead");
    let liar = dir.path().join("liar.json");
    std::fs::write(&liar, v.to_string()).unwrap();
    let err = ks
        .import_keystore("liar", &liar, PW.as_bytes())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Keystore {
                source: KeyfileError::AddressMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&address.to_string()), "{err}");

    // copied by hand into the keys folder, without an address: never listed as 0x00…0
    std::fs::copy(&file, ks.dir().join("copied.json")).unwrap();
    let copied = ks.find("copied").unwrap();
    assert_eq!(copied.address, None);
    assert!(
        ks.list()
            .unwrap()
            .iter()
            .all(|k| k.address != Some(Address::ZERO))
    );
    assert_eq!(
        ks.unlock("copied", PW.as_bytes()).unwrap().address(),
        address
    );
    assert_eq!(ks.find("copied").unwrap().address, Some(address));
    let names: Vec<String> = ks.list().unwrap().into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["checksummed", "copied", "geth"]);

    // not JSON, not v3: clear errors naming the file
    let junk = dir.path().join("junk");
    std::fs::write(&junk, format!("0x{secret}")).unwrap();
    let err = ks
        .import_keystore("junk", &junk, b"x")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a JSON keystore") && err.contains("junk"),
        "{err}"
    );
    assert!(!err.contains(&secret), "{err}");
    std::fs::write(&junk, r#"{"version": 1, "Crypto": {}}"#).unwrap();
    let err = ks
        .import_keystore("junk", &junk, b"x")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a Web3 Secret Storage v3 keystore"),
        "{err}"
    );
}
