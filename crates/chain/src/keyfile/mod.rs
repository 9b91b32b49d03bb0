//! The Web3 Secret Storage v3 file: the JSON keystore geth, `cast wallet new`, MetaMask and
//! vouch write. Its parser is vouch's own and checks every field before any work is done, so
//! bytes from anywhere (a file handed to `vouch key import --keystore`) give a typed error and
//! never a panic, a huge allocation or an hour of key derivation.
//!
//! The format: a key `dk` is derived from the password, the MAC is
//! `keccak256(dk[16..32] || ciphertext)`, and the private key is
//! `AES-128-CTR(key = dk[0..16], iv)` of the ciphertext.
//!
//! | field | read | written |
//! |---|---|---|
//! | `version` | 3 (or `"3"`) | 3 |
//! | `crypto` (or `Crypto`, as old geth and MyEtherWallet write) | required | `crypto` |
//! | `crypto.cipher` | `aes-128-ctr`, `cipherparams.iv` 16 bytes | the same |
//! | `crypto.ciphertext`, `crypto.mac` | 32 bytes each (hex, `0x` optional) | hex |
//! | `crypto.kdf` = `scrypt` | `n` a power of two, `r`, `p`, `dklen` 32..=64, `salt`; memory `128·r·(n+p)` at most 1 GiB, work `n·r·p` at most 2^24 | `n` 2^18, `r` 8, `p` 1 ([`ScryptCost::STANDARD`]), 32-byte salt |
//! | `crypto.kdf` = `pbkdf2` | `prf` `hmac-sha256`, `c` at most 10^7, `dklen`, `salt` | never |
//! | `address` | optional; never trusted: [`Keyfile::decrypt`] refuses a key whose address differs | lowercase hex, no `0x`, as geth |
//! | `id` | optional, ignored | a random UUID v4 |
//!
//! Nothing here prints or formats a password, a derived key or a private key; errors name
//! fields, never their contents (except the name of an unknown KDF, cipher or PRF, cut short).

use aes::Aes128;
use alloy::primitives::{Address, hex, keccak256};
use alloy::signers::local::PrivateKeySigner;
use ctr::cipher::{KeyIvInit, StreamCipher};
use rand::RngCore;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// The largest keystore file read (a v3 file is about 500 bytes).
pub const MAX_FILE_BYTES: u64 = 64 * 1024;
/// The most memory scrypt parameters may ask for (`128·r·(n+p)` bytes): 1 GiB.
pub const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
/// The most scrypt work (`n·r·p`): 2^24, eight times geth's standard parameters.
pub const MAX_SCRYPT_WORK: u64 = 1 << 24;
/// The most PBKDF2 rounds: 10^7 (geth's PBKDF2 files use 262,144).
pub const MAX_PBKDF2_ROUNDS: u64 = 10_000_000;
/// The longest salt read, in bytes.
pub const MAX_SALT_BYTES: usize = 1024;

/// Why a keystore file cannot be read or decrypted. Never carries a password or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyfileError {
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{bytes} bytes is too large for a keystore file (at most {MAX_FILE_BYTES})")]
    TooLarge {
        /// Its size.
        bytes: u64,
    },
    /// The bytes are not JSON.
    #[error("not a JSON keystore: no valid JSON at line {line}, column {column}")]
    NotJson {
        /// Where the parser stopped.
        line: usize,
        /// Where the parser stopped.
        column: usize,
    },
    /// The JSON is not a v3 keystore object.
    #[error("not a Web3 Secret Storage v3 keystore: {reason}")]
    NotV3 {
        /// What is off (`version` missing, `version` 1, not an object).
        reason: &'static str,
    },
    /// A required field is missing.
    #[error("the keystore has no `{field}` field")]
    Missing {
        /// The field's path (`crypto.kdfparams.salt`).
        field: &'static str,
    },
    /// A field holds something else than the format asks for.
    #[error("the keystore's `{field}` is not {expected}")]
    BadField {
        /// The field's path.
        field: &'static str,
        /// What it must be (`16 bytes of hex`).
        expected: &'static str,
    },
    /// A key derivation function other than scrypt and PBKDF2.
    #[error("unsupported key derivation function `{kdf}` (vouch reads scrypt and pbkdf2)")]
    UnknownKdf {
        /// The `crypto.kdf` value, cut to 32 printable characters.
        kdf: String,
    },
    /// A cipher other than AES-128-CTR.
    #[error("unsupported cipher `{cipher}` (v3 keystores use aes-128-ctr)")]
    UnknownCipher {
        /// The `crypto.cipher` value, cut to 32 printable characters.
        cipher: String,
    },
    /// A PBKDF2 pseudo-random function other than HMAC-SHA256.
    #[error("unsupported PBKDF2 function `{prf}` (v3 keystores use hmac-sha256)")]
    UnknownPrf {
        /// The `crypto.kdfparams.prf` value, cut to 32 printable characters.
        prf: String,
    },
    /// Scrypt parameters that are invalid or ask for too much memory or work.
    #[error("unusable scrypt parameters n={n} r={r} p={p}: {reason}")]
    ScryptParams {
        /// The cost parameter.
        n: u64,
        /// The block size.
        r: u64,
        /// The parallelism.
        p: u64,
        /// Why.
        reason: &'static str,
    },
    /// A PBKDF2 round count that is zero or above [`MAX_PBKDF2_ROUNDS`].
    #[error("unusable PBKDF2 round count {c} (1 to {MAX_PBKDF2_ROUNDS})")]
    Pbkdf2Rounds {
        /// The round count.
        c: u64,
    },
    /// The MAC does not match: the password is wrong (or the file was altered).
    #[error("wrong password (the keystore's MAC does not match)")]
    WrongPassword,
    /// The decrypted bytes are not a valid secp256k1 private key.
    #[error("the keystore decrypts to bytes that are not a valid secp256k1 private key")]
    NotAKey,
    /// The file's `address` field is not the address of the key it holds.
    #[error(
        "the keystore's `address` field says {file} but the key it holds is {key}; refusing a file that misstates its address"
    )]
    AddressMismatch {
        /// What the file claims.
        file: Address,
        /// The key's real address.
        key: Address,
    },
}

/// Scrypt cost parameters for new keystores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptCost {
    /// `log2(n)`.
    pub log_n: u8,
    /// The block size.
    pub r: u32,
    /// The parallelism.
    pub p: u32,
}

impl ScryptCost {
    /// geth's standard: n = 2^18 (262,144), r = 8, p = 1; 256 MiB and about a second.
    pub const STANDARD: Self = Self {
        log_n: 18,
        r: 8,
        p: 1,
    };
    /// geth's `--lightkdf`: n = 2^12, r = 8, p = 6; 4 MiB, for tests.
    pub const LIGHT: Self = Self {
        log_n: 12,
        r: 8,
        p: 6,
    };
}

/// The key derivation of one file, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kdf {
    /// scrypt with `n = 2^log_n`.
    Scrypt {
        /// `log2(n)`.
        log_n: u8,
        /// The block size.
        r: u32,
        /// The parallelism.
        p: u32,
        /// Derived key length, 32..=64.
        dklen: usize,
        /// The salt.
        salt: Vec<u8>,
    },
    /// PBKDF2-HMAC-SHA256.
    Pbkdf2 {
        /// Rounds.
        c: u32,
        /// Derived key length, 32..=64.
        dklen: usize,
        /// The salt.
        salt: Vec<u8>,
    },
}

impl Kdf {
    /// The work one derivation costs, in scrypt block mixes (`n·r·p`) or PBKDF2 rounds: what
    /// a caller that must stay fast (a fuzz target) can bound.
    pub fn work(&self) -> u64 {
        match self {
            Kdf::Scrypt { log_n, r, p, .. } => {
                (1u64 << log_n).saturating_mul(u64::from(*r).saturating_mul(u64::from(*p)))
            }
            Kdf::Pbkdf2 { c, .. } => u64::from(*c),
        }
    }

    fn derive(&self, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyfileError> {
        match self {
            Kdf::Scrypt {
                log_n,
                r,
                p,
                dklen,
                salt,
            } => {
                let bad = |reason| KeyfileError::ScryptParams {
                    n: 1u64 << log_n,
                    r: u64::from(*r),
                    p: u64::from(*p),
                    reason,
                };
                let params = scrypt::Params::new(*log_n, *r, *p)
                    .map_err(|_| bad("rejected by RFC 7914 (n must be below 2^(16·r))"))?;
                let mut dk = Zeroizing::new(vec![0u8; *dklen]);
                scrypt::scrypt(password, salt, &params, &mut dk)
                    .map_err(|_| bad("invalid derived key length"))?;
                Ok(dk)
            }
            Kdf::Pbkdf2 { c, dklen, salt } => {
                let mut dk = Zeroizing::new(vec![0u8; *dklen]);
                pbkdf2::pbkdf2::<hmac::Hmac<sha2::Sha256>>(password, salt, *c, &mut dk);
                Ok(dk)
            }
        }
    }
}

/// One v3 keystore, parsed and checked (still encrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyfile {
    /// The `address` field, if the file has one. Unverified until [`Keyfile::decrypt`].
    pub address: Option<Address>,
    /// The key derivation.
    pub kdf: Kdf,
    /// The `id` field, if it is a string.
    pub id: Option<String>,
    iv: [u8; 16],
    ciphertext: [u8; 32],
    mac: [u8; 32],
}

impl Keyfile {
    /// Parses and checks a keystore file's bytes. No key derivation runs here.
    pub fn parse(bytes: &[u8]) -> Result<Self, KeyfileError> {
        let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if len > MAX_FILE_BYTES {
            return Err(KeyfileError::TooLarge { bytes: len });
        }
        let json: Value = serde_json::from_slice(bytes).map_err(|e| KeyfileError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
        Self::from_json(&json)
    }

    /// Checks an already parsed JSON value.
    pub fn from_json(json: &Value) -> Result<Self, KeyfileError> {
        let top = json.as_object().ok_or(KeyfileError::NotV3 {
            reason: "not a JSON object",
        })?;
        match top.get("version") {
            None => {
                return Err(KeyfileError::NotV3 {
                    reason: "no `version` field",
                });
            }
            // Some wallet exports write the string "3".
            Some(v) if v.as_u64() == Some(3) || v.as_str() == Some("3") => {}
            Some(v) if v.is_u64() => {
                return Err(KeyfileError::NotV3 {
                    reason: "`version` is not 3",
                });
            }
            Some(_) => {
                return Err(KeyfileError::BadField {
                    field: "version",
                    expected: "the number 3",
                });
            }
        }
        let address = match top.get("address") {
            None | Some(Value::Null) => None,
            Some(v) => Some(parse_address(v)?),
        };
        let id = top.get("id").and_then(Value::as_str).map(str::to_owned);
        let crypto = match top.get("crypto").or_else(|| top.get("Crypto")) {
            None => return Err(KeyfileError::Missing { field: "crypto" }),
            Some(c) => c.as_object().ok_or(KeyfileError::BadField {
                field: "crypto",
                expected: "an object",
            })?,
        };

        let cipher = str_field(crypto, "cipher", "crypto.cipher")?;
        if cipher != "aes-128-ctr" {
            return Err(KeyfileError::UnknownCipher {
                cipher: shown(cipher),
            });
        }
        let cipherparams = obj_field(crypto, "cipherparams", "crypto.cipherparams")?;
        let iv = fixed_hex::<16>(cipherparams, "iv", "crypto.cipherparams.iv")?;
        let ciphertext = fixed_hex::<32>(crypto, "ciphertext", "crypto.ciphertext")?;
        let mac = fixed_hex::<32>(crypto, "mac", "crypto.mac")?;

        let kdf_name = str_field(crypto, "kdf", "crypto.kdf")?;
        let params = obj_field(crypto, "kdfparams", "crypto.kdfparams")?;
        let dklen = uint_field(params, "dklen", "crypto.kdfparams.dklen")?;
        let dklen = match usize::try_from(dklen) {
            Ok(d) if (32..=64).contains(&d) => d,
            _ => {
                return Err(KeyfileError::BadField {
                    field: "crypto.kdfparams.dklen",
                    expected: "a length from 32 to 64",
                });
            }
        };
        let salt = hex_field(params, "salt", "crypto.kdfparams.salt")?;
        if salt.len() > MAX_SALT_BYTES {
            return Err(KeyfileError::BadField {
                field: "crypto.kdfparams.salt",
                expected: "at most 1024 bytes of hex",
            });
        }
        let kdf = match kdf_name {
            "scrypt" => {
                let n = uint_field(params, "n", "crypto.kdfparams.n")?;
                let r = uint_field(params, "r", "crypto.kdfparams.r")?;
                let p = uint_field(params, "p", "crypto.kdfparams.p")?;
                let bad = |reason| KeyfileError::ScryptParams { n, r, p, reason };
                if n < 2 || !n.is_power_of_two() {
                    return Err(bad("n must be a power of two, at least 2"));
                }
                if r == 0 || p == 0 {
                    return Err(bad("r and p must be at least 1"));
                }
                let (r32, p32) = match (u32::try_from(r), u32::try_from(p)) {
                    (Ok(r), Ok(p)) => (r, p),
                    _ => return Err(bad("r and p must fit in 32 bits")),
                };
                let memory = 128u128 * u128::from(r) * (u128::from(n) + u128::from(p));
                if memory > u128::from(MAX_SCRYPT_MEMORY) {
                    return Err(bad("needs more than 1 GiB of memory"));
                }
                if u128::from(n) * u128::from(r) * u128::from(p) > u128::from(MAX_SCRYPT_WORK) {
                    return Err(bad("n·r·p is above 2^24"));
                }
                let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| bad("n too large"))?;
                scrypt::Params::new(log_n, r32, p32)
                    .map_err(|_| bad("rejected by RFC 7914 (n must be below 2^(16·r))"))?;
                Kdf::Scrypt {
                    log_n,
                    r: r32,
                    p: p32,
                    dklen,
                    salt,
                }
            }
            "pbkdf2" => {
                let prf = str_field(params, "prf", "crypto.kdfparams.prf")?;
                if prf != "hmac-sha256" {
                    return Err(KeyfileError::UnknownPrf { prf: shown(prf) });
                }
                let c = uint_field(params, "c", "crypto.kdfparams.c")?;
                if c == 0 || c > MAX_PBKDF2_ROUNDS {
                    return Err(KeyfileError::Pbkdf2Rounds { c });
                }
                let c = u32::try_from(c).map_err(|_| KeyfileError::Pbkdf2Rounds { c })?;
                Kdf::Pbkdf2 { c, dklen, salt }
            }
            other => return Err(KeyfileError::UnknownKdf { kdf: shown(other) }),
        };
        Ok(Self {
            address,
            kdf,
            id,
            iv,
            ciphertext,
            mac,
        })
    }

    /// Decrypts the key. Runs the key derivation (about a second at [`ScryptCost::STANDARD`]),
    /// checks the MAC, and refuses a file whose `address` field is not the key's address.
    pub fn decrypt(&self, password: &[u8]) -> Result<PrivateKeySigner, KeyfileError> {
        let dk = self.kdf.derive(password)?;
        let (enc_key, mac_key) = match (dk.get(..16), dk.get(16..32)) {
            (Some(e), Some(m)) => (e, m),
            _ => return Err(KeyfileError::WrongPassword),
        };
        let mut mac_input = Zeroizing::new(Vec::with_capacity(48));
        mac_input.extend_from_slice(mac_key);
        mac_input.extend_from_slice(&self.ciphertext);
        let mac = keccak256(mac_input.as_slice());
        // Compare without an early exit.
        let diff = mac
            .iter()
            .zip(self.mac.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(KeyfileError::WrongPassword);
        }
        let mut key = Zeroizing::new(self.ciphertext);
        aes_ctr(enc_key, &self.iv, key.as_mut_slice())?;
        let signer =
            PrivateKeySigner::from_slice(key.as_slice()).map_err(|_| KeyfileError::NotAKey)?;
        if let Some(file) = self.address
            && file != signer.address()
        {
            return Err(KeyfileError::AddressMismatch {
                file,
                key: signer.address(),
            });
        }
        Ok(signer)
    }

    /// Encrypts a key with scrypt at `cost`, a random salt, IV and id; the file records the
    /// key's address. Takes about a second at [`ScryptCost::STANDARD`].
    pub fn encrypt(
        signer: &PrivateKeySigner,
        password: &[u8],
        cost: ScryptCost,
    ) -> Result<Self, KeyfileError> {
        let mut rng = rand::thread_rng();
        let mut salt = vec![0u8; 32];
        rng.fill_bytes(&mut salt);
        let mut iv = [0u8; 16];
        rng.fill_bytes(&mut iv);
        let kdf = Kdf::Scrypt {
            log_n: cost.log_n,
            r: cost.r,
            p: cost.p,
            dklen: 32,
            salt,
        };
        let dk = kdf.derive(password)?;
        let (enc_key, mac_key) = match (dk.get(..16), dk.get(16..32)) {
            (Some(e), Some(m)) => (e, m),
            _ => return Err(KeyfileError::WrongPassword),
        };
        let mut ciphertext = signer.to_bytes().0;
        aes_ctr(enc_key, &iv, &mut ciphertext)?;
        let mut mac_input = Zeroizing::new(Vec::with_capacity(48));
        mac_input.extend_from_slice(mac_key);
        mac_input.extend_from_slice(&ciphertext);
        let mac = keccak256(mac_input.as_slice()).0;
        Ok(Self {
            address: Some(signer.address()),
            kdf,
            id: Some(uuid_v4(&mut rng)),
            iv,
            ciphertext,
            mac,
        })
    }

    /// The file's JSON, as geth writes it (`address` without `0x`, lowercase `crypto`).
    pub fn to_json(&self) -> Value {
        let (kdf, kdfparams) = match &self.kdf {
            Kdf::Scrypt {
                log_n,
                r,
                p,
                dklen,
                salt,
            } => (
                "scrypt",
                serde_json::json!({
                    "dklen": dklen,
                    "n": 1u64 << log_n,
                    "r": r,
                    "p": p,
                    "salt": hex::encode(salt),
                }),
            ),
            Kdf::Pbkdf2 { c, dklen, salt } => (
                "pbkdf2",
                serde_json::json!({
                    "c": c,
                    "dklen": dklen,
                    "prf": "hmac-sha256",
                    "salt": hex::encode(salt),
                }),
            ),
        };
        let mut top = serde_json::json!({
            "crypto": {
                "cipher": "aes-128-ctr",
                "cipherparams": { "iv": hex::encode(self.iv) },
                "ciphertext": hex::encode(self.ciphertext),
                "kdf": kdf,
                "kdfparams": kdfparams,
                "mac": hex::encode(self.mac),
            },
            "version": 3,
        });
        if let Some(obj) = top.as_object_mut() {
            if let Some(a) = self.address {
                obj.insert("address".to_owned(), Value::String(hex::encode(a)));
            }
            if let Some(id) = &self.id {
                obj.insert("id".to_owned(), Value::String(id.clone()));
            }
        }
        top
    }
}

fn aes_ctr(key: &[u8], iv: &[u8; 16], buf: &mut [u8]) -> Result<(), KeyfileError> {
    let mut cipher =
        ctr::Ctr128BE::<Aes128>::new_from_slices(key, iv).map_err(|_| KeyfileError::BadField {
            field: "crypto.cipherparams.iv",
            expected: "16 bytes of hex",
        })?;
    cipher.apply_keystream(buf);
    Ok(())
}

fn uuid_v4(rng: &mut impl RngCore) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    let part = |r: std::ops::Range<usize>| h.get(r).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// At most 32 printable ASCII characters of an untrusted name, for an error message.
fn shown(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(32)
        .collect()
}

fn parse_address(v: &Value) -> Result<Address, KeyfileError> {
    let bad = KeyfileError::BadField {
        field: "address",
        expected: "a 20-byte hex address",
    };
    let s = v.as_str().ok_or(bad.clone())?;
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() != 40 {
        return Err(bad);
    }
    let bytes = hex::decode(s).map_err(|_| bad.clone())?;
    Ok(Address::from_slice(&bytes))
}

fn str_field<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a str, KeyfileError> {
    obj.get(key)
        .ok_or(KeyfileError::Missing { field })?
        .as_str()
        .ok_or(KeyfileError::BadField {
            field,
            expected: "a string",
        })
}

fn obj_field<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a Map<String, Value>, KeyfileError> {
    obj.get(key)
        .ok_or(KeyfileError::Missing { field })?
        .as_object()
        .ok_or(KeyfileError::BadField {
            field,
            expected: "an object",
        })
}

fn uint_field(
    obj: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<u64, KeyfileError> {
    obj.get(key)
        .ok_or(KeyfileError::Missing { field })?
        .as_u64()
        .ok_or(KeyfileError::BadField {
            field,
            expected: "a non-negative integer",
        })
}

fn hex_field(
    obj: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Vec<u8>, KeyfileError> {
    let s = str_field(obj, key, field)?;
    let s = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(s).map_err(|_| KeyfileError::BadField {
        field,
        expected: "hex",
    })
}

fn fixed_hex<const N: usize>(
    obj: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<[u8; N], KeyfileError> {
    let bytes = hex_field(obj, key, field)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| KeyfileError::BadField {
        field,
        expected: match N {
            16 => "16 bytes of hex",
            _ => "32 bytes of hex",
        },
    })
}

#[cfg(test)]
mod tests;
