//! Encrypted keys at rest: Web3 Secret Storage v3 JSON files (scrypt + AES-128-CTR) in one
//! folder, one file `<name>.json` per key. The file also carries the address in clear (as geth
//! writes it) so keys can be listed without a password. Passwords and keys are never logged.

use crate::{Error, Result};
use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use std::path::{Path, PathBuf};

/// A folder of encrypted keys.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

/// One listed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    /// The key's name (its file stem).
    pub name: String,
    /// Its address.
    pub address: Address,
    /// The keystore file.
    pub path: PathBuf,
}

impl Keystore {
    /// A keystore in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
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
        let bytes = alloy::primitives::hex::decode(hex).map_err(|_| Error::BadPrivateKey)?;
        if bytes.len() != 32 {
            return Err(Error::BadPrivateKey);
        }
        let signer = PrivateKeySigner::from_slice(&bytes).map_err(|_| Error::BadPrivateKey)?;
        self.store(name, &signer, password)
    }

    fn store(&self, name: &str, signer: &PrivateKeySigner, password: &[u8]) -> Result<KeyEntry> {
        let path = self.path_of(name)?;
        if path.exists() {
            return Err(Error::KeyExists {
                name: name.to_owned(),
            });
        }
        std::fs::create_dir_all(&self.dir).map_err(|source| Error::Io {
            path: self.dir.clone(),
            source,
        })?;
        let file = format!("{name}.json");
        let mut rng = rand::thread_rng();
        PrivateKeySigner::encrypt_keystore(
            &self.dir,
            &mut rng,
            signer.to_bytes(),
            password,
            Some(&file),
        )
        .map_err(|e| Error::Keystore {
            path: path.clone(),
            message: e.to_string(),
        })?;
        // Add the address in clear, as geth does, so `list` needs no password.
        let mut json = read_json(&path)?;
        if let Some(obj) = json.as_object_mut() {
            obj.insert(
                "address".to_owned(),
                serde_json::Value::String(alloy::primitives::hex::encode(signer.address())),
            );
        }
        write_private(&path, &json)?;
        Ok(KeyEntry {
            name: name.to_owned(),
            address: signer.address(),
            path,
        })
    }

    /// Every key in the folder, by name.
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
            let json = read_json(&path)?;
            let address = json
                .get("address")
                .and_then(|a| a.as_str())
                .and_then(|a| a.parse::<Address>().ok())
                .unwrap_or(Address::ZERO);
            out.push(KeyEntry {
                name,
                address,
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
            .find(|k| k.name == name_or_address || Some(k.address) == by_addr)
            .ok_or_else(|| Error::KeyNotFound {
                name: name_or_address.to_owned(),
                dir: self.dir.clone(),
            })
    }

    /// Decrypts a key into a signer.
    pub fn unlock(&self, name_or_address: &str, password: &[u8]) -> Result<PrivateKeySigner> {
        let entry = self.find(name_or_address)?;
        PrivateKeySigner::decrypt_keystore(&entry.path, password).map_err(|e| Error::Keystore {
            path: entry.path.clone(),
            message: {
                let m = e.to_string();
                if m.to_ascii_lowercase().contains("mac mismatch") {
                    "wrong password".to_owned()
                } else {
                    m
                }
            },
        })
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, json: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string(json).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })?;
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| Error::Io {
                path: path.to_owned(),
                source,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_list_unlock_and_reject_wrong_password() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::new(dir.path().join("keys"));
        let a = ks.create("alice", b"pw").unwrap();
        let text = std::fs::read_to_string(&a.path).unwrap();
        assert!(text.contains("\"crypto\"") && text.contains("scrypt"));
        let listed = ks.list().unwrap();
        assert_eq!(listed, vec![a.clone()]);
        assert_eq!(ks.unlock("alice", b"pw").unwrap().address(), a.address);
        assert_eq!(
            ks.unlock(&a.address.to_string(), b"pw").unwrap().address(),
            a.address
        );
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
    }

    #[test]
    fn import_keeps_the_address() {
        let dir = tempfile::tempdir().unwrap();
        let ks = Keystore::new(dir.path());
        // anvil's first dev account
        let pk = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let e = ks.import("dev", pk, b"pw").unwrap();
        assert_eq!(
            e.address,
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                .parse::<Address>()
                .unwrap()
        );
        let text = std::fs::read_to_string(&e.path).unwrap();
        assert!(!text.contains("ac0974bec39a17e36ba4a6b4d238ff944bacb478"));
    }
}
