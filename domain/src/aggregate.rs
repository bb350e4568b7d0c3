//! The shape every aggregate takes: a pure `decide` and a pure `apply`.

use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::DomainError;

/// An event enum of one aggregate, stored as its variant name plus payload.
pub trait DomainEvent: Serialize + DeserializeOwned + Clone + std::fmt::Debug {
    /// The stored type name of this event, such as `AgentCreated`.
    fn event_type(&self) -> &'static str;

    /// The payload's schema version; bumped when a payload changes shape.
    fn schema_version(&self) -> i32 {
        1
    }

    /// Brings an older payload up to the current shape; stored payloads are never rewritten.
    fn upcast(_event_type: &str, _schema_version: i32, payload: Value) -> Value {
        payload
    }

    /// Splits the event into its stored type and payload.
    fn encode(&self) -> (&'static str, Value) {
        let payload = match serde_json::to_value(self) {
            Ok(Value::Object(mut tagged)) => tagged
                .remove(self.event_type())
                .unwrap_or(Value::Object(Default::default())),
            // Unit variants serialize as a bare string: no payload.
            _ => Value::Object(Default::default()),
        };
        (self.event_type(), payload)
    }

    /// Rebuilds the event from its stored type, schema version and payload.
    fn decode(event_type: &str, schema_version: i32, payload: Value) -> Result<Self, String> {
        let payload = Self::upcast(event_type, schema_version, payload);
        let mut tagged = serde_json::Map::new();
        tagged.insert(event_type.to_owned(), payload);
        serde_json::from_value(Value::Object(tagged))
            .map_err(|e| format!("cannot decode {event_type} v{schema_version}: {e}"))
    }
}

/// An event-sourced aggregate: state rebuilt from its events, commands decided purely.
pub trait Aggregate: Default + Clone + Send + Sync {
    /// What can be asked of it.
    type Command;
    /// What it records.
    type Event: DomainEvent + JsonSchema;
    /// The prefix of its stream ids: `{prefix}-{id}`.
    const STREAM_PREFIX: &'static str;
    /// What it is called in errors and audit logs.
    const NAME: &'static str;

    /// Decides which events a command produces, or refuses it.
    fn decide(&self, command: Self::Command) -> Result<Vec<Self::Event>, DomainError>;

    /// Folds one event into the state.
    fn apply(self, event: &Self::Event) -> Self;

    /// Whether the aggregate exists (was created and not deleted).
    fn exists(&self) -> bool;

    /// The stream id of the aggregate with this id.
    fn stream_id(id: impl std::fmt::Display) -> String {
        format!("{}-{}", Self::STREAM_PREFIX, id)
    }

    /// Folds a history of events into a state.
    fn replay<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self
    where
        Self::Event: 'a,
    {
        events.into_iter().fold(Self::default(), Self::apply)
    }
}

#[cfg(test)]
pub(crate) mod given {
    //! Given/when/then for aggregates: `given(events).when(command).then_expect(events)`.

    use super::*;

    pub(crate) struct Given<A: Aggregate>(A);

    pub(crate) fn given<A: Aggregate>(history: &[A::Event]) -> Given<A> {
        Given(A::replay(history))
    }

    impl<A: Aggregate> Given<A> {
        pub(crate) fn when(self, command: A::Command) -> Result<Vec<A::Event>, DomainError> {
            self.0.decide(command)
        }
    }
}
