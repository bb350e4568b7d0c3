//! How an OmniStream event is laid out in KurrentDB: the payload is the event's JSON data,
//! and everything KurrentDB has no field for (tenant, schema version, our metadata, the
//! recording time and the hash chain) travels in its custom-metadata JSON, the envelope.
//!
//! Positions: KurrentDB orders `$all` by `(commit, prepare)`. A checkpoint keeps both
//! (`tx_id` = commit position, `position` = prepare position), and an event's `position` is
//! its prepare position, unique per event; appends over gRPC are written contiguously, so
//! prepare positions grow in `$all` order too.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use kurrentdb::{EventData, Position};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::hash::{chain_hash, HashedContent};
use crate::{Checkpoint, NewEvent, RecordedEvent, StoreError};

/// The custom metadata stored with every event.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    tenant_id: Option<Uuid>,
    schema_version: i32,
    /// `omnistream_domain::Metadata` as JSON, exactly what the hash covers.
    metadata: Value,
    /// The writer's clock at append time (KurrentDB's own `created` reaches this client
    /// only to the second, too coarse for the hash).
    recorded_at: DateTime<Utc>,
    prev_hash: Option<String>,
    hash: String,
    /// KurrentDB's conventional keys, so its `$by_correlation_id` projection and UI see them.
    #[serde(rename = "$correlationId", default, skip_serializing_if = "Option::is_none")]
    correlation_id: Option<Uuid>,
    #[serde(rename = "$causationId", default, skip_serializing_if = "Option::is_none")]
    causation_id: Option<Uuid>,
}

/// An event ready to send, with the hash the next event of the stream chains on.
pub(super) struct Encoded {
    pub(super) data: EventData,
    pub(super) hash: Vec<u8>,
}

/// The recording time of an append, at the precision the hash chain keeps.
pub(super) fn recording_time() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(now)
}

/// Encodes one event at `version` of a stream whose previous event hashed to `prev_hash`.
pub(super) fn encode(
    stream_id: &str,
    version: i64,
    tenant_id: Option<Uuid>,
    event: &NewEvent,
    prev_hash: Option<&[u8]>,
    recorded_at: DateTime<Utc>,
) -> Result<Encoded, StoreError> {
    let metadata = serde_json::to_value(&event.metadata).unwrap_or(Value::Null);
    let hash = chain_hash(
        prev_hash,
        &HashedContent {
            stream_id,
            version,
            event_id: event.event_id,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            tenant_id,
            payload: &event.payload,
            metadata: &metadata,
            recorded_at,
        },
    );
    let envelope = Envelope {
        tenant_id,
        schema_version: event.schema_version,
        metadata,
        recorded_at,
        prev_hash: prev_hash.map(hex::encode),
        hash: hex::encode(&hash),
        correlation_id: event.metadata.correlation_id,
        causation_id: event.metadata.causation_id,
    };
    let data = EventData::json(&event.event_type, &event.payload)
        .and_then(|data| data.id(event.event_id).metadata_as_json(&envelope))
        .map_err(|e| StoreError::Backend(format!("encoding event {}: {e}", event.event_id)))?;
    Ok(Encoded { data, hash })
}

/// Decodes a stored event; fails as `Corrupt` when it was not written by this backend.
pub(super) fn decode(stored: &kurrentdb::RecordedEvent) -> Result<RecordedEvent, StoreError> {
    let position = to_i64(stored.position.prepare);
    let corrupt = |reason: String| StoreError::Corrupt { position, reason };
    let envelope: Envelope = serde_json::from_slice(&stored.custom_metadata)
        .map_err(|e| corrupt(format!("no OmniStream metadata envelope: {e}")))?;
    let payload: Value = serde_json::from_slice(&stored.data).map_err(|e| corrupt(format!("payload: {e}")))?;
    let metadata = serde_json::from_value(envelope.metadata).map_err(|e| corrupt(format!("metadata: {e}")))?;
    let prev_hash = envelope
        .prev_hash
        .map(hex::decode)
        .transpose()
        .map_err(|e| corrupt(format!("prev_hash: {e}")))?;
    let hash = hex::decode(&envelope.hash).map_err(|e| corrupt(format!("hash: {e}")))?;
    Ok(RecordedEvent {
        position,
        tx_id: to_i64(stored.position.commit),
        stream_id: stored.stream_id().to_owned(),
        version: to_i64(stored.revision).saturating_add(1),
        event_id: stored.id,
        event_type: stored.event_type.clone(),
        schema_version: envelope.schema_version,
        tenant_id: envelope.tenant_id,
        payload,
        metadata,
        recorded_at: envelope.recorded_at,
        prev_hash,
        hash,
    })
}

/// Whether an event belongs to KurrentDB itself (system streams and event types start with
/// `$`): catch-up readers never see those.
pub(super) fn is_system(stored: &kurrentdb::RecordedEvent) -> bool {
    stored.stream_id().starts_with('$') || stored.event_type.starts_with('$')
}

/// The `$all` position a checkpoint stands for.
pub(super) fn position_of(checkpoint: Checkpoint) -> Position {
    Position {
        commit: u64::try_from(checkpoint.tx_id).unwrap_or(0),
        prepare: u64::try_from(checkpoint.position).unwrap_or(0),
    }
}

/// KurrentDB positions and revisions are `u64`; real ones stay far below `i64::MAX`.
fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use omnistream_domain::Metadata;
    use serde_json::json;

    fn new_event() -> NewEvent {
        let mut metadata = Metadata::system();
        metadata.correlation_id = Some(Uuid::now_v7());
        NewEvent {
            event_id: Uuid::now_v7(),
            event_type: "Thing".into(),
            schema_version: 2,
            payload: json!({ "n": 1, "nested": { "b": 1, "a": [1.5, "x"] } }),
            metadata,
            recorded_at: None,
        }
    }

    #[test]
    fn the_envelope_carries_what_kurrentdb_has_no_field_for() {
        let event = new_event();
        let tenant = Some(Uuid::now_v7());
        let at = recording_time();
        let first = encode("thing-1", 1, tenant, &event, None, at).unwrap();
        let second = encode("thing-1", 2, tenant, &event, Some(&first.hash), at).unwrap();
        assert_ne!(first.hash, second.hash);

        let envelope: Value = serde_json::to_value(Envelope {
            tenant_id: tenant,
            schema_version: 2,
            metadata: serde_json::to_value(&event.metadata).unwrap(),
            recorded_at: at,
            prev_hash: Some(hex::encode(&first.hash)),
            hash: hex::encode(&second.hash),
            correlation_id: event.metadata.correlation_id,
            causation_id: None,
        })
        .unwrap();
        assert_eq!(envelope["$correlationId"], json!(event.metadata.correlation_id));
        assert!(envelope.get("$causationId").is_none());
        let back: Envelope = serde_json::from_value(envelope).unwrap();
        assert_eq!(back.recorded_at, at, "the recording time survives to the microsecond");
        assert_eq!(back.hash, hex::encode(&second.hash));
    }

    #[test]
    fn checkpoints_map_to_commit_and_prepare_positions() {
        let position = position_of(Checkpoint {
            tx_id: 42,
            position: 40,
        });
        assert_eq!((position.commit, position.prepare), (42, 40));
        assert_eq!(position_of(Checkpoint::default()), Position::start());
        assert_eq!(to_i64(u64::MAX), i64::MAX);
    }
}
