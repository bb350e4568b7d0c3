//! The agent aggregate: a person of an organization who answers conversations.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::permission::SystemRole;
use crate::values::{Email, Name};
use crate::{Aggregate, DomainError, DomainEvent};

/// Whether an agent is taking conversations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Taking conversations.
    Online,
    /// Logged in, not taking conversations.
    Away,
    /// Not working.
    #[default]
    Offline,
}

impl AgentStatus {
    /// The status's stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Online => "online",
            AgentStatus::Away => "away",
            AgentStatus::Offline => "offline",
        }
    }
}

/// An agent's role: a system role, or a custom role of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoleRef {
    /// One of the built-in roles.
    System {
        /// Which one.
        role: SystemRole,
    },
    /// A custom role of the organization.
    Custom {
        /// The custom role's id.
        role_id: Uuid,
    },
}

/// Event: an agent joined the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentCreated {
    /// The agent's id.
    pub agent_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// Display name.
    pub name: String,
    /// Login e-mail, normalized.
    pub email: String,
    /// The agent's role.
    pub role: RoleRef,
}

/// Event: an agent's profile or role changed; absent fields stay as they were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentUpdated {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New login e-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// New role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleRef>,
}

/// Event: an agent's availability changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentStatusChanged {
    /// The new status.
    pub status: AgentStatus,
    /// The status before.
    pub previous: AgentStatus,
}

/// Event: an agent's password was set to a new one (the hash is kept outside the log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentPasswordChanged {}

/// Event: an agent logged in and received a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentLoggedIn {
    /// The session's id (never its token).
    pub session_id: Uuid,
    /// When the session expires.
    pub expires_at: DateTime<Utc>,
}

/// Event: an agent ended a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentLoggedOut {
    /// The session ended.
    pub session_id: Uuid,
}

/// Event: an agent was removed from the organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentDeleted {}

/// The events of an agent stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum AgentEvent {
    /// See [`AgentCreated`].
    AgentCreated(AgentCreated),
    /// See [`AgentUpdated`].
    AgentUpdated(AgentUpdated),
    /// See [`AgentStatusChanged`].
    AgentStatusChanged(AgentStatusChanged),
    /// See [`AgentPasswordChanged`].
    AgentPasswordChanged(AgentPasswordChanged),
    /// See [`AgentLoggedIn`].
    AgentLoggedIn(AgentLoggedIn),
    /// See [`AgentLoggedOut`].
    AgentLoggedOut(AgentLoggedOut),
    /// See [`AgentDeleted`].
    AgentDeleted(AgentDeleted),
}

impl DomainEvent for AgentEvent {
    fn event_type(&self) -> &'static str {
        match self {
            AgentEvent::AgentCreated(_) => "AgentCreated",
            AgentEvent::AgentUpdated(_) => "AgentUpdated",
            AgentEvent::AgentStatusChanged(_) => "AgentStatusChanged",
            AgentEvent::AgentPasswordChanged(_) => "AgentPasswordChanged",
            AgentEvent::AgentLoggedIn(_) => "AgentLoggedIn",
            AgentEvent::AgentLoggedOut(_) => "AgentLoggedOut",
            AgentEvent::AgentDeleted(_) => "AgentDeleted",
        }
    }
}

/// What can be asked of an agent.
#[derive(Debug, Clone)]
pub enum AgentCommand {
    /// Create the agent.
    Create {
        /// The new agent's id.
        agent_id: Uuid,
        /// The organization.
        tenant_id: Uuid,
        /// Display name.
        name: String,
        /// Login e-mail.
        email: String,
        /// Role.
        role: RoleRef,
    },
    /// Change profile fields or the role.
    Update {
        /// New name.
        name: Option<String>,
        /// New e-mail.
        email: Option<String>,
        /// New role.
        role: Option<RoleRef>,
    },
    /// Change availability.
    SetStatus(AgentStatus),
    /// Record a new password.
    ChangePassword,
    /// Record a login.
    RecordLogin {
        /// The session's id.
        session_id: Uuid,
        /// Its expiry.
        expires_at: DateTime<Utc>,
    },
    /// Record a logout.
    RecordLogout {
        /// The session ended.
        session_id: Uuid,
    },
    /// Remove the agent.
    Delete,
}

/// An agent's state, folded from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Agent {
    /// The agent's id; nil before creation.
    pub id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// Display name.
    pub name: String,
    /// Login e-mail.
    pub email: String,
    /// Role.
    pub role: Option<RoleRef>,
    /// Availability.
    pub status: AgentStatus,
    /// Created and not deleted.
    pub active: bool,
    /// Deleted.
    pub deleted: bool,
}

impl Aggregate for Agent {
    type Command = AgentCommand;
    type Event = AgentEvent;
    const STREAM_PREFIX: &'static str = "agent";
    const NAME: &'static str = "agent";

    fn decide(&self, command: AgentCommand) -> Result<Vec<AgentEvent>, DomainError> {
        if let AgentCommand::Create {
            agent_id,
            tenant_id,
            name,
            email,
            role,
        } = command
        {
            if self.active || self.deleted {
                return Err(DomainError::AlreadyExists(format!("agent {agent_id} exists")));
            }
            return Ok(vec![AgentEvent::AgentCreated(AgentCreated {
                agent_id,
                tenant_id,
                name: Name::parse("name", &name)?.into_inner(),
                email: Email::parse(&email)?.as_str().to_owned(),
                role,
            })]);
        }
        if !self.active {
            return Err(DomainError::NotFound("agent"));
        }
        let event = match command {
            AgentCommand::Create { .. } => unreachable!("handled above"),
            AgentCommand::Update { name, email, role } => {
                let name = name
                    .map(|n| Name::parse("name", &n).map(Name::into_inner))
                    .transpose()?
                    .filter(|n| *n != self.name);
                let email = email
                    .map(|e| Email::parse(&e).map(|e| e.as_str().to_owned()))
                    .transpose()?
                    .filter(|e| *e != self.email);
                let role = role.filter(|r| Some(r) != self.role.as_ref());
                if name.is_none() && email.is_none() && role.is_none() {
                    return Ok(vec![]);
                }
                AgentEvent::AgentUpdated(AgentUpdated { name, email, role })
            }
            AgentCommand::SetStatus(status) if status == self.status => return Ok(vec![]),
            AgentCommand::SetStatus(status) => AgentEvent::AgentStatusChanged(AgentStatusChanged {
                status,
                previous: self.status,
            }),
            AgentCommand::ChangePassword => AgentEvent::AgentPasswordChanged(AgentPasswordChanged {}),
            AgentCommand::RecordLogin { session_id, expires_at } => {
                AgentEvent::AgentLoggedIn(AgentLoggedIn { session_id, expires_at })
            }
            AgentCommand::RecordLogout { session_id } => AgentEvent::AgentLoggedOut(AgentLoggedOut { session_id }),
            AgentCommand::Delete => AgentEvent::AgentDeleted(AgentDeleted {}),
        };
        Ok(vec![event])
    }

    fn apply(mut self, event: &AgentEvent) -> Self {
        match event {
            AgentEvent::AgentCreated(e) => {
                self.id = e.agent_id;
                self.tenant_id = e.tenant_id;
                self.name = e.name.clone();
                self.email = e.email.clone();
                self.role = Some(e.role.clone());
                self.active = true;
            }
            AgentEvent::AgentUpdated(e) => {
                if let Some(name) = &e.name {
                    self.name = name.clone();
                }
                if let Some(email) = &e.email {
                    self.email = email.clone();
                }
                if let Some(role) = &e.role {
                    self.role = Some(role.clone());
                }
            }
            AgentEvent::AgentStatusChanged(e) => self.status = e.status,
            AgentEvent::AgentDeleted(_) => {
                self.active = false;
                self.deleted = true;
                self.status = AgentStatus::Offline;
            }
            AgentEvent::AgentPasswordChanged(_) | AgentEvent::AgentLoggedIn(_) | AgentEvent::AgentLoggedOut(_) => {}
        }
        self
    }

    fn exists(&self) -> bool {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    fn created() -> AgentEvent {
        AgentEvent::AgentCreated(AgentCreated {
            agent_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            name: "Ann".into(),
            email: "ann@example.com".into(),
            role: RoleRef::System {
                role: SystemRole::Agent,
            },
        })
    }

    #[test]
    fn create_validates_and_normalizes() {
        let events = given::<Agent>(&[])
            .when(AgentCommand::Create {
                agent_id: Uuid::nil(),
                tenant_id: Uuid::nil(),
                name: " Ann ".into(),
                email: "ANN@example.com".into(),
                role: RoleRef::System {
                    role: SystemRole::Agent,
                },
            })
            .unwrap();
        assert_eq!(events, vec![created()]);
        let bad = given::<Agent>(&[]).when(AgentCommand::Create {
            agent_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            name: "Ann".into(),
            email: "not-an-email".into(),
            role: RoleRef::System {
                role: SystemRole::Agent,
            },
        });
        assert!(matches!(bad, Err(DomainError::Invalid { field: "email", .. })));
    }

    #[test]
    fn create_twice_is_refused() {
        let again = given::<Agent>(&[created()]).when(AgentCommand::Create {
            agent_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            name: "Ann".into(),
            email: "ann@example.com".into(),
            role: RoleRef::System {
                role: SystemRole::Agent,
            },
        });
        assert!(matches!(again, Err(DomainError::AlreadyExists(_))));
    }

    #[test]
    fn update_records_only_what_changed() {
        let events = given::<Agent>(&[created()])
            .when(AgentCommand::Update {
                name: Some("Ann".into()),
                email: Some("ann2@example.com".into()),
                role: None,
            })
            .unwrap();
        assert_eq!(
            events,
            vec![AgentEvent::AgentUpdated(AgentUpdated {
                email: Some("ann2@example.com".into()),
                ..Default::default()
            })]
        );
        let nothing = given::<Agent>(&[created()])
            .when(AgentCommand::Update {
                name: Some("Ann".into()),
                email: None,
                role: None,
            })
            .unwrap();
        assert!(nothing.is_empty());
    }

    #[test]
    fn status_changes_carry_the_previous_status() {
        let events = given::<Agent>(&[created()])
            .when(AgentCommand::SetStatus(AgentStatus::Online))
            .unwrap();
        assert_eq!(
            events,
            vec![AgentEvent::AgentStatusChanged(AgentStatusChanged {
                status: AgentStatus::Online,
                previous: AgentStatus::Offline,
            })]
        );
        let same = given::<Agent>(&[created()]).when(AgentCommand::SetStatus(AgentStatus::Offline));
        assert_eq!(same, Ok(vec![]));
    }

    #[test]
    fn deleted_agents_refuse_commands() {
        let history = [created(), AgentEvent::AgentDeleted(AgentDeleted {})];
        let refused = given::<Agent>(&history).when(AgentCommand::SetStatus(AgentStatus::Online));
        assert_eq!(refused, Err(DomainError::NotFound("agent")));
    }

    #[test]
    fn events_encode_and_decode_by_type() {
        let (event_type, payload) = created().encode();
        assert_eq!(event_type, "AgentCreated");
        assert_eq!(payload["email"], "ann@example.com");
        assert_eq!(AgentEvent::decode(event_type, 1, payload).unwrap(), created());
        assert!(AgentEvent::decode("AgentExploded", 1, serde_json::json!({})).is_err());
    }
}
