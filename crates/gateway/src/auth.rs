//! Nonces and sessions for Sign-In with Ethereum.
//!
//! Nonces are random, single-use and expire; the store is bounded. A login consumes its nonce
//! only once the signature checks out, so a stranger cannot burn someone else's nonce with a
//! bad signature, and a replayed (already used) message is rejected as `nonce_used`.

use crate::error::ApiError;
use crate::siwe::{self, SiweError};
use axum::http::StatusCode;
use rand::{Rng, RngCore, rngs::OsRng};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Sign-in settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The domain the messages must name (`localhost:8080`, `gateway.example.org`).
    pub domain: String,
    /// The chain ids accepted.
    pub chain_ids: Vec<u64>,
    /// How long an issued nonce stays valid, in seconds.
    pub nonce_ttl_secs: i64,
    /// How long a session lasts at most, in seconds.
    pub session_ttl_secs: i64,
    /// Clock skew tolerated on `Issued At` / `Not Before`, in seconds.
    pub skew_secs: i64,
    /// The most nonces outstanding at once.
    pub max_nonces: usize,
}

impl AuthConfig {
    /// Defaults for `domain` on `chain_id`: nonces 5 min, sessions 24 h, 60 s skew.
    pub fn new(domain: impl Into<String>, chain_id: u64) -> Self {
        Self {
            domain: domain.into(),
            chain_ids: vec![chain_id],
            nonce_ttl_secs: 300,
            session_ttl_secs: 86_400,
            skew_secs: 60,
            max_nonces: 100_000,
        }
    }
}

/// A signed-in identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `did:pkh:eip155:<chain>:<address>`.
    pub did: String,
    /// The address.
    pub address: [u8; 20],
    /// The chain id signed for.
    pub chain_id: u64,
    /// Unix seconds when the session ends.
    pub expires_at: i64,
}

#[derive(Debug, Default)]
struct Inner {
    nonces: BTreeMap<String, i64>,
    used: BTreeMap<String, i64>,
    sessions: BTreeMap<String, Session>,
}

/// Nonce and session state.
#[derive(Debug)]
pub struct Auth {
    cfg: AuthConfig,
    inner: Mutex<Inner>,
}

fn random_alnum(n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = OsRng;
    (0..n)
        .map(|_| char::from(A.get(rng.gen_range(0..A.len())).copied().unwrap_or(b'a')))
        .collect()
}

fn auth_err(code: &'static str, msg: impl Into<String>) -> ApiError {
    ApiError::unauthorized(code, msg)
}

impl Auth {
    /// New, empty state.
    pub fn new(cfg: AuthConfig) -> Self {
        Self {
            cfg,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The settings.
    pub fn config(&self) -> &AuthConfig {
        &self.cfg
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Issues a fresh nonce; returns it and its expiry (unix seconds).
    pub fn issue_nonce(&self, now: i64) -> Result<(String, i64), ApiError> {
        let mut g = self.lock();
        g.nonces.retain(|_, exp| *exp > now);
        g.used.retain(|_, exp| *exp > now);
        g.sessions.retain(|_, s| s.expires_at > now);
        if g.nonces.len() >= self.cfg.max_nonces {
            let mut e = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_nonces",
                "too many sign-ins in progress; retry shortly",
            );
            e.retry_after = Some(5);
            return Err(e);
        }
        let nonce = random_alnum(17);
        let exp = now + self.cfg.nonce_ttl_secs;
        g.nonces.insert(nonce.clone(), exp);
        Ok((nonce, exp))
    }

    /// Checks a signed EIP-4361 message; on success consumes its nonce and opens a session.
    /// Returns the session token and the session.
    pub fn login(
        &self,
        message: &str,
        signature: &str,
        now: i64,
    ) -> Result<(String, Session), ApiError> {
        let msg = siwe::SiweMessage::parse(message).map_err(|e| match e {
            SiweError::Checksum => ApiError::bad_request("invalid_message", e.to_string()),
            _ => ApiError::bad_request("invalid_message", e.to_string()),
        })?;
        if msg.domain != self.cfg.domain {
            return Err(auth_err(
                "wrong_domain",
                format!(
                    "message is for {:?}, this gateway is {:?}",
                    msg.domain, self.cfg.domain
                ),
            ));
        }
        if !self.cfg.chain_ids.contains(&msg.chain_id) {
            return Err(auth_err(
                "wrong_chain",
                format!(
                    "chain id {} is not accepted (accepted: {:?})",
                    msg.chain_id, self.cfg.chain_ids
                ),
            ));
        }
        if msg.expiration_time.is_some_and(|t| now >= t) {
            return Err(auth_err(
                "message_expired",
                "the message's Expiration Time has passed",
            ));
        }
        if msg.not_before.is_some_and(|t| now + self.cfg.skew_secs < t) {
            return Err(auth_err(
                "not_yet_valid",
                "the message's Not Before is in the future",
            ));
        }
        if msg.issued_at > now + self.cfg.skew_secs {
            return Err(auth_err(
                "not_yet_valid",
                "the message's Issued At is in the future",
            ));
        }
        {
            let g = self.lock();
            if g.used.contains_key(&msg.nonce) {
                return Err(auth_err(
                    "nonce_used",
                    "this nonce was already used: get a new one from /auth/nonce",
                ));
            }
            match g.nonces.get(&msg.nonce) {
                None => {
                    return Err(auth_err(
                        "nonce_unknown",
                        "this gateway did not issue that nonce",
                    ));
                }
                Some(exp) if *exp <= now => {
                    return Err(auth_err(
                        "nonce_expired",
                        "the nonce has expired: get a new one",
                    ));
                }
                Some(_) => {}
            }
        }
        let signer = siwe::recover_personal(message.as_bytes(), signature)
            .map_err(|e| auth_err("bad_signature", e.to_string()))?;
        if signer != msg.address {
            return Err(auth_err(
                "bad_signature",
                "the signature was not made by the message's address",
            ));
        }
        let mut g = self.lock();
        // Consume atomically: two concurrent logins with the same message cannot both pass.
        let Some(exp) = g.nonces.remove(&msg.nonce) else {
            return Err(auth_err(
                "nonce_used",
                "this nonce was already used: get a new one from /auth/nonce",
            ));
        };
        g.used
            .insert(msg.nonce.clone(), exp.max(now + self.cfg.nonce_ttl_secs));
        let mut expires_at = now + self.cfg.session_ttl_secs;
        if let Some(t) = msg.expiration_time {
            expires_at = expires_at.min(t);
        }
        let session = Session {
            did: siwe::did_pkh(msg.chain_id, &msg.address),
            address: msg.address,
            chain_id: msg.chain_id,
            expires_at,
        };
        let mut raw = [0u8; 32];
        OsRng.fill_bytes(&mut raw);
        let token = vouch_primitives::hex0x(&raw)
            .trim_start_matches("0x")
            .to_owned();
        g.sessions.insert(token.clone(), session.clone());
        Ok((token, session))
    }

    /// The session for a bearer token.
    pub fn session(&self, token: &str, now: i64) -> Result<Session, ApiError> {
        let g = self.lock();
        match g.sessions.get(token) {
            Some(s) if s.expires_at > now => Ok(s.clone()),
            Some(_) => Err(auth_err(
                "session_expired",
                "the session has expired: sign in again",
            )),
            None => Err(auth_err("unauthorized", "missing or unknown bearer token")),
        }
    }

    /// Number of live sessions.
    pub fn session_count(&self, now: i64) -> usize {
        self.lock()
            .sessions
            .values()
            .filter(|s| s.expires_at > now)
            .count()
    }
}
