//! The API key aggregate: programmatic access on behalf of the agent who created it.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::values::Name;
use crate::{Aggregate, DomainError, DomainEvent};

/// Event: an API key was issued. Only the key's SHA-256 is kept: the key itself is shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyCreated {
    /// The key's id.
    pub api_key_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The agent the key acts as.
    pub agent_id: Uuid,
    /// A label.
    pub name: String,
    /// The key's first characters, to recognize it in lists.
    pub prefix: String,
    /// Hex SHA-256 of the whole key.
    pub key_sha256: String,
    /// When the key stops working, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Event: an API key was revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyRevoked {}

/// The events of an API key stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ApiKeyEvent {
    /// See [`ApiKeyCreated`].
    ApiKeyCreated(ApiKeyCreated),
    /// See [`ApiKeyRevoked`].
    ApiKeyRevoked(ApiKeyRevoked),
}

impl DomainEvent for ApiKeyEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ApiKeyEvent::ApiKeyCreated(_) => "ApiKeyCreated",
            ApiKeyEvent::ApiKeyRevoked(_) => "ApiKeyRevoked",
        }
    }
}

/// What can be asked of an API key.
#[derive(Debug, Clone)]
pub enum ApiKeyCommand {
    /// Issue it.
    Create {
        /// Its id.
        api_key_id: Uuid,
        /// The organization.
        tenant_id: Uuid,
        /// The agent it acts as.
        agent_id: Uuid,
        /// A label.
        name: String,
        /// Its first characters.
        prefix: String,
        /// Hex SHA-256 of the key.
        key_sha256: String,
        /// Expiry.
        expires_at: Option<DateTime<Utc>>,
        /// The current time, to refuse an expiry in the past.
        now: DateTime<Utc>,
    },
    /// Revoke it.
    Revoke,
}

/// An API key's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApiKey {
    /// Its id.
    pub id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The agent it acts as.
    pub agent_id: Uuid,
    /// Issued.
    pub created: bool,
    /// Revoked.
    pub revoked: bool,
}

impl Aggregate for ApiKey {
    type Command = ApiKeyCommand;
    type Event = ApiKeyEvent;
    const STREAM_PREFIX: &'static str = "apikey";
    const NAME: &'static str = "API key";

    fn decide(&self, command: ApiKeyCommand) -> Result<Vec<ApiKeyEvent>, DomainError> {
        match command {
            ApiKeyCommand::Create { .. } if self.created => Err(DomainError::AlreadyExists("API key exists".into())),
            ApiKeyCommand::Create {
                api_key_id,
                tenant_id,
                agent_id,
                name,
                prefix,
                key_sha256,
                expires_at,
                now,
            } => {
                if expires_at.is_some_and(|at| at <= now) {
                    return Err(DomainError::invalid("expires_at", "must be in the future"));
                }
                Ok(vec![ApiKeyEvent::ApiKeyCreated(ApiKeyCreated {
                    api_key_id,
                    tenant_id,
                    agent_id,
                    name: Name::parse("name", &name)?.into_inner(),
                    prefix,
                    key_sha256,
                    expires_at,
                })])
            }
            ApiKeyCommand::Revoke if !self.created => Err(DomainError::NotFound("API key")),
            ApiKeyCommand::Revoke if self.revoked => Ok(vec![]),
            ApiKeyCommand::Revoke => Ok(vec![ApiKeyEvent::ApiKeyRevoked(ApiKeyRevoked {})]),
        }
    }

    fn apply(mut self, event: &ApiKeyEvent) -> Self {
        match event {
            ApiKeyEvent::ApiKeyCreated(e) => {
                self.id = e.api_key_id;
                self.tenant_id = e.tenant_id;
                self.agent_id = e.agent_id;
                self.created = true;
            }
            ApiKeyEvent::ApiKeyRevoked(_) => self.revoked = true,
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

    fn create(expires_at: Option<DateTime<Utc>>) -> ApiKeyCommand {
        ApiKeyCommand::Create {
            api_key_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            agent_id: Uuid::nil(),
            name: "CI".into(),
            prefix: "osk_abcd".into(),
            key_sha256: "00".into(),
            expires_at,
            now: Utc::now(),
        }
    }

    #[test]
    fn expiry_must_be_in_the_future() {
        let past = Utc::now() - chrono::Duration::hours(1);
        assert!(given::<ApiKey>(&[]).when(create(Some(past))).is_err());
        assert_eq!(given::<ApiKey>(&[]).when(create(None)).unwrap().len(), 1);
    }

    #[test]
    fn revoking_twice_records_once() {
        let created = given::<ApiKey>(&[]).when(create(None)).unwrap();
        let revoked = given::<ApiKey>(&created).when(ApiKeyCommand::Revoke).unwrap();
        assert_eq!(revoked.len(), 1);
        let history = [created[0].clone(), revoked[0].clone()];
        assert_eq!(given::<ApiKey>(&history).when(ApiKeyCommand::Revoke), Ok(vec![]));
        assert_eq!(
            given::<ApiKey>(&[]).when(ApiKeyCommand::Revoke),
            Err(DomainError::NotFound("API key"))
        );
    }
}
