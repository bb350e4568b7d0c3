//! The write side: command handlers that load aggregates, decide, and append; plus the
//! credentials (password hashes, sessions) and the idempotency cache that the log must not hold.

pub mod agents;
pub mod api_keys;
pub mod bus;
pub mod chat_expiration;
pub mod claims;
pub mod contacts;
pub mod context;
pub mod conversations;
pub mod csat;
pub mod delivery;
pub mod divisions;
pub mod error;
pub mod idempotency;
pub mod inbound;
pub mod integrations;
pub mod jobs;
pub mod media;
pub mod notes;
pub mod password;
pub mod quick_replies;
pub mod registration;
pub mod roles;
pub mod secrets;
pub mod session;
pub mod sla;
pub mod wa_templates;
pub mod working_hours;

pub use bus::{CommandBus, Executed, Loaded};
pub use context::{CommandContext, Scope};
pub use error::CommandError;
