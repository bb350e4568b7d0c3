//! Login e-mails are unique across OmniStream: each address has a claim stream, and the
//! store's optimistic concurrency on that stream is what makes two claims impossible.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Aggregate, DomainError, DomainEvent};

/// Event: an address was claimed by a principal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EmailClaimed {
    /// The agent or super-admin that owns the address.
    pub owner_id: Uuid,
}

/// Event: an address was given up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EmailReleased {
    /// The former owner.
    pub owner_id: Uuid,
}

/// The events of an e-mail claim stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum EmailClaimEvent {
    /// See [`EmailClaimed`].
    EmailClaimed(EmailClaimed),
    /// See [`EmailReleased`].
    EmailReleased(EmailReleased),
}

impl DomainEvent for EmailClaimEvent {
    fn event_type(&self) -> &'static str {
        match self {
            EmailClaimEvent::EmailClaimed(_) => "EmailClaimed",
            EmailClaimEvent::EmailReleased(_) => "EmailReleased",
        }
    }
}

/// What can be asked of a claim.
#[derive(Debug, Clone)]
pub enum EmailClaimCommand {
    /// Take the address for an owner.
    Claim {
        /// The new owner.
        owner_id: Uuid,
    },
    /// Give it up.
    Release {
        /// The owner giving it up.
        owner_id: Uuid,
    },
}

/// A claim's state: who holds the address, if anybody.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EmailClaim {
    /// The current owner.
    pub owner: Option<Uuid>,
}

impl Aggregate for EmailClaim {
    type Command = EmailClaimCommand;
    type Event = EmailClaimEvent;
    const STREAM_PREFIX: &'static str = "email";
    const NAME: &'static str = "e-mail address";

    fn decide(&self, command: EmailClaimCommand) -> Result<Vec<EmailClaimEvent>, DomainError> {
        match (command, self.owner) {
            (EmailClaimCommand::Claim { owner_id }, Some(owner)) if owner == owner_id => Ok(vec![]),
            (EmailClaimCommand::Claim { .. }, Some(_)) => Err(DomainError::AlreadyExists(
                "this e-mail address is already in use".into(),
            )),
            (EmailClaimCommand::Claim { owner_id }, None) => {
                Ok(vec![EmailClaimEvent::EmailClaimed(EmailClaimed { owner_id })])
            }
            (EmailClaimCommand::Release { owner_id }, Some(owner)) if owner == owner_id => {
                Ok(vec![EmailClaimEvent::EmailReleased(EmailReleased { owner_id })])
            }
            (EmailClaimCommand::Release { .. }, _) => Ok(vec![]),
        }
    }

    fn apply(mut self, event: &EmailClaimEvent) -> Self {
        self.owner = match event {
            EmailClaimEvent::EmailClaimed(e) => Some(e.owner_id),
            EmailClaimEvent::EmailReleased(_) => None,
        };
        self
    }

    fn exists(&self) -> bool {
        self.owner.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    #[test]
    fn an_address_has_one_owner_at_a_time() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let claimed = given::<EmailClaim>(&[])
            .when(EmailClaimCommand::Claim { owner_id: a })
            .unwrap();
        assert!(given::<EmailClaim>(&claimed)
            .when(EmailClaimCommand::Claim { owner_id: b })
            .is_err());
        let released = given::<EmailClaim>(&claimed)
            .when(EmailClaimCommand::Release { owner_id: a })
            .unwrap();
        let history = [claimed[0].clone(), released[0].clone()];
        assert_eq!(
            given::<EmailClaim>(&history)
                .when(EmailClaimCommand::Claim { owner_id: b })
                .unwrap()
                .len(),
            1
        );
    }
}
