//! The `projection_state` table: each projection's live schema and checkpoint.

use omnistream_store::Checkpoint;
use sqlx::{PgConnection, PgPool, Row};

use crate::{Projection, ProjectionError};

/// A projection's installed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledState {
    /// The schema holding the live generation's tables.
    pub schema_name: String,
    /// The definition version the generation was built with.
    pub definition_version: i32,
    /// The last event applied.
    pub checkpoint: Checkpoint,
    /// Events applied into this generation.
    pub events_applied: i64,
    /// The feed it follows: `store` (the event store's catch-up read) or `kafka`.
    pub source: String,
}

/// The feed a projection following the event store directly records.
pub const SOURCE_STORE: &str = "store";
/// The feed a projection fed from the Kafka topic records.
pub const SOURCE_KAFKA: &str = "kafka";

/// The schema name of a generation; only ever built from a projection's static name.
pub fn schema_name(projection: &str, generation: i64) -> String {
    format!("proj_{projection}_{generation}")
}

/// Creates a generation's schema and tables; run inside a transaction.
pub async fn create_generation(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
) -> Result<(), ProjectionError> {
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut *conn)
        .await?;
    sqlx::query(&format!("SET LOCAL search_path TO {schema}, public"))
        .execute(&mut *conn)
        .await?;
    sqlx::raw_sql(projection.ddl()).execute(&mut *conn).await?;
    Ok(())
}

/// Points the `rm` views at a generation; run inside a transaction.
pub async fn point_views(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    schema: &str,
) -> Result<(), ProjectionError> {
    for table in projection.tables() {
        sqlx::query(&format!("DROP VIEW IF EXISTS rm.{table}"))
            .execute(&mut *conn)
            .await?;
        sqlx::query(&format!("CREATE VIEW rm.{table} AS SELECT * FROM {schema}.{table}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Installs a projection's first generation if it has none; answers whether the installed
/// generation was built with another definition version (and so needs a rebuild).
pub async fn install(pool: &PgPool, projection: &dyn Projection) -> Result<bool, ProjectionError> {
    let mut tx = pool.begin().await?;
    // Serialize concurrent installs (several processes starting at once).
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('omnistream.projection_install'))")
        .execute(&mut *tx)
        .await?;
    let installed: Option<i32> = sqlx::query_scalar("SELECT definition_version FROM projection_state WHERE name = $1")
        .bind(projection.name())
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(version) = installed {
        tx.commit().await?;
        return Ok(version != projection.definition_version());
    }
    let schema = schema_name(projection.name(), 1);
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .execute(&mut *tx)
        .await?;
    create_generation(&mut tx, projection, &schema).await?;
    point_views(&mut tx, projection, &schema).await?;
    sqlx::query("INSERT INTO projection_state (name, schema_name, definition_version) VALUES ($1, $2, $3)")
        .bind(projection.name())
        .bind(&schema)
        .bind(projection.definition_version())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(false)
}

/// Locks a projection's state row for the rest of the transaction and reads it.
pub async fn lock(conn: &mut PgConnection, name: &str) -> Result<InstalledState, ProjectionError> {
    let row = sqlx::query(
        "SELECT schema_name, definition_version, tx_id::text::bigint AS tx_id, position, events_applied, source \
         FROM projection_state WHERE name = $1 FOR UPDATE",
    )
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned()))?;
    Ok(InstalledState {
        schema_name: row.try_get("schema_name")?,
        definition_version: row.try_get("definition_version")?,
        checkpoint: Checkpoint {
            tx_id: row.try_get("tx_id")?,
            position: row.try_get("position")?,
        },
        events_applied: row.try_get("events_applied")?,
        source: row.try_get("source")?,
    })
}

/// A projection's checkpoint as last committed, read without locking.
pub async fn checkpoint(pool: &PgPool, name: &str) -> Result<Checkpoint, ProjectionError> {
    let row = sqlx::query("SELECT tx_id::text::bigint AS tx_id, position FROM projection_state WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned()))?;
    Ok(Checkpoint {
        tx_id: row.try_get("tx_id")?,
        position: row.try_get("position")?,
    })
}

/// Saves a checkpoint inside the batch's transaction.
pub async fn save_checkpoint(
    conn: &mut PgConnection,
    name: &str,
    checkpoint: Checkpoint,
    applied: i64,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "UPDATE projection_state SET tx_id = $2::text::xid8, position = $3, \
         events_applied = events_applied + $4, updated_at = now() WHERE name = $1",
    )
    .bind(name)
    .bind(checkpoint.tx_id.to_string())
    .bind(checkpoint.position)
    .bind(applied)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One projection's status, as `omnistream projections status` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionStatus {
    /// Its name.
    pub name: String,
    /// The live schema.
    pub schema_name: String,
    /// The checkpoint's global position.
    pub position: i64,
    /// Events stored that it has not applied yet (fed from Kafka: at most this many, counted
    /// from its least advanced partition).
    pub lag: i64,
    /// Events applied into the live generation.
    pub events_applied: i64,
    /// The feed it follows (`store` or `kafka`).
    pub source: String,
}

/// The status of every installed projection.
pub async fn status(pool: &PgPool) -> Result<Vec<ProjectionStatus>, ProjectionError> {
    let rows = sqlx::query(
        "WITH fed AS ( \
             SELECT s.name, s.schema_name, s.source, s.tx_id::text::bigint AS tx_id, s.position, s.events_applied, \
                    (SELECT (p.tx_id::text::bigint, p.position)::checkpoint_pair FROM projection_partitions p \
                      WHERE p.projection = s.name AND s.source = 'kafka' ORDER BY p.tx_id, p.position LIMIT 1) AS low, \
                    (SELECT sum(p.events_applied)::bigint FROM projection_partitions p \
                      WHERE p.projection = s.name AND s.source = 'kafka') AS partition_applied \
             FROM projection_state s) \
         SELECT name, schema_name, source, events_applied + coalesce(partition_applied, 0) AS events_applied, \
                coalesce((low).position, position) AS position, \
                (SELECT count(*) FROM events e WHERE (e.tx_id::text::bigint, e.position) > \
                        (coalesce((low).tx_id, fed.tx_id), coalesce((low).position, fed.position))) AS lag \
         FROM fed ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ProjectionStatus {
                name: row.try_get("name")?,
                schema_name: row.try_get("schema_name")?,
                position: row.try_get("position")?,
                lag: row.try_get("lag")?,
                events_applied: row.try_get("events_applied")?,
                source: row.try_get("source")?,
            })
        })
        .collect()
}
