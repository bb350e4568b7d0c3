//! Middleware around every route: request ids and error shapes, metrics, body limits, idempotency keys.

pub mod body_limit;
pub mod idempotency;
pub mod metrics;
pub mod request;
