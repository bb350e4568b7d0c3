//! Bounds request bodies: a declared length over the limit is refused at once, and a body
//! without a declared length is read up to the limit and refused past it (413). Either way
//! the rest of the body is never read, so the refusal closes the connection and says so
//! (`Connection: close`): a client must not send its next request on it.

use poem::error::ReadBodyError;
use poem::http::{header, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Request, Response};

/// The largest bodies accepted.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// For every route but uploads.
    pub default: usize,
    /// For `POST /api/media` and the e-mail receivers (e-mails carry their attachments).
    pub uploads: usize,
}

/// Whether a path takes files: uploads and inbound e-mail.
fn takes_files(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    path == "/api/media" || path.starts_with("/api/webhooks/email/")
}

/// The middleware, built with the limits.
pub async fn limit<E: Endpoint>(next: E, mut req: Request, limits: Limits) -> poem::Result<Response> {
    let max_bytes = if takes_files(req.uri().path()) {
        limits.uploads
    } else {
        limits.default
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > max_bytes as u64 => return Err(too_large()),
        Some(_) => {}
        None => {
            let body = match req.take_body().into_bytes_limit(max_bytes).await {
                Ok(body) => body,
                Err(ReadBodyError::PayloadTooLarge) => return Err(too_large()),
                Err(error) => return Err(error.into()),
            };
            req.set_body(Body::from(body));
        }
    }
    next.call(req).await.map(IntoResponse::into_response)
}

fn too_large() -> poem::Error {
    let mut refusal = Response::builder()
        .status(StatusCode::PAYLOAD_TOO_LARGE)
        .header(header::CONNECTION, "close")
        .finish();
    refusal.set_body(Body::empty());
    poem::Error::from_response(refusal)
}
