//! Middleware around every route: request ids and error shapes, metrics, body limits, idempotency keys, read after
//! write through the query caches.

pub mod body_limit;
pub mod idempotency;
pub mod metrics;
pub mod read_after_write;
pub mod request;
