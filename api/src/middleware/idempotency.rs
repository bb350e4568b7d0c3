//! `Idempotency-Key` on state-changing requests: the first answer for a key (per tenant) is
//! stored and replayed to retries, so a retried command appends nothing new.

use omnistream_commands::idempotency::{self, Claim, StoredResponse};
use poem::http::{Method, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use sha2::{Digest, Sha256};

use crate::auth::{resolve, Resolved};
use crate::error::ApiError;
use crate::state::SharedState;

/// Headers of an answer worth replaying.
const REPLAYED_HEADERS: &[&str] = &["content-type", "location", "x-stream-version", "x-event-position"];

/// Whether an answer is final enough to replay: failures on our side, auth failures and
/// transient refusals are not stored, so a retry runs again.
fn storable(status: StatusCode) -> bool {
    !(status.is_server_error()
        || matches!(
            status,
            StatusCode::UNAUTHORIZED
                | StatusCode::CONFLICT
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::REQUEST_TIMEOUT
        ))
}

fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.chars().all(|c| c.is_ascii_graphic())
}

/// The middleware function, used with `poem::EndpointExt::around`.
pub async fn around<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let changes_state = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let key = req.header("Idempotency-Key").map(str::to_owned);
    let (Some(key), true, Some(state)) = (key, changes_state, req.data::<SharedState>().cloned()) else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    if !valid_key(&key) {
        return Ok(ApiError::validation(
            "Idempotency-Key",
            "Idempotency-Key must be 1-255 visible ASCII characters",
        )
        .into_response());
    }
    let principal = match resolve(&state, &req).await {
        Ok(principal) => principal,
        Err(error) => return Ok(error.into_response()),
    };
    let scope = match &principal {
        Some(p) => match p.tenant_id {
            Some(tenant) => format!("tenant:{tenant}"),
            None => format!("principal:{}", p.actor().id.unwrap_or_default()),
        },
        None => format!("anonymous:{}", req.remote_addr()),
    };
    req.extensions_mut().insert(Resolved(principal));
    let body = req.take_body().into_bytes().await?;
    let target = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_default();
    let print = fingerprint(&[req.method().as_str().as_bytes(), target.as_bytes(), &body]);
    req.set_body(Body::from(body));

    match idempotency::claim(&state.pool, &scope, &key, &print).await {
        Ok(Claim::Fresh) => {}
        Ok(Claim::Replay(stored)) => return Ok(replay(stored)),
        Ok(Claim::InProgress) => {
            return Ok(ApiError::conflict(
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is still running",
            )
            .into_response())
        }
        Ok(Claim::Mismatch) => {
            return Ok(ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
            .into_response())
        }
        Err(error) => return Ok(ApiError::from(error).into_response()),
    }

    let mut response = match next.call(req).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    };
    let status = response.status();
    if !storable(status) {
        if let Err(error) = idempotency::release(&state.pool, &scope, &key).await {
            tracing::warn!(%error, "could not release an idempotency key");
        }
        return Ok(response);
    }
    let body = response.take_body().into_bytes().await?;
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| REPLAYED_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let stored = StoredResponse {
        status: status.as_u16(),
        headers,
        body: body.to_vec(),
    };
    if let Err(error) = idempotency::complete(&state.pool, &scope, &key, &stored).await {
        tracing::warn!(%error, "could not store an idempotent answer");
    }
    response.set_body(Body::from(body));
    Ok(response)
}

fn replay(stored: StoredResponse) -> Response {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK))
        .header("Idempotent-Replayed", "true");
    for (name, value) in &stored.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(stored.body)
}

/// The request fingerprint: SHA-256 over the length-prefixed parts.
fn fingerprint(parts: &[&[u8]]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().to_vec()
}
