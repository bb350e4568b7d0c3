//! Rebuilds a projection from position 0 into a fresh generation of its tables, then swaps
//! it in: the live runner and the API keep using the old generation until the swap, which
//! happens in one transaction holding the projection's state row.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use omnistream_store::{Checkpoint, EventStore, RecordedEvent};
use sqlx::{PgConnection, PgPool};

use crate::projection::{apply_into, read_for, Prefetch};
use crate::{changes, state, Projection, ProjectionError};

const REBUILD_BATCH: i64 = 2000;

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    /// The schema now live.
    pub schema_name: String,
    /// Events applied into it.
    pub events_applied: i64,
}

/// Rebuilds `projection`; shows a progress bar on the terminal when `progress` is set.
///
/// One rebuild per projection at a time (a session advisory lock); generations left by a
/// rebuild that was stopped half-way are dropped first.
#[tracing::instrument(skip_all, fields(projection = projection.name()), err)]
pub async fn rebuild(
    pool: &PgPool,
    store: &Arc<dyn EventStore>,
    projection: &dyn Projection,
    progress: bool,
) -> Result<RebuildReport, ProjectionError> {
    let mut lock = pool.acquire().await?;
    let key = format!("omnistream.rebuild.{}", projection.name());
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
        .bind(&key)
        .fetch_one(&mut *lock)
        .await?;
    if !locked {
        return Err(ProjectionError::RebuildRunning(projection.name().to_owned()));
    }
    let result = rebuild_locked(pool, store, projection, progress).await;
    sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(&key)
        .execute(&mut *lock)
        .await?;
    result
}

async fn rebuild_locked(
    pool: &PgPool,
    store: &Arc<dyn EventStore>,
    projection: &dyn Projection,
    progress: bool,
) -> Result<RebuildReport, ProjectionError> {
    state::install(pool, projection).await?;
    let live: String = sqlx::query_scalar("SELECT schema_name FROM projection_state WHERE name = $1")
        .bind(projection.name())
        .fetch_one(pool)
        .await?;
    let stale: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE nspname ~ $1 AND nspname <> $2")
            .bind(format!("^proj_{}_[0-9]+$", projection.name()))
            .bind(&live)
            .fetch_all(pool)
            .await?;
    for schema in stale {
        tracing::info!(%schema, "dropping a generation left by a stopped rebuild");
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .execute(pool)
            .await?;
    }
    let generation: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(substring(nspname FROM '_(\\d+)$')::bigint), 0) + 1 FROM pg_namespace WHERE nspname LIKE $1",
    )
    .bind(format!("proj\\_{}\\_%", projection.name()))
    .fetch_one(pool)
    .await?;
    let schema = state::schema_name(projection.name(), generation);
    let mut tx = pool.begin().await?;
    state::create_generation(&mut tx, projection, &schema).await?;
    tx.commit().await?;

    let head = store.head_position().await?;
    let bar = if progress {
        ProgressBar::with_draw_target(Some(head.max(0) as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(format!("rebuilding {}", projection.name()));

    // Catch up without holding anything: the live generation keeps serving. The next batch
    // is read while the current one is applied.
    let personal = projection.needs_personal_data();
    let mut checkpoint = Checkpoint::default();
    let mut applied = 0i64;
    let mut next = Prefetch::start(store, personal, checkpoint, REBUILD_BATCH);
    loop {
        let events = next.events().await?;
        let Some(last) = events.last().map(RecordedEvent::checkpoint) else {
            break;
        };
        next = Prefetch::start(store, personal, last, REBUILD_BATCH);
        let mut tx = pool.begin().await?;
        apply_into(&mut tx, projection, &schema, &events, applied).await?;
        tx.commit().await?;
        checkpoint = last;
        applied += events.len() as i64;
        bar.set_length(bar.length().unwrap_or(0).max(checkpoint.position as u64));
        bar.set_position(checkpoint.position as u64);
    }

    // Swap: lock the state row (the live runner waits), apply the last events, repoint the
    // views, record the new generation and checkpoint, drop the old tables.
    let mut tx = pool.begin().await?;
    let old = state::lock(&mut tx, projection.name()).await?;
    loop {
        let n = apply_batch(&mut tx, store, projection, &schema, &mut checkpoint, applied).await?;
        if n == 0 {
            break;
        }
        applied += n;
    }
    state::point_views(&mut tx, projection, &schema).await?;
    changes::announce_every_tenant(&mut tx, projection.name()).await?;
    sqlx::query(
        "UPDATE projection_state SET schema_name = $2, definition_version = $3, tx_id = $4::text::xid8, \
         position = $5, events_applied = $6, updated_at = now() WHERE name = $1",
    )
    .bind(projection.name())
    .bind(&schema)
    .bind(projection.definition_version())
    .bind(checkpoint.tx_id.to_string())
    .bind(checkpoint.position)
    .bind(applied)
    .execute(&mut *tx)
    .await?;
    if old.source == state::SOURCE_KAFKA {
        // Kafka workers go on from their offsets: every record at or below the checkpoint
        // is in the new generation already and is skipped, every later one is applied.
        sqlx::query(
            "UPDATE projection_partitions SET tx_id = $2::text::xid8, position = $3, events_applied = $4 \
             WHERE projection = $1",
        )
        .bind(projection.name())
        .bind(checkpoint.tx_id.to_string())
        .bind(checkpoint.position)
        .bind(0i64)
        .execute(&mut *tx)
        .await?;
    }
    if old.schema_name != schema {
        sqlx::query(&format!("DROP SCHEMA IF EXISTS {} CASCADE", old.schema_name))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    // A fresh generation has no visibility map and stale statistics: vacuum it once, so
    // index-only scans and the planner see it as it is (autovacuum may be off).
    bar.set_message(format!("vacuuming {}", projection.name()));
    for table in projection.tables() {
        sqlx::query(&format!("VACUUM (ANALYZE) {schema}.{table}"))
            .execute(pool)
            .await?;
    }
    bar.finish_with_message(format!("rebuilt {} ({applied} events)", projection.name()));
    Ok(RebuildReport {
        schema_name: schema,
        events_applied: applied,
    })
}

async fn apply_batch(
    conn: &mut PgConnection,
    store: &Arc<dyn EventStore>,
    projection: &dyn Projection,
    schema: &str,
    checkpoint: &mut Checkpoint,
    applied_before: i64,
) -> Result<i64, ProjectionError> {
    let events = read_for(
        store.as_ref(),
        projection.needs_personal_data(),
        *checkpoint,
        REBUILD_BATCH,
    )
    .await?;
    let Some(last) = events.last() else {
        return Ok(0);
    };
    *checkpoint = last.checkpoint();
    apply_into(conn, projection, schema, &events, applied_before).await?;
    Ok(events.len() as i64)
}
