//! Reads: one stream, a tenant's log, and the gap-safe catch-up read of everything.
//!
//! Positions come from an identity column, so a transaction that started early can commit
//! a smaller position after a reader has passed it. Catch-up readers therefore walk
//! `(tx_id, position)` and stop below `pg_snapshot_xmin(pg_current_snapshot())`: every
//! transaction with a smaller id has finished, so nothing can appear behind the reader.
//!
//! The catch-up queries order by the table's columns (`events.tx_id`: the selected `tx_id`
//! is a cast, and ordering by it would sort instead of walking the index) and carry their
//! limit as a literal, so that even a generic prepared plan walks `events_tx_order`.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::row::{decode, COLUMNS};
use crate::{Checkpoint, RecordedEvent, StoreError};

pub(super) async fn stream(
    pool: &PgPool,
    stream_id: &str,
    from_version: i64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE stream_id = $1 AND version >= $2 ORDER BY version");
    let rows = sqlx::query(&sql)
        .bind(stream_id)
        .bind(from_version)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn all(pool: &PgPool, after: Checkpoint, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events \
         WHERE (tx_id, position) > ($1::text::xid8, $2) \
           AND tx_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY events.tx_id, events.position LIMIT {limit}"
    );
    let rows = sqlx::query(&sql)
        .bind(after.tx_id.to_string())
        .bind(after.position)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

pub(super) async fn head_position(pool: &PgPool) -> Result<i64, StoreError> {
    let head: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events")
        .fetch_one(pool)
        .await?;
    Ok(head.unwrap_or(0))
}

/// Reads a tenant's events after a global position, up to `limit`, for audits and exports.
pub async fn read_tenant(
    pool: &PgPool,
    tenant_id: Uuid,
    after_position: i64,
    until: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE tenant_id = $1 AND position > $2 \
         AND ($3::timestamptz IS NULL OR recorded_at <= $3) ORDER BY position LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant_id)
        .bind(after_position)
        .bind(until)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

/// Like the catch-up read of everything, restricted to one tenant: up to `limit` of its
/// events after a checkpoint, never passing a transaction that may still commit.
pub async fn read_tenant_after(
    pool: &PgPool,
    tenant_id: Uuid,
    after: Checkpoint,
    limit: i64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events \
         WHERE tenant_id = $1 AND (tx_id, position) > ($2::text::xid8, $3) \
           AND tx_id < pg_snapshot_xmin(pg_current_snapshot()) \
         ORDER BY events.tx_id, events.position LIMIT {limit}"
    );
    let rows = sqlx::query(&sql)
        .bind(tenant_id)
        .bind(after.tx_id.to_string())
        .bind(after.position)
        .fetch_all(pool)
        .await?;
    rows.iter().map(decode).collect()
}

/// The checkpoint just after the event at `position` (`None`: no such event).
pub async fn checkpoint_at(pool: &PgPool, position: i64) -> Result<Option<Checkpoint>, StoreError> {
    let tx_id: Option<i64> = sqlx::query_scalar("SELECT tx_id::text::bigint FROM events WHERE position = $1")
        .bind(position)
        .fetch_optional(pool)
        .await?;
    Ok(tx_id.map(|tx_id| Checkpoint { tx_id, position }))
}

/// The checkpoint after everything readable now: where a reader that wants only new
/// events starts.
pub async fn current_checkpoint(pool: &PgPool) -> Result<Checkpoint, StoreError> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT tx_id::text::bigint, position FROM events \
         WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY events.tx_id DESC, events.position DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map_or(Checkpoint::default(), |(tx_id, position)| Checkpoint {
        tx_id,
        position,
    }))
}
