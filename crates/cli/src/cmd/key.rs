//! `vouch key new|import|list`: keys encrypted at rest in `<data-dir>/keys/` as Web3 Secret
//! Storage v3 files (scrypt n = 2^18, geth's standard), with a password from `--password-file`,
//! `VOUCH_PASSWORD` or a prompt; never printed.

use crate::chain_args::{DataDirArgs, password};
use crate::out;
use clap::{Args, Subcommand};
use eyre::{Result, WrapErr};
use serde_json::json;
use std::path::PathBuf;

/// What the CLI says before a key is encrypted (scrypt at geth's standard cost takes a while).
const ENCRYPTING: &str = "encrypting (scrypt n=2^18, about a second)…";

/// `vouch key ...`
#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Create a random key, encrypted with a password, in `<data-dir>/keys/`.
    New(NewArgs),
    /// Import a hex private key, or a v3 keystore file from geth or `cast wallet new`
    /// (`--keystore`).
    #[command(after_help = IMPORT_HELP)]
    Import(ImportArgs),
    /// List the keys (names and addresses; no password needed).
    List(ListArgs),
}

const IMPORT_HELP: &str = "\
Examples:
  vouch key import alice --private-key-file alice.hex      # asks for a new password
  cast wallet new ./ks bob && vouch key import bob --keystore ./ks/bob
  geth account new && vouch key import carol --keystore ~/.ethereum/keystore/UTC--...

A keystore file is decrypted with its own password (scrypt or pbkdf2, with or without its
`address` field); vouch derives the address from the key, refuses a file whose `address` field
says otherwise, and stores the key re-encrypted with scrypt n=2^18 under the same password.
The original file is left as it is.";

/// `vouch key new`
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the key (letters, digits, `-`, `_`).
    pub name: String,
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
    /// File holding the password (else `VOUCH_PASSWORD`, else a prompt).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

/// `vouch key import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Name of the key in vouch (letters, digits, `-`, `_`).
    pub name: String,
    /// File holding the hex private key (else a prompt; never on the command line).
    #[arg(long, value_name = "FILE", conflicts_with = "keystore")]
    pub private_key_file: Option<PathBuf>,
    /// A Web3 Secret Storage v3 keystore file (geth, `cast wallet new`, a wallet export) to
    /// import instead of a hex key; it keeps its password.
    #[arg(long, value_name = "FILE")]
    pub keystore: Option<PathBuf>,
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
    /// File holding the password (else `VOUCH_PASSWORD`, else a prompt): the new key's
    /// password, or with `--keystore` the keystore's own password, which the key keeps.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

/// `vouch key list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
}

/// Runs `vouch key ...`.
pub fn run(cmd: &KeyCmd) -> Result<()> {
    match cmd {
        KeyCmd::New(a) => {
            let ks = a.dirs.keystore();
            let pw = password(a.password_file.as_ref(), "new password: ", true)?;
            out::note(ENCRYPTING);
            let e = ks.create(&a.name, pw.as_bytes())?;
            written(&e);
        }
        KeyCmd::Import(a) => {
            let ks = a.dirs.keystore();
            let e = if let Some(file) = &a.keystore {
                let pw = password(
                    a.password_file.as_ref(),
                    &format!("password of {}: ", file.display()),
                    false,
                )?;
                out::note(format!(
                    "decrypting {} and re-encrypting it (scrypt n=2^18, about two seconds)…",
                    file.display()
                ));
                ks.import_keystore(&a.name, file, pw.as_bytes())?
            } else {
                let pk = zeroize::Zeroizing::new(match &a.private_key_file {
                    Some(f) => std::fs::read_to_string(f)
                        .wrap_err_with(|| format!("cannot read {}", f.display()))?,
                    None => rpassword::prompt_password("private key (hex): ")
                        .wrap_err("cannot read the private key")?,
                });
                let pw = password(a.password_file.as_ref(), "new password: ", true)?;
                out::note(ENCRYPTING);
                ks.import(&a.name, pk.trim(), pw.as_bytes())?
            };
            written(&e);
        }
        KeyCmd::List(a) => {
            let keys = a.dirs.keystore().list()?;
            let rows: Vec<Vec<String>> = keys
                .iter()
                .map(|k| {
                    vec![
                        k.name.clone(),
                        k.address.map_or_else(
                            || {
                                "unknown (no address in the file; shown after its first unlock)"
                                    .to_owned()
                            },
                            |a| a.to_string(),
                        ),
                    ]
                })
                .collect();
            let v: Vec<_> = keys
                .iter()
                .map(|k| json!({ "name": k.name, "address": k.address.map(|a| a.to_string()) }))
                .collect();
            out::result(json!(v), || {
                out::line(out::table(&["name", "address"], &rows));
            });
        }
    }
    Ok(())
}

fn written(e: &vouch_chain::KeyEntry) {
    let address = e.address.map(|a| a.to_string()).unwrap_or_default();
    let v = json!({ "name": e.name, "address": address, "path": e.path.display().to_string() });
    out::result(v, || out::line(format!("{}  {address}", e.name)));
    out::note(format!("encrypted key written to {}", e.path.display()));
}
