//! OmniStream's domain: aggregates, their commands and events, and the rules that decide
//! between them. Nothing here does IO; the write side and the read side build on it.

pub mod agent;
pub mod aggregate;
pub mod api_key;
pub mod app_settings;
pub mod business_hours;
pub mod chat_expiration;
pub mod claim;
pub mod contact;
pub mod conversation;
pub mod csat;
pub mod division;
pub mod envelope;
pub mod error;
pub mod event_schemas;
pub mod integration;
pub mod media;
pub mod messaging_window;
pub mod note;
pub mod organization;
pub mod permission;
pub mod personal_data;
pub mod quick_reply;
pub mod role;
pub mod sla;
pub mod sla_policy;
pub mod super_admin;
pub mod values;
pub mod wa_template;
pub mod working_hours;

pub use aggregate::{Aggregate, DomainEvent};
pub use envelope::{Actor, ActorKind, Metadata};
pub use error::DomainError;
pub use permission::Permission;
