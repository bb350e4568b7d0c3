//! What a projection is: a name, its tables, and how one event changes them.

use async_trait::async_trait;
use omnistream_store::RecordedEvent;
use sqlx::PgConnection;

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
