//! Errors of the read side.

use omnistream_store::StoreError;
use thiserror::Error;

/// Why a projection or query failed.
#[derive(Debug, Error)]
pub enum ProjectionError {
    /// The store failed or an event could not be decoded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The read-model database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A projection name that this build does not know.
    #[error("no projection named {0}")]
    UnknownProjection(String),
    /// Another process is rebuilding this projection.
    #[error("a rebuild of {0} is already running")]
    RebuildRunning(String),
    /// A read running ahead of the batch being applied panicked or was cancelled.
    #[error("prefetching events failed: {0}")]
    Prefetch(String),
    /// A paging cursor that this service did not hand out.
    #[error("invalid cursor")]
    InvalidCursor,
}
