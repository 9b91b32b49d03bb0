//! Reading a file back from its DAG, from any block source, trusting nothing: every block is
//! rehashed, every node decoded strictly, every size a node records checked against what its
//! children hold, and depth, block count, size and cycles are bounded.

use super::pb::{NodeType, PbNode, UnixfsData};
use super::{DagError, MAX_BLOCK};
use crate::Cid;
use crate::cid::Codec;

/// Bounds on a DAG walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most levels below the root (ipfs-car needs 3 for 1 PiB).
    pub max_depth: usize,
    /// Most file bytes.
    pub max_size: u64,
    /// Most blocks read.
    pub max_blocks: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_size: u64::MAX,
            max_blocks: 1 << 24,
        }
    }
}

/// Why a walk stopped: the block source failed, or the DAG is bad.
#[derive(Debug, thiserror::Error)]
pub enum ReadError<E> {
    /// The block source (or the sink) failed.
    #[error(transparent)]
    Source(E),
    /// The DAG is malformed or over a limit.
    #[error(transparent)]
    Dag(#[from] DagError),
}

/// One entry of a UnixFS directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's name.
    pub name: String,
    /// The entry's root CID.
    pub cid: Cid,
    /// The size of the entry's DAG as the directory records it.
    pub tsize: Option<u64>,
}

/// The CIDs a block links to (none for a raw block); the block is decoded strictly.
pub fn links(cid: &Cid, bytes: &[u8]) -> Result<Vec<Cid>, DagError> {
    match cid.codec() {
        Codec::Raw => Ok(Vec::new()),
        Codec::DagPb => Ok(PbNode::decode(bytes)?
            .links
            .into_iter()
            .map(|l| l.cid)
            .collect()),
    }
}

/// The entries of a UnixFS directory block; `None` when the block is not a directory.
pub fn directory_entries(cid: &Cid, bytes: &[u8]) -> Result<Option<Vec<Entry>>, DagError> {
    if cid.codec() != Codec::DagPb {
        return Ok(None);
    }
    let node = PbNode::decode(bytes)?;
    let data = UnixfsData::decode(node.data.as_deref().unwrap_or_default())?;
    if data.kind != NodeType::Directory {
        return Ok(None);
    }
    Ok(Some(
        node.links
            .into_iter()
            .map(|l| Entry {
                name: l.name.unwrap_or_default(),
                cid: l.cid,
                tsize: l.tsize,
            })
            .collect(),
    ))
}

/// Walks the file DAG under `root`, passing its bytes in order to `sink`; returns the file size.
///
/// `get` returns a block's bytes (the walk rehashes them). Raw leaves and dag-pb `File` (or
/// legacy `Raw`) nodes are followed; anything else is [`DagError::NotAFile`].
pub fn read_file<E>(
    root: &Cid,
    limits: &Limits,
    get: &mut dyn FnMut(&Cid) -> Result<Vec<u8>, E>,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), E>,
) -> Result<u64, ReadError<E>> {
    let mut w = Walk {
        limits,
        get,
        sink,
        path: Vec::new(),
        blocks: 0,
    };
    w.node(root, 0)
}

struct Walk<'a, E> {
    limits: &'a Limits,
    get: &'a mut dyn FnMut(&Cid) -> Result<Vec<u8>, E>,
    sink: &'a mut dyn FnMut(&[u8]) -> Result<(), E>,
    /// The ancestors of the node being read.
    path: Vec<Cid>,
    blocks: u64,
}

impl<E> Walk<'_, E> {
    fn node(&mut self, cid: &Cid, depth: usize) -> Result<u64, ReadError<E>> {
        if depth > self.limits.max_depth {
            return Err(DagError::TooDeep {
                limit: self.limits.max_depth,
            }
            .into());
        }
        if self.path.contains(cid) {
            return Err(DagError::Cycle { cid: *cid }.into());
        }
        self.blocks += 1;
        if self.blocks > self.limits.max_blocks {
            return Err(DagError::Size {
                cid: *cid,
                reason: "more blocks than the reader's limit",
            }
            .into());
        }
        let bytes = (self.get)(cid).map_err(ReadError::Source)?;
        // A raw root may be a whole file stored as one block before vouch chunked files.
        if bytes.len() > MAX_BLOCK && (depth > 0 || cid.codec() == Codec::DagPb) {
            return Err(DagError::BlockTooLarge {
                cid: *cid,
                len: bytes.len(),
            }
            .into());
        }
        if !cid.verifies(&bytes) {
            return Err(DagError::BlockHash { cid: *cid }.into());
        }
        if cid.codec() == Codec::Raw {
            if depth == 0 && bytes.len() as u64 > self.limits.max_size {
                return Err(DagError::TooLarge {
                    size: bytes.len() as u64,
                    limit: self.limits.max_size,
                }
                .into());
            }
            (self.sink)(&bytes).map_err(ReadError::Source)?;
            return Ok(bytes.len() as u64);
        }
        let node = PbNode::decode(&bytes)?;
        let data = UnixfsData::decode(
            node.data
                .as_deref()
                .ok_or(DagError::Malformed("dag-pb node without UnixFS Data"))?,
        )?;
        if !matches!(data.kind, NodeType::File | NodeType::Raw) {
            return Err(DagError::NotAFile {
                cid: *cid,
                kind: data.kind,
            }
            .into());
        }
        let size = |reason| DagError::Size { cid: *cid, reason };
        if node.links.len() != data.blocksizes.len() {
            return Err(size("link count differs from blocksizes count").into());
        }
        let inline = data.data.as_deref().unwrap_or_default();
        let total = data
            .blocksizes
            .iter()
            .try_fold(inline.len() as u64, |acc, &b| acc.checked_add(b))
            .ok_or_else(|| size("blocksizes overflow"))?;
        if data.filesize.is_some_and(|f| f != total) {
            return Err(size("filesize differs from its parts").into());
        }
        if depth == 0 && total > self.limits.max_size {
            return Err(DagError::TooLarge {
                size: total,
                limit: self.limits.max_size,
            }
            .into());
        }
        if !node.links.is_empty() && data.blocksizes.contains(&0) {
            return Err(size("a link to an empty part").into());
        }
        (self.sink)(inline).map_err(ReadError::Source)?;
        self.path.push(*cid);
        for (link, &want) in node.links.iter().zip(&data.blocksizes) {
            let got = self.node(&link.cid, depth + 1)?;
            if got != want {
                return Err(size("a child holds a different size than blocksizes says").into());
            }
        }
        self.path.pop();
        Ok(total)
    }
}
