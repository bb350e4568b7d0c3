//! The JSON Schema of every stored event type, generated from the Rust types.

use schemars::{schema_for, JsonSchema, Schema};

use crate::{agent, api_key, email_claim, organization, role, super_admin};

fn entry<T: JsonSchema>(event_type: &'static str) -> (&'static str, Schema) {
    (event_type, schema_for!(T))
}

/// Every event type with its payload schema, in a stable order.
pub fn all() -> Vec<(&'static str, Schema)> {
    vec![
        entry::<organization::OrganizationCreated>("OrganizationCreated"),
        entry::<organization::OrganizationRenamed>("OrganizationRenamed"),
        entry::<agent::AgentCreated>("AgentCreated"),
        entry::<agent::AgentUpdated>("AgentUpdated"),
        entry::<agent::AgentStatusChanged>("AgentStatusChanged"),
        entry::<agent::AgentPasswordChanged>("AgentPasswordChanged"),
        entry::<agent::AgentLoggedIn>("AgentLoggedIn"),
        entry::<agent::AgentLoggedOut>("AgentLoggedOut"),
        entry::<agent::AgentDeleted>("AgentDeleted"),
        entry::<role::RoleCreated>("RoleCreated"),
        entry::<role::RoleUpdated>("RoleUpdated"),
        entry::<role::RoleDeleted>("RoleDeleted"),
        entry::<api_key::ApiKeyCreated>("ApiKeyCreated"),
        entry::<api_key::ApiKeyRevoked>("ApiKeyRevoked"),
        entry::<email_claim::EmailClaimed>("EmailClaimed"),
        entry::<email_claim::EmailReleased>("EmailReleased"),
        entry::<super_admin::SuperAdminCreated>("SuperAdminCreated"),
    ]
}
