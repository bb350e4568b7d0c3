//! What travels with every event besides its payload: who caused it and in answer to what.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kind of principal that caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An agent (or admin, supervisor) acting through a session.
    Agent,
    /// An agent's API key.
    ApiKey,
    /// A platform super-admin.
    SuperAdmin,
    /// OmniStream itself: jobs, projections, the CLI.
    System,
    /// Somebody not logged in (registration, a customer).
    Anonymous,
    /// A channel provider's webhook delivery: a customer's message, a delivery receipt.
    Provider,
}

/// Who did it: the principal behind an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Actor {
    /// What kind of principal.
    pub kind: ActorKind,
    /// The agent or super-admin id (the integration account for a provider); none for the
    /// system and anonymous callers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The API key used, when the actor authenticated with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<Uuid>,
}

impl Actor {
    /// OmniStream itself.
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            api_key_id: None,
        }
    }

    /// A caller that is not logged in.
    pub fn anonymous() -> Self {
        Self {
            kind: ActorKind::Anonymous,
            id: None,
            api_key_id: None,
        }
    }

    /// A channel provider's delivery on an integration account (its id).
    pub fn provider(account_id: Uuid) -> Self {
        Self {
            kind: ActorKind::Provider,
            id: Some(account_id),
            api_key_id: None,
        }
    }
}

/// Metadata stored with each event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Metadata {
    /// Who caused the event.
    pub actor: Actor,
    /// The event or command that caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// The conversation of causes this event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<Uuid>,
    /// The HTTP request that caused it (`X-Request-Id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl Metadata {
    /// Metadata for work OmniStream does by itself.
    pub fn system() -> Self {
        Self {
            actor: Actor::system(),
            causation_id: None,
            correlation_id: None,
            request_id: None,
        }
    }
}
