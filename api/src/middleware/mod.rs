//! Middleware around every route: request ids and error shapes, metrics, idempotency keys.

pub mod idempotency;
pub mod metrics;
pub mod request;
