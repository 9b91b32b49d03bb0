//! The on-disk blob store.
//!
//! The store holds blocks: raw chunks (`bafkrei…`) and the dag-pb nodes that link them into
//! files (`bafybei…`). [`Store::put`] cuts a file into its UnixFS DAG
//! ([`vouch_primitives::unixfs`], the layout `ipfs-car pack` writes) and returns the root CID;
//! [`Store::get`] walks the DAG back, checking every block. A file of at most one chunk (1 MiB)
//! is one raw block, exactly as before DAGs existed.
//!
//! Layout under the store root (normally `<data-dir>/store/`):
//!
//! ```text
//! blocks/<2 hex digits of the digest>/<cid>   one file per block
//! tmp/                                        partial writes, renamed into place when complete
//! corrupt/                                    blocks whose bytes did not match their name
//! ```
//!
//! Writes go to `tmp/`, are fsynced, then renamed, so a crash never leaves a partial block under
//! a CID name. Reads rehash the bytes.

use crate::{Error, Result};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use vouch_primitives::unixfs::{self, FileEncoder, Layout, Limits, ReadError};
use vouch_primitives::{Cid, Codec};

/// A content-addressed blob store in one folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

pub(crate) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| {
        if source.kind() == io::ErrorKind::StorageFull {
            Error::NoSpace {
                path: path.to_owned(),
                needed: None,
                available: None,
            }
        } else {
            Error::Io {
                op,
                path: path.to_owned(),
                source,
            }
        }
    }
}

impl Store {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        for sub in ["blocks", "tmp", "corrupt"] {
            let p = root.join(sub);
            fs::create_dir_all(&p).map_err(io_err("create", &p))?;
        }
        Ok(Self { root })
    }

    /// Opens the store of a vouch data directory: `<data_dir>/store/`.
    pub fn open_in_data_dir(data_dir: &Path) -> Result<Self> {
        Self::open(data_dir.join("store"))
    }

    /// The store's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, cid: &Cid) -> PathBuf {
        let shard = format!("{:02x}", cid.digest()[0]);
        self.root.join("blocks").join(shard).join(cid.to_string())
    }

    fn tmp_path(&self) -> PathBuf {
        self.root
            .join("tmp")
            .join(format!("{:016x}.part", rand::random::<u64>()))
    }

    /// Stores a file: cuts `bytes` into its UnixFS DAG and stores every block; returns the
    /// root CID ([`Cid::of_file`]). Storing the same bytes twice is a no-op.
    pub fn put(&self, bytes: &[u8]) -> Result<Cid> {
        self.put_reader(bytes, u64::MAX - 1)
    }

    /// Streams a file from `reader` into the store (at most `limit` bytes), one chunk in memory
    /// at a time; returns its root CID. On an error, the blocks this call added are removed.
    pub fn put_reader(&self, mut reader: impl Read, limit: u64) -> Result<Cid> {
        let mut added = Vec::new();
        let res = (|| {
            let mut enc = FileEncoder::new(Layout::default());
            let mut buf = vec![0u8; unixfs::CHUNK_SIZE];
            let mut total = 0u64;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io_err("read", Path::new("<input>"))(e)),
                };
                total += n as u64;
                if total > limit {
                    return Err(Error::TooLarge { limit });
                }
                for b in enc.write(buf.get(..n).unwrap_or_default()) {
                    self.store_block(&b.cid, &b.bytes, &mut added)?;
                }
            }
            let (root, last) = enc.finish();
            for b in last {
                self.store_block(&b.cid, &b.bytes, &mut added)?;
            }
            Ok(root)
        })();
        if res.is_err() {
            for c in added {
                let _ = self.remove(&c);
            }
        }
        res
    }

    fn store_block(&self, cid: &Cid, bytes: &[u8], added: &mut Vec<Cid>) -> Result<()> {
        if !self.has_valid(cid) {
            self.write_block(cid, bytes)?;
            added.push(*cid);
        }
        Ok(())
    }

    /// Stores the file at `path`; returns its root CID.
    pub fn put_file(&self, path: &Path) -> Result<Cid> {
        let f = File::open(path).map_err(io_err("open", path))?;
        self.put_reader(io::BufReader::with_capacity(1 << 16, f), u64::MAX - 1)
    }

    /// Stores one block under `cid` after checking that `bytes` hash to it (and, for dag-pb,
    /// that they decode). A block already stored intact is left alone.
    pub fn put_block(&self, cid: &Cid, bytes: &[u8]) -> Result<()> {
        if !cid.verifies(bytes) {
            return Err(Error::Corrupt {
                cid: *cid,
                actual: Cid::of_block(cid.codec(), bytes),
            });
        }
        if cid.codec() == Codec::DagPb {
            unixfs::PbNode::decode(bytes)?;
        }
        if self.has_valid(cid) {
            return Ok(());
        }
        self.write_block(cid, bytes)
    }

    fn write_block(&self, cid: &Cid, bytes: &[u8]) -> Result<()> {
        let tmp = self.tmp_path();
        let res = (|| {
            let mut f = File::create(&tmp).map_err(io_err("create", &tmp))?;
            f.write_all(bytes).map_err(io_err("write", &tmp))?;
            f.sync_all().map_err(io_err("sync", &tmp))?;
            self.install(&tmp, cid)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res
    }

    /// Renames a complete temp file into place under `cid`.
    fn install(&self, tmp: &Path, cid: &Cid) -> Result<()> {
        let dest = self.path_of(cid);
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        }
        fs::rename(tmp, &dest).map_err(io_err("rename", &dest))?;
        if let Some(dir) = dest.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Whether a block is filed under `cid` (not verified, and for a DAG root not its
    /// children: [`Store::get`] verifies everything).
    pub fn has(&self, cid: &Cid) -> bool {
        self.path_of(cid).is_file()
    }

    pub(crate) fn has_valid(&self, cid: &Cid) -> bool {
        self.get_block(cid).is_ok()
    }

    /// Reads the file `cid`: its one raw block, or the bytes of its UnixFS DAG in order. Every
    /// block is verified; a missing block is [`Error::NotFound`] naming that block.
    pub fn get(&self, cid: &Cid) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_file(cid, &Limits::default(), &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })?;
        Ok(out)
    }

    /// Streams the file `cid` into `sink`, block by block, within `limits`; returns its size.
    pub fn read_file(
        &self,
        cid: &Cid,
        limits: &Limits,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<u64> {
        unixfs::read_file(cid, limits, &mut |c| self.get_block(c), sink).map_err(|e| match e {
            ReadError::Source(e) => e,
            ReadError::Dag(d) => Error::Dag(d),
        })
    }

    /// Reads one block, verifying that its bytes hash to `cid`.
    ///
    /// A block whose bytes do not match is moved to `corrupt/` and reported as
    /// [`Error::Corrupt`], so a later `put` or fetch can repair it.
    pub fn get_block(&self, cid: &Cid) -> Result<Vec<u8>> {
        let path = self.path_of(cid);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NotFound { cid: *cid });
            }
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let actual = Cid::of_block(cid.codec(), &bytes);
        if actual != *cid {
            let aside = self
                .root
                .join("corrupt")
                .join(format!("{cid}.{:08x}", rand::random::<u32>()));
            let _ = fs::rename(&path, aside);
            return Err(Error::Corrupt { cid: *cid, actual });
        }
        Ok(bytes)
    }

    /// Removes the block `cid` if present; returns whether it was there.
    pub fn remove(&self, cid: &Cid) -> Result<bool> {
        let path = self.path_of(cid);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("remove", &path)(e)),
        }
    }

    /// The CIDs of the blocks filed in the store, sorted (names only; use [`Store::verify_all`]
    /// to check bytes). A file of several chunks shows as its root and its blocks.
    /// Files whose names are not vouch CIDs, or sit in the wrong shard, are skipped.
    pub fn list(&self) -> Result<Vec<Cid>> {
        let blocks = self.root.join("blocks");
        let mut out = Vec::new();
        for shard in fs::read_dir(&blocks).map_err(io_err("list", &blocks))? {
            let shard = shard.map_err(io_err("list", &blocks))?.path();
            if !shard.is_dir() {
                continue;
            }
            for entry in fs::read_dir(&shard).map_err(io_err("list", &shard))? {
                let entry = entry.map_err(io_err("list", &shard))?;
                let name = entry.file_name();
                if let Some(cid) = name.to_str().and_then(|n| n.parse::<Cid>().ok())
                    && self.path_of(&cid) == entry.path()
                {
                    out.push(cid);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Rehashes every block; returns the CIDs found corrupt (and moved aside).
    pub fn verify_all(&self) -> Result<Vec<Cid>> {
        let mut bad = Vec::new();
        for cid in self.list()? {
            match self.get_block(&cid) {
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(Error::Corrupt { cid, .. }) => bad.push(cid),
                Err(e) => return Err(e),
            }
        }
        Ok(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_has_list() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let a = s.put(b"alpha").unwrap();
        let b = s.put_reader(&b"beta"[..], 100).unwrap();
        assert_eq!(a, Cid::of(b"alpha"));
        assert_eq!(b, Cid::of(b"beta"));
        assert_eq!(s.put(b"alpha").unwrap(), a);
        assert!(s.has(&a) && s.has(&b));
        assert_eq!(s.get(&a).unwrap(), b"alpha");
        let mut want = vec![a, b];
        want.sort();
        assert_eq!(s.list().unwrap(), want);
        assert!(matches!(s.get(&Cid::of(b"x")), Err(Error::NotFound { .. })));
        assert!(
            fs::read_dir(dir.path().join("tmp"))
                .unwrap()
                .next()
                .is_none()
        );
    }

    #[test]
    fn limit_is_enforced_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert!(matches!(
            s.put_reader(&[7u8; 11][..], 10),
            Err(Error::TooLarge { limit: 10 })
        ));
        assert!(s.list().unwrap().is_empty());
        assert!(
            fs::read_dir(dir.path().join("tmp"))
                .unwrap()
                .next()
                .is_none()
        );
    }

    #[test]
    fn tampered_file_is_detected_moved_aside_and_repairable() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let a = s.put(b"genuine").unwrap();
        fs::write(s.path_of(&a), b"forged").unwrap();
        match s.get(&a) {
            Err(Error::Corrupt { cid, actual }) => {
                assert_eq!(cid, a);
                assert_eq!(actual, Cid::of(b"forged"));
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert!(!s.has(&a));
        assert_eq!(s.put(b"genuine").unwrap(), a);
        assert_eq!(s.get(&a).unwrap(), b"genuine");
    }

    #[test]
    fn misfiled_and_foreign_names_are_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let a = s.put(b"one").unwrap();
        let wrong_shard = dir.path().join("blocks").join("zz");
        fs::create_dir_all(&wrong_shard).unwrap();
        fs::write(wrong_shard.join(Cid::of(b"two").to_string()), b"two").unwrap();
        fs::write(s.path_of(&a).with_file_name("README"), b"hi").unwrap();
        assert_eq!(s.list().unwrap(), vec![a]);
        fs::write(s.path_of(&a), b"bad").unwrap();
        assert_eq!(s.verify_all().unwrap(), vec![a]);
    }
}
