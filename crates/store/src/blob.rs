//! The on-disk blob store.
//!
//! Layout under the store root (normally `<data-dir>/store/`):
//!
//! ```text
//! blocks/<2 hex digits of the digest>/<cid>   one file per blob
//! tmp/                                        partial writes, renamed into place when complete
//! corrupt/                                    blobs whose bytes did not match their name
//! ```
//!
//! Writes go to `tmp/`, are fsynced, then renamed, so a crash never leaves a partial blob under
//! a CID name. Reads rehash the bytes.

use crate::{Error, Result};
use sha2_compat::Sha256Writer;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use vouch_primitives::Cid;

/// A content-addressed blob store in one folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io {
        op,
        path: path.to_owned(),
        source,
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

    /// Stores `bytes`; returns their CID. Storing the same bytes twice is a no-op.
    pub fn put(&self, bytes: &[u8]) -> Result<Cid> {
        let cid = Cid::of(bytes);
        if self.has_valid(&cid) {
            return Ok(cid);
        }
        let tmp = self.tmp_path();
        let res = (|| {
            let mut f = File::create(&tmp).map_err(io_err("create", &tmp))?;
            f.write_all(bytes).map_err(io_err("write", &tmp))?;
            f.sync_all().map_err(io_err("sync", &tmp))?;
            self.install(&tmp, &cid)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res.map(|()| cid)
    }

    /// Streams `reader` into the store (at most `limit` bytes); returns the CID of the bytes read.
    pub fn put_reader(&self, reader: impl Read, limit: u64) -> Result<Cid> {
        let tmp = self.tmp_path();
        let res = (|| {
            let f = File::create(&tmp).map_err(io_err("create", &tmp))?;
            let mut w = Sha256Writer::new(f);
            let n = io::copy(&mut reader.take(limit.saturating_add(1)), &mut w)
                .map_err(io_err("write", &tmp))?;
            if n > limit {
                return Err(Error::TooLarge { limit });
            }
            let (f, digest) = w.finish();
            f.sync_all().map_err(io_err("sync", &tmp))?;
            let cid = Cid::from_digest(digest);
            self.install(&tmp, &cid)?;
            Ok(cid)
        })();
        let _ = fs::remove_file(&tmp);
        res
    }

    /// Stores the file at `path`; returns its CID.
    pub fn put_file(&self, path: &Path) -> Result<Cid> {
        let f = File::open(path).map_err(io_err("open", path))?;
        self.put_reader(f, u64::MAX - 1)
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

    /// Whether a file is filed under `cid` (not verified; [`Store::get`] verifies).
    pub fn has(&self, cid: &Cid) -> bool {
        self.path_of(cid).is_file()
    }

    fn has_valid(&self, cid: &Cid) -> bool {
        self.get(cid).is_ok()
    }

    /// Reads the blob `cid`, verifying that its bytes hash to `cid`.
    ///
    /// A blob whose bytes do not match is moved to `corrupt/` and reported as
    /// [`Error::Corrupt`], so a later `put` or fetch can repair it.
    pub fn get(&self, cid: &Cid) -> Result<Vec<u8>> {
        let path = self.path_of(cid);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::NotFound { cid: *cid });
            }
            Err(e) => return Err(io_err("read", &path)(e)),
        };
        let actual = Cid::of(&bytes);
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

    /// Removes the blob `cid` if present; returns whether it was there.
    pub fn remove(&self, cid: &Cid) -> Result<bool> {
        let path = self.path_of(cid);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("remove", &path)(e)),
        }
    }

    /// The CIDs filed in the store, sorted (names only; use [`Store::verify_all`] to check bytes).
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

    /// Rehashes every blob; returns the CIDs found corrupt (and moved aside).
    pub fn verify_all(&self) -> Result<Vec<Cid>> {
        let mut bad = Vec::new();
        for cid in self.list()? {
            match self.get(&cid) {
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(Error::Corrupt { cid, .. }) => bad.push(cid),
                Err(e) => return Err(e),
            }
        }
        Ok(bad)
    }
}

/// A writer that hashes what passes through it.
mod sha2_compat {
    use sha2::{Digest, Sha256};
    use std::io::{self, Write};

    pub(crate) struct Sha256Writer<W> {
        inner: W,
        hasher: Sha256,
    }

    impl<W: Write> Sha256Writer<W> {
        pub(crate) fn new(inner: W) -> Self {
            Self {
                inner,
                hasher: Sha256::new(),
            }
        }

        pub(crate) fn finish(self) -> (W, [u8; 32]) {
            (self.inner, self.hasher.finalize().into())
        }
    }

    impl<W: Write> Write for Sha256Writer<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.hasher.update(buf.get(..n).unwrap_or(buf));
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
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

/// What a CAR import stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarImport {
    /// The header's roots.
    pub roots: Vec<Cid>,
    /// Every block stored, in file order.
    pub blocks: Vec<Cid>,
    /// Roots that no section of the file held (and the store did not already have).
    pub missing_roots: Vec<Cid>,
}

impl Store {
    /// Writes a CAR v1 file with `roots` as header roots and one section per root, each read
    /// (and verified) from the store.
    pub fn export_car(&self, roots: &[Cid], w: &mut impl Write) -> Result<()> {
        let blocks: Vec<(Cid, Vec<u8>)> = roots
            .iter()
            .map(|c| self.get(c).map(|b| (*c, b)))
            .collect::<Result<_>>()?;
        crate::car::write_car(w, roots, blocks.iter().map(|(c, b)| (*c, b.as_slice())))?;
        Ok(())
    }

    /// Imports every block of a CAR v1 stream (each section at most `max_section` bytes).
    /// Blocks are verified before they are stored; on an error, the blocks before it stay.
    pub fn import_car(&self, r: impl Read, max_section: u64) -> Result<CarImport> {
        let mut reader = crate::car::CarReader::new(r, max_section)?;
        let mut blocks = Vec::new();
        while let Some((cid, bytes)) = reader.next_block()? {
            self.put(&bytes)?;
            blocks.push(cid);
        }
        let roots = reader.roots().to_vec();
        let missing_roots = roots
            .iter()
            .filter(|r| !blocks.contains(r) && !self.has(r))
            .copied()
            .collect();
        Ok(CarImport {
            roots,
            blocks,
            missing_roots,
        })
    }
}
