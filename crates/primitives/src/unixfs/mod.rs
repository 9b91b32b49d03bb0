//! UnixFS files as IPFS tools lay them out: fixed-size chunks stored as raw blocks, linked by
//! dag-pb `File` nodes in a balanced tree, all CIDv1 sha2-256 — byte for byte what
//! `ipfs-car pack` (ipfs-car 3.1.0, `@ipld/unixfs`) writes.
//!
//! ```text
//! file of n bytes, n <= CHUNK_SIZE   one raw block; its CID is Cid::of(bytes) (bafkrei…)
//! larger files                       raw leaves of CHUNK_SIZE bytes (the last shorter), grouped
//!                                    MAX_LINKS at a time into dag-pb File nodes, level by
//!                                    level, until one node is left: the root (bafybei…)
//! ```
//!
//! A `File` node's `Data` is `{Type: File, filesize, blocksizes}` (no inline data); each link
//! is `{Hash, Name: "", Tsize}` where `Tsize` is the linked block's size plus its children's
//! `Tsize`. ipfs-car 3.1.0 chunks at 1 MiB with 1024 links per node; `ipfs add` (kubo) uses
//! 256 KiB and 174, so the two tools agree only on files of at most 256 KiB — vouch follows
//! ipfs-car, and [`Layout`] holds both numbers in one place.
//!
//! | module | holds |
//! |---|---|
//! | [`pb`] | the PBNode/PBLink and UnixFS `Data` protobufs, hand-encoded, strictly decoded |
//! | [`builder`] | [`FileEncoder`]: bytes in, blocks out, in streaming order |
//! | [`reader`] | [`read_file`]: walks a DAG from any block source, checking every block and size |
//!
//! No I/O happens here: blocks come from and go to the caller.

pub mod builder;
pub mod pb;
pub mod reader;

pub use builder::{Block, FileEncoder};
pub use pb::{NodeType, PbLink, PbNode, UnixfsData};
pub use reader::{Entry, Limits, ReadError, directory_entries, links, read_file};

use crate::Cid;

/// Chunk size of ipfs-car 3.1.0 (`withMaxChunkSize(1024 * 1024)`).
pub const CHUNK_SIZE: usize = 1 << 20;
/// Links per node of ipfs-car 3.1.0 (`withWidth(1024)`).
pub const MAX_LINKS: usize = 1024;
/// The largest block vouch writes or accepts from a peer or a CAR: one chunk plus room for a
/// full dag-pb node of [`MAX_LINKS`] links (about 1024 × 47 bytes).
pub const MAX_BLOCK: usize = CHUNK_SIZE + (1 << 16);

/// How a file is cut into a DAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Bytes per leaf.
    pub chunk_size: usize,
    /// Most links per dag-pb node (at least 2).
    pub max_links: usize,
}

impl Layout {
    /// ipfs-car 3.1.0's layout, the one vouch uses for every file.
    pub const IPFS_CAR: Self = Self {
        chunk_size: CHUNK_SIZE,
        max_links: MAX_LINKS,
    };
}

impl Default for Layout {
    fn default() -> Self {
        Self::IPFS_CAR
    }
}

/// What is wrong with a DAG or one of its blocks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DagError {
    /// A dag-pb block or UnixFS `Data` message does not decode.
    #[error("malformed dag-pb/UnixFS block: {0}")]
    Malformed(&'static str),
    /// A link is a CID vouch does not follow.
    #[error("unsupported link: {0}")]
    UnsupportedLink(&'static str),
    /// A block's bytes do not hash to the CID it was asked for.
    #[error("block {cid} does not match its content")]
    BlockHash {
        /// The CID asked for.
        cid: Cid,
    },
    /// A node is not part of a file (a directory, symlink or HAMT shard).
    #[error("{cid} is a UnixFS {kind:?} node, not a file")]
    NotAFile {
        /// The node.
        cid: Cid,
        /// Its type.
        kind: NodeType,
    },
    /// The sizes a node records disagree with its links or children.
    #[error("{cid}: {reason}")]
    Size {
        /// The node.
        cid: Cid,
        /// What disagrees.
        reason: &'static str,
    },
    /// A node links to one of its own ancestors.
    #[error("{cid} links back to an ancestor: the DAG has a cycle")]
    Cycle {
        /// The node linked to again.
        cid: Cid,
    },
    /// The DAG is deeper than the reader's limit.
    #[error("DAG deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The file is larger than the reader's limit.
    #[error("file of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The size the root declares.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A block is larger than [`MAX_BLOCK`].
    #[error("block {cid} of {len} bytes exceeds the {MAX_BLOCK}-byte block limit")]
    BlockTooLarge {
        /// The block.
        cid: Cid,
        /// Its length.
        len: usize,
    },
}

/// The UnixFS root CID of `bytes` in the default [`Layout`]; see [`Cid::of_file`].
pub fn file_cid(bytes: &[u8]) -> Cid {
    let mut enc = FileEncoder::new(Layout::default());
    // Only the root matters here; leaves are hashed as they are cut, blocks dropped.
    for chunk in bytes.chunks(CHUNK_SIZE) {
        drop(enc.write(chunk));
    }
    enc.finish().0
}

#[cfg(test)]
mod tests;
