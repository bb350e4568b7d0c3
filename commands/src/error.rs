//! Errors of the write side.

use omnistream_domain::DomainError;
use omnistream_store::StoreError;
use thiserror::Error;

/// Why a command did not take effect.
#[derive(Debug, Error)]
pub enum CommandError {
    /// The domain refused it.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Concurrent writers kept changing the stream; retries ran out.
    #[error("the {0} was changed concurrently; reload and retry")]
    Conflict(String),
    /// The store or database failed.
    #[error(transparent)]
    Store(StoreError),
    /// A credentials query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The media store failed.
    #[error("media storage failed: {0}")]
    Storage(String),
    /// A stored key or secret cannot be used.
    #[error("key material unusable: {0}")]
    Key(String),
    /// Hashing failed (never expected with valid parameters).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { stream_id, .. } => CommandError::Conflict(stream_id),
            // A stream of another tenant is, to this caller, a stream that does not exist.
            StoreError::TenantMismatch(_) => CommandError::Domain(DomainError::NotFound("resource")),
            other => CommandError::Store(other),
        }
    }
}
