//! Every error the API answers, as one `ErrorResponse` shape with a stable snake_case code.
//! A 500 is logged with its cause and answered with `internal` and the request id only.

use omnistream_commands::CommandError;
use omnistream_domain::DomainError;
use omnistream_projections::ProjectionError;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

tokio::task_local! {
    /// The id of the request being served, set by the request middleware.
    pub static REQUEST_ID: String;
}

/// The current request's id, or an empty string outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// The body of every error.
#[derive(Debug, Clone, Object)]
pub struct ErrorResponse {
    /// A stable code: `unauthorized`, `forbidden`, `not_found`, `validation_failed`,
    /// `conflict`, `rate_limited`, `payload_too_large`, `internal`, ...
    pub error: String,
    /// What went wrong, for a person.
    pub message: String,
    /// Structured details (the field at fault, for example).
    #[oai(skip_serializing_if_is_none)]
    pub details: Option<serde_json::Value>,
    /// The request's id, as in the `X-Request-Id` header.
    pub request_id: String,
}

impl ErrorResponse {
    /// An error body for the current request.
    pub fn new(error: &str, message: impl Into<String>) -> Self {
        Self {
            error: error.to_owned(),
            message: message.into(),
            details: None,
            request_id: current_request_id(),
        }
    }
}

/// An error answer of any operation.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is malformed or a field is invalid (`validation_failed`).
    #[oai(status = 400)]
    BadRequest(Json<ErrorResponse>),
    /// No valid credentials (`unauthorized`).
    #[oai(status = 401)]
    Unauthorized(Json<ErrorResponse>),
    /// Authenticated, but not allowed (`forbidden`).
    #[oai(status = 403)]
    Forbidden(Json<ErrorResponse>),
    /// No such resource in your organization (`not_found`).
    #[oai(status = 404)]
    NotFound(Json<ErrorResponse>),
    /// A concurrent change won, or the resource exists (`conflict`).
    #[oai(status = 409)]
    Conflict(Json<ErrorResponse>),
    /// Valid, but refused by a business rule (`unprocessable`, `idempotency_key_reused`).
    #[oai(status = 422)]
    Unprocessable(Json<ErrorResponse>),
    /// Too many attempts (`rate_limited`).
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorResponse>, #[oai(header = "Retry-After")] i64),
    /// Something failed on our side (`internal`).
    #[oai(status = 500)]
    Internal(Json<ErrorResponse>),
    /// A dependency is down or a read model lags (`unavailable`).
    #[oai(status = 503)]
    Unavailable(Json<ErrorResponse>),
}

impl ApiError {
    /// 422 `window_closed`: a free-form message outside the messaging window, naming the
    /// template route of the conversation.
    pub fn window_closed(closed_at: Option<chrono::DateTime<chrono::Utc>>, conversation: &str) -> Self {
        let route = format!("POST /api/conversations/{conversation}/messages/template");
        let when = closed_at.map_or("the customer has not written yet".to_owned(), |at| {
            format!("it closed at {}", at.to_rfc3339())
        });
        let mut body = ErrorResponse::new(
            "window_closed",
            format!("the customer-service window is closed ({when}); send an approved template with {route}"),
        );
        body.details = Some(serde_json::json!({"closed_at": closed_at, "template_route": route}));
        ApiError::Unprocessable(Json(body))
    }

    /// 400 `validation_failed` naming a field.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let mut body = ErrorResponse::new("validation_failed", message);
        body.details = Some(serde_json::json!({ "field": field }));
        Self::BadRequest(Json(body))
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized(Json(ErrorResponse::new("unauthorized", message)))
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(Json(ErrorResponse::new("forbidden", message)))
    }

    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(Json(ErrorResponse::new("not_found", format!("{what} not found"))))
    }

    /// 409 with a code.
    pub fn conflict(code: &str, message: impl Into<String>) -> Self {
        Self::Conflict(Json(ErrorResponse::new(code, message)))
    }

    /// 422 with a code.
    pub fn unprocessable(code: &str, message: impl Into<String>) -> Self {
        Self::Unprocessable(Json(ErrorResponse::new(code, message)))
    }

    /// 429 `rate_limited`.
    pub fn rate_limited(retry_after_seconds: i64, message: impl Into<String>) -> Self {
        Self::TooManyRequests(Json(ErrorResponse::new("rate_limited", message)), retry_after_seconds)
    }

    /// 503 with a code.
    pub fn unavailable(code: &str, message: impl Into<String>) -> Self {
        Self::Unavailable(Json(ErrorResponse::new(code, message)))
    }

    /// 500 `internal`: logs the cause, never answers it.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let body = ErrorResponse::new("internal", "internal error; quote the request id when reporting it");
        tracing::error!(request_id = %body.request_id, error = %cause, "internal error");
        Self::Internal(Json(body))
    }
}

impl ApiError {
    /// The error's body.
    pub fn body(self) -> ErrorResponse {
        match self {
            ApiError::BadRequest(Json(body))
            | ApiError::Unauthorized(Json(body))
            | ApiError::Forbidden(Json(body))
            | ApiError::NotFound(Json(body))
            | ApiError::Conflict(Json(body))
            | ApiError::Unprocessable(Json(body))
            | ApiError::TooManyRequests(Json(body), _)
            | ApiError::Internal(Json(body))
            | ApiError::Unavailable(Json(body)) => body,
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound(what) => ApiError::not_found(what),
            DomainError::AlreadyExists(message) => ApiError::conflict("already_exists", message),
            DomainError::Invalid { field, message } => ApiError::validation(field, field_sentence(field, &message)),
            DomainError::Rule(message) => ApiError::unprocessable("unprocessable", message),
            DomainError::WindowClosed { closed_at } => ApiError::window_closed(closed_at, "{id}"),
        }
    }
}

/// A field's validation failure as one sentence: a predicate follows its field (`email must be
/// an e-mail address like name@example.com`), anything else is set off from it (`tags: at most
/// 50 tags`, `contact_id: no such contact in this organization`).
fn field_sentence(field: &str, message: &str) -> String {
    if ["must ", "is ", "are "].iter().any(|verb| message.starts_with(verb)) {
        format!("{field} {message}")
    } else {
        format!("{field}: {message}")
    }
}

impl From<CommandError> for ApiError {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::Domain(e) => e.into(),
            CommandError::Conflict(stream) => ApiError::conflict(
                "conflict",
                format!("{stream} was changed by a concurrent request; reload and retry"),
            ),
            CommandError::Database(sqlx::Error::PoolTimedOut)
            | CommandError::Store(omnistream_store::StoreError::Database(sqlx::Error::PoolTimedOut)) => busy(),
            other => ApiError::internal(&other),
        }
    }
}

/// 503 `unavailable`: every database connection stayed busy for the pool's acquire timeout.
/// An overload, not a fault: the client may retry.
fn busy() -> ApiError {
    ApiError::unavailable("unavailable", "the service is busy; retry shortly")
}

impl From<ProjectionError> for ApiError {
    fn from(error: ProjectionError) -> Self {
        match error {
            ProjectionError::InvalidCursor => ApiError::validation("cursor", "cursor is not one this API handed out"),
            ProjectionError::Database(sqlx::Error::PoolTimedOut)
            | ProjectionError::Store(omnistream_store::StoreError::Database(sqlx::Error::PoolTimedOut)) => busy(),
            other => ApiError::internal(&other),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => busy(),
            other => ApiError::internal(&other),
        }
    }
}

/// The result of an operation.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_connection_pool_is_a_503_not_a_500() {
        let errors = [
            ApiError::from(sqlx::Error::PoolTimedOut),
            ApiError::from(ProjectionError::Database(sqlx::Error::PoolTimedOut)),
            ApiError::from(CommandError::Database(sqlx::Error::PoolTimedOut)),
        ];
        for error in errors {
            assert!(
                matches!(&error, ApiError::Unavailable(Json(body)) if body.error == "unavailable"),
                "{:?}",
                error.body().error
            );
        }
        let other = ApiError::from(sqlx::Error::RowNotFound);
        assert!(matches!(other, ApiError::Internal(_)));
    }

    #[test]
    fn a_field_error_reads_as_one_sentence() {
        let message = |field, text: &str| ApiError::from(DomainError::invalid(field, text)).body().message;
        assert_eq!(message("rating", "must be 1-5"), "rating must be 1-5");
        assert_eq!(
            message("snoozed_until", "is required to snooze"),
            "snoozed_until is required to snooze"
        );
        assert_eq!(message("tags", "at most 50 tags"), "tags: at most 50 tags");
        assert_eq!(
            message("contact_id", "no such contact in this organization"),
            "contact_id: no such contact in this organization"
        );
        let details = ApiError::from(DomainError::invalid("tags", "at most 50 tags"))
            .body()
            .details;
        assert_eq!(details, Some(serde_json::json!({ "field": "tags" })));
    }
}
