//! The node's local content-addressed store.
//!
//! Every blob (model package, input, output, trace) is addressed by its CIDv1 (raw codec,
//! sha2-256), the same identifier IPFS prints for a raw-leaf block, so any IPFS or Filecoin tool
//! can hold the same content.
//!
//! | module | holds |
//! |---|---|
//! | [`blob`] | [`Store`]: `put`/`get`/`has`/`list` on disk under `<data-dir>/store/`, atomic writes, hash verified on every read |
//! | [`car`] | CAR v1 export and a streaming, bounded CAR v1 reader that verifies every block |
//! | [`http`] | an axum router serving blocks, and [`HttpFetcher`], which fetches a CID from a peer and stores it only if the bytes hash to it |
//!
//! A file's name is never trusted: `get` rehashes the bytes, and a blob whose bytes do not
//! match its name is reported as [`Error::Corrupt`] and moved aside.

#![forbid(unsafe_code)]
pub mod blob;
pub mod car;
pub mod http;

pub use blob::{CarImport, Store};
pub use car::{CarError, CarReader};
pub use http::{HttpFetcher, router};
pub use vouch_primitives::Cid;

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
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
