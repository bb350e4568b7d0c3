//! Events as records on the events topic: JSON carrying everything the store recorded, with
//! personal fields still sealed (erasing a subject's key erases them from the topic too).

use chrono::{DateTime, Utc};
use omnistream_domain::Metadata;
use omnistream_store::RecordedEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A record's value.
#[derive(Debug, Serialize, Deserialize)]
struct WireEvent {
    position: i64,
    tx_id: i64,
    stream_id: String,
    version: i64,
    event_id: Uuid,
    event_type: String,
    schema_version: i32,
    tenant_id: Option<Uuid>,
    payload: Value,
    metadata: Metadata,
    recorded_at: DateTime<Utc>,
    prev_hash: Option<String>,
    hash: String,
}

/// A record that is not an event this build can read.
#[derive(Debug, thiserror::Error)]
#[error("undecodable event record: {0}")]
pub struct WireError(String);

/// The record value of an event.
pub fn encode(event: &RecordedEvent) -> Vec<u8> {
    let wire = WireEvent {
        position: event.position,
        tx_id: event.tx_id,
        stream_id: event.stream_id.clone(),
        version: event.version,
        event_id: event.event_id,
        event_type: event.event_type.clone(),
        schema_version: event.schema_version,
        tenant_id: event.tenant_id,
        payload: event.payload.clone(),
        metadata: event.metadata.clone(),
        recorded_at: event.recorded_at,
        prev_hash: event.prev_hash.as_ref().map(hex::encode),
        hash: hex::encode(&event.hash),
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// The event a record value holds.
pub fn decode(bytes: &[u8]) -> Result<RecordedEvent, WireError> {
    let wire: WireEvent = serde_json::from_slice(bytes).map_err(|e| WireError(e.to_string()))?;
    let unhex = |s: &str| hex::decode(s).map_err(|e| WireError(e.to_string()));
    Ok(RecordedEvent {
        position: wire.position,
        tx_id: wire.tx_id,
        stream_id: wire.stream_id,
        version: wire.version,
        event_id: wire.event_id,
        event_type: wire.event_type,
        schema_version: wire.schema_version,
        tenant_id: wire.tenant_id,
        payload: wire.payload,
        metadata: wire.metadata,
        recorded_at: wire.recorded_at,
        prev_hash: wire.prev_hash.as_deref().map(unhex).transpose()?,
        hash: unhex(&wire.hash)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_survives_the_trip_and_garbage_is_refused() {
        let event = RecordedEvent {
            position: 42,
            tx_id: 7,
            stream_id: "contact-1".into(),
            version: 3,
            event_id: Uuid::now_v7(),
            event_type: "ContactUpdated".into(),
            schema_version: 2,
            tenant_id: Some(Uuid::new_v4()),
            payload: serde_json::json!({ "name": { "$sealed": "abc" } }),
            metadata: Metadata::system(),
            recorded_at: Utc::now(),
            prev_hash: Some(vec![1, 2, 3]),
            hash: vec![4, 5, 6],
        };
        assert_eq!(decode(&encode(&event)).unwrap(), event);
        assert!(decode(b"{\"position\": 1}").is_err());
        assert!(decode(b"\xff").is_err());
    }
}
