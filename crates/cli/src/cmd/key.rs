//! `vouch key new|import|list`, and the chain arguments every on-chain command shares: the
//! data directory, the RPC endpoint and the signing key (unlocked from the encrypted keystore
//! with a password from `--password-file`, `VOUCH_PASSWORD` or a prompt; never printed).

use crate::chain_args::{DataDirArgs, password};
use crate::out;
use clap::{Args, Subcommand};
use eyre::{Result, WrapErr};
use std::path::PathBuf;

/// `vouch key ...`
#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Create a random key, encrypted with a password, in `<data-dir>/keys/`.
    New(NewArgs),
    /// Import a private key (read from a file or a prompt, never from the command line).
    Import(ImportArgs),
    /// List the keys (names and addresses; no password needed).
    List(ListArgs),
}

/// `vouch key new`
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Name of the key.
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
    /// Name of the key.
    pub name: String,
    /// File holding the hex private key (else a prompt).
    #[arg(long)]
    pub private_key_file: Option<PathBuf>,
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
    /// File holding the password (else `VOUCH_PASSWORD`, else a prompt).
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
            let e = ks.create(&a.name, pw.as_bytes())?;
            out::line(format!("{}  {}", e.name, e.address));
            out::note(format!("encrypted key written to {}", e.path.display()));
        }
        KeyCmd::Import(a) => {
            let ks = a.dirs.keystore();
            let pk = match &a.private_key_file {
                Some(f) => std::fs::read_to_string(f)
                    .wrap_err_with(|| format!("cannot read {}", f.display()))?,
                None => rpassword::prompt_password("private key (hex): ")
                    .wrap_err("cannot read the private key")?,
            };
            let pw = password(a.password_file.as_ref(), "new password: ", true)?;
            let e = ks.import(&a.name, pk.trim(), pw.as_bytes())?;
            out::line(format!("{}  {}", e.name, e.address));
            out::note(format!("encrypted key written to {}", e.path.display()));
        }
        KeyCmd::List(a) => {
            let keys = a.dirs.keystore().list()?;
            let rows: Vec<Vec<String>> = keys
                .iter()
                .map(|k| vec![k.name.clone(), k.address.to_string()])
                .collect();
            out::line(out::table(&["name", "address"], &rows));
        }
    }
    Ok(())
}
