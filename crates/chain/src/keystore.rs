//! Encrypted keys at rest: Web3 Secret Storage v3 JSON files ([`crate::keyfile`]: scrypt +
//! AES-128-CTR) in one folder, one file `<name>.json` per key. New keys use geth's standard
//! scrypt cost, n = 2^18 ([`ScryptCost::STANDARD`], about a second and 256 MiB); files with other
//! parameters (vouch's earlier n = 2^13, geth's light n = 2^12, PBKDF2) still decrypt. The file
//! carries the address in clear (as geth writes it) so keys can be listed without a password;
//! that field is checked against the key on every unlock. Passwords and keys are never logged.
//!
//! `import_keystore` takes a v3 file from geth, `cast wallet new` or a wallet export, decrypts it,
//! derives the address from the key and stores the key re-encrypted at vouch's cost under the
//! same password.

use crate::keyfile::{self, Keyfile, KeyfileError, ScryptCost};
use crate::{Error, Result};
use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A folder of encrypted keys.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
    cost: ScryptCost,
}

/// One listed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// The key's name (its file stem).
    pub name: String,
    /// Its address, from the file's `address` field; `None` for a file without one (copied in
    /// by hand from `cast wallet new`), until its first unlock records it.
    pub address: Option<Address>,
    /// The keystore file.
    pub path: PathBuf,
}

impl Keystore {
    /// A keystore in `dir` (created on first write) that encrypts at geth's standard cost.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            cost: ScryptCost::STANDARD,
        }
    }

    /// The same folder, encrypting new keys at `cost` ([`ScryptCost::LIGHT`] keeps tests fast).
    pub fn with_cost(mut self, cost: ScryptCost) -> Self {
        self.cost = cost;
        self
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, name: &str) -> Result<PathBuf> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(Error::BadKeyName {
                name: name.to_owned(),
            });
        }
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Creates a new random key under `name`.
    pub fn create(&self, name: &str, password: &[u8]) -> Result<KeyEntry> {
        let signer = PrivateKeySigner::random();
        self.store(name, &signer, password)
    }

    /// Imports a private key (32 bytes, hex with or without `0x`) under `name`.
    pub fn import(&self, name: &str, private_key_hex: &str, password: &[u8]) -> Result<KeyEntry> {
        let hex = private_key_hex.trim();
        let hex = hex.strip_prefix("0x").unwrap_or(hex);
        let bytes = zeroize::Zeroizing::new(
            alloy::primitives::hex::decode(hex).map_err(|_| Error::BadPrivateKey)?,
        );
        if bytes.len() != 32 {
            return Err(Error::BadPrivateKey);
        }
        let signer = PrivateKeySigner::from_slice(&bytes).map_err(|_| Error::BadPrivateKey)?;
        self.store(name, &signer, password)
    }

    /// Imports a v3 keystore file (geth, `cast wallet new`, with or without its `address`
    /// field, scrypt or PBKDF2) under `name`: decrypts it with `password`, derives the address
    /// from the key (refusing a file whose `address` field says otherwise) and stores the key
    /// re-encrypted at this keystore's cost under the same password. The file is not changed.
    pub fn import_keystore(&self, name: &str, file: &Path, password: &[u8]) -> Result<KeyEntry> {
        // Refuse a taken or bad name before the slow decryption.
        let path = self.path_of(name)?;
        if path.exists() {
            return Err(Error::KeyExists {
                name: name.to_owned(),
            });
        }
        let (kf, _) = read_keyfile(file)?;
        let signer = kf.decrypt(password).map_err(|source| Error::Keystore {
            path: file.to_owned(),
            source,
        })?;
        self.store(name, &signer, password)
    }

    fn store(&self, name: &str, signer: &PrivateKeySigner, password: &[u8]) -> Result<KeyEntry> {
        let path = self.path_of(name)?;
        if path.exists() {
            return Err(Error::KeyExists {
                name: name.to_owned(),
            });
        }
        let kf =
            Keyfile::encrypt(signer, password, self.cost).map_err(|source| Error::Keystore {
                path: path.clone(),
                source,
            })?;
        std::fs::create_dir_all(&self.dir).map_err(|source| Error::Io {
            path: self.dir.clone(),
            source,
        })?;
        write_new_private(&path, &kf.to_json()).map_err(|e| match e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
                Error::KeyExists {
                    name: name.to_owned(),
                }
            }
            e => e,
        })?;
        Ok(KeyEntry {
            name: name.to_owned(),
            address: Some(signer.address()),
            path,
        })
    }

    /// Every key in the folder (its `*.json` files), by name. A file that is not a v3
    /// keystore is an error that names it.
    pub fn list(&self) -> Result<Vec<KeyEntry>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(Error::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|source| Error::Io {
                path: self.dir.clone(),
                source,
            })?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
                continue;
            };
            let (kf, _) = read_keyfile(&path)?;
            out.push(KeyEntry {
                name,
                address: kf.address,
                path,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Finds a key by name or by address.
    pub fn find(&self, name_or_address: &str) -> Result<KeyEntry> {
        let by_addr = name_or_address.parse::<Address>().ok();
        self.list()?
            .into_iter()
            .find(|k| k.name == name_or_address || (by_addr.is_some() && k.address == by_addr))
            .ok_or_else(|| Error::KeyNotFound {
                name: name_or_address.to_owned(),
                dir: self.dir.clone(),
            })
    }

    /// Decrypts a key into a signer (about a second at the standard cost). A file whose
    /// `address` field is not the key's address is refused; a file without one gets it
    /// recorded, so the next `list` shows it.
    pub fn unlock(&self, name_or_address: &str, password: &[u8]) -> Result<PrivateKeySigner> {
        let entry = self.find(name_or_address)?;
        let (kf, json) = read_keyfile(&entry.path)?;
        let signer = kf.decrypt(password).map_err(|source| Error::Keystore {
            path: entry.path.clone(),
            source,
        })?;
        if kf.address.is_none() {
            // Best effort: a read-only folder still unlocks.
            let _ = record_address(&entry.path, json, signer.address());
        }
        Ok(signer)
    }
}

/// Reads and checks a keystore file (no decryption), with its JSON.
fn read_keyfile(path: &Path) -> Result<(Keyfile, serde_json::Value)> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let bad = |source| Error::Keystore {
        path: path.to_owned(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > keyfile::MAX_FILE_BYTES {
        return Err(bad(KeyfileError::TooLarge { bytes: len }));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let kf = Keyfile::parse(&bytes).map_err(bad)?;
    // `parse` accepted the bytes as JSON.
    let json = serde_json::from_slice(&bytes).unwrap_or_default();
    Ok((kf, json))
}

/// Adds the `address` field to a keystore file that lacks one (write a sibling, then rename).
fn record_address(path: &Path, mut json: serde_json::Value, address: Address) -> Result<()> {
    let Some(obj) = json.as_object_mut() else {
        return Ok(());
    };
    obj.insert(
        "address".to_owned(),
        serde_json::Value::String(alloy::primitives::hex::encode(address)),
    );
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    write_new_private(&tmp, &json)?;
    std::fs::rename(&tmp, path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// Creates a file readable by its owner only (from its creation) and writes the JSON; fails if
/// the file exists.
fn write_new_private(path: &Path, json: &serde_json::Value) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let text = serde_json::to_string(json).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    if let Err(source) = f.write_all(text.as_bytes()).and_then(|()| f.sync_all()) {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(io(source));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // anvil's first dev account
    const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const DEV_ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    fn light(dir: &Path) -> Keystore {
        Keystore::new(dir.join("keys")).with_cost(ScryptCost::LIGHT)
    }

    fn json(path: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn create_list_unlock_and_reject_wrong_password() {
        let dir = tempfile::tempdir().unwrap();
        let ks = light(dir.path());
        let a = ks.create("alice", b"pw").unwrap();
        let text = std::fs::read_to_string(&a.path).unwrap();
        assert!(text.contains("\"crypto\"") && text.contains("scrypt"));
        let listed = ks.list().unwrap();
        assert_eq!(listed, vec![a.clone()]);
        let addr = a.address.unwrap();
        assert_eq!(ks.unlock("alice", b"pw").unwrap().address(), addr);
        assert_eq!(ks.unlock(&addr.to_string(), b"pw").unwrap().address(), addr);
        let err = ks.unlock("alice", b"nope").unwrap_err().to_string();
        assert!(err.contains("wrong password"), "{err}");
        assert!(matches!(
            ks.create("alice", b"pw"),
            Err(Error::KeyExists { .. })
        ));
        assert!(matches!(
            ks.create("../x", b"pw"),
            Err(Error::BadKeyName { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&a.path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn import_keeps_the_address() {
        let dir = tempfile::tempdir().unwrap();
        let ks = light(dir.path());
        let e = ks.import("dev", DEV_KEY, b"pw").unwrap();
        assert_eq!(e.address, Some(DEV_ADDR.parse().unwrap()));
        let text = std::fs::read_to_string(&e.path).unwrap();
        assert!(!text.contains("ac0974bec39a17e36ba4a6b4d238ff944bacb478"));
        assert_eq!(
            json(&e.path)["address"],
            "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
    }

    #[test]
    fn new_keys_use_geths_standard_scrypt_cost() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::new(dir.path());
        let e = ks.import("dev", DEV_KEY, b"pw").unwrap();
        let p = &json(&e.path)["crypto"]["kdfparams"];
        assert_eq!(
            (&p["n"], &p["r"], &p["p"], &p["dklen"]),
            (
                &serde_json::json!(262144),
                &serde_json::json!(8),
                &serde_json::json!(1),
                &serde_json::json!(32)
            )
        );
        // alloy (eth-keystore), an independent reader, decrypts it
        let signer = PrivateKeySigner::decrypt_keystore(&e.path, b"pw").unwrap();
        assert_eq!(signer.address(), e.address.unwrap());
    }

    #[test]
    fn keys_written_by_earlier_vouch_still_unlock() {
        // vouch before issue 19: alloy's encrypt_keystore (scrypt n = 2^13) plus the address.
        let dir = tempfile::tempdir().unwrap();
        let ks = light(dir.path());
        std::fs::create_dir_all(ks.dir()).unwrap();
        let signer: PrivateKeySigner = DEV_KEY.parse().unwrap();
        PrivateKeySigner::encrypt_keystore(
            ks.dir(),
            &mut rand::thread_rng(),
            signer.to_bytes(),
            b"pw",
            Some("old.json"),
        )
        .unwrap();
        let path = ks.dir().join("old.json");
        let mut v = json(&path);
        assert_eq!(v["crypto"]["kdfparams"]["n"], 8192);
        v["address"] = serde_json::json!(alloy::primitives::hex::encode(signer.address()));
        std::fs::write(&path, v.to_string()).unwrap();
        assert_eq!(ks.find("old").unwrap().address, Some(signer.address()));
        assert_eq!(ks.unlock("old", b"pw").unwrap().address(), signer.address());
    }

    /// A v3 file as `cast wallet new` writes it: alloy's writer, no `address` field.
    fn cast_like(dir: &Path, file: &str, password: &[u8]) -> (PathBuf, Address) {
        std::fs::create_dir_all(dir).unwrap();
        let (signer, _) =
            PrivateKeySigner::new_keystore(dir, &mut rand::thread_rng(), password, Some(file))
                .unwrap();
        let path = dir.join(file);
        assert!(json(&path).get("address").is_none());
        (path, signer.address())
    }

    #[test]
    fn import_keystore_derives_the_address_and_keeps_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let (file, addr) = cast_like(&dir.path().join("cast"), "acct", b"castpw");
        let ks = light(dir.path());
        let e = ks.import_keystore("imported", &file, b"castpw").unwrap();
        assert_eq!(e.address, Some(addr));
        assert_eq!(ks.list().unwrap(), vec![e.clone()]);
        assert_eq!(ks.unlock("imported", b"castpw").unwrap().address(), addr);
        // the same file with the address field, as geth writes it, imports too
        let mut v = json(&file);
        v["address"] = serde_json::json!(alloy::primitives::hex::encode(addr));
        let geth = dir.path().join("geth.json");
        std::fs::write(&geth, v.to_string()).unwrap();
        let g = ks.import_keystore("geth", &geth, b"castpw").unwrap();
        assert_eq!(g.address, Some(addr));
        // errors: a taken name (before any decryption), a wrong password, a lying address
        assert!(matches!(
            ks.import_keystore("geth", &geth, b"castpw"),
            Err(Error::KeyExists { .. })
        ));
        let err = ks.import_keystore("x", &file, b"nope").unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Keystore {
                    source: KeyfileError::WrongPassword,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("wrong password"), "{err}");
        v["address"] = serde_json::json!(DEV_ADDR);
        std::fs::write(&geth, v.to_string()).unwrap();
        let err = ks.import_keystore("liar", &geth, b"castpw").unwrap_err();
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
        assert!(ks.find("liar").is_err());
    }

    #[test]
    fn a_hand_copied_file_without_address_lists_as_unknown_until_unlocked() {
        let dir = tempfile::tempdir().unwrap();
        let ks = light(dir.path());
        let (_, addr) = cast_like(ks.dir(), "copied.json", b"pw");
        assert_eq!(ks.find("copied").unwrap().address, None);
        assert!(ks.find(&Address::ZERO.to_string()).is_err());
        assert!(ks.unlock("copied", b"wrong").is_err());
        assert_eq!(ks.find("copied").unwrap().address, None);
        assert_eq!(ks.unlock("copied", b"pw").unwrap().address(), addr);
        assert_eq!(ks.find("copied").unwrap().address, Some(addr));
        assert_eq!(ks.find(&addr.to_string()).unwrap().name, "copied");
        // a hand-copied file that lies about its address does not unlock
        let path = ks.dir().join("copied.json");
        let mut v = json(&path);
        v["address"] = serde_json::json!(DEV_ADDR);
        std::fs::write(&path, v.to_string()).unwrap();
        assert!(matches!(
            ks.unlock("copied", b"pw"),
            Err(Error::Keystore {
                source: KeyfileError::AddressMismatch { .. },
                ..
            })
        ));
    }

    #[test]
    fn a_broken_file_in_the_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let ks = light(dir.path());
        std::fs::create_dir_all(ks.dir()).unwrap();
        std::fs::write(ks.dir().join("junk.json"), "{\"version\": 1}").unwrap();
        let err = ks.list().unwrap_err().to_string();
        assert!(
            err.contains("junk.json") && err.contains("not a Web3"),
            "{err}"
        );
    }
}
