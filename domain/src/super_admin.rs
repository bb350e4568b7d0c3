//! The platform super-admin: the one principal that may act across organizations.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::{Email, Name};
use crate::{Aggregate, DomainError, DomainEvent};

/// Event: a super-admin was created (from the CLI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SuperAdminCreated {
    /// The super-admin's id.
    pub super_admin_id: Uuid,
    /// Display name.
    pub name: String,
    /// Login e-mail, normalized.
    pub email: String,
}

/// The events of a super-admin stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum SuperAdminEvent {
    /// See [`SuperAdminCreated`].
    SuperAdminCreated(SuperAdminCreated),
}

impl DomainEvent for SuperAdminEvent {
    fn event_type(&self) -> &'static str {
        match self {
            SuperAdminEvent::SuperAdminCreated(_) => "SuperAdminCreated",
        }
    }
}

/// What can be asked of a super-admin.
#[derive(Debug, Clone)]
pub enum SuperAdminCommand {
    /// Create one.
    Create {
        /// Its id.
        super_admin_id: Uuid,
        /// Display name.
        name: String,
        /// Login e-mail.
        email: String,
    },
}

/// A super-admin's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SuperAdmin {
    /// Created.
    pub created: bool,
}

impl Aggregate for SuperAdmin {
    type Command = SuperAdminCommand;
    type Event = SuperAdminEvent;
    const STREAM_PREFIX: &'static str = "superadmin";
    const NAME: &'static str = "super-admin";

    fn decide(&self, command: SuperAdminCommand) -> Result<Vec<SuperAdminEvent>, DomainError> {
        let SuperAdminCommand::Create {
            super_admin_id,
            name,
            email,
        } = command;
        if self.created {
            return Err(DomainError::AlreadyExists("super-admin exists".into()));
        }
        Ok(vec![SuperAdminEvent::SuperAdminCreated(SuperAdminCreated {
            super_admin_id,
            name: Name::parse("name", &name)?.into_inner(),
            email: Email::parse(&email)?.as_str().to_owned(),
        })])
    }

    fn apply(mut self, event: &SuperAdminEvent) -> Self {
        match event {
            SuperAdminEvent::SuperAdminCreated(_) => self.created = true,
        }
        self
    }

    fn exists(&self) -> bool {
        self.created
    }
}
