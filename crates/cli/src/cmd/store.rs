//! `vouch store put|get|list|export|import`: the local content-addressed store under
//! `<data-dir>/store/`, and CAR v1 files so IPFS or Filecoin tools can pin the same content.

use crate::chain_args::DataDirArgs;
use crate::out;
use clap::{Args, Subcommand};
use eyre::{Result, WrapErr, bail};
use std::io::Write;
use std::path::PathBuf;
use vouch_primitives::Cid;
use vouch_store::Store;

/// The largest CAR section `vouch store import` accepts (4 GiB).
const MAX_SECTION: u64 = 4 << 30;

/// `vouch store ...`
#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Add a file; prints its CID (CIDv1, raw, sha2-256: the same CID `ipfs add
    /// --cid-version 1 --raw-leaves` prints for a file that fits one block).
    Put(PutArgs),
    /// Write a blob's bytes (verified against the CID) to a file or stdout.
    Get(GetArgs),
    /// List the CIDs in the store; `--verify` rehashes every blob.
    List(ListArgs),
    /// Write blobs as a CAR v1 file.
    Export(ExportArgs),
    /// Import every block of a CAR v1 file (each verified).
    Import(ImportCarArgs),
}

/// `vouch store put`
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The file to add.
    pub file: PathBuf,
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
}

/// `vouch store get`
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The CID.
    pub cid: Cid,
    /// Write here instead of stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
}

/// `vouch store list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Rehash every blob and report (and move aside) corrupt ones.
    #[arg(long)]
    pub verify: bool,
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
}

/// `vouch store export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The CIDs to export (the CAR's roots, one block each).
    #[arg(long = "car", required = true, num_args = 1..)]
    pub cids: Vec<Cid>,
    /// The CAR file to write.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
}

/// `vouch store import`
#[derive(Debug, Args)]
pub struct ImportCarArgs {
    /// The CAR v1 file.
    pub file: PathBuf,
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
}

fn open(dirs: &DataDirArgs) -> Result<Store> {
    Store::open_in_data_dir(&dirs.data_dir)
        .wrap_err_with(|| format!("cannot open the store in {}", dirs.data_dir.display()))
}

/// Runs `vouch store ...`.
pub fn run(cmd: &StoreCmd) -> Result<()> {
    match cmd {
        StoreCmd::Put(a) => {
            let cid = open(&a.dirs)?
                .put_file(&a.file)
                .wrap_err_with(|| format!("cannot add {}", a.file.display()))?;
            out::line(cid.to_string());
        }
        StoreCmd::Get(a) => {
            let bytes = open(&a.dirs)?.get(&a.cid)?;
            match &a.output {
                Some(p) => std::fs::write(p, &bytes)
                    .wrap_err_with(|| format!("cannot write {}", p.display()))?,
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout.write_all(&bytes)?;
                    stdout.flush()?;
                }
            }
        }
        StoreCmd::List(a) => {
            let store = open(&a.dirs)?;
            if a.verify {
                let bad = store.verify_all()?;
                for c in &bad {
                    out::note(format!("corrupt (moved to store/corrupt/): {c}"));
                }
                if !bad.is_empty() {
                    bail!("{} corrupt blob(s)", bad.len());
                }
            }
            for c in store.list()? {
                out::line(c.to_string());
            }
        }
        StoreCmd::Export(a) => {
            let store = open(&a.dirs)?;
            let mut buf = Vec::new();
            store.export_car(&a.cids, &mut buf)?;
            let tmp = a.output.with_extension("car.part");
            std::fs::write(&tmp, &buf)
                .wrap_err_with(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, &a.output)
                .wrap_err_with(|| format!("cannot write {}", a.output.display()))?;
            out::note(format!(
                "wrote {} ({} block(s), {} bytes)",
                a.output.display(),
                a.cids.len(),
                buf.len()
            ));
        }
        StoreCmd::Import(a) => {
            let f = std::fs::File::open(&a.file)
                .wrap_err_with(|| format!("cannot open {}", a.file.display()))?;
            let report = open(&a.dirs)?
                .import_car(std::io::BufReader::new(f), MAX_SECTION)
                .wrap_err_with(|| format!("cannot import {}", a.file.display()))?;
            for c in &report.blocks {
                out::line(c.to_string());
            }
            for r in &report.missing_roots {
                out::note(format!(
                    "warning: root {r} is not in the file nor the store"
                ));
            }
        }
    }
    Ok(())
}
