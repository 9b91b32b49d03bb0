//! Blobs read back from a beacon node's REST API: `GET /eth/v1/beacon/blobs/{block_id}` (the
//! Fulu `getBlobs` endpoint), one request per versioned hash (`?versioned_hashes=0x...`).
//!
//! A real chain keeps blobs on its consensus layer, keyed by beacon block. The request's
//! execution block maps to its slot by the payload's timestamp: a post-merge payload's
//! timestamp is `genesis_time + slot * SECONDS_PER_SLOT` exactly (`/eth/v1/beacon/genesis`,
//! `/eth/v1/config/spec`), so `slot = (timestamp - genesis_time) / SECONDS_PER_SLOT`, and a
//! timestamp off that grid means the beacon node is another chain's. anvil serves the same
//! routes on its RPC port but has no consensus layer and no `/eth/v1/config/spec`: its
//! `block_id` is the execution block number (or hash). [`BlockIds`] holds which of the two a
//! source uses, found on first use: the slot grid when the node serves a spec, else execution
//! numbers when the execution client reports itself as anvil (`web3_clientVersion`), else an
//! error.
//!
//! Every answer is outside input: bodies are capped at [`MAX_BODY`] bytes, parsed without
//! panics, and a blob served is still checked against its versioned hash by
//! [`read_input`](super::read_input).

use super::BlobSource;
use crate::{Error, Result, http_error};
use alloy::eips::eip4844::Blob;
use alloy::primitives::{B256, Bytes};
use alloy::providers::Provider as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Largest answer read from a beacon node (a block's every blob as hex, were the
/// `versioned_hashes` filter ignored, is under 6 MB at 21 blobs).
pub const MAX_BODY: usize = 32 << 20;

/// How long one request to the beacon node may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What a beacon node's `block_id` means for the blobs of an execution block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockIds {
    /// A beacon node: the slot of the execution block,
    /// `(timestamp - genesis_time) / seconds_per_slot`.
    Slots {
        /// `genesis_time` of `/eth/v1/beacon/genesis`.
        genesis_time: u64,
        /// `SECONDS_PER_SLOT` of `/eth/v1/config/spec`.
        seconds_per_slot: u64,
    },
    /// anvil's beacon routes (no consensus layer): the execution block number.
    ExecutionNumbers,
}

/// Blobs read back from a beacon node (or anvil's beacon routes) by the execution block that
/// carried them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BeaconBlobs(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// The base URL, without a trailing `/`.
    url: String,
    http: reqwest::Client,
    /// The execution client: block timestamps, and whether it is anvil.
    exec: crate::Client,
    ids: OnceCell<BlockIds>,
}

/// `{"data": ...}`, the envelope of every beacon API answer.
#[derive(serde::Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(serde::Deserialize)]
struct Genesis {
    genesis_time: String,
}

#[derive(serde::Deserialize)]
struct Spec {
    #[serde(rename = "SECONDS_PER_SLOT")]
    seconds_per_slot: String,
}

/// One answer: its HTTP status and body (capped at [`MAX_BODY`]).
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Answer {
    /// The `message` of a beacon API error body, else the body's start.
    fn message(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Msg {
            message: String,
        }
        match serde_json::from_slice::<Msg>(&self.body) {
            Ok(m) => m.message,
            Err(_) => String::from_utf8_lossy(&self.body[..self.body.len().min(200)]).into_owned(),
        }
    }
}

impl BeaconBlobs {
    /// A source over the beacon REST API at `url` (`http://host:port` or `https://…`, e.g. a
    /// consensus client's `:5052`, a hosted beacon endpoint, or anvil's RPC URL), with `exec`
    /// the execution client of the same chain. Nothing is fetched until the first read; a URL
    /// that is neither `http://` nor `https://` is refused here. `https://` certificates are
    /// checked against the system's roots (`SSL_CERT_FILE`/`SSL_CERT_DIR` add others).
    pub fn new(url: &str, exec: crate::Client) -> Result<Self> {
        let bad = |reason: String| Error::Beacon {
            url: url.to_owned(),
            reason,
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(bad("not an http:// or https:// URL".to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| bad(format!("building the HTTP client: {e}")))?;
        Ok(Self(Arc::new(Inner {
            url: url.trim_end_matches('/').to_owned(),
            http,
            exec,
            ids: OnceCell::new(),
        })))
    }

    /// The beacon URL.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    fn unreachable(&self, reason: String) -> Error {
        Error::BeaconUnreachable {
            url: self.0.url.clone(),
            reason,
        }
    }

    /// The error of a non-200 answer to `GET {path}`: a server error may pass, others not.
    fn refused(&self, path: &str, a: &Answer) -> Error {
        let reason = format!("GET {path} answered HTTP {}: {}", a.status, a.message());
        if a.status >= 500 {
            self.unreachable(reason)
        } else {
            self.fault(reason)
        }
    }

    fn fault(&self, reason: impl Into<String>) -> Error {
        Error::Beacon {
            url: self.0.url.clone(),
            reason: reason.into(),
        }
    }

    /// `GET {url}{path}`: the status and body, or an error when nothing answers or the body
    /// passes [`MAX_BODY`].
    async fn get(&self, path: &str) -> Result<Answer> {
        let mut resp = self
            .0
            .http
            .get(format!("{}{path}", self.0.url))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| self.unreachable(format!("GET {path}: {}", http_error::describe(&e))))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.unreachable(format!("reading the answer to GET {path}: {e}")))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(self.fault(format!("the answer to GET {path} passes {MAX_BODY} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, body })
    }

    /// `GET {url}{path}` answered 200 with `{"data": T}`.
    async fn get_data<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        let a = self.get(path).await?;
        if a.status != 200 {
            return Err(self.refused(path, &a));
        }
        parse_data(&a.body).map_err(|e| self.fault(format!("GET {path}: {e}")))
    }

    /// What `block_id` means at this beacon URL (found once, then kept).
    pub async fn block_ids(&self) -> Result<BlockIds> {
        self.0
            .ids
            .get_or_try_init(|| self.find_block_ids())
            .await
            .copied()
    }

    async fn find_block_ids(&self) -> Result<BlockIds> {
        let g: Genesis = self.get_data("/eth/v1/beacon/genesis").await?;
        let genesis_time = g
            .genesis_time
            .parse::<u64>()
            .map_err(|_| self.fault(format!("genesis_time {:?} is not a u64", g.genesis_time)))?;
        let spec = self.get("/eth/v1/config/spec").await?;
        if spec.status >= 500 {
            return Err(self.refused("/eth/v1/config/spec", &spec));
        }
        if spec.status == 200 {
            let s: Spec = parse_data(&spec.body)
                .map_err(|e| self.fault(format!("GET /eth/v1/config/spec: {e}")))?;
            let seconds_per_slot = s
                .seconds_per_slot
                .parse::<u64>()
                .ok()
                .filter(|&s| s > 0)
                .ok_or_else(|| {
                    self.fault(format!(
                        "SECONDS_PER_SLOT {:?} is not a positive u64",
                        s.seconds_per_slot
                    ))
                })?;
            return Ok(BlockIds::Slots {
                genesis_time,
                seconds_per_slot,
            });
        }
        let version: String = self.0.exec.raw("web3_clientVersion", ()).await?;
        if version.to_ascii_lowercase().starts_with("anvil") {
            return Ok(BlockIds::ExecutionNumbers);
        }
        Err(self.fault(format!(
            "GET /eth/v1/config/spec answered HTTP {} ({}) and the execution client is {version:?}, \
             not anvil: no way to map an execution block to its slot",
            spec.status,
            spec.message()
        )))
    }

    /// The `block_id` of execution block `block` here.
    pub async fn block_id(&self, block: u64) -> Result<String> {
        match self.block_ids().await? {
            BlockIds::ExecutionNumbers => Ok(block.to_string()),
            BlockIds::Slots {
                genesis_time,
                seconds_per_slot,
            } => {
                let header = self
                    .0
                    .exec
                    .provider()
                    .get_block_by_number(block.into())
                    .await
                    .map_err(|e| Error::Rpc {
                        call: "eth_getBlockByNumber".to_owned(),
                        message: e.to_string(),
                    })?
                    .ok_or_else(|| self.fault(format!("execution block {block} is not known")))?
                    .header;
                slot_of(header.timestamp, genesis_time, seconds_per_slot)
                    .ok_or_else(|| {
                        self.fault(format!(
                        "execution block {block}'s timestamp {} is not on the slot grid of this \
                         beacon node (genesis {genesis_time}, {seconds_per_slot} s slots): is it \
                         this chain's beacon node?",
                        header.timestamp
                    ))
                    })
                    .map(|s| s.to_string())
            }
        }
    }

    /// The blob with versioned hash `hash` of the beacon block `id` (execution block `block`).
    async fn one(&self, block: u64, id: &str, hash: B256) -> Result<Bytes> {
        let path = format!("/eth/v1/beacon/blobs/{id}?versioned_hashes={hash:#x}");
        let gone = |why: String| {
            self.fault(format!(
                "blob {hash:#x} of execution block {block} (block_id {id}) not available from \
                 the beacon node (pruned after ~18 days?): {why}"
            ))
        };
        let a = self.get(&path).await?;
        match a.status {
            200 => {}
            404 => return Err(gone(format!("HTTP 404 {}", a.message()))),
            _ => return Err(self.refused(&path, &a)),
        }
        let blobs: Vec<Bytes> =
            parse_data(&a.body).map_err(|e| self.fault(format!("GET {path}: {e}")))?;
        match blobs.len() {
            0 => Err(gone("the node answered no blob".to_owned())),
            // the filter applied: read_input checks it is the one named
            1 => Ok(blobs.into_iter().next().unwrap_or_default()),
            // the filter ignored: pick the blob whose commitment gives the name
            n => blobs
                .into_iter()
                .find(|b| {
                    Blob::try_from(b.as_ref())
                        .ok()
                        .and_then(|blob| super::versioned_hash(&blob).ok())
                        == Some(hash)
                })
                .ok_or_else(|| gone(format!("the node answered {n} blobs, none with that hash"))),
        }
    }
}

/// The slot whose payload has `timestamp`, `None` off the grid or before genesis.
pub fn slot_of(timestamp: u64, genesis_time: u64, seconds_per_slot: u64) -> Option<u64> {
    let since = timestamp.checked_sub(genesis_time)?;
    (seconds_per_slot > 0 && since.is_multiple_of(seconds_per_slot))
        .then(|| since / seconds_per_slot)
}

/// The `data` of a beacon API answer, or why the body is not one.
fn parse_data<T: serde::de::DeserializeOwned>(body: &[u8]) -> std::result::Result<T, String> {
    serde_json::from_slice::<Envelope<T>>(body)
        .map(|e| e.data)
        .map_err(|e| format!("malformed JSON answer ({e})"))
}

impl BlobSource for BeaconBlobs {
    /// Every blob, or an error: a blob the beacon node does not serve is an error saying why
    /// (never `None`).
    async fn blobs(&self, block: u64, hashes: &[B256]) -> Result<Vec<Option<Bytes>>> {
        let id = self.block_id(block).await?;
        let mut out = Vec::with_capacity(hashes.len());
        for h in hashes {
            out.push(Some(self.one(block, &id, *h).await?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_payload_timestamp_grid() {
        // mainnet: genesis 1606824023, 12 s slots
        assert_eq!(slot_of(1_606_824_023, 1_606_824_023, 12), Some(0));
        assert_eq!(slot_of(1_606_824_023 + 12 * 7, 1_606_824_023, 12), Some(7));
        assert_eq!(slot_of(1_606_824_023 + 13, 1_606_824_023, 12), None);
        assert_eq!(slot_of(5, 6, 12), None);
        assert_eq!(slot_of(12, 0, 0), None);
    }

    #[test]
    fn malformed_answers_are_errors_not_panics() {
        let ok: Vec<Bytes> =
            parse_data(br#"{"execution_optimistic":false,"data":["0x0102"]}"#).unwrap();
        assert_eq!(ok, vec![Bytes::from(vec![1u8, 2])]);
        for bad in [
            &b""[..],
            b"<html>502 Bad Gateway</html>",
            br#"{"data":["0xzz"]}"#,
            br#"{"data":"0x01"}"#,
            br#"{"code":404}"#,
            br#"{"data":["0x01"]"#,
        ] {
            let e = parse_data::<Vec<Bytes>>(bad).unwrap_err();
            assert!(e.starts_with("malformed JSON answer"), "{e}");
        }
        let g: std::result::Result<Genesis, _> = parse_data(br#"{"data":{"genesis_time":1}}"#);
        assert!(g.is_err(), "a number where the API has a string");
    }

    #[test]
    fn error_bodies_give_their_message() {
        let a = Answer {
            status: 404,
            body: br#"{"code":404,"message":"Block not found"}"#.to_vec(),
        };
        assert_eq!(a.message(), "Block not found");
        let a = Answer {
            status: 502,
            body: vec![b'x'; 1000],
        };
        assert_eq!(a.message().len(), 200);
    }
}
