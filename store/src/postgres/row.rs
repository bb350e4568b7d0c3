//! Decoding `events` rows.

use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::{RecordedEvent, StoreError};

/// The column list every read selects, in the order [`decode`] expects.
pub(super) const COLUMNS: &str = "position, tx_id::text::bigint AS tx_id, stream_id, version, event_id, \
     event_type, schema_version, tenant_id, payload, metadata, recorded_at, prev_hash, hash";

/// Turns a row of [`COLUMNS`] into a recorded event.
pub(super) fn decode(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let position: i64 = row.try_get("position")?;
    let metadata: serde_json::Value = row.try_get("metadata")?;
    let metadata = serde_json::from_value(metadata).map_err(|e| StoreError::Corrupt {
        position,
        reason: format!("metadata: {e}"),
    })?;
    Ok(RecordedEvent {
        position,
        tx_id: row.try_get("tx_id")?,
        stream_id: row.try_get("stream_id")?,
        version: row.try_get("version")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get("schema_version")?,
        tenant_id: row.try_get("tenant_id")?,
        payload: row.try_get("payload")?,
        metadata,
        recorded_at: row.try_get("recorded_at")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}
