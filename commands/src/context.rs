//! Who is issuing a command, for which tenant, and in answer to which request.

use omnistream_domain::{Actor, DomainError, Metadata};
use uuid::Uuid;

/// Which streams a command may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Streams of this tenant only.
    Tenant(Uuid),
    /// Platform streams (super-admins, e-mail claims): no tenant.
    Platform,
}

impl Scope {
    /// The tenant id stored with events in this scope.
    pub fn tenant_id(self) -> Option<Uuid> {
        match self {
            Scope::Tenant(id) => Some(id),
            Scope::Platform => None,
        }
    }

    /// The tenant, or the domain's refusal naming what belongs to an organization.
    pub fn require_tenant(self, what: &str) -> Result<Uuid, DomainError> {
        self.tenant_id()
            .ok_or_else(|| DomainError::Rule(format!("{what} belong to an organization")))
    }
}

/// The context of one command.
#[derive(Debug, Clone)]
pub struct CommandContext {
    /// The tenant acted in.
    pub scope: Scope,
    /// Who acts.
    pub actor: Actor,
    /// The request that carries the command.
    pub request_id: Option<String>,
    /// The command's own id, recorded as the events' causation.
    pub command_id: Uuid,
}

impl CommandContext {
    /// A context for an actor in a scope.
    pub fn new(scope: Scope, actor: Actor, request_id: Option<String>) -> Self {
        Self {
            scope,
            actor,
            request_id,
            command_id: Uuid::now_v7(),
        }
    }

    /// The same actor and request, acting in another scope.
    pub fn in_scope(&self, scope: Scope) -> Self {
        Self { scope, ..self.clone() }
    }

    /// The metadata stamped on the events this command appends.
    pub fn metadata(&self) -> Metadata {
        Metadata {
            actor: self.actor.clone(),
            causation_id: Some(self.command_id),
            correlation_id: Some(self.command_id),
            request_id: self.request_id.clone(),
        }
    }
}
