//! The auditor's offline views behind `omnistream replay`: a stream as of an instant, and a
//! tenant's whole log as JSON lines.

use std::io::Write;

use chrono::{DateTime, Utc};
use omnistream_store::postgres::read_tenant;
use omnistream_store::{EventStore, RecordedEvent};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::routes::activity_logs::state_of;

/// One event as JSON: every stored field, hashes in hex.
pub fn event_json(event: &RecordedEvent) -> Value {
    json!({
        "position": event.position,
        "stream_id": event.stream_id,
        "version": event.version,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "schema_version": event.schema_version,
        "tenant_id": event.tenant_id,
        "recorded_at": event.recorded_at,
        "payload": event.payload,
        "metadata": event.metadata,
        "prev_hash": event.prev_hash.as_ref().map(hex::encode),
        "hash": hex::encode(&event.hash),
    })
}

/// A stream's events up to `as_of` and the entity's state folded from them.
pub async fn stream_as_of(
    store: &dyn EventStore,
    stream_id: &str,
    as_of: Option<DateTime<Utc>>,
) -> anyhow::Result<Value> {
    let events: Vec<RecordedEvent> = store
        .read_stream(stream_id, 1)
        .await?
        .into_iter()
        .filter(|e| as_of.is_none_or(|at| e.recorded_at <= at))
        .collect();
    let state = state_of(stream_id, &events).map_err(|_| anyhow::anyhow!("cannot fold {stream_id}"))?;
    Ok(json!({
        "stream_id": stream_id,
        "as_of": as_of,
        "version": events.last().map_or(0, |e| e.version),
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
        "state": state,
    }))
}

/// Writes a tenant's events (up to `until`) as JSON lines, in position order; answers how many.
pub async fn export_tenant(
    pool: &PgPool,
    tenant_id: Uuid,
    until: Option<DateTime<Utc>>,
    sink: &mut dyn Write,
) -> anyhow::Result<u64> {
    let (mut after, mut count) = (0i64, 0u64);
    loop {
        let batch = read_tenant(pool, tenant_id, after, until, 5000).await?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        for event in &batch {
            writeln!(sink, "{}", event_json(event))?;
            count += 1;
        }
    }
    sink.flush()?;
    Ok(count)
}
