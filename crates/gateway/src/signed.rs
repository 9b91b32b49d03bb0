//! Client-paid tasks: `POST /tasks/signed/draft` answers the EIP-712 request a client signs for
//! a model, an input and a fee; `POST /tasks/signed` takes the signed request (with an optional
//! EIP-2612 permit of the fee) and the input, checks it and forwards it to
//! `FeeVault.requestSigned` (see `chain_sink::signed` for the checks). No bearer session is
//! needed: the signature identifies the client, whose `did:pkh` becomes the task's requester
//! (sign in as that address to read the task); the rate limit is the client's. The gateway
//! pays the gas and spends none of its own fees, so no spend cap applies.

use crate::error::ApiError;
use crate::sink::{self, DraftRequest, SignedTask};
use crate::{Gateway, now_ms, parse_body, siwe, str_field};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::{Value, json};
use vouch_chain::alloy::primitives::{Address, U256};
use vouch_chain::signed::SignedRequest;
use vouch_primitives::Cid;

/// The routes of this module (paths as in [`crate::ROUTES`]).
pub(crate) fn routes(r: Router<Gateway>) -> Router<Gateway> {
    r.route("/tasks/signed/draft", axum::routing::post(draft))
        .route("/tasks/signed", axum::routing::post(create))
}

/// The sink's refusal as an API error: a signed-request refusal keeps its own status and code.
fn sink_error(e: sink::SinkError) -> ApiError {
    match e {
        sink::SinkError::Rejected(sink::Rejection::Signed(r)) => ApiError::new(
            StatusCode::from_u16(r.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            r.code(),
            r.to_string(),
        ),
        sink::SinkError::Rejected(r) => ApiError::unprocessable("task_rejected", r.to_string()),
        other => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "backend_unavailable",
            other.to_string(),
        ),
    }
}

/// The input JSON of the body, and its bytes and CID as stored.
fn input_of(v: &Value) -> Result<(Vec<u8>, Cid), ApiError> {
    let input = v.get("input").filter(|i| i.is_object()).ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            "`input` (a JSON object of tensors) is required",
        )
    })?;
    let bytes = serde_json::to_vec(input).map_err(|e| ApiError::internal(e.to_string()))?;
    let cid = Cid::of_file(&bytes);
    Ok((bytes, cid))
}

fn address_field(v: &Value, name: &str) -> Result<Address, ApiError> {
    str_field(v, name)?.parse().map_err(|e| {
        ApiError::unprocessable(
            "invalid_address",
            format!("`{name}` is not an address: {e}"),
        )
    })
}

/// A random nonce (128 bits) for a client that names none.
fn random_nonce() -> U256 {
    let mut raw = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
    U256::from(u128::from_be_bytes(raw))
}

/// Takes one request of `client`'s rate limit.
fn rate(gw: &Gateway, client: &Address) -> Result<String, ApiError> {
    let chain = gw
        .inner
        .auth
        .config()
        .chain_ids
        .first()
        .copied()
        .unwrap_or_default();
    let did = siwe::did_pkh(chain, &client.0.0);
    if let Err(wait) = gw.inner.limits.take(&did, now_ms()) {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests for this identity",
        );
        e.retry_after = Some(wait);
        return Err(e);
    }
    Ok(did)
}

/// `POST /tasks/signed/draft`: `{model, input, mode, fee, client, nonce?, expiry_secs?}` ->
/// `{request, domain, permit_spender}`.
async fn draft(State(gw): State<Gateway>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let v = parse_body(&body)?;
    let client = address_field(&v, "client")?;
    rate(&gw, &client)?;
    let model: Cid = str_field(&v, "model")?
        .parse()
        .map_err(|e| ApiError::unprocessable("invalid_model", format!("`model`: {e}")))?;
    let mode = sink::Mode::parse(str_field(&v, "mode")?).ok_or_else(|| {
        ApiError::unprocessable("invalid_mode", "`mode` must be zk, optimistic or committee")
    })?;
    let fee = crate::parse_amount(v.get("fee"), "fee")?;
    let nonce = match v.get("nonce") {
        None | Some(Value::Null) => random_nonce(),
        Some(Value::String(s)) => s.parse().map_err(|_| {
            ApiError::unprocessable("invalid_nonce", "`nonce` must be a uint256 (decimal or 0x)")
        })?,
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_nonce",
                "`nonce` must be a string (decimal or 0x)",
            ));
        }
    };
    let expiry_secs = match v.get("expiry_secs") {
        None | Some(Value::Null) => 600,
        Some(x) => x.as_u64().filter(|&s| s > 0).ok_or_else(|| {
            ApiError::unprocessable("invalid_expiry", "`expiry_secs` must be a positive integer")
        })?,
    };
    if let (Some(info), Some(input)) =
        (gw.inner.directory.model(&model.to_string()), v.get("input"))
    {
        crate::check_integer_values(&info, input)?;
    }
    let (input_bytes, _) = input_of(&v)?;
    let d = gw
        .inner
        .sink
        .draft_signed(DraftRequest {
            model,
            input_bytes,
            mode,
            fee,
            client,
            nonce,
            expiry_secs,
        })
        .await
        .map_err(sink_error)?;
    Ok(Json(json!(d)))
}

/// `POST /tasks/signed`: `{request, input}` -> 201 and the task view, as `POST /tasks`.
async fn create(State(gw): State<Gateway>, body: Bytes) -> Result<Response, ApiError> {
    let v = parse_body(&body)?;
    let raw = v.get("request").ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            "`request` (the signed request) is required",
        )
    })?;
    let request: SignedRequest = serde_json::from_value(raw.clone())
        .map_err(|e| ApiError::bad_request("invalid_request", format!("`request`: {e}")))?;
    let requester = rate(&gw, &request.client)?;
    let (input_bytes, input_cid) = input_of(&v)?;
    let t = gw
        .inner
        .sink
        .submit_signed(SignedTask {
            requester,
            input_bytes,
            input_cid,
            request,
        })
        .await
        .map_err(sink_error)?;
    gw.inner.metrics.task_created();
    Ok((StatusCode::CREATED, Json(json!(t))).into_response())
}
