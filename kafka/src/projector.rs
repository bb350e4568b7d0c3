//! Projection workers fed from the events topic: every projection applies a partition's
//! batch in the transaction that stores the batch's offset.
//!
//! A projection fed from Kafka keeps, per partition, the checkpoint of the last event it
//! applied (`projection_partitions`). A partition's records arrive in the store's catch-up
//! order, so a record at or below that checkpoint was applied already (republished by a
//! restarted relay, or built into a rebuilt generation) and is skipped.

use std::sync::Arc;

use async_trait::async_trait;
use omnistream_projections::projection::apply_into;
use omnistream_projections::{changes, state, Projection, ProjectionError};
use omnistream_store::{Checkpoint, RecordedEvent, Shredder};
use sqlx::{PgConnection, PgPool, Row};

use crate::consumer::{BatchHandler, Record};
use crate::{wire, BusError};

/// Applies event records to projections.
pub struct ProjectionFeed {
    projections: Vec<Arc<dyn Projection>>,
    shredder: Shredder,
}

impl ProjectionFeed {
    /// A feed of these projections; personal fields are opened with the keys in `pool`.
    pub fn new(pool: PgPool, projections: Vec<Arc<dyn Projection>>) -> Self {
        Self {
            projections,
            shredder: Shredder::new(pool),
        }
    }
}

/// Moves projections that follow the store over to the topic of `partitions` partitions:
/// each partition starts from the projection's store checkpoint (everything up to it is
/// applied). From then on store runners leave them alone.
pub async fn take_over(pool: &PgPool, projections: &[Arc<dyn Projection>], partitions: i32) -> Result<(), BusError> {
    for projection in projections {
        let mut tx = pool.begin().await?;
        let installed = state::lock(&mut tx, projection.name()).await?;
        let known: i64 = sqlx::query_scalar("SELECT count(*) FROM projection_partitions WHERE projection = $1")
            .bind(projection.name())
            .fetch_one(&mut *tx)
            .await?;
        if installed.source == state::SOURCE_KAFKA && known == i64::from(partitions) {
            tx.commit().await?;
            continue;
        }
        if installed.source == state::SOURCE_KAFKA {
            return Err(BusError::Topology(format!(
                "{} was fed from {known} partitions and the topic now has {partitions}: a tenant's events \
                 would change partition; rebuild it with the store feed (omnistream projections rebuild)",
                projection.name()
            )));
        }
        sqlx::query(
            "INSERT INTO projection_partitions (projection, partition, tx_id, position) \
             SELECT $1, p, $3::text::xid8, $4 FROM generate_series(0, $2 - 1) p",
        )
        .bind(projection.name())
        .bind(partitions)
        .bind(installed.checkpoint.tx_id.to_string())
        .bind(installed.checkpoint.position)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE projection_state SET source = $2, updated_at = now() WHERE name = $1")
            .bind(projection.name())
            .bind(state::SOURCE_KAFKA)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(
            projection = projection.name(),
            partitions,
            "projection now fed from Kafka"
        );
    }
    Ok(())
}

#[async_trait]
impl BatchHandler for ProjectionFeed {
    async fn apply(&self, tx: &mut PgConnection, partition: i32, records: &[Record]) -> Result<(), BusError> {
        let mut events = records
            .iter()
            .map(|r| wire::decode(&r.payload).map_err(|e| BusError::Record(e.to_string())))
            .collect::<Result<Vec<RecordedEvent>, _>>()?;
        self.shredder.open(&mut events).await?;
        for projection in &self.projections {
            apply_to(tx, projection.as_ref(), partition, &events).await?;
        }
        Ok(())
    }
}

async fn apply_to(
    tx: &mut PgConnection,
    projection: &dyn Projection,
    partition: i32,
    events: &[RecordedEvent],
) -> Result<(), BusError> {
    let name = projection.name();
    // Shared: workers of other partitions go on together; a rebuild's swap waits for them.
    let installed =
        sqlx::query("SELECT schema_name, source, events_applied FROM projection_state WHERE name = $1 FOR SHARE")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned()))?;
    let schema: String = installed.try_get("schema_name")?;
    let source: String = installed.try_get("source")?;
    let applied_from_store: i64 = installed.try_get("events_applied")?;
    if source != state::SOURCE_KAFKA {
        return Err(BusError::Record(format!(
            "{name} is not fed from Kafka (source {source})"
        )));
    }
    // The planner statistics follow the projection's whole size, not one partition's: the
    // milestones count every event applied (from the store before the move, then from every
    // partition); each partition counting its own would ANALYZE the shared tables once per
    // partition and milestone.
    let row = sqlx::query(
        "SELECT tx_id::text::bigint AS tx_id, position, \
                (SELECT sum(events_applied) FROM projection_partitions WHERE projection = $1)::bigint AS events_applied \
         FROM projection_partitions WHERE projection = $1 AND partition = $2 FOR UPDATE",
    )
    .bind(name)
    .bind(partition)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| BusError::Record(format!("{name} has no checkpoint for partition {partition}")))?;
    let applied = Checkpoint {
        tx_id: row.try_get("tx_id")?,
        position: row.try_get("position")?,
    };
    let events_applied = applied_from_store + row.try_get::<i64, _>("events_applied")?;
    // Only what moves the checkpoint forward: a record at or below it, or below one kept
    // before it in this batch, was applied already (or is a second copy of a refetch).
    let mut reached = applied;
    let fresh: Vec<RecordedEvent> = events
        .iter()
        .filter(|e| {
            let ahead = e.checkpoint() > reached;
            if ahead {
                reached = e.checkpoint();
            }
            ahead
        })
        .cloned()
        .collect();
    let Some(last) = fresh.last().map(RecordedEvent::checkpoint) else {
        return Ok(());
    };
    apply_into(tx, projection, &schema, &fresh, events_applied).await?;
    changes::announce(tx, name, &fresh).await?;
    let count = fresh.len() as i64;
    sqlx::query(
        "UPDATE projection_partitions SET tx_id = $3::text::xid8, position = $4, events_applied = events_applied + $5 \
         WHERE projection = $1 AND partition = $2",
    )
    .bind(name)
    .bind(partition)
    .bind(last.tx_id.to_string())
    .bind(last.position)
    .bind(count)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
