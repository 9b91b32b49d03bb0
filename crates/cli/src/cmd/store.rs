//! `vouch store put|get|list|export|import`: the local content-addressed store under
//! `<data-dir>/store/`, and CAR v1 files so IPFS or Filecoin tools can pin the same content.
//! Files are UnixFS DAGs laid out as `ipfs-car pack` lays them out, so a file has the same CID
//! here and there, and `import` takes ipfs-car's CARs (directory-wrapped by default) as is.

use crate::chain_args::DataDirArgs;
use crate::out;
use clap::{Args, Subcommand};
use eyre::{Result, WrapErr, bail};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use vouch_primitives::Cid;
use vouch_store::Store;

/// The largest CAR section `vouch store import` accepts (4 GiB: a whole file stored as one raw
/// block by an older vouch; blocks of chunked files are at most about 1 MiB).
const MAX_SECTION: u64 = 4 << 30;

/// `vouch store ...`
#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// Add a file; prints its CID, the one `ipfs-car pack --no-wrap` prints (1 MiB raw chunks
    /// under a balanced dag-pb tree, CIDv1; a file of at most 1 MiB is one raw block).
    Put(PutArgs),
    /// Write a file's bytes (every block verified against its CID) to a file or stdout.
    Get(GetArgs),
    /// List the CIDs of the blocks in the store; `--verify` rehashes every block.
    List(ListArgs),
    /// Write files (every block of their DAGs) as a CAR v1 file.
    Export(ExportArgs),
    /// Import every block of a CAR v1 file (each verified), e.g. `ipfs-car pack`'s output;
    /// prints the CID of each file it holds.
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
    /// Rehash every block and report (and move aside) corrupt ones.
    #[arg(long)]
    pub verify: bool,
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
}

/// `vouch store export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The CIDs to export (the CAR's roots, with every block of their DAGs).
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
            out::result(json!({ "cid": cid.to_string() }), || {
                out::line(cid.to_string())
            });
        }
        StoreCmd::Get(a) => get(a)?,
        StoreCmd::List(a) => {
            let store = open(&a.dirs)?;
            if a.verify {
                let bad = store.verify_all()?;
                for c in &bad {
                    out::note(format!("corrupt (moved to store/corrupt/): {c}"));
                }
                if !bad.is_empty() {
                    bail!("{} corrupt block(s)", bad.len());
                }
            }
            let cids: Vec<String> = store.list()?.iter().map(ToString::to_string).collect();
            out::result(json!(cids), || {
                for c in &cids {
                    out::line(c);
                }
            });
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
                "wrote {} ({} root(s), {} bytes)",
                a.output.display(),
                a.cids.len(),
                buf.len()
            ));
        }
        StoreCmd::Import(a) => import(a)?,
    }
    Ok(())
}

fn get(a: &GetArgs) -> Result<()> {
    let store = open(&a.dirs)?;
    let limits = vouch_primitives::unixfs::Limits::default();
    match &a.output {
        Some(p) => {
            // Written beside the target and renamed, so a failed read leaves no partial file.
            let tmp = p.with_extension("part");
            let res = (|| -> Result<()> {
                let f = std::fs::File::create(&tmp)
                    .wrap_err_with(|| format!("cannot write {}", tmp.display()))?;
                let mut w = std::io::BufWriter::new(f);
                store.read_file(&a.cid, &limits, &mut |b| {
                    w.write_all(b).map_err(|source| vouch_store::Error::Io {
                        op: "write",
                        path: tmp.clone(),
                        source,
                    })
                })?;
                w.flush()?;
                std::fs::rename(&tmp, p)
                    .wrap_err_with(|| format!("cannot write {}", p.display()))?;
                Ok(())
            })();
            if res.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            res?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            store.read_file(&a.cid, &limits, &mut |b| {
                stdout
                    .write_all(b)
                    .map_err(|source| vouch_store::Error::Io {
                        op: "write",
                        path: "<stdout>".into(),
                        source,
                    })
            })?;
            stdout.flush()?;
        }
    }
    Ok(())
}

fn import(a: &ImportCarArgs) -> Result<()> {
    let f = std::fs::File::open(&a.file)
        .wrap_err_with(|| format!("cannot open {}", a.file.display()))?;
    let len = f
        .metadata()
        .wrap_err_with(|| format!("cannot read {}", a.file.display()))?
        .len();
    let store = open(&a.dirs)?;
    store
        .ensure_space(len)
        .wrap_err_with(|| format!("cannot import {} ({len} bytes)", a.file.display()))?;
    let report = store
        .import_car(std::io::BufReader::new(f), MAX_SECTION)
        .wrap_err_with(|| format!("cannot import {}", a.file.display()))?;
    let files: Vec<_> = report
        .files
        .iter()
        .map(|f| json!({ "cid": f.cid.to_string(), "name": f.name }))
        .collect();
    let v = json!({
        "files": files,
        "blocks": report.blocks.len(),
        "missing_roots": report.missing_roots.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "incomplete_roots": report.incomplete_roots.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    out::result(v, || {
        for file in &report.files {
            if file.name.is_empty() {
                out::line(file.cid.to_string());
            } else {
                out::line(format!("{}  {}", file.cid, file.name));
            }
        }
    });
    out::note(format!(
        "imported {} block(s) from {}",
        report.blocks.len(),
        a.file.display()
    ));
    for r in &report.missing_roots {
        out::note(format!(
            "warning: root {r} is not in the file nor the store"
        ));
    }
    for r in &report.incomplete_roots {
        out::note(format!(
            "warning: root {r} lacks blocks that are not in the file nor the store"
        ));
    }
    Ok(())
}
