//! Blocks over HTTP: [`router`] serves a store's blocks at `GET /blocks/{cid}`, and
//! [`HttpFetcher`] fetches a file's DAG from peers block by block (each at most
//! [`unixfs::MAX_BLOCK`] bytes, except a whole-file raw root stored before vouch chunked files),
//! rehashing each block before it is stored and checking the reassembled file's sizes at the end.

use crate::{Error, Result, Store};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::time::Duration;
use vouch_primitives::Cid;
use vouch_primitives::unixfs::{self, DagError, Limits};

/// The default largest file a fetcher accepts: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// An axum router serving `store`: `GET /blocks/{cid}` answers one block's verified bytes
/// (`application/vnd.ipld.raw`), 400 for a malformed CID, 404 when absent, 500 when the stored
/// copy is corrupt; `GET /blocks` lists the CIDs, one a line.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/blocks", get(list_blocks))
        .route("/blocks/{cid}", get(get_block))
        .with_state(store)
}

async fn list_blocks(State(store): State<Store>) -> Response {
    match tokio::task::spawn_blocking(move || store.list()).await {
        Ok(Ok(cids)) => {
            let body: String = cids.iter().map(|c| format!("{c}\n")).collect();
            ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn get_block(State(store): State<Store>, Path(cid): Path<String>) -> Response {
    let Ok(cid) = cid.parse::<Cid>() else {
        return (StatusCode::BAD_REQUEST, "malformed CID\n").into_response();
    };
    match tokio::task::spawn_blocking(move || store.get_block(&cid)).await {
        Ok(Ok(bytes)) => {
            ([(header::CONTENT_TYPE, "application/vnd.ipld.raw")], bytes).into_response()
        }
        Ok(Err(Error::NotFound { .. })) => (StatusCode::NOT_FOUND, "not found\n").into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Fetches blobs from peer nodes and stores them only when their bytes hash to the CID asked
/// for.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    max_bytes: u64,
}

impl Default for HttpFetcher {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BYTES)
    }
}

impl HttpFetcher {
    /// A fetcher accepting blobs up to `max_bytes`, with a 30 s connect and 10 min total timeout.
    pub fn new(max_bytes: u64) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(600))
            .build()
            .unwrap_or_default();
        Self { client, max_bytes }
    }

    /// Fetches the file `cid` from the peer at `base` (e.g. `http://127.0.0.1:7070`): its root
    /// block, then every block it links to that the store lacks, each verified against its CID
    /// before it is stored. Returns [`Error::HashMismatch`] when the peer lies (the lie is not
    /// stored; honest blocks fetched before it stay). A complete file already in the store is
    /// not fetched again.
    pub async fn fetch(&self, store: &Store, base: &str, cid: &Cid) -> Result<()> {
        let limits = Limits {
            max_size: self.max_bytes,
            ..Limits::default()
        };
        if self.check(store, cid, limits).await.is_ok() {
            return Ok(());
        }
        let mut seen = BTreeSet::new();
        let mut stack = vec![(*cid, 0usize)];
        let mut total = 0u64;
        while let Some((c, depth)) = stack.pop() {
            if !seen.insert(c) {
                continue;
            }
            if depth > limits.max_depth {
                return Err(DagError::TooDeep {
                    limit: limits.max_depth,
                }
                .into());
            }
            let s = store.clone();
            let local = blocking(store, move || s.get_block(&c)).await;
            let bytes = match local {
                Ok(b) => b,
                Err(_) => {
                    // Only a raw root may be a whole (pre-DAG) file; every other block is small.
                    let limit = if depth == 0 && c.codec() == vouch_primitives::Codec::Raw {
                        self.max_bytes
                    } else {
                        unixfs::MAX_BLOCK as u64
                    };
                    let b = self.fetch_block(base, &c, limit).await?;
                    total = total.saturating_add(b.len() as u64);
                    if total > self.max_bytes.saturating_mul(2) {
                        return Err(Error::TooLarge {
                            limit: self.max_bytes,
                        });
                    }
                    let (s, b2) = (store.clone(), b.clone());
                    blocking(store, move || s.put_block(&c, &b2)).await?;
                    b
                }
            };
            for l in unixfs::links(&c, &bytes)?.into_iter().rev() {
                stack.push((l, depth + 1));
            }
        }
        self.check(store, cid, limits).await
    }

    /// Reads the file `cid` from the store, discarding the bytes: every block present, intact,
    /// and every size consistent.
    async fn check(&self, store: &Store, cid: &Cid, limits: Limits) -> Result<()> {
        let (s, c) = (store.clone(), *cid);
        blocking(store, move || {
            s.read_file(&c, &limits, &mut |_| Ok(())).map(drop)
        })
        .await
    }

    /// Fetches one block of at most `limit` bytes and checks it hashes to `cid`.
    async fn fetch_block(&self, base: &str, cid: &Cid, limit: u64) -> Result<Vec<u8>> {
        let url = format!("{}/blocks/{cid}", base.trim_end_matches('/'));
        let http = |source| Error::Http {
            url: url.clone(),
            source,
        };
        let mut resp = self.client.get(&url).send().await.map_err(http)?;
        if !resp.status().is_success() {
            return Err(Error::HttpStatus {
                url,
                status: resp.status().as_u16(),
            });
        }
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(Error::TooLarge { limit });
        }
        let mut body = Vec::new();
        let mut hasher = Sha256::new();
        while let Some(chunk) = resp.chunk().await.map_err(http)? {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(Error::TooLarge { limit });
            }
            hasher.update(&chunk);
            body.extend_from_slice(&chunk);
        }
        let actual = Cid::new(cid.codec(), hasher.finalize().into());
        if actual != *cid {
            return Err(Error::HashMismatch {
                url,
                cid: *cid,
                actual,
            });
        }
        Ok(body)
    }

    /// Tries each peer in turn; returns on the first verified copy, else every peer's error.
    pub async fn fetch_any(
        &self,
        store: &Store,
        peers: &[String],
        cid: &Cid,
    ) -> Result<(), Vec<Error>> {
        let mut errors = Vec::new();
        for peer in peers {
            match self.fetch(store, peer, cid).await {
                Ok(()) => return Ok(()),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            errors.push(Error::NotFound { cid: *cid });
        }
        Err(errors)
    }
}

/// Runs store I/O off the async runtime.
async fn blocking<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Io {
            op: "store",
            path: store.root().to_owned(),
            source: std::io::Error::other(e.to_string()),
        })?
}
