//! Events as the store sees them: new ones to append, recorded ones read back.

use chrono::{DateTime, Utc};
use omnistream_domain::{DomainEvent, Metadata};
use serde_json::Value;
use uuid::Uuid;

use crate::StoreError;

/// The version a writer expects a stream to be at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Whatever it is.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be exactly at this version (0 means no stream).
    Exact(i64),
}

impl std::fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exact(v) => write!(f, "{v}"),
        }
    }
}

impl ExpectedVersion {
    /// Whether a stream at `actual` satisfies the expectation.
    pub fn accepts(self, actual: i64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(v) => actual == v,
        }
    }
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Unique id; appending an id already stored is a no-op.
    pub event_id: Uuid,
    /// The stored type name.
    pub event_type: String,
    /// The payload's schema version.
    pub schema_version: i32,
    /// The payload.
    pub payload: Value,
    /// Who and why.
    pub metadata: Metadata,
    /// When it happened, for history imported from elsewhere (the seed's year of
    /// conversations); none, as for every command: the time of the append.
    pub recorded_at: Option<DateTime<Utc>>,
}

impl NewEvent {
    /// Encodes a domain event with a fresh time-ordered id.
    pub fn from_domain<E: DomainEvent>(event: &E, metadata: Metadata) -> Self {
        let (event_type, payload) = event.encode();
        Self {
            event_id: Uuid::now_v7(),
            event_type: event_type.to_owned(),
            schema_version: event.schema_version(),
            payload,
            metadata,
            recorded_at: None,
        }
    }
}

/// Events to append to one stream.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    /// The stream.
    pub stream_id: String,
    /// The tenant the stream belongs to; `None` for platform streams.
    pub tenant_id: Option<Uuid>,
    /// The version the writer expects.
    pub expected: ExpectedVersion,
    /// The events, in order.
    pub events: Vec<NewEvent>,
}

/// The result of appending to one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// The stream.
    pub stream_id: String,
    /// The stream's version after the append.
    pub version: i64,
    /// Global positions of the events written (empty when all were already stored).
    pub positions: Vec<i64>,
}

impl AppendOutcome {
    /// The last global position written, if any.
    pub fn last_position(&self) -> Option<i64> {
        self.positions.last().copied()
    }
}

/// Where a catch-up reader stands: the last `(transaction id, position)` it has read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Checkpoint {
    /// The writing transaction's id (`xid8`) of the last event read.
    pub tx_id: i64,
    /// The global position of the last event read.
    pub position: i64,
}

/// An event read back from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Global position.
    pub position: i64,
    /// The writing transaction's id.
    pub tx_id: i64,
    /// The stream.
    pub stream_id: String,
    /// Version within the stream, from 1.
    pub version: i64,
    /// Unique id.
    pub event_id: Uuid,
    /// Stored type name.
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: i32,
    /// Tenant, `None` for platform events.
    pub tenant_id: Option<Uuid>,
    /// Payload, as stored.
    pub payload: Value,
    /// Who and why.
    pub metadata: Metadata,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The previous event's hash in this stream.
    pub prev_hash: Option<Vec<u8>>,
    /// This event's hash.
    pub hash: Vec<u8>,
}

impl RecordedEvent {
    /// The checkpoint just after this event.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            tx_id: self.tx_id,
            position: self.position,
        }
    }

    /// Decodes the payload into a domain event, upcasting older versions.
    pub fn decode<E: DomainEvent>(&self) -> Result<E, StoreError> {
        E::decode(&self.event_type, self.schema_version, self.payload.clone()).map_err(|reason| StoreError::Corrupt {
            position: self.position,
            reason,
        })
    }
}
