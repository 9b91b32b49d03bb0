//! The HTTP client the gateway tests sign in and call routes with: one SIWE login, JSON
//! `GET`/`POST` with an optional bearer token, the error code of a refusal.

#![allow(dead_code, unreachable_pub)]

use k256::ecdsa::SigningKey;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};
use vouch_gateway::siwe::{self, SiweMessage};

/// The SIWE domain the test gateways are configured with.
pub const DOMAIN: &str = "localhost:8080";
/// The chain id the test gateways expect in a SIWE message.
pub const CHAIN: u64 = 31337;

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The `error.code` of a refusal body.
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no code>")
}

/// A client of one gateway at `base` (`http://host:port`).
pub struct Api {
    /// The gateway's base URL.
    pub base: String,
    /// The HTTP client.
    pub http: reqwest::Client,
}

impl Api {
    /// A client of the gateway at `base`.
    pub fn new(base: String) -> Self {
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// `GET path`: the status and the JSON body (`null` when there is none).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// `POST path` with a JSON body: the status and the JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Signs in as `k` with Sign-In with Ethereum; the session token.
    pub async fn login(&self, k: &SigningKey) -> String {
        let (_, n) = self.get("/auth/nonce", None).await;
        let text = SiweMessage {
            scheme: None,
            domain: DOMAIN.into(),
            address: siwe::address_of(k.verifying_key()),
            statement: Some("Sign in to vouch.".into()),
            uri: format!("http://{DOMAIN}"),
            version: "1".into(),
            chain_id: CHAIN,
            nonce: n["nonce"].as_str().unwrap().to_owned(),
            issued_at: now(),
            expiration_time: Some(now() + 600),
            not_before: None,
            request_id: None,
            resources: vec![],
        }
        .to_text();
        let sig = siwe::sign_personal(k, text.as_bytes()).unwrap();
        let (st, v) = self
            .post(
                "/auth/login",
                None,
                &json!({ "message": text, "signature": sig }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        v["token"].as_str().unwrap().to_owned()
    }
}
