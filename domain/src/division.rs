//! The division aggregate: a team of agents that conversations are routed to.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::Name;
use crate::{Aggregate, DomainError, DomainEvent};

/// Event: a division was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DivisionCreated {
    /// Its id.
    pub division_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// Its name.
    pub name: String,
    /// What it handles.
    pub description: String,
}

/// Event: a division was renamed or described anew; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DivisionUpdated {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Event: an agent joined a division.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DivisionMemberAdded {
    /// The agent.
    pub agent_id: Uuid,
}

/// Event: an agent left a division.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DivisionMemberRemoved {
    /// The agent.
    pub agent_id: Uuid,
}

/// Event: a division was deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DivisionDeleted {}

/// The events of a division stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum DivisionEvent {
    /// See [`DivisionCreated`].
    DivisionCreated(DivisionCreated),
    /// See [`DivisionUpdated`].
    DivisionUpdated(DivisionUpdated),
    /// See [`DivisionMemberAdded`].
    DivisionMemberAdded(DivisionMemberAdded),
    /// See [`DivisionMemberRemoved`].
    DivisionMemberRemoved(DivisionMemberRemoved),
    /// See [`DivisionDeleted`].
    DivisionDeleted(DivisionDeleted),
}

impl DomainEvent for DivisionEvent {
    fn event_type(&self) -> &'static str {
        match self {
            DivisionEvent::DivisionCreated(_) => "DivisionCreated",
            DivisionEvent::DivisionUpdated(_) => "DivisionUpdated",
            DivisionEvent::DivisionMemberAdded(_) => "DivisionMemberAdded",
            DivisionEvent::DivisionMemberRemoved(_) => "DivisionMemberRemoved",
            DivisionEvent::DivisionDeleted(_) => "DivisionDeleted",
        }
    }
}

/// What can be asked of a division.
#[derive(Debug, Clone)]
pub enum DivisionCommand {
    /// Create it.
    Create {
        /// Its id.
        division_id: Uuid,
        /// The organization.
        tenant_id: Uuid,
        /// Its name.
        name: String,
        /// What it handles.
        description: String,
    },
    /// Rename or describe it.
    Update {
        /// New name.
        name: Option<String>,
        /// New description.
        description: Option<String>,
    },
    /// Make its members exactly these agents.
    SetMembers {
        /// The agents.
        agent_ids: Vec<Uuid>,
    },
    /// Add an agent.
    AddMember {
        /// The agent.
        agent_id: Uuid,
    },
    /// Remove an agent.
    RemoveMember {
        /// The agent.
        agent_id: Uuid,
    },
    /// Delete it.
    Delete,
}

/// A division's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Division {
    /// Its id.
    pub id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// Its name.
    pub name: String,
    /// What it handles.
    pub description: String,
    /// Its agents.
    pub members: BTreeSet<Uuid>,
    /// Created and not deleted.
    pub active: bool,
    /// Created once.
    pub created: bool,
}

fn description(raw: &str) -> Result<String, DomainError> {
    let d = raw.trim();
    if d.chars().count() > 1000 {
        return Err(DomainError::invalid("description", "must be at most 1000 characters"));
    }
    Ok(d.to_owned())
}

impl Aggregate for Division {
    type Command = DivisionCommand;
    type Event = DivisionEvent;
    const STREAM_PREFIX: &'static str = "division";
    const NAME: &'static str = "division";

    fn decide(&self, command: DivisionCommand) -> Result<Vec<DivisionEvent>, DomainError> {
        use DivisionCommand as C;
        match command {
            C::Create { .. } if self.created => Err(DomainError::AlreadyExists("division exists".into())),
            C::Create {
                division_id,
                tenant_id,
                name,
                description: text,
            } => Ok(vec![DivisionEvent::DivisionCreated(DivisionCreated {
                division_id,
                tenant_id,
                name: Name::parse("name", &name)?.into_inner(),
                description: description(&text)?,
            })]),
            _ if !self.active => Err(DomainError::NotFound("division")),
            C::Update {
                name,
                description: text,
            } => {
                let update = DivisionUpdated {
                    name: name
                        .map(|n| Name::parse("name", &n).map(Name::into_inner))
                        .transpose()?
                        .filter(|n| *n != self.name),
                    description: text
                        .map(|d| description(&d))
                        .transpose()?
                        .filter(|d| *d != self.description),
                };
                if update == DivisionUpdated::default() {
                    return Ok(vec![]);
                }
                Ok(vec![DivisionEvent::DivisionUpdated(update)])
            }
            C::SetMembers { agent_ids } => {
                let wanted: BTreeSet<Uuid> = agent_ids.into_iter().collect();
                let mut events: Vec<DivisionEvent> = self
                    .members
                    .difference(&wanted)
                    .map(|&agent_id| DivisionEvent::DivisionMemberRemoved(DivisionMemberRemoved { agent_id }))
                    .collect();
                events.extend(
                    wanted
                        .difference(&self.members)
                        .map(|&agent_id| DivisionEvent::DivisionMemberAdded(DivisionMemberAdded { agent_id })),
                );
                Ok(events)
            }
            C::AddMember { agent_id } if self.members.contains(&agent_id) => Ok(vec![]),
            C::AddMember { agent_id } => Ok(vec![DivisionEvent::DivisionMemberAdded(DivisionMemberAdded {
                agent_id,
            })]),
            C::RemoveMember { agent_id } if !self.members.contains(&agent_id) => Ok(vec![]),
            C::RemoveMember { agent_id } => Ok(vec![DivisionEvent::DivisionMemberRemoved(DivisionMemberRemoved {
                agent_id,
            })]),
            C::Delete => Ok(vec![DivisionEvent::DivisionDeleted(DivisionDeleted {})]),
        }
    }

    fn apply(mut self, event: &DivisionEvent) -> Self {
        match event {
            DivisionEvent::DivisionCreated(e) => {
                self.id = e.division_id;
                self.tenant_id = e.tenant_id;
                self.name = e.name.clone();
                self.description = e.description.clone();
                self.active = true;
                self.created = true;
            }
            DivisionEvent::DivisionUpdated(e) => {
                if let Some(name) = &e.name {
                    self.name = name.clone();
                }
                if let Some(d) = &e.description {
                    self.description = d.clone();
                }
            }
            DivisionEvent::DivisionMemberAdded(e) => {
                self.members.insert(e.agent_id);
            }
            DivisionEvent::DivisionMemberRemoved(e) => {
                self.members.remove(&e.agent_id);
            }
            DivisionEvent::DivisionDeleted(_) => self.active = false,
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

    #[test]
    fn setting_members_records_only_the_difference() {
        let created = given::<Division>(&[])
            .when(DivisionCommand::Create {
                division_id: Uuid::nil(),
                tenant_id: Uuid::nil(),
                name: "Billing".into(),
                description: "".into(),
            })
            .unwrap();
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let mut history = created.clone();
        history.extend(
            given::<Division>(&created)
                .when(DivisionCommand::SetMembers { agent_ids: vec![a, b] })
                .unwrap(),
        );
        let events = given::<Division>(&history)
            .when(DivisionCommand::SetMembers { agent_ids: vec![b, c] })
            .unwrap();
        assert_eq!(
            events,
            vec![
                DivisionEvent::DivisionMemberRemoved(DivisionMemberRemoved { agent_id: a }),
                DivisionEvent::DivisionMemberAdded(DivisionMemberAdded { agent_id: c }),
            ]
        );
    }
}
