//! [`FileEncoder`]: cuts a byte stream into the blocks of a balanced UnixFS file DAG.
//!
//! Leaves are emitted as soon as a chunk is full; a `File` node is emitted as soon as a level
//! holds [`Layout::max_links`] entries (its group can no longer change), and the rest at
//! [`FileEncoder::finish`]. Memory is one chunk plus one link per pending entry.

use super::Layout;
use super::pb::{NodeType, PbLink, PbNode, UnixfsData};
use crate::Cid;
use crate::cid::Codec;

/// One block of a DAG: its CID and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The block's CID.
    pub cid: Cid,
    /// The block's bytes.
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Link {
    cid: Cid,
    /// File bytes under this link.
    content: u64,
    /// Bytes of every block under this link (the dag-pb `Tsize`).
    dag: u64,
}

/// Streams bytes into UnixFS blocks; see the [module docs](self).
#[derive(Debug)]
pub struct FileEncoder {
    layout: Layout,
    buf: Vec<u8>,
    /// `levels[0]` holds leaves, `levels[i]` nodes of height `i`, not yet grouped.
    levels: Vec<Vec<Link>>,
}

impl FileEncoder {
    /// An encoder for `layout` (`max_links` below 2 is taken as 2, `chunk_size` 0 as 1).
    pub fn new(layout: Layout) -> Self {
        let layout = Layout {
            chunk_size: layout.chunk_size.max(1),
            max_links: layout.max_links.max(2),
        };
        Self {
            layout,
            buf: Vec::new(),
            levels: vec![Vec::new()],
        }
    }

    /// Feeds bytes; returns the blocks completed by them (leaves, then the nodes they close).
    pub fn write(&mut self, mut bytes: &[u8]) -> Vec<Block> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let room = self.layout.chunk_size - self.buf.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            bytes = rest;
            if self.buf.is_empty() && now.len() == self.layout.chunk_size {
                self.leaf(now.to_vec(), &mut out);
            } else {
                self.buf.extend_from_slice(now);
                if self.buf.len() == self.layout.chunk_size {
                    let chunk = std::mem::take(&mut self.buf);
                    self.leaf(chunk, &mut out);
                }
            }
        }
        out
    }

    /// Ends the file: returns the root CID and the last blocks (the root last).
    pub fn finish(mut self) -> (Cid, Vec<Block>) {
        let mut out = Vec::new();
        let no_leaves = self.levels.iter().all(Vec::is_empty);
        if !self.buf.is_empty() || no_leaves {
            let chunk = std::mem::take(&mut self.buf);
            self.leaf(chunk, &mut out);
        }
        // Group every level bottom-up until the top level holds one entry: the root. The top
        // level is never empty (a level empties only by pushing a node one level up).
        let mut depth = 0;
        while depth < self.levels.len() {
            let top = depth + 1 == self.levels.len();
            let row = std::mem::take(&mut self.levels[depth]);
            match row.as_slice() {
                [only] if top => return (only.cid, out),
                [] => {}
                _ => {
                    let link = branch(&row, &mut out);
                    self.push(depth + 1, link, &mut out);
                }
            }
            depth += 1;
        }
        unreachable!("the top level of a file DAG is never empty")
    }

    fn leaf(&mut self, chunk: Vec<u8>, out: &mut Vec<Block>) {
        let len = chunk.len() as u64;
        let cid = Cid::of(&chunk);
        out.push(Block { cid, bytes: chunk });
        self.push(
            0,
            Link {
                cid,
                content: len,
                dag: len,
            },
            out,
        );
    }

    /// Adds `link` at `level`, closing a full group into a node one level up.
    fn push(&mut self, level: usize, link: Link, out: &mut Vec<Block>) {
        if self.levels.len() <= level {
            self.levels.push(Vec::new());
        }
        self.levels[level].push(link);
        // A level with max_links (>= 2) entries is always grouped, and its first group is
        // always its first max_links entries, so the node is final now.
        if self.levels[level].len() == self.layout.max_links {
            let group = std::mem::take(&mut self.levels[level]);
            let parent = branch(&group, out);
            self.push(level + 1, parent, out);
        }
    }
}

/// Encodes a `File` node over `children`; returns the link to it.
fn branch(children: &[Link], out: &mut Vec<Block>) -> Link {
    let content: u64 = children.iter().map(|l| l.content).sum();
    let data = UnixfsData {
        kind: NodeType::File,
        data: None,
        filesize: Some(content),
        blocksizes: children.iter().map(|l| l.content).collect(),
    };
    let node = PbNode {
        links: children
            .iter()
            .map(|l| PbLink {
                cid: l.cid,
                name: Some(String::new()),
                tsize: Some(l.dag),
            })
            .collect(),
        data: Some(data.encode()),
    };
    let bytes = node.encode();
    let cid = Cid::of_block(Codec::DagPb, &bytes);
    let dag = bytes.len() as u64 + children.iter().map(|l| l.dag).sum::<u64>();
    out.push(Block { cid, bytes });
    Link { cid, content, dag }
}
