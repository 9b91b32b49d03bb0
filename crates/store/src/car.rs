//! CAR v1 (Content Addressable aRchive), the format `ipfs dag import`/`export` and Filecoin
//! deals use.
//!
//! ```text
//! varint(len(header)) header     header = DAG-CBOR {"roots": [CID, ...], "version": 1}
//! varint(len(cid) + len(block)) cid block      repeated to end of file
//! ```
//!
//! varints are unsigned LEB128 (multiformats), CIDs in the header are CBOR tag 42 over a byte
//! string holding `0x00` then the binary CID. A vouch file is a UnixFS DAG of raw chunks and
//! dag-pb nodes (CIDv1, sha2-256), so a CAR written here holds one section per block of each
//! root's DAG — the same blocks `ipfs-car pack --no-wrap` writes. The reader accepts any
//! well-formed CAR v1 of CIDv1 sha2-256 raw or dag-pb blocks (ipfs-car's output, wrapped or
//! not); CIDv0 and other codecs are rejected as [`CarError::UnsupportedCid`], and a dag-pb block
//! that does not decode strictly as [`CarError::Dag`].
//!
//! The reader never trusts a length: the header is bounded by [`MAX_HEADER`], each section by
//! the caller's limit, reads grow buffers only as bytes arrive, and every block is rehashed.

use std::io::{self, Read, Write};
use vouch_primitives::unixfs::{DagError, PbNode};
use vouch_primitives::{Cid, Codec};

/// The largest header accepted, in bytes.
pub const MAX_HEADER: u64 = 64 * 1024;
/// The most roots accepted in a header.
pub const MAX_ROOTS: usize = 1024;
const CBOR_MAX_DEPTH: usize = 8;

/// What is wrong with a CAR file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CarError {
    /// Reading or writing failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The data ends inside a varint, the header or a section.
    #[error("truncated {what}")]
    Truncated {
        /// Which part was cut short.
        what: &'static str,
    },
    /// A varint is longer than 9 bytes or overflows 63 bits.
    #[error("varint too long")]
    Varint,
    /// The header length is zero or above [`MAX_HEADER`].
    #[error("header length {len} out of range (1..={MAX_HEADER})")]
    HeaderLength {
        /// The length read.
        len: u64,
    },
    /// The header is not the DAG-CBOR map CAR v1 requires.
    #[error("bad header: {reason}")]
    Header {
        /// What is wrong.
        reason: &'static str,
    },
    /// The header's version is not 1.
    #[error("CAR version {0} is not supported (only 1)")]
    Version(u64),
    /// A section is longer than the reader's limit (or empty).
    #[error("section length {len} out of range (limit {limit})")]
    SectionLength {
        /// The length read.
        len: u64,
        /// The reader's limit.
        limit: u64,
    },
    /// A CID is malformed.
    #[error("malformed CID: {reason}")]
    Cid {
        /// What is wrong.
        reason: &'static str,
    },
    /// A CID is well formed but not CIDv1 raw or dag-pb sha2-256.
    #[error(
        "unsupported CID (version {version}, codec {codec:#x}, hash {hash:#x}): vouch stores CIDv1 sha2-256 raw (0x55) and dag-pb (0x70) blocks only"
    )]
    UnsupportedCid {
        /// CID version.
        version: u64,
        /// Multicodec of the content.
        codec: u64,
        /// Multihash function code.
        hash: u64,
    },
    /// A block's bytes do not hash to its CID.
    #[error("block {cid} does not match its content (hashes to {actual})")]
    BlockHash {
        /// The CID in the section.
        cid: Cid,
        /// The CID of the bytes.
        actual: Cid,
    },
    /// A dag-pb block does not decode.
    #[error("block {cid}: {source}")]
    Dag {
        /// The block.
        cid: Cid,
        /// What is wrong with it.
        #[source]
        source: DagError,
    },
}

type Result<T, E = CarError> = std::result::Result<T, E>;

// ---------------------------------------------------------------- varints

/// Appends the unsigned LEB128 varint of `v`.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
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

/// Reads one varint; `Ok(None)` at a clean end of input (no byte read).
fn read_varint(r: &mut impl Read, what: &'static str) -> Result<Option<u64>> {
    let mut v: u64 = 0;
    for i in 0..9u32 {
        let mut b = [0u8; 1];
        let n = read_some(r, &mut b)?;
        if n == 0 {
            return if i == 0 {
                Ok(None)
            } else {
                Err(CarError::Truncated { what })
            };
        }
        v |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            return Ok(Some(v));
        }
    }
    Err(CarError::Varint)
}

fn read_some(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

fn slice_varint(b: &[u8], pos: &mut usize) -> Result<u64> {
    let mut v: u64 = 0;
    for i in 0..9u32 {
        let byte = *b.get(*pos).ok_or(CarError::Cid {
            reason: "truncated varint",
        })?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(CarError::Varint)
}

/// Reads exactly `len` bytes without trusting `len` for the allocation.
fn read_exact_bounded(r: &mut impl Read, len: u64, what: &'static str) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(usize::try_from(len.min(64 * 1024)).unwrap_or(0));
    let n = r.take(len).read_to_end(&mut buf)?;
    if u64::try_from(n).ok() != Some(len) {
        return Err(CarError::Truncated { what });
    }
    Ok(buf)
}

// ---------------------------------------------------------------- CIDs

const SHA2_256: u64 = 0x12;

/// Parses a binary CID at the start of `b`; returns it and its length.
pub fn parse_cid(b: &[u8]) -> Result<(Cid, usize)> {
    if b.first() == Some(&0x12) && b.get(1) == Some(&0x20) {
        return Err(CarError::UnsupportedCid {
            version: 0,
            codec: 0x70,
            hash: SHA2_256,
        });
    }
    let mut pos = 0;
    let version = slice_varint(b, &mut pos)?;
    let codec = slice_varint(b, &mut pos)?;
    let hash = slice_varint(b, &mut pos)?;
    let len = slice_varint(b, &mut pos)?;
    let known = Codec::from_code(codec);
    if version != 1 || known.is_none() || hash != SHA2_256 || len != 32 {
        if version != 1 {
            return Err(CarError::Cid {
                reason: "CID version is not 1",
            });
        }
        return Err(CarError::UnsupportedCid {
            version,
            codec,
            hash,
        });
    }
    let digest: [u8; 32] =
        b.get(pos..pos + 32)
            .and_then(|d| d.try_into().ok())
            .ok_or(CarError::Cid {
                reason: "truncated digest",
            })?;
    let Some(codec) = known else {
        return Err(CarError::Cid {
            reason: "unknown codec",
        });
    };
    Ok((Cid::new(codec, digest), pos + 32))
}

// ---------------------------------------------------------------- header (DAG-CBOR)

/// The DAG-CBOR CAR v1 header for `roots`: `{"roots": [..], "version": 1}` with keys in DAG-CBOR
/// canonical order (shorter key first).
pub fn encode_header(roots: &[Cid]) -> Vec<u8> {
    let mut h = Vec::with_capacity(16 + 41 * roots.len());
    h.push(0xa2); // map(2)
    h.push(0x65); // text(5)
    h.extend_from_slice(b"roots");
    cbor_head(&mut h, 4, roots.len() as u64); // array(n)
    for r in roots {
        h.extend_from_slice(&[0xd8, 0x2a]); // tag(42)
        h.extend_from_slice(&[0x58, 37, 0x00]); // bytes(37), multibase identity prefix
        h.extend_from_slice(&r.to_bytes());
    }
    h.push(0x67); // text(7)
    h.extend_from_slice(b"version");
    h.push(0x01); // uint 1
    h
}

fn cbor_head(out: &mut Vec<u8>, major: u8, v: u64) {
    let m = major << 5;
    match v {
        0..=23 => out.push(m | v as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, v as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// A CBOR value, as much as a CAR header needs.
#[derive(Debug)]
enum Cbor {
    Uint(u64),
    Other,
    Bytes(Vec<u8>),
    Text(Vec<u8>),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Tag(u64, Box<Cbor>),
}

struct CborReader<'a> {
    b: &'a [u8],
    pos: usize,
}

fn hdr(reason: &'static str) -> CarError {
    CarError::Header { reason }
}

impl CborReader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let v = *self.b.get(self.pos).ok_or(hdr("truncated CBOR"))?;
        self.pos += 1;
        Ok(v)
    }

    fn take(&mut self, n: u64) -> Result<&[u8]> {
        let n = usize::try_from(n).map_err(|_| hdr("CBOR length too large"))?;
        let end = self
            .pos
            .checked_add(n)
            .ok_or(hdr("CBOR length too large"))?;
        let s = self.b.get(self.pos..end).ok_or(hdr("truncated CBOR"))?;
        self.pos = end;
        Ok(s)
    }

    fn arg(&mut self, info: u8) -> Result<u64> {
        Ok(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(
                self.take(2)?.try_into().map_err(|_| hdr("CBOR"))?,
            )),
            26 => u64::from(u32::from_be_bytes(
                self.take(4)?.try_into().map_err(|_| hdr("CBOR"))?,
            )),
            27 => u64::from_be_bytes(self.take(8)?.try_into().map_err(|_| hdr("CBOR"))?),
            _ => return Err(hdr("indefinite or reserved CBOR length (not DAG-CBOR)")),
        })
    }

    fn value(&mut self, depth: usize) -> Result<Cbor> {
        if depth > CBOR_MAX_DEPTH {
            return Err(hdr("CBOR nested too deeply"));
        }
        let ib = self.byte()?;
        let (major, info) = (ib >> 5, ib & 0x1f);
        if major == 7 {
            // simple values and floats: skip their payload
            match info {
                0..=23 => {}
                24 => {
                    self.take(1)?;
                }
                25 => {
                    self.take(2)?;
                }
                26 => {
                    self.take(4)?;
                }
                27 => {
                    self.take(8)?;
                }
                _ => return Err(hdr("indefinite or reserved CBOR length (not DAG-CBOR)")),
            }
            return Ok(Cbor::Other);
        }
        let n = self.arg(info)?;
        // Every element needs at least one byte, so a count above what is left is a lie.
        let left = (self.b.len() - self.pos) as u64;
        Ok(match major {
            0 => Cbor::Uint(n),
            1 => Cbor::Other,
            2 => Cbor::Bytes(self.take(n)?.to_vec()),
            3 => Cbor::Text(self.take(n)?.to_vec()),
            4 => {
                if n > left {
                    return Err(hdr("truncated CBOR"));
                }
                let mut v = Vec::new();
                for _ in 0..n {
                    v.push(self.value(depth + 1)?);
                }
                Cbor::Array(v)
            }
            5 => {
                if n > left / 2 {
                    return Err(hdr("truncated CBOR"));
                }
                let mut v = Vec::new();
                for _ in 0..n {
                    let k = self.value(depth + 1)?;
                    let val = self.value(depth + 1)?;
                    v.push((k, val));
                }
                Cbor::Map(v)
            }
            _ => Cbor::Tag(n, Box::new(self.value(depth + 1)?)),
        })
    }
}

/// Parses a CAR v1 header; returns its roots.
pub fn decode_header(b: &[u8]) -> Result<Vec<Cid>> {
    let mut r = CborReader { b, pos: 0 };
    let v = r.value(0)?;
    if r.pos != b.len() {
        return Err(hdr("trailing bytes after the header map"));
    }
    let Cbor::Map(entries) = v else {
        return Err(hdr("not a CBOR map"));
    };
    let (mut roots, mut version) = (None, None);
    for (k, val) in entries {
        let Cbor::Text(k) = k else {
            return Err(hdr("map key is not a string"));
        };
        match (k.as_slice(), val) {
            (b"version", Cbor::Uint(v)) if version.is_none() => version = Some(v),
            (b"roots", Cbor::Array(items)) if roots.is_none() => {
                if items.len() > MAX_ROOTS {
                    return Err(hdr("too many roots"));
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let Cbor::Tag(42, inner) = item else {
                        return Err(hdr("root is not a CID (tag 42)"));
                    };
                    let Cbor::Bytes(bytes) = *inner else {
                        return Err(hdr("CID tag does not hold bytes"));
                    };
                    let Some((0x00, cid_bytes)) = bytes.split_first() else {
                        return Err(hdr("CID bytes lack the 0x00 prefix"));
                    };
                    let (cid, used) = parse_cid(cid_bytes)?;
                    if used != cid_bytes.len() {
                        return Err(hdr("trailing bytes after a root CID"));
                    }
                    out.push(cid);
                }
                roots = Some(out);
            }
            (b"version" | b"roots", _) => return Err(hdr("duplicate or mistyped key")),
            _ => {} // unknown keys are ignored
        }
    }
    match version {
        Some(1) => {}
        Some(v) => return Err(CarError::Version(v)),
        None => return Err(hdr("no version")),
    }
    roots.ok_or(hdr("no roots"))
}

// ---------------------------------------------------------------- writer

/// Writes a CAR v1 file: header with `roots`, then one section per `(cid, bytes)` block.
/// Blocks are checked against their CIDs before anything is written.
pub fn write_car<'a>(
    w: &mut impl Write,
    roots: &[Cid],
    blocks: impl IntoIterator<Item = (Cid, &'a [u8])>,
) -> Result<()> {
    let header = encode_header(roots);
    let mut prefix = Vec::new();
    put_varint(&mut prefix, header.len() as u64);
    w.write_all(&prefix)?;
    w.write_all(&header)?;
    for (cid, block) in blocks {
        write_section(w, &cid, block)?;
    }
    w.flush()?;
    Ok(())
}

fn write_section(w: &mut impl Write, cid: &Cid, block: &[u8]) -> Result<()> {
    let actual = Cid::of_block(cid.codec(), block);
    if actual != *cid {
        return Err(CarError::BlockHash { cid: *cid, actual });
    }
    let cid_bytes = cid.to_bytes();
    let mut prefix = Vec::with_capacity(10);
    put_varint(&mut prefix, (cid_bytes.len() + block.len()) as u64);
    w.write_all(&prefix)?;
    w.write_all(&cid_bytes)?;
    w.write_all(block)?;
    Ok(())
}

/// Writes a CAR v1 file with `roots`, one section per CID of `cids`, each block fetched by
/// `get` when its turn comes (so only one block is in memory) and checked against its CID.
pub fn write_car_with(
    w: &mut impl Write,
    roots: &[Cid],
    cids: &[Cid],
    get: impl Fn(&Cid) -> crate::Result<Vec<u8>>,
) -> crate::Result<()> {
    write_car(w, roots, std::iter::empty())?;
    for cid in cids {
        let block = get(cid)?;
        write_section(w, cid, &block)?;
    }
    w.flush().map_err(CarError::Io)?;
    Ok(())
}

// ---------------------------------------------------------------- reader

/// A streaming CAR v1 reader: the header is read by [`CarReader::new`], then
/// [`CarReader::next_block`] yields verified blocks.
#[derive(Debug)]
pub struct CarReader<R> {
    inner: R,
    roots: Vec<Cid>,
    max_section: u64,
}

impl<R: Read> CarReader<R> {
    /// Reads the header. `max_section` bounds each section (CID + block) in bytes.
    pub fn new(mut inner: R, max_section: u64) -> Result<Self> {
        let len = read_varint(&mut inner, "header length")?.ok_or(CarError::Truncated {
            what: "header length",
        })?;
        if len == 0 || len > MAX_HEADER {
            return Err(CarError::HeaderLength { len });
        }
        let header = read_exact_bounded(&mut inner, len, "header")?;
        let roots = decode_header(&header)?;
        Ok(Self {
            inner,
            roots,
            max_section,
        })
    }

    /// The header's roots.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The next block, verified against its CID; `None` at the end of the file.
    pub fn next_block(&mut self) -> Result<Option<(Cid, Vec<u8>)>> {
        let Some(len) = read_varint(&mut self.inner, "section length")? else {
            return Ok(None);
        };
        if len == 0 || len > self.max_section {
            return Err(CarError::SectionLength {
                len,
                limit: self.max_section,
            });
        }
        let mut section = read_exact_bounded(&mut self.inner, len, "section")?;
        let (cid, used) = parse_cid(&section)?;
        let block = section.split_off(used);
        let actual = Cid::of_block(cid.codec(), &block);
        if actual != cid {
            return Err(CarError::BlockHash { cid, actual });
        }
        if cid.codec() == Codec::DagPb {
            PbNode::decode(&block).map_err(|source| CarError::Dag { cid, source })?;
        }
        Ok(Some((cid, block)))
    }
}

/// A whole CAR file read into memory: roots and verified blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Car {
    /// The header's roots.
    pub roots: Vec<Cid>,
    /// The blocks, in file order.
    pub blocks: Vec<(Cid, Vec<u8>)>,
}

/// Parses a complete CAR v1 file from bytes (each section at most `max_section` bytes).
pub fn read_car(bytes: &[u8], max_section: u64) -> Result<Car> {
    let mut r = CarReader::new(bytes, max_section)?;
    let mut blocks = Vec::new();
    while let Some(b) = r.next_block()? {
        blocks.push(b);
    }
    Ok(Car {
        roots: r.roots,
        blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let a = b"hello world".as_slice();
        let b = b"second block".as_slice();
        let mut out = Vec::new();
        write_car(&mut out, &[Cid::of(a)], [(Cid::of(a), a), (Cid::of(b), b)]).unwrap();
        out
    }

    #[test]
    fn header_bytes_are_canonical_dag_cbor() {
        let cid = Cid::of(b"hello world");
        let h = encode_header(&[cid]);
        let mut want = vec![0xa2, 0x65];
        want.extend_from_slice(b"roots");
        want.extend_from_slice(&[0x81, 0xd8, 0x2a, 0x58, 0x25, 0x00]);
        want.extend_from_slice(&cid.to_bytes());
        want.push(0x67);
        want.extend_from_slice(b"version");
        want.push(0x01);
        assert_eq!(h, want);
        assert_eq!(h.len(), 58);
        assert_eq!(decode_header(&h).unwrap(), vec![cid]);
    }

    /// `ipfs dag export` of the raw block "hello world" (`ipfs add --raw-leaves
    /// --cid-version 1`): 0x3a header length, header, then 0x2f section length (36 + 11).
    #[test]
    fn matches_the_layout_ipfs_writes() {
        let car = sample();
        assert_eq!(car[0], 58);
        let section_start = 1 + 58;
        assert_eq!(car[section_start], 36 + 11);
        assert_eq!(
            &car[section_start + 1..section_start + 5],
            &[0x01, 0x55, 0x12, 0x20]
        );
    }

    #[test]
    fn round_trip() {
        let car = read_car(&sample(), 1 << 20).unwrap();
        assert_eq!(car.roots, vec![Cid::of(b"hello world")]);
        assert_eq!(car.blocks.len(), 2);
        assert_eq!(car.blocks[1].1, b"second block");
    }

    #[test]
    fn rejects_bad_files() {
        let good = sample();
        // tampered block byte
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            read_car(&bad, 1 << 20),
            Err(CarError::BlockHash { .. })
        ));
        // truncated
        assert!(matches!(
            read_car(&good[..good.len() - 3], 1 << 20),
            Err(CarError::Truncated { .. })
        ));
        // version 2
        let mut v2 = good.clone();
        v2[58] = 0x02;
        assert!(matches!(read_car(&v2, 1 << 20), Err(CarError::Version(2))));
        // section over the limit
        assert!(matches!(
            read_car(&good, 10),
            Err(CarError::SectionLength { .. })
        ));
        // empty input, huge header length
        assert!(read_car(&[], 1 << 20).is_err());
        assert!(matches!(
            read_car(&[0xff, 0xff, 0xff, 0x7f], 1 << 20),
            Err(CarError::HeaderLength { .. })
        ));
        // over-long varint
        assert!(matches!(
            read_car(&[0xff; 12], 1 << 20),
            Err(CarError::Varint)
        ));
        // CIDv0 section
        let mut v0 = good[..59].to_vec();
        v0.extend_from_slice(&[34, 0x12, 0x20]);
        v0.extend_from_slice(&[0u8; 32]);
        assert!(matches!(
            read_car(&v0, 1 << 20),
            Err(CarError::UnsupportedCid { version: 0, .. })
        ));
    }

    #[test]
    fn header_accepts_any_key_order_and_rejects_lies() {
        let cid = Cid::of(b"x");
        let mut h = vec![0xa2, 0x67];
        h.extend_from_slice(b"version");
        h.push(0x01);
        h.push(0x65);
        h.extend_from_slice(b"roots");
        h.push(0x80);
        assert_eq!(decode_header(&h).unwrap(), vec![]);
        // array claiming 2^32 elements in a short buffer
        let mut lie = vec![0xa1, 0x65];
        lie.extend_from_slice(b"roots");
        lie.extend_from_slice(&[0x9a, 0xff, 0xff, 0xff, 0xff]);
        assert!(decode_header(&lie).is_err());
        // deep nesting
        let deep = vec![0x81; 100];
        assert!(decode_header(&deep).is_err());
        let _ = cid;
    }

    /// Deterministic mutation loop: flip, insert, delete and truncate bytes of valid CARs; the
    /// reader must return (Ok or Err), never panic, and never accept a block with a wrong hash.
    #[test]
    fn mutation_loop_never_panics() {
        let seeds = [sample(), {
            let mut v = Vec::new();
            write_car(&mut v, &[], std::iter::empty()).unwrap();
            v
        }];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for seed in &seeds {
            for _ in 0..3000 {
                let mut m = seed.clone();
                for _ in 0..1 + next() % 4 {
                    if m.is_empty() {
                        break;
                    }
                    let i = (next() % m.len() as u64) as usize;
                    match next() % 4 {
                        0 => m[i] ^= 1 << (next() % 8),
                        1 => m[i] = next() as u8,
                        2 => m.insert(i, next() as u8),
                        _ => m.truncate(i),
                    }
                }
                if let Ok(car) = read_car(&m, 1 << 16) {
                    for (cid, block) in &car.blocks {
                        assert!(cid.verifies(block));
                    }
                }
            }
        }
    }
}
