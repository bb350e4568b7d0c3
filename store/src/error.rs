//! The store's errors: a typed conflict for optimistic concurrency, the rest technical.

use thiserror::Error;

/// Why an append or read failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The stream is not at the version the writer expected.
    #[error("stream {stream_id} is at version {actual}, expected {expected}")]
    Conflict {
        /// The stream.
        stream_id: String,
        /// What the writer expected, as text (`any`, `no stream`, or a number).
        expected: String,
        /// Where the stream is.
        actual: i64,
    },
    /// The stream belongs to another tenant.
    #[error("stream {0} belongs to another tenant")]
    TenantMismatch(String),
    /// A stored row could not be decoded.
    #[error("corrupt event {position}: {reason}")]
    Corrupt {
        /// Its global position.
        position: i64,
        /// What is wrong.
        reason: String,
    },
    /// Sealing personal data failed.
    #[error("personal data sealing failed: {0}")]
    Crypto(String),
    /// The writer task is gone (shutdown).
    #[error("the event store writer has stopped")]
    WriterStopped,
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The backend cannot append to several streams atomically, so it wrote nothing.
    #[error("this event store appends to one stream per call; {streams} streams cannot be appended atomically")]
    MultiStreamAppendUnsupported {
        /// How many stream requests the refused append carried.
        streams: usize,
    },
    /// A backend other than PostgreSQL failed (connection, server or protocol error).
    #[error("event store backend error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether retrying the command after reloading may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}
