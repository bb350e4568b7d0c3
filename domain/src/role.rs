//! The custom role aggregate: a named set of permissions an admin composes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::permission::{Permission, SystemRole};
use crate::values::Name;
use crate::{Aggregate, DomainError, DomainEvent};

/// Event: a custom role was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoleCreated {
    /// The role's id.
    pub role_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Permission codes, sorted.
    pub permissions: Vec<String>,
}

/// Event: a custom role changed; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoleUpdated {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New permission codes, sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// Event: a custom role was deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoleDeleted {}

/// The events of a role stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum RoleEvent {
    /// See [`RoleCreated`].
    RoleCreated(RoleCreated),
    /// See [`RoleUpdated`].
    RoleUpdated(RoleUpdated),
    /// See [`RoleDeleted`].
    RoleDeleted(RoleDeleted),
}

impl DomainEvent for RoleEvent {
    fn event_type(&self) -> &'static str {
        match self {
            RoleEvent::RoleCreated(_) => "RoleCreated",
            RoleEvent::RoleUpdated(_) => "RoleUpdated",
            RoleEvent::RoleDeleted(_) => "RoleDeleted",
        }
    }
}

/// What can be asked of a custom role.
#[derive(Debug, Clone)]
pub enum RoleCommand {
    /// Create it.
    Create {
        /// Its id.
        role_id: Uuid,
        /// The organization.
        tenant_id: Uuid,
        /// Its name.
        name: String,
        /// What it is for.
        description: String,
        /// Permission codes.
        permissions: Vec<String>,
    },
    /// Change it.
    Update {
        /// New name.
        name: Option<String>,
        /// New description.
        description: Option<String>,
        /// New permission codes.
        permissions: Option<Vec<String>>,
    },
    /// Delete it.
    Delete,
}

/// A custom role's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Role {
    /// Its id.
    pub id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Permission codes.
    pub permissions: Vec<String>,
    /// Created and not deleted.
    pub active: bool,
    /// Deleted.
    pub deleted: bool,
}

/// Checks permission codes against the catalogue; answers them sorted and unique.
pub fn parse_permissions(codes: &[String]) -> Result<Vec<String>, DomainError> {
    let mut parsed = Vec::with_capacity(codes.len());
    for code in codes {
        let permission = Permission::from_code(code.trim())
            .ok_or_else(|| DomainError::invalid("permissions", format!("unknown permission code `{code}`")))?;
        parsed.push(permission.code().to_owned());
    }
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

fn role_name(raw: &str) -> Result<String, DomainError> {
    let name = Name::parse("name", raw)?.into_inner();
    if SystemRole::from_name(&name.to_lowercase()).is_some() {
        return Err(DomainError::invalid("name", "is the name of a system role"));
    }
    Ok(name)
}

fn description(raw: &str) -> Result<String, DomainError> {
    let description = raw.trim();
    if description.chars().count() > 1000 {
        return Err(DomainError::invalid("description", "must be at most 1000 characters"));
    }
    Ok(description.to_owned())
}

impl Aggregate for Role {
    type Command = RoleCommand;
    type Event = RoleEvent;
    const STREAM_PREFIX: &'static str = "role";
    const NAME: &'static str = "role";

    fn decide(&self, command: RoleCommand) -> Result<Vec<RoleEvent>, DomainError> {
        match command {
            RoleCommand::Create { .. } if self.active || self.deleted => {
                Err(DomainError::AlreadyExists("role exists".into()))
            }
            RoleCommand::Create {
                role_id,
                tenant_id,
                name,
                description: text,
                permissions,
            } => Ok(vec![RoleEvent::RoleCreated(RoleCreated {
                role_id,
                tenant_id,
                name: role_name(&name)?,
                description: description(&text)?,
                permissions: parse_permissions(&permissions)?,
            })]),
            _ if !self.active => Err(DomainError::NotFound("role")),
            RoleCommand::Update {
                name,
                description: text,
                permissions,
            } => {
                let update = RoleUpdated {
                    name: name.map(|n| role_name(&n)).transpose()?.filter(|n| *n != self.name),
                    description: text
                        .map(|d| description(&d))
                        .transpose()?
                        .filter(|d| *d != self.description),
                    permissions: permissions
                        .map(|p| parse_permissions(&p))
                        .transpose()?
                        .filter(|p| *p != self.permissions),
                };
                if update == RoleUpdated::default() {
                    return Ok(vec![]);
                }
                Ok(vec![RoleEvent::RoleUpdated(update)])
            }
            RoleCommand::Delete => Ok(vec![RoleEvent::RoleDeleted(RoleDeleted {})]),
        }
    }

    fn apply(mut self, event: &RoleEvent) -> Self {
        match event {
            RoleEvent::RoleCreated(e) => {
                self.id = e.role_id;
                self.tenant_id = e.tenant_id;
                self.name = e.name.clone();
                self.description = e.description.clone();
                self.permissions = e.permissions.clone();
                self.active = true;
            }
            RoleEvent::RoleUpdated(e) => {
                if let Some(name) = &e.name {
                    self.name = name.clone();
                }
                if let Some(description) = &e.description {
                    self.description = description.clone();
                }
                if let Some(permissions) = &e.permissions {
                    self.permissions = permissions.clone();
                }
            }
            RoleEvent::RoleDeleted(_) => {
                self.active = false;
                self.deleted = true;
            }
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

    fn create(permissions: &[&str]) -> RoleCommand {
        RoleCommand::Create {
            role_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            name: "Night shift".into(),
            description: "".into(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn permissions_are_checked_sorted_and_deduplicated() {
        let events = given::<Role>(&[])
            .when(create(&["messages.send", "agents.view", "messages.send"]))
            .unwrap();
        let RoleEvent::RoleCreated(created) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(created.permissions, vec!["agents.view", "messages.send"]);
        let unknown = given::<Role>(&[]).when(create(&["agents.fly"]));
        assert!(matches!(
            unknown,
            Err(DomainError::Invalid {
                field: "permissions",
                ..
            })
        ));
    }

    #[test]
    fn system_role_names_are_reserved() {
        let refused = given::<Role>(&[]).when(RoleCommand::Create {
            role_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            name: "Admin".into(),
            description: "".into(),
            permissions: vec![],
        });
        assert!(matches!(refused, Err(DomainError::Invalid { field: "name", .. })));
    }

    #[test]
    fn deleted_roles_cannot_change() {
        let created = given::<Role>(&[]).when(create(&[])).unwrap();
        let deleted = [created[0].clone(), RoleEvent::RoleDeleted(RoleDeleted {})];
        let refused = given::<Role>(&deleted).when(RoleCommand::Delete);
        assert_eq!(refused, Err(DomainError::NotFound("role")));
    }
}
