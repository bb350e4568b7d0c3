//! End-to-end tests against a real PostgreSQL: one test binary, one module per area.

mod access;
mod activity_logs;
mod agents;
mod analytics;
mod api_keys;
mod auth;
mod chat_expiration;
mod commands;
mod contacts;
mod conversations;
mod csat;
mod database;
mod delivery;
mod erasure;
mod errors;
mod idempotency;
mod inbox_admin;
mod integrations;
mod kafka;
#[cfg(feature = "kurrentdb")]
mod kurrent_store;
mod media;
mod messages;
mod openapi;
mod projections;
mod query_cache;
mod realtime;
mod replay;
mod roles;
mod seed;
mod sla;
mod store;
mod tenancy;
mod wa_templates;
mod webhooks;
mod working_hours;
