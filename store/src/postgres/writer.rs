//! Group commit: appends queued by many callers share one transaction, so one WAL flush
//! serves them all, while each request keeps its own optimistic-concurrency check.
//!
//! A group locks the heads of the streams it touches (`FOR UPDATE` on `streams`), decides
//! each unit in arrival order against those heads, then writes every accepted event with
//! one multi-row insert. A unit that fails its check fails alone; the others commit. When
//! another process races us to a new stream, the unique index on `(stream_id, version)`
//! aborts the transaction and the units are retried one by one.

use std::collections::{HashMap, HashSet};

use chrono::{DurationRound, TimeDelta, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Row};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;

use super::notify::EVENTS_CHANNEL;
use crate::hash::{chain_hash, HashedContent};
use crate::{AppendOutcome, AppendRequest, ExpectedVersion, StoreError};

/// One atomic append: its requests land together or not at all.
pub(super) struct Unit {
    pub(super) requests: Vec<AppendRequest>,
    pub(super) reply: oneshot::Sender<Result<Vec<AppendOutcome>, StoreError>>,
}

type UnitResult = Result<Vec<AppendOutcome>, StoreError>;

pub(super) fn spawn(
    pool: PgPool,
    queue: mpsc::Receiver<Unit>,
    writers: usize,
    max_group_events: usize,
    appended: Arc<AtomicU64>,
) {
    let queue = Arc::new(Mutex::new(queue));
    for _ in 0..writers.max(1) {
        let (pool, queue, appended) = (pool.clone(), queue.clone(), appended.clone());
        tokio::spawn(async move {
            loop {
                let group = {
                    let mut queue = queue.lock().await;
                    let Some(first) = queue.recv().await else { return };
                    let mut events = first.requests.iter().map(|r| r.events.len()).sum::<usize>();
                    let mut group = vec![first];
                    while events < max_group_events {
                        match queue.try_recv() {
                            Ok(unit) => {
                                events += unit.requests.iter().map(|r| r.events.len()).sum::<usize>();
                                group.push(unit);
                            }
                            Err(_) => break,
                        }
                    }
                    group
                };
                let written = commit(&pool, group).await;
                appended.fetch_add(written, Ordering::Relaxed);
            }
        });
    }
}

/// Writes a group and answers its callers; returns how many events were written.
async fn commit(pool: &PgPool, group: Vec<Unit>) -> u64 {
    let (requests, replies): (Vec<_>, Vec<_>) = group.into_iter().map(|u| (u.requests, u.reply)).unzip();
    let mut written = 0u64;
    let mut attempt = write_group(pool, &requests, Care::Optimistic).await;
    if matches!(&attempt, Err(error) if is_unique_violation(error)) {
        // A duplicate event id or a stream that exists after all: look before writing.
        attempt = write_group(pool, &requests, Care::Careful).await;
    }
    match attempt {
        Ok(results) => {
            written += count_written(&results);
            reply_all(replies, results)
        }
        Err(error) if is_unique_violation(&error) => {
            // Another process won a race on a new stream or event id: isolate each unit so
            // only the one that lost answers with a conflict (or a no-op on retry).
            for (requests, reply) in requests.into_iter().zip(replies) {
                let single = std::slice::from_ref(&requests);
                let result = match write_group(pool, single, Care::Careful).await {
                    Ok(mut results) => {
                        written += count_written(&results);
                        results.remove(0)
                    }
                    Err(error) if is_unique_violation(&error) => Err(conflict_of(&requests)),
                    Err(error) => Err(StoreError::Database(error)),
                };
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            tracing::error!(%error, "group commit failed");
            let message = error.to_string();
            for reply in replies {
                let _ = reply.send(Err(StoreError::Database(sqlx::Error::Protocol(message.clone()))));
            }
        }
    }
    written
}

fn count_written(results: &[UnitResult]) -> u64 {
    results
        .iter()
        .flatten()
        .flatten()
        .map(|o| o.positions.len() as u64)
        .sum()
}

fn reply_all(replies: Vec<oneshot::Sender<UnitResult>>, results: Vec<UnitResult>) {
    for (reply, result) in replies.into_iter().zip(results) {
        let _ = reply.send(result);
    }
}

fn conflict_of(requests: &[AppendRequest]) -> StoreError {
    let first = requests.first();
    StoreError::Conflict {
        stream_id: first.map(|r| r.stream_id.clone()).unwrap_or_default(),
        expected: first.map(|r| r.expected.to_string()).unwrap_or_default(),
        actual: -1,
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

/// A stream's head while a group is being decided.
#[derive(Clone)]
struct Head {
    tenant_id: Option<Uuid>,
    version: i64,
    hash: Option<Vec<u8>>,
}

/// Rows of the multi-row insert, column by column.
#[derive(Default)]
struct Columns {
    stream_id: Vec<String>,
    version: Vec<i64>,
    event_id: Vec<Uuid>,
    event_type: Vec<String>,
    schema_version: Vec<i32>,
    tenant_id: Vec<Option<Uuid>>,
    payload: Vec<Value>,
    metadata: Vec<Value>,
    recorded_at: Vec<chrono::DateTime<Utc>>,
    prev_hash: Vec<Option<Vec<u8>>>,
    hash: Vec<Vec<u8>>,
}

/// How much a group checks before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Care {
    /// The common case: heads are locked only for streams expected to exist, and duplicate
    /// event ids are left to the unique index (a violation sends the group back `Careful`).
    Optimistic,
    /// Every head locked and every event id looked up first.
    Careful,
}

/// Writes a group in one transaction; answers each unit's result, or fails as a whole.
async fn write_group(pool: &PgPool, units: &[Vec<AppendRequest>], care: Care) -> Result<Vec<UnitResult>, sqlx::Error> {
    let mut stream_ids: Vec<String> = units
        .iter()
        .flatten()
        .map(|r| r.stream_id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    stream_ids.sort();
    let to_lock: Vec<String> = match care {
        Care::Careful => stream_ids.clone(),
        Care::Optimistic => units
            .iter()
            .flatten()
            .filter(|r| !matches!(r.expected, ExpectedVersion::NoStream | ExpectedVersion::Exact(0)))
            .map(|r| r.stream_id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect(),
    };
    // A group of new streams needs no look-up: its one statement is its own transaction.
    if care == Care::Optimistic && to_lock.is_empty() {
        let mut conn = pool.acquire().await?;
        return decide_and_write(&mut conn, units, care, &to_lock).await;
    }
    let mut tx = pool.begin().await?;
    let results = decide_and_write(&mut tx, units, care, &to_lock).await?;
    tx.commit().await?;
    Ok(results)
}

async fn decide_and_write(
    conn: &mut PgConnection,
    units: &[Vec<AppendRequest>],
    care: Care,
    to_lock: &[String],
) -> Result<Vec<UnitResult>, sqlx::Error> {
    let mut heads = if to_lock.is_empty() {
        HashMap::new()
    } else {
        lock_heads(conn, to_lock).await?
    };
    let mut stored: HashSet<Uuid> = match care {
        Care::Optimistic => HashSet::new(),
        Care::Careful => stored_event_ids(conn, units.iter().flatten()).await?,
    };

    // One timestamp per group, truncated to what PostgreSQL stores, so hashes recompute.
    let now = Utc::now()
        .duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or_else(|_| Utc::now());
    let mut columns = Columns::default();
    let mut results: Vec<UnitResult> = Vec::with_capacity(units.len());
    // Which rows (by index in `columns`) belong to which unit's outcome.
    let mut placements: Vec<Vec<(usize, usize)>> = Vec::with_capacity(units.len());
    let mut touched: HashMap<String, Head> = HashMap::new();
    for unit in units {
        let mut decided = decide_unit(unit, &heads, &stored, now, &mut columns);
        if care == Care::Optimistic && matches!(decided, Err(StoreError::Conflict { .. })) {
            // A retried append that landed already finds its stream moved on: it is a no-op,
            // not a conflict, once its event ids are looked up (the head is locked).
            let landed = stored_event_ids(conn, unit.iter()).await?;
            if !landed.is_empty() {
                stored.extend(landed);
                decided = decide_unit(unit, &heads, &stored, now, &mut columns);
            }
        }
        match decided {
            Ok((outcomes, unit_heads, rows)) => {
                for request in unit {
                    stored.extend(request.events.iter().map(|e| e.event_id));
                }
                heads.extend(unit_heads.clone());
                touched.extend(unit_heads);
                placements.push(rows);
                results.push(Ok(outcomes));
            }
            Err(error) => {
                placements.push(Vec::new());
                results.push(Err(error));
            }
        }
    }

    if !columns.event_id.is_empty() {
        let positions = write_rows(conn, &columns, &touched).await?;
        for (result, rows) in results.iter_mut().zip(&placements) {
            if let Ok(outcomes) = result {
                for (outcome_index, row) in rows {
                    outcomes[*outcome_index].positions.push(positions[*row]);
                }
            }
        }
    }
    Ok(results)
}

/// Which of the requests' event ids are stored already.
async fn stored_event_ids(
    conn: &mut PgConnection,
    requests: impl Iterator<Item = &AppendRequest>,
) -> Result<HashSet<Uuid>, sqlx::Error> {
    let event_ids: Vec<Uuid> = requests.flat_map(|r| r.events.iter().map(|e| e.event_id)).collect();
    Ok(
        sqlx::query_scalar("SELECT event_id FROM events WHERE event_id = ANY($1)")
            .bind(&event_ids)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect(),
    )
}

type Decided = (Vec<AppendOutcome>, HashMap<String, Head>, Vec<(usize, usize)>);

/// Checks one unit against the heads and stages its rows; touches nothing on failure.
fn decide_unit(
    unit: &[AppendRequest],
    heads: &HashMap<String, Head>,
    stored: &HashSet<Uuid>,
    now: chrono::DateTime<Utc>,
    columns: &mut Columns,
) -> Result<Decided, StoreError> {
    let mut staged: HashMap<String, Head> = HashMap::new();
    let mut outcomes = Vec::with_capacity(unit.len());
    let mut rows = Vec::new();
    let mut pending = Columns::default();
    let mut pending_ids: HashSet<Uuid> = HashSet::new();
    let first_row = columns.event_id.len();
    for request in unit {
        let head = staged
            .get(&request.stream_id)
            .or_else(|| heads.get(&request.stream_id))
            .cloned()
            .unwrap_or(Head {
                tenant_id: request.tenant_id,
                version: 0,
                hash: None,
            });
        if head.version > 0 && head.tenant_id != request.tenant_id {
            return Err(StoreError::TenantMismatch(request.stream_id.clone()));
        }
        let fresh: Vec<_> = request
            .events
            .iter()
            .filter(|e| !stored.contains(&e.event_id) && !pending_ids.contains(&e.event_id))
            .collect();
        if fresh.is_empty() {
            outcomes.push(AppendOutcome {
                stream_id: request.stream_id.clone(),
                version: head.version,
                positions: Vec::new(),
            });
            continue;
        }
        if !request.expected.accepts(head.version) {
            return Err(StoreError::Conflict {
                stream_id: request.stream_id.clone(),
                expected: request.expected.to_string(),
                actual: head.version,
            });
        }
        let mut head = head;
        for event in fresh {
            let version = head.version + 1;
            let metadata = serde_json::to_value(&event.metadata).unwrap_or(Value::Null);
            let hash = chain_hash(
                head.hash.as_deref(),
                &HashedContent {
                    stream_id: &request.stream_id,
                    version,
                    event_id: event.event_id,
                    event_type: &event.event_type,
                    schema_version: event.schema_version,
                    tenant_id: request.tenant_id,
                    payload: &event.payload,
                    metadata: &metadata,
                    recorded_at: event.recorded_at.unwrap_or(now),
                },
            );
            rows.push((outcomes.len(), first_row + pending.event_id.len()));
            pending.stream_id.push(request.stream_id.clone());
            pending.version.push(version);
            pending.event_id.push(event.event_id);
            pending_ids.insert(event.event_id);
            pending.event_type.push(event.event_type.clone());
            pending.schema_version.push(event.schema_version);
            pending.tenant_id.push(request.tenant_id);
            pending.payload.push(event.payload.clone());
            pending.metadata.push(metadata);
            pending.recorded_at.push(event.recorded_at.unwrap_or(now));
            pending.prev_hash.push(head.hash.clone());
            pending.hash.push(hash.clone());
            head = Head {
                tenant_id: request.tenant_id,
                version,
                hash: Some(hash),
            };
        }
        outcomes.push(AppendOutcome {
            stream_id: request.stream_id.clone(),
            version: head.version,
            positions: Vec::new(),
        });
        staged.insert(request.stream_id.clone(), head);
    }
    columns.stream_id.append(&mut pending.stream_id);
    columns.version.append(&mut pending.version);
    columns.event_id.append(&mut pending.event_id);
    columns.event_type.append(&mut pending.event_type);
    columns.schema_version.append(&mut pending.schema_version);
    columns.tenant_id.append(&mut pending.tenant_id);
    columns.payload.append(&mut pending.payload);
    columns.metadata.append(&mut pending.metadata);
    columns.recorded_at.append(&mut pending.recorded_at);
    columns.prev_hash.append(&mut pending.prev_hash);
    columns.hash.append(&mut pending.hash);
    Ok((outcomes, staged, rows))
}

async fn lock_heads(conn: &mut PgConnection, stream_ids: &[String]) -> Result<HashMap<String, Head>, sqlx::Error> {
    // Sorted lock order keeps two groups touching the same streams from deadlocking.
    let rows = sqlx::query(
        "SELECT stream_id, tenant_id, version, last_hash FROM streams \
         WHERE stream_id = ANY($1) ORDER BY stream_id FOR UPDATE",
    )
    .bind(stream_ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("stream_id")?,
                Head {
                    tenant_id: row.try_get("tenant_id")?,
                    version: row.try_get("version")?,
                    hash: Some(row.try_get("last_hash")?),
                },
            ))
        })
        .collect()
}

/// Inserts the events, advances the stream heads and notifies listeners: one statement.
async fn write_rows(
    conn: &mut PgConnection,
    c: &Columns,
    heads: &HashMap<String, Head>,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut head_ids = Vec::with_capacity(heads.len());
    let mut head_tenants = Vec::with_capacity(heads.len());
    let mut head_versions = Vec::with_capacity(heads.len());
    let mut head_hashes = Vec::with_capacity(heads.len());
    for (id, head) in heads {
        if let Some(hash) = &head.hash {
            head_ids.push(id.clone());
            head_tenants.push(head.tenant_id);
            head_versions.push(head.version);
            head_hashes.push(hash.clone());
        }
    }
    let rows = sqlx::query(
        "WITH written AS ( \
             INSERT INTO events (stream_id, version, event_id, event_type, schema_version, tenant_id, \
                                 payload, metadata, recorded_at, prev_hash, hash) \
             SELECT * FROM UNNEST($1::text[], $2::int8[], $3::uuid[], $4::text[], $5::int4[], $6::uuid[], \
                                  $7::jsonb[], $8::jsonb[], $9::timestamptz[], $10::bytea[], $11::bytea[]) \
             RETURNING event_id, position), \
         advanced AS ( \
             INSERT INTO streams (stream_id, tenant_id, version, last_hash) \
             SELECT * FROM UNNEST($12::text[], $13::uuid[], $14::int8[], $15::bytea[]) \
             ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, \
                 last_hash = EXCLUDED.last_hash, updated_at = now() \
             WHERE streams.version < EXCLUDED.version), \
         woken AS (SELECT pg_notify($16, (SELECT max(position) FROM written)::text)) \
         SELECT written.event_id, written.position FROM written, woken",
    )
    .bind(&c.stream_id)
    .bind(&c.version)
    .bind(&c.event_id)
    .bind(&c.event_type)
    .bind(&c.schema_version)
    .bind(&c.tenant_id)
    .bind(&c.payload)
    .bind(&c.metadata)
    .bind(&c.recorded_at)
    .bind(&c.prev_hash)
    .bind(&c.hash)
    .bind(&head_ids)
    .bind(&head_tenants)
    .bind(&head_versions)
    .bind(&head_hashes)
    .bind(EVENTS_CHANNEL)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_id = HashMap::with_capacity(rows.len());
    for row in rows {
        by_id.insert(row.try_get::<Uuid, _>("event_id")?, row.try_get::<i64, _>("position")?);
    }
    Ok(c.event_id
        .iter()
        .map(|id| by_id.get(id).copied().unwrap_or_default())
        .collect())
}
