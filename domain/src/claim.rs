//! Unique values (login e-mails across OmniStream, a contact's phone or e-mail within an
//! organization) have a claim stream each, named by a digest of the value; the store's
//! optimistic concurrency on that stream is what makes two owners impossible.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Aggregate, DomainError, DomainEvent};

/// Event: a value was claimed by an owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValueClaimed {
    /// The agent, super-admin or contact that owns the value.
    pub owner_id: Uuid,
}

/// Event: a value was given up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValueReleased {
    /// The former owner.
    pub owner_id: Uuid,
}

/// The events of a claim stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ClaimEvent {
    /// See [`ValueClaimed`].
    ValueClaimed(ValueClaimed),
    /// See [`ValueReleased`].
    ValueReleased(ValueReleased),
}

impl DomainEvent for ClaimEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ClaimEvent::ValueClaimed(_) => "ValueClaimed",
            ClaimEvent::ValueReleased(_) => "ValueReleased",
        }
    }
}

/// What can be asked of a claim.
#[derive(Debug, Clone)]
pub enum ClaimCommand {
    /// Take the value for an owner.
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

/// A claim's state: who holds the value, if anybody.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ValueClaim {
    /// The current owner.
    pub owner: Option<Uuid>,
}

impl Aggregate for ValueClaim {
    type Command = ClaimCommand;
    type Event = ClaimEvent;
    const STREAM_PREFIX: &'static str = "claim";
    const NAME: &'static str = "claim";

    fn decide(&self, command: ClaimCommand) -> Result<Vec<ClaimEvent>, DomainError> {
        match (command, self.owner) {
            (ClaimCommand::Claim { owner_id }, Some(owner)) if owner == owner_id => Ok(vec![]),
            (ClaimCommand::Claim { .. }, Some(_)) => {
                Err(DomainError::AlreadyExists("this value is already in use".into()))
            }
            (ClaimCommand::Claim { owner_id }, None) => Ok(vec![ClaimEvent::ValueClaimed(ValueClaimed { owner_id })]),
            (ClaimCommand::Release { owner_id }, Some(owner)) if owner == owner_id => {
                Ok(vec![ClaimEvent::ValueReleased(ValueReleased { owner_id })])
            }
            (ClaimCommand::Release { .. }, _) => Ok(vec![]),
        }
    }

    fn apply(mut self, event: &ClaimEvent) -> Self {
        self.owner = match event {
            ClaimEvent::ValueClaimed(e) => Some(e.owner_id),
            ClaimEvent::ValueReleased(_) => None,
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
        let claimed = given::<ValueClaim>(&[])
            .when(ClaimCommand::Claim { owner_id: a })
            .unwrap();
        assert!(given::<ValueClaim>(&claimed)
            .when(ClaimCommand::Claim { owner_id: b })
            .is_err());
        let released = given::<ValueClaim>(&claimed)
            .when(ClaimCommand::Release { owner_id: a })
            .unwrap();
        let history = [claimed[0].clone(), released[0].clone()];
        assert_eq!(
            given::<ValueClaim>(&history)
                .when(ClaimCommand::Claim { owner_id: b })
                .unwrap()
                .len(),
            1
        );
    }
}
