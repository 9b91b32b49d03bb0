//! Blocks over HTTP: [`router`] serves a store's blobs at `GET /blocks/{cid}`, and
//! [`HttpFetcher`] fetches a CID from peers, rehashing the bytes before anything is stored.

use crate::{Error, Result, Store};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::time::Duration;
use vouch_primitives::Cid;

/// The default largest blob a fetcher accepts: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// An axum router serving `store`: `GET /blocks/{cid}` answers the verified bytes
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
    match tokio::task::spawn_blocking(move || store.get(&cid)).await {
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

    /// Fetches `cid` from the peer at `base` (e.g. `http://127.0.0.1:7070`), verifies the hash
    /// and stores it. Returns [`Error::HashMismatch`] (storing nothing) when the peer lies.
    /// A blob already in the store is not fetched again.
    pub async fn fetch(&self, store: &Store, base: &str, cid: &Cid) -> Result<()> {
        if store.has(cid) {
            let s = store.clone();
            let c = *cid;
            if let Ok(Ok(_)) = tokio::task::spawn_blocking(move || s.get(&c)).await {
                return Ok(());
            }
        }
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
        if resp.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err(Error::TooLarge {
                limit: self.max_bytes,
            });
        }
        let mut body = Vec::new();
        let mut hasher = Sha256::new();
        while let Some(chunk) = resp.chunk().await.map_err(http)? {
            if (body.len() + chunk.len()) as u64 > self.max_bytes {
                return Err(Error::TooLarge {
                    limit: self.max_bytes,
                });
            }
            hasher.update(&chunk);
            body.extend_from_slice(&chunk);
        }
        let actual = Cid::from_digest(hasher.finalize().into());
        if actual != *cid {
            return Err(Error::HashMismatch {
                url,
                cid: *cid,
                actual,
            });
        }
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.put(&body))
            .await
            .map_err(|e| Error::Io {
                op: "store",
                path: store.root().to_owned(),
                source: std::io::Error::other(e.to_string()),
            })??;
        Ok(())
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
