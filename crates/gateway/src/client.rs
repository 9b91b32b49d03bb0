//! A Rust client of the gateway's HTTP API (feature `client`): sign in with SIWE (EIP-4361)
//! with a secp256k1 key, create tasks, read them, wait until they settle. What `vouch demo`,
//! the network benchmark and the tests use; any HTTP client can do the same (`/openapi.json`).

use crate::siwe::{self, SiweMessage};
use k256::ecdsa::SigningKey;
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use vouch_primitives::Cid;

/// What can go wrong talking to a gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The request did not complete (connection, timeout, unreadable body).
    #[error("cannot reach the gateway at {url}: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The gateway answered with an error status.
    #[error("the gateway refused {what} ({status}): {body}")]
    Refused {
        /// What was asked.
        what: &'static str,
        /// The HTTP status.
        status: u16,
        /// The error body (`{"error": {"code", "message"}}`).
        body: Value,
    },
    /// A task did not settle in time; its last view.
    #[error("task {id} not settled after {secs} s: {last}")]
    Timeout {
        /// The task id.
        id: String,
        /// Seconds waited.
        secs: u64,
        /// The last view read.
        last: Value,
    },
    /// The answer is not what the API defines.
    #[error("unexpected answer from the gateway: {0}")]
    Protocol(String),
}

/// A signed-in session with a gateway.
#[derive(Debug, Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// Posts a client-signed request and its input to `POST {base}/tasks/signed` (no session is
/// needed: the signature identifies the client); the task view the gateway answers.
pub async fn submit_signed(
    base: &str,
    request: &vouch_chain::signed::SignedRequest,
    input: &Value,
) -> Result<Value, ClientError> {
    let http = reqwest::Client::new();
    let body = json!({ "request": request, "input": input });
    let url = format!("{base}/tasks/signed");
    post_json(&http, &url, None, &body, "the signed request").await
}

impl GatewayClient {
    /// Signs in at `base` (`http://host:port`) with SIWE as `key`; `domain` is the gateway's
    /// SIWE domain (its `host:port`) and `chain_id` the chain it serves.
    pub async fn sign_in(
        base: &str,
        domain: &str,
        chain_id: u64,
        key: &SigningKey,
    ) -> Result<Self, ClientError> {
        let http = reqwest::Client::new();
        let nonce = get_json(&http, &format!("{base}/auth/nonce"), None, "a nonce").await?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let msg = SiweMessage {
            scheme: None,
            domain: domain.to_owned(),
            address: siwe::address_of(key.verifying_key()),
            statement: Some("Sign in to vouch.".into()),
            uri: format!("http://{domain}"),
            version: "1".into(),
            chain_id,
            nonce: nonce["nonce"]
                .as_str()
                .ok_or_else(|| ClientError::Protocol(format!("no nonce in {nonce}")))?
                .to_owned(),
            issued_at: now,
            expiration_time: Some(now + 3600),
            not_before: None,
            request_id: None,
            resources: vec![],
        };
        let text = msg.to_text();
        let sig = siwe::sign_personal(key, text.as_bytes())
            .ok_or_else(|| ClientError::Protocol("signing the SIWE message failed".into()))?;
        let body = json!({ "message": text, "signature": sig });
        let login = format!("{base}/auth/login");
        let v = post_json(&http, &login, None, &body, "the sign-in").await?;
        let token = v["token"]
            .as_str()
            .ok_or_else(|| ClientError::Protocol(format!("no token in {v}")))?
            .to_owned();
        Ok(Self {
            http,
            base: base.to_owned(),
            token,
        })
    }

    /// The session's bearer token (for calls this client does not wrap, e.g. the SSE stream).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Creates a task for package `model` on `input` (`{"input": [[...]]}`) in `mode`
    /// (`optimistic`, `committee`, `zk`) offering up to `fee` base units; its id.
    pub async fn create(
        &self,
        model: &Cid,
        input: &Value,
        mode: &str,
        fee: u128,
    ) -> Result<String, ClientError> {
        let body = json!({
            "model": model.to_string(),
            "input": input,
            "mode": mode,
            "max_fee": fee.to_string(),
        });
        let url = format!("{}/tasks", self.base);
        let v = post_json(&self.http, &url, Some(&self.token), &body, "the task").await?;
        v["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Protocol(format!("no task id in {v}")))
    }

    /// Reads task `id`.
    pub async fn task(&self, id: &str) -> Result<Value, ClientError> {
        let url = format!("{}/tasks/{id}", self.base);
        get_json(&self.http, &url, Some(&self.token), "the task read").await
    }

    /// Polls task `id` every 200 ms until it is terminal, for at most `timeout`.
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<Value, ClientError> {
        let t = Instant::now();
        loop {
            let v = self.task(id).await?;
            if v["terminal"].as_bool() == Some(true) {
                return Ok(v);
            }
            if t.elapsed() > timeout {
                return Err(ClientError::Timeout {
                    id: id.to_owned(),
                    secs: timeout.as_secs(),
                    last: v,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn get_json(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    what: &'static str,
) -> Result<Value, ClientError> {
    send(http.get(url), url, token, what).await
}

async fn post_json(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
    what: &'static str,
) -> Result<Value, ClientError> {
    send(http.post(url).json(body), url, token, what).await
}

/// Sends `req` (with the session's bearer token, if any) and reads its JSON answer.
async fn send(
    mut req: reqwest::RequestBuilder,
    url: &str,
    token: Option<&str>,
    what: &'static str,
) -> Result<Value, ClientError> {
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|source| ClientError::Http {
        url: url.to_owned(),
        source,
    })?;
    answer(resp, url, what).await
}

async fn answer(
    resp: reqwest::Response,
    url: &str,
    what: &'static str,
) -> Result<Value, ClientError> {
    let status = resp.status();
    let body: Value = resp.json().await.map_err(|source| ClientError::Http {
        url: url.to_owned(),
        source,
    })?;
    if !status.is_success() {
        return Err(ClientError::Refused {
            what,
            status: status.as_u16(),
            body,
        });
    }
    Ok(body)
}
