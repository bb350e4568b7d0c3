//! What a projection is: a name, its tables, and how one event changes them.

use std::sync::Arc;

use async_trait::async_trait;
use omnistream_store::{Checkpoint, EventStore, RecordedEvent};
use sqlx::PgConnection;
use tokio::task::JoinHandle;

use crate::{statistics, ProjectionError};

/// A named read model built from the event log.
///
/// Its tables are created by [`Projection::ddl`] inside the projection's current schema
/// (unqualified names: the runner sets `search_path`), and exposed to queries as views in
/// schema `rm` under the same names.
#[async_trait]
pub trait Projection: Send + Sync {
    /// The stable name, as the CLI and metrics show it.
    fn name(&self) -> &'static str;

    /// Bumped whenever the tables or the meaning of `apply` change; a mismatch with the
    /// installed generation triggers a rebuild at start-up.
    fn definition_version(&self) -> i32;

    /// The tables the projection owns (each gets a view `rm.<table>`).
    fn tables(&self) -> &'static [&'static str];

    /// Statements creating the tables and indexes, with unqualified names.
    fn ddl(&self) -> &'static str;

    /// Whether `apply` reads personal fields (message texts, contact profiles, survey
    /// comments). A projection answering `false` is fed those fields still sealed: catch-up
    /// then skips the key lookups and decryption, and `apply` must not decode events that
    /// carry them (reading other fields of their payloads is fine).
    fn needs_personal_data(&self) -> bool {
        true
    }

    /// Applies one event inside the batch's transaction.
    async fn apply(&self, conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), ProjectionError>;

    /// Applies a batch in order inside one transaction. By default one event at a time; a
    /// projection overrides it when it can write a whole batch in fewer statements.
    async fn apply_batch(&self, conn: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        for event in events {
            self.apply(conn, event).await?;
        }
        Ok(())
    }
}

/// Applies `events` into the generation in `schema` (its tables first on `search_path`),
/// refreshing its statistics when it has grown; `applied_before` counts what the generation
/// held before. Every feed (store runner, rebuild, Kafka worker) applies through here.
pub async fn apply_into(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
    events: &[RecordedEvent],
    applied_before: i64,
) -> Result<(), ProjectionError> {
    sqlx::query(&format!("SET LOCAL search_path TO {schema}, public"))
        .execute(&mut *conn)
        .await?;
    projection.apply_batch(conn, events).await?;
    let applied_after = applied_before + events.len() as i64;
    statistics::refresh_if_grown(conn, projection, applied_before, applied_after).await
}

/// Reads up to `limit` events after `after`, personal fields opened only when `personal` (a
/// projection's [`Projection::needs_personal_data`]).
pub async fn read_for(
    store: &dyn EventStore,
    personal: bool,
    after: Checkpoint,
    limit: i64,
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let events = if personal {
        store.read_all(after, limit).await?
    } else {
        store.read_all_sealed(after, limit).await?
    };
    Ok(events)
}

/// A read of the next batch running while the current one is applied: reading (the store's
/// query, decoding, opening sealed fields) and applying then overlap instead of taking turns.
pub struct Prefetch {
    after: Checkpoint,
    read: JoinHandle<Result<Vec<RecordedEvent>, ProjectionError>>,
}

impl Prefetch {
    /// Starts reading up to `limit` events after `after`, as [`read_for`] does.
    pub fn start(store: &Arc<dyn EventStore>, personal: bool, after: Checkpoint, limit: i64) -> Self {
        let store = store.clone();
        let read = tokio::spawn(async move { read_for(store.as_ref(), personal, after, limit).await });
        Self { after, read }
    }

    /// Where the read starts.
    pub fn after(&self) -> Checkpoint {
        self.after
    }

    /// The events read.
    pub async fn events(self) -> Result<Vec<RecordedEvent>, ProjectionError> {
        self.read.await.map_err(|e| ProjectionError::Prefetch(e.to_string()))?
    }
}
