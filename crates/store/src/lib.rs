//! The node's local content-addressed store.
//!
//! Every file (model package, input, output, trace) is addressed by the CID `ipfs-car pack`
//! gives it: a raw block (`bafkrei…`) up to 1 MiB, else the dag-pb root of its UnixFS DAG
//! (`bafybei…`), so any IPFS or Filecoin tool can hold, move and verify the same content block
//! by block.
//!
//! | module | holds |
//! |---|---|
//! | [`blob`] | [`Store`]: files in (chunked) and out (reassembled), blocks on disk under `<data-dir>/store/`, atomic writes, hash verified on every read |
//! | [`dag`] | whole DAGs: CAR export, CAR import (bare or directory-wrapped, as ipfs-car writes), free-space check |
//! | [`car`] | CAR v1 writer and a streaming, bounded CAR v1 reader that verifies every block |
//! | [`http`] | an axum router serving blocks, and [`HttpFetcher`], which fetches a file's DAG from a peer block by block, storing each block only if its bytes hash to its CID |
//!
//! A file's name is never trusted: `get` rehashes the bytes, and a blob whose bytes do not
//! match its name is reported as [`Error::Corrupt`] and moved aside.

#![forbid(unsafe_code)]
pub mod blob;
pub mod car;
pub mod dag;
pub mod http;

pub use blob::Store;
pub use car::{CarError, CarReader};
pub use dag::CarImport;
pub use http::{HttpFetcher, router};
pub use vouch_primitives::Cid;
pub use vouch_primitives::unixfs::DagError;

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A filesystem operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The store has no blob with this CID.
    #[error("{cid} is not in the store")]
    NotFound {
        /// The CID asked for.
        cid: Cid,
    },
    /// A stored file's bytes do not hash to the CID it is filed under (moved aside).
    #[error("stored blob {cid} is corrupt: its bytes hash to {actual}")]
    Corrupt {
        /// The CID the file was filed under.
        cid: Cid,
        /// The CID of the bytes actually found.
        actual: Cid,
    },
    /// A peer answered with bytes that do not hash to the CID requested; nothing was stored.
    #[error("peer {url} sent bytes for {cid} that hash to {actual}: rejected")]
    HashMismatch {
        /// The URL fetched.
        url: String,
        /// The CID requested.
        cid: Cid,
        /// The CID of the bytes received.
        actual: Cid,
    },
    /// The HTTP request failed.
    #[error("fetching {url}: {source}")]
    Http {
        /// The URL fetched.
        url: String,
        /// The client error.
        #[source]
        source: reqwest::Error,
    },
    /// The peer answered with a non-success status.
    #[error("fetching {url}: HTTP {status}")]
    HttpStatus {
        /// The URL fetched.
        url: String,
        /// The status code.
        status: u16,
    },
    /// A blob is larger than the configured limit.
    #[error("blob exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A CAR file is malformed.
    #[error("CAR: {0}")]
    Car(#[from] CarError),
    /// A DAG is malformed, over a limit, or not a file.
    #[error("DAG: {0}")]
    Dag(#[from] DagError),
    /// The disk holding the store is (or would be) full.
    #[error("not enough disk space in {}{}", path.display(), match (needed, available) {
        (Some(n), Some(a)) => format!(": need {n} bytes, {a} available"),
        _ => String::new(),
    })]
    NoSpace {
        /// The store folder.
        path: PathBuf,
        /// Bytes needed, when known in advance.
        needed: Option<u64>,
        /// Bytes available, when known.
        available: Option<u64>,
    },
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
