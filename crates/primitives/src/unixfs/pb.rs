//! The two protobuf messages of UnixFS, encoded and decoded by hand:
//!
//! ```text
//! PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }     dag-pb (links first)
//! PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3; }
//! Data   { Type = 1; bytes Data = 2; uint64 filesize = 3; repeated uint64 blocksizes = 4;
//!          hashType = 5; fanout = 6; mode = 7; mtime = 8 }          UnixFS, inside PBNode.Data
//! ```
//!
//! The dag-pb decoder is strict the way `@ipld/dag-pb` is (fields in canonical order, none
//! repeated, no unknown fields, every link has a hash), so a block decodes to exactly one node.

use super::DagError;
use crate::Cid;

/// One link of a dag-pb node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbLink {
    /// The CID linked to.
    pub cid: Cid,
    /// The entry name (directories), `Some("")` in file nodes written by ipfs-car.
    pub name: Option<String>,
    /// The cumulative size of the linked DAG in bytes, as the writer recorded it.
    pub tsize: Option<u64>,
}

/// A dag-pb node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PbNode {
    /// The links, in order.
    pub links: Vec<PbLink>,
    /// The payload (a UnixFS `Data` message in UnixFS DAGs).
    pub data: Option<Vec<u8>>,
}

/// UnixFS node types (`Data.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    /// 0: a chunk of a file, stored as dag-pb (legacy leaves).
    Raw,
    /// 1: a directory.
    Directory,
    /// 2: a file or a part of one.
    File,
    /// 3: metadata.
    Metadata,
    /// 4: a symbolic link.
    Symlink,
    /// 5: a HAMT-sharded directory.
    HamtShard,
}

impl NodeType {
    fn from_code(v: u64) -> Result<Self, DagError> {
        Ok(match v {
            0 => Self::Raw,
            1 => Self::Directory,
            2 => Self::File,
            3 => Self::Metadata,
            4 => Self::Symlink,
            5 => Self::HamtShard,
            _ => return Err(DagError::Malformed("unknown UnixFS node type")),
        })
    }

    fn code(self) -> u64 {
        match self {
            Self::Raw => 0,
            Self::Directory => 1,
            Self::File => 2,
            Self::Metadata => 3,
            Self::Symlink => 4,
            Self::HamtShard => 5,
        }
    }
}

/// The UnixFS `Data` message (the fields vouch reads; mode and mtime are skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixfsData {
    /// The node type.
    pub kind: NodeType,
    /// Inline content.
    pub data: Option<Vec<u8>>,
    /// The file size this node stands for.
    pub filesize: Option<u64>,
    /// The content size of each linked child, in link order.
    pub blocksizes: Vec<u64>,
}

// ---------------------------------------------------------------- wire helpers

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_bytes(out: &mut Vec<u8>, key: u8, bytes: &[u8]) {
    out.push(key);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

struct Wire<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Wire<'a> {
    fn done(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn varint(&mut self) -> Result<u64, DagError> {
        let mut v: u64 = 0;
        for i in 0..10u32 {
            let byte = *self
                .b
                .get(self.pos)
                .ok_or(DagError::Malformed("truncated varint"))?;
            self.pos += 1;
            if i == 9 && byte > 1 {
                return Err(DagError::Malformed("varint overflows 64 bits"));
            }
            v |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DagError::Malformed("varint too long"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DagError> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| DagError::Malformed("length too large"))?;
        let end = self
            .pos
            .checked_add(len)
            .ok_or(DagError::Malformed("length too large"))?;
        let s = self
            .b
            .get(self.pos..end)
            .ok_or(DagError::Malformed("truncated field"))?;
        self.pos = end;
        Ok(s)
    }

    /// Skips a field of wire type `wt` (for UnixFS `Data`, which may carry fields vouch ignores).
    fn skip(&mut self, wt: u64) -> Result<(), DagError> {
        match wt {
            0 => self.varint().map(drop),
            1 => self.fixed(8),
            2 => self.bytes().map(drop),
            5 => self.fixed(4),
            _ => Err(DagError::Malformed("unsupported protobuf wire type")),
        }
    }

    fn fixed(&mut self, n: usize) -> Result<(), DagError> {
        let end = self.pos.saturating_add(n);
        if end > self.b.len() {
            return Err(DagError::Malformed("truncated field"));
        }
        self.pos = end;
        Ok(())
    }
}

// ---------------------------------------------------------------- PBNode

impl PbNode {
    /// The canonical dag-pb bytes: links in order, then data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.data.as_ref().map_or(0, |d| d.len() + 6) + 48 * self.links.len(),
        );
        let mut link = Vec::with_capacity(64);
        for l in &self.links {
            link.clear();
            put_bytes(&mut link, 0x0a, &l.cid.to_bytes());
            if let Some(name) = &l.name {
                put_bytes(&mut link, 0x12, name.as_bytes());
            }
            if let Some(t) = l.tsize {
                link.push(0x18);
                put_varint(&mut link, t);
            }
            put_bytes(&mut out, 0x12, &link);
        }
        if let Some(d) = &self.data {
            put_bytes(&mut out, 0x0a, d);
        }
        out
    }

    /// Decodes a dag-pb block strictly; never panics on any input.
    pub fn decode(bytes: &[u8]) -> Result<Self, DagError> {
        let mut w = Wire { b: bytes, pos: 0 };
        let mut node = Self::default();
        while !w.done() {
            match w.varint()? {
                0x12 if node.data.is_none() => node.links.push(decode_link(w.bytes()?)?),
                0x12 => return Err(DagError::Malformed("PBNode Links after Data")),
                0x0a if node.data.is_none() => node.data = Some(w.bytes()?.to_vec()),
                0x0a => return Err(DagError::Malformed("PBNode has two Data fields")),
                _ => return Err(DagError::Malformed("unknown PBNode field")),
            }
        }
        Ok(node)
    }
}

fn decode_link(bytes: &[u8]) -> Result<PbLink, DagError> {
    let mut w = Wire { b: bytes, pos: 0 };
    let (mut cid, mut name, mut tsize) = (None, None, None);
    let mut last = 0u64;
    while !w.done() {
        let key = w.varint()?;
        let field = key >> 3;
        if field <= last {
            return Err(DagError::Malformed(
                "PBLink fields repeated or out of order",
            ));
        }
        last = field;
        match key {
            0x0a => {
                let b = w.bytes()?;
                if b.first() == Some(&0x12) && b.get(1) == Some(&0x20) {
                    return Err(DagError::UnsupportedLink("CIDv0 (use --cid-version 1)"));
                }
                cid = Some(Cid::from_bytes(b).map_err(|_| {
                    DagError::UnsupportedLink("only CIDv1 raw or dag-pb sha2-256 links")
                })?);
            }
            0x12 => {
                let b = w.bytes()?;
                name = Some(
                    String::from_utf8(b.to_vec())
                        .map_err(|_| DagError::Malformed("PBLink Name is not UTF-8"))?,
                );
            }
            0x18 => tsize = Some(w.varint()?),
            _ => return Err(DagError::Malformed("unknown PBLink field")),
        }
    }
    Ok(PbLink {
        cid: cid.ok_or(DagError::Malformed("PBLink without Hash"))?,
        name,
        tsize,
    })
}

// ---------------------------------------------------------------- UnixFS Data

impl UnixfsData {
    /// The protobuf bytes (Type, Data, filesize, unpacked blocksizes: what ipfs-car writes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + 5 * self.blocksizes.len());
        out.push(0x08);
        put_varint(&mut out, self.kind.code());
        if let Some(d) = &self.data {
            put_bytes(&mut out, 0x12, d);
        }
        if let Some(s) = self.filesize {
            out.push(0x18);
            put_varint(&mut out, s);
        }
        for &b in &self.blocksizes {
            out.push(0x20);
            put_varint(&mut out, b);
        }
        out
    }

    /// Decodes a UnixFS `Data` message; never panics on any input.
    pub fn decode(bytes: &[u8]) -> Result<Self, DagError> {
        let mut w = Wire { b: bytes, pos: 0 };
        let (mut kind, mut data, mut filesize, mut blocksizes) = (None, None, None, Vec::new());
        while !w.done() {
            let key = w.varint()?;
            match key {
                0x08 => kind = Some(NodeType::from_code(w.varint()?)?),
                0x12 => data = Some(w.bytes()?.to_vec()),
                0x18 => filesize = Some(w.varint()?),
                0x20 => blocksizes.push(w.varint()?),
                0x22 => {
                    let mut packed = Wire {
                        b: w.bytes()?,
                        pos: 0,
                    };
                    while !packed.done() {
                        blocksizes.push(packed.varint()?);
                    }
                }
                _ => w.skip(key & 7)?,
            }
        }
        Ok(Self {
            kind: kind.ok_or(DagError::Malformed("UnixFS Data without Type"))?,
            data,
            filesize,
            blocksizes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cid::Codec;

    #[test]
    fn node_round_trips_and_is_strict() {
        let node = PbNode {
            links: vec![PbLink {
                cid: Cid::of(b"leaf"),
                name: Some(String::new()),
                tsize: Some(4),
            }],
            data: Some(
                UnixfsData {
                    kind: NodeType::File,
                    data: None,
                    filesize: Some(4),
                    blocksizes: vec![4],
                }
                .encode(),
            ),
        };
        let bytes = node.encode();
        assert_eq!(PbNode::decode(&bytes).unwrap(), node);
        let d = UnixfsData::decode(node.data.as_ref().unwrap()).unwrap();
        assert_eq!(
            (d.kind, d.filesize, d.blocksizes),
            (NodeType::File, Some(4), vec![4])
        );

        // Data before Links, duplicate Data, unknown field, link without hash, CIDv0 link.
        let data_first = [&[0x0a, 0x00][..], &bytes].concat();
        assert!(PbNode::decode(&data_first).is_err());
        assert!(PbNode::decode(&[0x0a, 0x00, 0x0a, 0x00]).is_err());
        assert!(PbNode::decode(&[0x1a, 0x00]).is_err());
        assert!(PbNode::decode(&[0x12, 0x02, 0x18, 0x01]).is_err());
        let mut v0 = vec![0x12, 36, 0x0a, 34, 0x12, 0x20];
        v0.extend_from_slice(&[0u8; 32]);
        assert!(matches!(
            PbNode::decode(&v0),
            Err(DagError::UnsupportedLink(_))
        ));
        assert!(
            PbNode::decode(&[
                0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
            ])
            .is_err()
        );
        let _ = Codec::DagPb;
    }
}
