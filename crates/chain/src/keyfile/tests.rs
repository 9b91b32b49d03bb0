//! Tests of the keystore file format: vectors, malformed files, mutations.

use super::*;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// The PBKDF2 test vector of the Web3 Secret Storage definition (password `testpassword`).
const SPEC_PBKDF2: &str = r#"{
    "crypto": {
        "cipher": "aes-128-ctr",
        "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
        "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
        "kdf": "pbkdf2",
        "kdfparams": {
            "c": 262144, "dklen": 32, "prf": "hmac-sha256",
            "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"
        },
        "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"
    },
    "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    "version": 3
}"#;
const SPEC_KEY: &str = "7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d";

/// The scrypt vector of the same definition: n = 2^18 with r = 1, which RFC 7914 (and the
/// RustCrypto scrypt crate) rejects.
const SPEC_SCRYPT: &str = r#"{
    "crypto": {
        "cipher": "aes-128-ctr",
        "cipherparams": {"iv": "83dbcc02d8ccb40e466191a123791e0e"},
        "ciphertext": "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
        "kdf": "scrypt",
        "kdfparams": {
            "dklen": 32, "n": 262144, "p": 8, "r": 1,
            "salt": "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"
        },
        "mac": "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"
    },
    "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    "version": 3
}"#;

fn signer() -> PrivateKeySigner {
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        .parse()
        .unwrap()
}

fn light_file() -> Value {
    Keyfile::encrypt(&signer(), b"pw", ScryptCost::LIGHT)
        .unwrap()
        .to_json()
}

#[test]
fn round_trip_and_the_fields_geth_writes() {
    let v = light_file();
    assert_eq!(v["version"], 3);
    assert_eq!(v["address"], "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    assert_eq!(v["crypto"]["kdfparams"]["n"], 4096);
    let id = v["id"].as_str().unwrap();
    assert_eq!((id.len(), id.get(14..15)), (36, Some("4")));
    let kf = Keyfile::parse(v.to_string().as_bytes()).unwrap();
    assert_eq!(kf.decrypt(b"pw").unwrap().address(), signer().address());
    assert_eq!(kf.decrypt(b"pW"), Err(KeyfileError::WrongPassword));
    assert_eq!(Keyfile::from_json(&kf.to_json()).unwrap(), kf);
}

#[test]
fn the_spec_pbkdf2_vector_decrypts_and_the_r1_scrypt_vector_is_a_clear_error() {
    let kf = Keyfile::parse(SPEC_PBKDF2.as_bytes()).unwrap();
    let key = kf.decrypt(b"testpassword").unwrap();
    assert_eq!(hex::encode(key.to_bytes()), SPEC_KEY);
    assert_eq!(kf.decrypt(b"x"), Err(KeyfileError::WrongPassword));
    let err = Keyfile::parse(SPEC_SCRYPT.as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            KeyfileError::ScryptParams {
                n: 262144,
                r: 1,
                ..
            }
        ),
        "{err}"
    );
}

/// Sets `path` (dot-separated) in a JSON value, or removes it when `to` is `None`.
fn edit(v: &Value, path: &str, to: Option<Value>) -> Value {
    let mut v = v.clone();
    let mut cur = &mut v;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = &mut cur[*p];
    }
    let last = parts[parts.len() - 1];
    let obj = cur.as_object_mut().unwrap();
    match to {
        Some(x) => obj.insert(last.to_owned(), x),
        None => obj.remove(last),
    };
    v
}

#[test]
fn bad_files_give_typed_errors() {
    use KeyfileError as E;
    let v = light_file();
    let missing = |field| E::Missing { field };
    let bad = |field, expected| E::BadField { field, expected };
    let scrypt = |n: u64, r: u64, p: u64| move |e: &E| matches!(e, E::ScryptParams { n: a, r: b, p: c, .. } if (*a, *b, *c) == (n, r, p));
    type Check = Box<dyn Fn(&E) -> bool>;
    let cases: Vec<(Value, Check)> = vec![
        (json!([1, 2]), Box::new(|e| matches!(e, E::NotV3 { .. }))),
        (
            edit(&v, "version", None),
            Box::new(|e| matches!(e, E::NotV3 { .. })),
        ),
        (
            edit(&v, "version", Some(json!(1))),
            Box::new(|e| matches!(e, E::NotV3 { .. })),
        ),
        (
            edit(&v, "version", Some(json!("three"))),
            Box::new(move |e| *e == bad("version", "the number 3")),
        ),
        (
            edit(&v, "crypto", None),
            Box::new(move |e| *e == missing("crypto")),
        ),
        (
            edit(&v, "crypto.cipher", Some(json!("aes-256-gcm"))),
            Box::new(|e| matches!(e, E::UnknownCipher { cipher } if cipher == "aes-256-gcm")),
        ),
        (
            edit(&v, "crypto.kdf", Some(json!("argon2id"))),
            Box::new(|e| matches!(e, E::UnknownKdf { kdf } if kdf == "argon2id")),
        ),
        (
            edit(&v, "crypto.kdf", Some(json!("x".repeat(1000)))),
            Box::new(|e| matches!(e, E::UnknownKdf { kdf } if kdf.len() == 32)),
        ),
        (
            edit(&v, "crypto.mac", Some(json!("00"))),
            Box::new(move |e| *e == bad("crypto.mac", "32 bytes of hex")),
        ),
        (
            edit(&v, "crypto.mac", Some(json!("zz"))),
            Box::new(move |e| *e == bad("crypto.mac", "hex")),
        ),
        (
            edit(&v, "crypto.ciphertext", Some(json!(7))),
            Box::new(move |e| *e == bad("crypto.ciphertext", "a string")),
        ),
        (
            edit(&v, "crypto.cipherparams.iv", Some(json!("0011"))),
            Box::new(move |e| *e == bad("crypto.cipherparams.iv", "16 bytes of hex")),
        ),
        (
            edit(&v, "crypto.kdfparams.n", Some(json!(0))),
            Box::new(scrypt(0, 8, 6)),
        ),
        (
            edit(&v, "crypto.kdfparams.n", Some(json!(3000))),
            Box::new(scrypt(3000, 8, 6)),
        ),
        (
            edit(&v, "crypto.kdfparams.n", Some(json!(1u64 << 40))),
            Box::new(scrypt(1 << 40, 8, 6)),
        ),
        (
            edit(&v, "crypto.kdfparams.n", Some(json!(-1))),
            Box::new(move |e| *e == bad("crypto.kdfparams.n", "a non-negative integer")),
        ),
        (
            edit(&v, "crypto.kdfparams.r", Some(json!(0))),
            Box::new(scrypt(4096, 0, 6)),
        ),
        (
            edit(&v, "crypto.kdfparams.p", Some(json!(u64::MAX))),
            Box::new(scrypt(4096, 8, u64::MAX)),
        ),
        (
            edit(&v, "crypto.kdfparams.dklen", Some(json!(16))),
            Box::new(move |e| *e == bad("crypto.kdfparams.dklen", "a length from 32 to 64")),
        ),
        (
            edit(&v, "crypto.kdfparams.salt", None),
            Box::new(move |e| *e == missing("crypto.kdfparams.salt")),
        ),
        (
            edit(&v, "address", Some(json!("0x1234"))),
            Box::new(move |e| *e == bad("address", "a 20-byte hex address")),
        ),
    ];
    for (i, (file, check)) in cases.iter().enumerate() {
        let err = Keyfile::from_json(file).unwrap_err();
        assert!(check(&err), "case {i}: {err}");
        assert!(!err.to_string().is_empty());
    }
    // PBKDF2 bounds and its PRF
    let p: Value = serde_json::from_str(SPEC_PBKDF2).unwrap();
    let err = Keyfile::from_json(&edit(&p, "crypto.kdfparams.c", Some(json!(0)))).unwrap_err();
    assert_eq!(err, E::Pbkdf2Rounds { c: 0 });
    let err =
        Keyfile::from_json(&edit(&p, "crypto.kdfparams.c", Some(json!(1u64 << 33)))).unwrap_err();
    assert_eq!(err, E::Pbkdf2Rounds { c: 1 << 33 });
    let err = Keyfile::from_json(&edit(
        &p,
        "crypto.kdfparams.prf",
        Some(json!("hmac-sha512")),
    ))
    .unwrap_err();
    assert!(matches!(err, E::UnknownPrf { .. }), "{err}");
    // not JSON at all, and too large
    assert!(matches!(
        Keyfile::parse(b"0xac0974bec39a17e3"),
        Err(E::NotJson { .. })
    ));
    assert!(matches!(
        Keyfile::parse(&[b' '; 70_000]),
        Err(E::TooLarge { .. })
    ));
    // the old capitalised `Crypto` and `0x`-prefixed hex read
    let mut caps = edit(&v, "crypto", None);
    caps["Crypto"] = v["crypto"].clone();
    caps["version"] = json!("3");
    let iv = format!("0x{}", v["crypto"]["cipherparams"]["iv"].as_str().unwrap());
    let caps = edit(&caps, "Crypto.cipherparams.iv", Some(json!(iv)));
    assert_eq!(
        Keyfile::from_json(&caps).unwrap(),
        Keyfile::from_json(&v).unwrap()
    );
}

#[test]
fn a_tampered_file_is_refused() {
    let v = light_file();
    // a flipped ciphertext byte: the MAC catches it
    let mut ct = hex::decode(v["crypto"]["ciphertext"].as_str().unwrap()).unwrap();
    ct[0] ^= 1;
    let t = edit(&v, "crypto.ciphertext", Some(json!(hex::encode(&ct))));
    assert_eq!(
        Keyfile::from_json(&t).unwrap().decrypt(b"pw"),
        Err(KeyfileError::WrongPassword)
    );
    // an address field that is not the key's
    let t = edit(
        &v,
        "address",
        Some(json!("0x000000000000000000000000000000000000dead")),
    );
    assert!(matches!(
        Keyfile::from_json(&t).unwrap().decrypt(b"pw"),
        Err(KeyfileError::AddressMismatch { .. })
    ));
}

/// The property the fuzz target (`crates/chain/fuzz`) checks, on every `cargo test`: byte
/// mutations of a real file never panic the parser, and what parses decrypts or errors.
#[test]
fn mutations_never_panic() {
    let cheap = ScryptCost {
        log_n: 6,
        r: 8,
        p: 1,
    };
    let base = Keyfile::encrypt(&signer(), b"pw", cheap)
        .unwrap()
        .to_json()
        .to_string()
        .into_bytes();
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    let alphabet = b"0123456789abcdefx{}[]\":,-. ";
    for _ in 0..3000 {
        let mut b = base.clone();
        for _ in 0..rng.gen_range(1..4) {
            let i = rng.gen_range(0..b.len());
            match rng.gen_range(0..3) {
                0 => b[i] = alphabet[rng.gen_range(0..alphabet.len())],
                1 => {
                    b.remove(i);
                }
                _ => b.insert(i, alphabet[rng.gen_range(0..alphabet.len())]),
            }
        }
        if let Ok(kf) = Keyfile::parse(&b)
            && kf.kdf.work() <= 1 << 16
        {
            let _ = kf.decrypt(b"pw");
        }
    }
}
