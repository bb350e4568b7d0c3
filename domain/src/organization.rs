//! The organization aggregate: a tenant of OmniStream.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::Name;
use crate::{Aggregate, DomainError, DomainEvent};

/// Event: an organization registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrganizationCreated {
    /// The organization's id, also its tenant id.
    pub organization_id: Uuid,
    /// Its name.
    pub name: String,
}

/// Event: an organization was renamed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OrganizationRenamed {
    /// The new name.
    pub name: String,
}

/// The events of an organization stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum OrganizationEvent {
    /// See [`OrganizationCreated`].
    OrganizationCreated(OrganizationCreated),
    /// See [`OrganizationRenamed`].
    OrganizationRenamed(OrganizationRenamed),
}

impl DomainEvent for OrganizationEvent {
    fn event_type(&self) -> &'static str {
        match self {
            OrganizationEvent::OrganizationCreated(_) => "OrganizationCreated",
            OrganizationEvent::OrganizationRenamed(_) => "OrganizationRenamed",
        }
    }
}

/// What can be asked of an organization.
#[derive(Debug, Clone)]
pub enum OrganizationCommand {
    /// Register it.
    Create {
        /// Its id.
        organization_id: Uuid,
        /// Its name.
        name: String,
    },
    /// Rename it.
    Rename {
        /// The new name.
        name: String,
    },
}

/// An organization's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Organization {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Created.
    pub created: bool,
}

impl Aggregate for Organization {
    type Command = OrganizationCommand;
    type Event = OrganizationEvent;
    const STREAM_PREFIX: &'static str = "organization";
    const NAME: &'static str = "organization";

    fn decide(&self, command: OrganizationCommand) -> Result<Vec<OrganizationEvent>, DomainError> {
        match command {
            OrganizationCommand::Create { .. } if self.created => {
                Err(DomainError::AlreadyExists("organization exists".into()))
            }
            OrganizationCommand::Create { organization_id, name } => {
                Ok(vec![OrganizationEvent::OrganizationCreated(OrganizationCreated {
                    organization_id,
                    name: Name::parse("organization_name", &name)?.into_inner(),
                })])
            }
            OrganizationCommand::Rename { .. } if !self.created => Err(DomainError::NotFound("organization")),
            OrganizationCommand::Rename { name } => {
                let name = Name::parse("name", &name)?.into_inner();
                if name == self.name {
                    return Ok(vec![]);
                }
                Ok(vec![OrganizationEvent::OrganizationRenamed(OrganizationRenamed {
                    name,
                })])
            }
        }
    }

    fn apply(mut self, event: &OrganizationEvent) -> Self {
        match event {
            OrganizationEvent::OrganizationCreated(e) => {
                self.id = e.organization_id;
                self.name = e.name.clone();
                self.created = true;
            }
            OrganizationEvent::OrganizationRenamed(e) => self.name = e.name.clone(),
        }
        self
    }

    fn exists(&self) -> bool {
        self.created
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    #[test]
    fn an_organization_is_created_once_and_renamed() {
        let create = || OrganizationCommand::Create {
            organization_id: Uuid::nil(),
            name: " Acme ".into(),
        };
        let created = given::<Organization>(&[]).when(create()).unwrap();
        assert_eq!(
            created,
            vec![OrganizationEvent::OrganizationCreated(OrganizationCreated {
                organization_id: Uuid::nil(),
                name: "Acme".into()
            })]
        );
        assert!(given::<Organization>(&created).when(create()).is_err());
        let renamed = given::<Organization>(&created)
            .when(OrganizationCommand::Rename {
                name: "Acme Ltd".into(),
            })
            .unwrap();
        assert_eq!(renamed.len(), 1);
        let rename_missing = given::<Organization>(&[]).when(OrganizationCommand::Rename { name: "X".into() });
        assert_eq!(rename_missing, Err(DomainError::NotFound("organization")));
    }
}
