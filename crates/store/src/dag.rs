//! Whole DAGs in and out of the store: CAR export of a file's every block, CAR import of
//! ipfs-car's output (a bare file DAG, or the default directory wrapping one or more files),
//! and the free-space check that refuses a CAR the disk cannot hold before writing anything.

use crate::{Error, Result, Store};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use vouch_primitives::Cid;
use vouch_primitives::unixfs::{self, DagError, Entry};

/// Most levels [`Store::dag_blocks`] follows below a root.
const MAX_DEPTH: usize = 32;

/// What a CAR import stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarImport {
    /// The header's roots.
    pub roots: Vec<Cid>,
    /// Every block stored, in file order.
    pub blocks: Vec<Cid>,
    /// Roots that no section of the file held (and the store did not already have).
    pub missing_roots: Vec<Cid>,
    /// Roots present but whose DAG lacks blocks (neither in the file nor the store).
    pub incomplete_roots: Vec<Cid>,
    /// The files the roots name: a file root as itself (empty name), a UnixFS directory root
    /// (what `ipfs-car pack` writes by default) as its entries. A header with no roots (what
    /// `ipfs-car pack` writes to stdout, printing the root on stderr) is read as naming the
    /// blocks of the file no other block links to.
    pub files: Vec<Entry>,
}

impl Store {
    /// Every block of the DAG under `root`, each once, root first (depth-first, link order).
    /// Fails with [`Error::NotFound`] on the first missing block.
    pub fn dag_blocks(&self, root: &Cid) -> Result<Vec<Cid>> {
        let mut seen = BTreeSet::new();
        let mut order = Vec::new();
        let mut stack = vec![(*root, 0usize)];
        while let Some((cid, depth)) = stack.pop() {
            if !seen.insert(cid) {
                continue;
            }
            if depth > MAX_DEPTH {
                return Err(DagError::TooDeep { limit: MAX_DEPTH }.into());
            }
            let bytes = self.get_block(&cid)?;
            order.push(cid);
            for l in unixfs::links(&cid, &bytes)?.into_iter().rev() {
                stack.push((l, depth + 1));
            }
        }
        Ok(order)
    }

    /// Writes a CAR v1 file with `roots` as header roots and every block of each root's DAG
    /// (each block once), read and verified from the store.
    pub fn export_car(&self, roots: &[Cid], w: &mut impl Write) -> Result<()> {
        let mut seen = BTreeSet::new();
        let mut cids = Vec::new();
        for r in roots {
            for c in self.dag_blocks(r)? {
                if seen.insert(c) {
                    cids.push(c);
                }
            }
        }
        crate::car::write_car_with(w, roots, &cids, |c| self.get_block(c))
    }

    /// Imports every block of a CAR v1 stream (each section at most `max_section` bytes).
    /// Blocks are verified (hash, and dag-pb decoding) before they are stored; on an error,
    /// the blocks before it stay. Afterwards each root's DAG is checked for completeness.
    pub fn import_car(&self, r: impl Read, max_section: u64) -> Result<CarImport> {
        let mut reader = crate::car::CarReader::new(r, max_section)?;
        let mut blocks = Vec::new();
        let mut linked = BTreeSet::new();
        while let Some((cid, bytes)) = reader.next_block()? {
            self.put_block(&cid, &bytes)?;
            linked.extend(unixfs::links(&cid, &bytes)?);
            blocks.push(cid);
        }
        let roots = reader.roots().to_vec();
        let named = if roots.is_empty() {
            let mut seen = BTreeSet::new();
            blocks
                .iter()
                .filter(|c| !linked.contains(*c) && seen.insert(**c))
                .copied()
                .collect()
        } else {
            roots.clone()
        };
        let (mut missing_roots, mut incomplete_roots, mut files) = (vec![], vec![], vec![]);
        for r in &named {
            if !self.has(r) {
                missing_roots.push(*r);
                continue;
            }
            match self.dag_blocks(r) {
                Ok(_) => {}
                Err(Error::NotFound { .. }) => {
                    incomplete_roots.push(*r);
                    continue;
                }
                Err(e) => return Err(e),
            }
            let bytes = self.get_block(r)?;
            match unixfs::directory_entries(r, &bytes)? {
                Some(entries) => files.extend(entries),
                None => files.push(Entry {
                    name: String::new(),
                    cid: *r,
                    tsize: None,
                }),
            }
        }
        Ok(CarImport {
            roots,
            blocks,
            missing_roots,
            incomplete_roots,
            files,
        })
    }

    /// Fails with [`Error::NoSpace`] unless the store's file system has `bytes` free (plus 1%
    /// and 64 MiB of headroom). Where free space cannot be read, the check passes.
    pub fn ensure_space(&self, bytes: u64) -> Result<()> {
        let Some(available) = available_space(self.root()) else {
            return Ok(());
        };
        let needed = bytes.saturating_add(bytes / 100).saturating_add(64 << 20);
        if needed > available {
            return Err(Error::NoSpace {
                path: self.root().to_owned(),
                needed: Some(needed),
                available: Some(available),
            });
        }
        Ok(())
    }
}

#[cfg(unix)]
fn available_space(path: &std::path::Path) -> Option<u64> {
    let s = rustix::fs::statvfs(path).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

#[cfg(not(unix))]
fn available_space(_: &std::path::Path) -> Option<u64> {
    None
}
