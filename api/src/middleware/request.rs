//! The outermost middleware: gives every request an id (`X-Request-Id`, taken from the client
//! when sane), turns every error of any layer into an `ErrorResponse`, records metrics.

use std::time::Instant;

use poem::http::{header, HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};
use uuid::Uuid;

use poem_openapi::error::{ParseParamError, ParsePathError};
use poem_openapi::payload::Json;

use crate::error::{ApiError, ErrorResponse, REQUEST_ID};
use crate::state::SharedState;

/// The request id of a request, also in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn client_request_id(req: &Request) -> Option<String> {
    let id = req.header("X-Request-Id")?.trim();
    let sane = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    sane.then(|| id.to_owned())
}

/// The middleware function, used with `poem::EndpointExt::around`.
pub async fn around<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let id = client_request_id(&req).unwrap_or_else(|| Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let state = req.data::<SharedState>().cloned();
    let result = REQUEST_ID.scope(id.clone(), async move { next.call(req).await }).await;
    let mut response = match result {
        Ok(response) => response.into_response(),
        Err(error) => REQUEST_ID
            .sync_scope(id.clone(), || parameter_error(&error))
            .unwrap_or_else(|| error.into_response()),
    };
    if response.status().as_u16() >= 400 && !is_json(&response) {
        response = REQUEST_ID.scope(id.clone(), shape_error(response)).await;
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("X-Request-Id", value);
    }
    let status = response.status().as_u16().to_string();
    if let Some(state) = state {
        state.http.requests.with_label_values(&[&method, &status]).inc();
        state
            .http
            .latency
            .with_label_values(&[&method, &status])
            .observe(started.elapsed().as_secs_f64());
    }
    tracing::info!(request_id = %id, %method, %path, %status, elapsed_ms = started.elapsed().as_millis() as u64, "request");
    Ok(response)
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A parameter poem-openapi could not parse, as an `ErrorResponse` that names it and says what
/// it takes. Its own message names path parameters `param0`, `param1`, ... and speaks in
/// OpenAPI type formats.
fn parameter_error(error: &poem::Error) -> Option<Response> {
    let (field, reason) = if let Some(bad) = error.downcast_ref::<ParsePathError>() {
        (None, bad.reason.as_str())
    } else {
        let bad = error.downcast_ref::<ParseParamError>()?;
        (Some(bad.name), bad.reason.as_str())
    };
    // A reason reads `failed to parse "integer_int64": invalid digit found in string
    // (occurred while parsing "optional_integer_int64")`.
    let (format, why) = reason
        .strip_prefix("failed to parse \"")
        .and_then(|rest| rest.split_once("\": "))
        .unwrap_or(("", reason));
    let why = why.split(" (occurred while parsing").next().unwrap_or(why);
    let (subject, details) = match field {
        Some(name) => (name, serde_json::json!({ "field": name })),
        None => ("a parameter in the path", serde_json::json!({ "in": "path" })),
    };
    let message = match expected(format) {
        Some(expected) => format!("{subject} must be {expected} ({why})"),
        None => format!("{subject} is invalid: {why}"),
    };
    let mut body = ErrorResponse::new("validation_failed", message);
    body.details = Some(details);
    Some(ApiError::BadRequest(Json(body)).into_response())
}

/// What a parameter of an OpenAPI type format takes, in words.
fn expected(format: &str) -> Option<&'static str> {
    match format {
        f if f.starts_with("integer") || f.starts_with("number") => Some("a number"),
        f if f.ends_with("date-time") => Some("a time in RFC 3339 form, like 2026-12-03T10:00:00Z"),
        f if f.ends_with("date") => Some("a date like 2026-12-03"),
        f if f.ends_with("uuid") => Some("a UUID"),
        "boolean" => Some("true or false"),
        _ => None,
    }
}

/// Replaces a framework error (plain text) with an `ErrorResponse` of the same status.
async fn shape_error(mut response: Response) -> Response {
    let status = response.status();
    let text = response.take_body().into_string().await.unwrap_or_default();
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route; see /api/docs".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not accept that method".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large".to_owned()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "send the body as application/json".to_owned())
        }
        StatusCode::UNAUTHORIZED => ("unauthorized", non_empty(text, "authentication required")),
        StatusCode::FORBIDDEN => ("forbidden", non_empty(text, "not allowed")),
        s if s.is_server_error() => {
            tracing::error!(status = %s, error = %text, "internal error");
            (
                "internal",
                "internal error; quote the request id when reporting it".to_owned(),
            )
        }
        _ => ("validation_failed", non_empty(text, "the request is malformed")),
    };
    let body = ErrorResponse::new(code, message);
    let mut shaped = poem::web::Json(body_json(&body)).with_status(status).into_response();
    // Keep headers such as Allow or Retry-After that the framework set.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name.clone(), value.clone());
        }
    }
    shaped
}

fn non_empty(text: String, fallback: &str) -> String {
    if text.trim().is_empty() {
        fallback.to_owned()
    } else {
        text
    }
}

fn body_json(body: &ErrorResponse) -> serde_json::Value {
    serde_json::json!({
        "error": body.error,
        "message": body.message,
        "request_id": body.request_id,
    })
}
