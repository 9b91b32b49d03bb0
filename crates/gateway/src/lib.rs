//! The vouch HTTP gateway.
//!
//! Clients sign in with Ethereum (EIP-4361) and are identified as
//! `did:pkh:eip155:<chainId>:<address>`; they create tasks (model CID, input JSON, mode, max
//! fee), read them, and follow their events as Server-Sent Events. The OpenAPI 3 document is
//! served at `/openapi.json` (the file `openapi.json` beside this crate's manifest).
//!
//! **Who pays.** By default (`POST /tasks`) the gateway operator pays each task's fee from its
//! own token balance: each task reserves its `max_fee` against the identity's spend cap when
//! accepted, and the [`TaskSink`] ([`ChainSink`] on a chain) submits the on-chain request from
//! the operator's account with `fee = max_fee`. The documented alternative is a client that
//! pays for itself: it asks `POST /tasks/signed/draft` for the EIP-712 request of its input,
//! signs it (with an EIP-2612 permit of the fee, or an allowance), and posts it to
//! `POST /tasks/signed`; the gateway checks it and submits `FeeVault.requestSigned`, paying the
//! gas only (module `signed`).
//!
//! | module | holds |
//! |---|---|
//! | [`siwe`] | EIP-4361 parsing, EIP-191 `personal_sign` recovery (k256 + keccak), EIP-55, `did:pkh` |
//! | [`auth`] | single-use expiring nonces, sessions |
//! | [`limits`] | per-identity token-bucket rate limits and spend caps |
//! | [`sink`] | [`TaskSink`] (the seam to the chain) and the in-process [`JournalSink`] |
//! | [`chain_sink`] | [`ChainSink`] and [`ChainDirectory`] on a deployment, and [`serve`] |
//! | [`directory`] | [`Directory`] of models and providers, and a [`StaticDirectory`] |
//! | [`metrics`] | Prometheus text counters |
//! | [`error`] | the JSON error body every rejection uses |
//! | `client` | (feature `client`) a Rust client of the API: SIWE sign-in, tasks |

#![forbid(unsafe_code)]
pub mod auth;
pub mod chain_sink;
#[cfg(feature = "client")]
pub mod client;
pub mod directory;
pub mod error;
pub mod limits;
pub mod metrics;
mod signed;
pub mod sink;
pub mod siwe;

pub use auth::{Auth, AuthConfig, Session};
pub use chain_sink::{ChainDirectory, ChainSink, ChainSinkConfig, Served, serve};
pub use directory::{Directory, IntegerInput, ModelInfo, ProviderInfo, StaticDirectory};
pub use error::ApiError;
pub use limits::{LimitConfig, Limits, SpendRefused};
pub use metrics::Metrics;
pub use sink::{JournalSink, Mode, Rejection, SinkError, TaskRequest, TaskSink, TaskView};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vouch_primitives::Cid;

/// The OpenAPI 3 document served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every route: (method, path in OpenAPI syntax). The router is built from the same paths and
/// a test checks each is in [`OPENAPI`].
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/openapi.json"),
    ("get", "/health"),
    ("get", "/metrics"),
    ("get", "/auth/nonce"),
    ("post", "/auth/login"),
    ("post", "/tasks"),
    ("post", "/tasks/signed/draft"),
    ("post", "/tasks/signed"),
    ("get", "/tasks/{id}"),
    ("get", "/tasks/{id}/events"),
    ("get", "/tasks/{id}/output"),
    ("get", "/models"),
    ("get", "/providers"),
];

/// The largest request body accepted (input JSON included).
pub const MAX_BODY: usize = 1 << 20;

/// Gateway settings.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Sign-in settings.
    pub auth: AuthConfig,
    /// Rate limits and spend caps.
    pub limits: LimitConfig,
    /// How often the event stream polls the sink.
    pub sse_poll: Duration,
}

impl GatewayConfig {
    /// Defaults for `domain` on `chain_id`.
    pub fn new(domain: impl Into<String>, chain_id: u64) -> Self {
        Self {
            auth: AuthConfig::new(domain, chain_id),
            limits: LimitConfig::default(),
            sse_poll: Duration::from_millis(200),
        }
    }
}

/// The gateway's shared state.
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    auth: Auth,
    limits: Limits,
    sink: Arc<dyn TaskSink>,
    directory: Arc<dyn Directory>,
    metrics: Metrics,
    sse_poll: Duration,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn now_secs() -> i64 {
    i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX)
}

impl Gateway {
    /// A gateway handing tasks to `sink` and listing from `directory`.
    pub fn new(cfg: GatewayConfig, sink: Arc<dyn TaskSink>, directory: Arc<dyn Directory>) -> Self {
        Self {
            inner: Arc::new(Inner {
                auth: Auth::new(cfg.auth),
                limits: match sink.spend_ledger() {
                    Some(j) => Limits::with_ledger(cfg.limits, j),
                    None => Limits::new(cfg.limits),
                },
                sink,
                directory,
                metrics: Metrics::default(),
                sse_poll: cfg.sse_poll,
            }),
        }
    }

    /// The HTTP router.
    pub fn router(&self) -> Router {
        signed::routes(Router::new())
            .route("/openapi.json", get(openapi))
            .route("/health", get(health))
            .route("/metrics", get(metrics))
            .route("/auth/nonce", get(nonce))
            .route("/auth/login", post(login))
            .route("/tasks", post(create_task))
            .route("/tasks/{id}", get(read_task))
            .route("/tasks/{id}/events", get(task_events))
            .route("/tasks/{id}/output", get(task_output))
            .route("/models", get(models))
            .route("/providers", get(providers))
            .fallback(|| async {
                ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such route")
            })
            .layer(middleware::from_fn_with_state(self.clone(), count))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self.clone())
    }

    /// Serves the router on `listener` until the future is dropped.
    pub async fn serve(&self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    fn session(&self, headers: &HeaderMap) -> Result<Session, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "unauthorized",
                    "missing bearer token: sign in at /auth/login",
                )
            })?;
        let s = self.inner.auth.session(token.trim(), now_secs())?;
        if let Err(wait) = self.inner.limits.take(&s.did, now_ms()) {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests for this identity",
            );
            e.retry_after = Some(wait);
            return Err(e);
        }
        Ok(s)
    }
}

async fn count(State(gw): State<Gateway>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let resp = next.run(req).await;
    gw.inner
        .metrics
        .request(&route, &method, resp.status().as_u16());
    if let Some(code) = resp.extensions().get::<error::ErrorCode>() {
        gw.inner.metrics.rejection(code.0);
    }
    resp
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn metrics(State(gw): State<Gateway>) -> Response {
    let counts = gw.inner.sink.counts().await;
    let body = gw
        .inner
        .metrics
        .render(gw.inner.auth.session_count(now_secs()), &counts);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

async fn nonce(State(gw): State<Gateway>) -> Result<Json<Value>, ApiError> {
    let (nonce, exp) = gw.inner.auth.issue_nonce(now_secs())?;
    let cfg = gw.inner.auth.config();
    Ok(Json(json!({
        "nonce": nonce,
        "expires_at": siwe::format_rfc3339(exp),
        "domain": cfg.domain,
        "chain_ids": cfg.chain_ids,
    })))
}

pub(crate) fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad_json", format!("body is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "bad_json",
            "body must be a JSON object",
        ));
    }
    Ok(v)
}

pub(crate) fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    v.get(name).and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad_request("missing_field", format!("`{name}` (a string) is required"))
    })
}

async fn login(State(gw): State<Gateway>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let v = parse_body(&body)?;
    let message = str_field(&v, "message")?;
    let signature = str_field(&v, "signature")?;
    let (token, s) = gw.inner.auth.login(message, signature, now_secs())?;
    gw.inner.metrics.login();
    Ok(Json(json!({
        "token": token,
        "did": s.did,
        "address": siwe::checksum_address(&s.address),
        "expires_at": siwe::format_rfc3339(s.expires_at),
    })))
}

fn parse_fee(v: Option<&Value>) -> Result<u128, ApiError> {
    parse_amount(v, "max_fee")
}

/// A positive amount of base units, a decimal string or a JSON integer, from field `name`.
fn parse_amount(v: Option<&Value>, name: &str) -> Result<u128, ApiError> {
    let bad = || {
        ApiError::unprocessable(
            "invalid_fee",
            format!(
                "`{name}` must be a positive integer (a decimal string or a JSON integer) in base units"
            ),
        )
    };
    let fee = match v {
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) => {
            s.parse::<u128>().map_err(|_| bad())?
        }
        Some(Value::Number(n)) => n.as_u64().map(u128::from).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    if fee == 0 {
        return Err(bad());
    }
    Ok(fee)
}

/// Refuses (400 `invalid_input_value`) a request whose exact integer input holds a value that
/// is not an integer in the input's range, naming the input and the element: checked when the
/// request arrives, before anything is reserved or stored, rather than when the task is run.
pub(crate) fn check_integer_values(info: &ModelInfo, input: &Value) -> Result<(), ApiError> {
    for spec in &info.integer_inputs {
        spec.check(input)
            .map_err(|e| ApiError::bad_request("invalid_input_value", e.to_string()))?;
    }
    Ok(())
}

async fn create_task(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let s = gw.session(&headers)?;
    let v = parse_body(&body)?;
    let model_str = str_field(&v, "model")?;
    let model: Cid = model_str
        .parse()
        .map_err(|e| ApiError::unprocessable("invalid_model", format!("`model`: {e}")))?;
    let info = gw
        .inner
        .directory
        .model(&model.to_string())
        .ok_or_else(|| {
            ApiError::unprocessable("unknown_model", format!("model {model} is not registered"))
        })?;
    if info.frozen && info.modes.is_empty() {
        return Err(ApiError::unprocessable(
            "model_frozen",
            format!("model {model} is frozen by governance"),
        ));
    }
    let mode_str = str_field(&v, "mode")?;
    let mode = Mode::parse(mode_str).ok_or_else(|| {
        ApiError::unprocessable("invalid_mode", "`mode` must be zk, optimistic or committee")
    })?;
    if !info.modes.iter().any(|m| m == mode.as_str()) {
        let why = if info.frozen {
            format!("model {model} is frozen: it takes zk requests only")
        } else {
            format!("model {model} does not offer {mode_str} mode")
        };
        return Err(ApiError::unprocessable("mode_unavailable", why));
    }
    let max_fee = parse_fee(v.get("max_fee"))?;
    let input = v.get("input").ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            "`input` (a JSON object of tensors) is required",
        )
    })?;
    let names: Vec<&str> = info.inputs.iter().map(String::as_str).collect();
    // the shape of the request; a missing value (`null`) is checked against the package
    // where the task is run
    let any = vec![true; names.len()];
    vouch_task::codec::json::inputs_from_json_missing(input, &names, &any)
        .map_err(|e| ApiError::unprocessable("invalid_input", e.to_string()))?;
    check_integer_values(&info, input)?;
    let input_bytes = serde_json::to_vec(input).map_err(|e| ApiError::internal(e.to_string()))?;
    let input_cid = Cid::of_file(&input_bytes);

    match gw.inner.limits.reserve(&s.did, max_fee) {
        Ok(()) => {}
        Err(limits::SpendRefused::Cap { left }) => {
            return Err(ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "spend_cap_exceeded",
                format!("max_fee {max_fee} exceeds this identity's remaining spend cap of {left}"),
            ));
        }
        Err(limits::SpendRefused::Ledger(e)) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "backend_unavailable",
                format!("cannot record the spend reservation (nothing was accepted): {e}"),
            ));
        }
    }
    let req = TaskRequest {
        requester: s.did.clone(),
        model,
        input_bytes,
        input_cid,
        mode,
        max_fee,
    };
    match gw.inner.sink.submit(req).await {
        Ok(t) => {
            gw.inner.metrics.task_created();
            Ok((StatusCode::CREATED, Json(json!(t))).into_response())
        }
        Err(e) => {
            gw.inner.limits.release(&s.did, max_fee);
            Err(match e {
                sink::SinkError::Rejected(r) => {
                    ApiError::unprocessable("task_rejected", r.to_string())
                }
                other => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "backend_unavailable",
                    other.to_string(),
                ),
            })
        }
    }
}

/// `GET /health`: 200 while the backend serves, 503 with the reason when it cannot (a dead RPC
/// endpoint, a chain that lost the deployment).
async fn health(State(gw): State<Gateway>) -> Response {
    match gw.inner.sink.health() {
        None => Json(json!({ "status": "ok" })).into_response(),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "reason": reason })),
        )
            .into_response(),
    }
}

async fn own_task(gw: &Gateway, s: &Session, id: &str) -> Result<TaskView, ApiError> {
    let t = gw.inner.sink.task(id).await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "backend_unavailable",
            e.to_string(),
        )
    })?;
    match t {
        // Another identity's task is reported as absent, so ids cannot be probed.
        Some(t) if t.requester == s.did => Ok(t),
        _ => Err(ApiError::not_found(format!(
            "no task {id} for this identity"
        ))),
    }
}

async fn read_task(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<TaskView>, ApiError> {
    let s = gw.session(&headers)?;
    Ok(Json(own_task(&gw, &s, &id).await?))
}

/// `GET /tasks/{id}/output`: the settled output JSON (`{"outputs": {name: nested floats},
/// "names": [package order], "commitment"}`), byte for byte the blob whose CID the task reports as `output_cid`, so a
/// client can check the bytes against the CID. Served only once the task is finalized on-chain
/// with the commitment of the gateway's own run (the task view's `output_cid` is set then).
async fn task_output(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = gw.session(&headers)?;
    let t = own_task(&gw, &s, &id).await?;
    let no_output = |why: String| ApiError::new(StatusCode::NOT_FOUND, "no_output", why);
    let Some(cid_str) = t.output_cid.as_deref() else {
        return Err(no_output(format!(
            "task {id} is {}: its output is served once it is finalized with the gateway's own \
             output commitment{}",
            t.status,
            t.detail.map(|d| format!(" ({d})")).unwrap_or_default()
        )));
    };
    let cid: Cid = cid_str
        .parse()
        .map_err(|e| ApiError::internal(format!("task {id} has a bad output CID: {e}")))?;
    let bytes = gw.inner.sink.blob(&cid).await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "backend_unavailable",
            e.to_string(),
        )
    })?;
    let bytes = bytes.ok_or_else(|| {
        no_output(format!(
            "the output {cid} of task {id} is not in this gateway's store"
        ))
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

struct Follow {
    gw: Gateway,
    id: String,
    after: u64,
    pending: std::collections::VecDeque<sink::EventView>,
    done: bool,
}

async fn task_events(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let s = gw.session(&headers)?;
    own_task(&gw, &s, &id).await?;
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let st = Follow {
        gw,
        id,
        after,
        pending: Default::default(),
        done: false,
    };
    let stream = stream::unfold(st, |mut st| async move {
        loop {
            if let Some(e) = st.pending.pop_front() {
                st.after = e.seq;
                if e.terminal {
                    st.done = true;
                    st.pending.clear();
                }
                let ev = Event::default()
                    .id(e.seq.to_string())
                    .event("status")
                    .json_data(&e)
                    .unwrap_or_else(|_| Event::default().comment("unencodable event"));
                return Some((Ok(ev), st));
            }
            if st.done {
                return None;
            }
            match st.gw.inner.sink.events(&st.id, st.after).await {
                Ok(evs) if !evs.is_empty() => st.pending.extend(evs),
                Ok(_) => tokio::time::sleep(st.gw.inner.sse_poll).await,
                Err(_) => {
                    st.done = true;
                    let ev = Event::default().event("error").data("backend unavailable");
                    return Some((Ok(ev), st));
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn models(State(gw): State<Gateway>) -> Json<Value> {
    Json(json!({ "models": gw.inner.directory.models() }))
}

async fn providers(State(gw): State<Gateway>) -> Json<Value> {
    Json(json!({ "providers": gw.inner.directory.providers() }))
}
