//! Read-your-writes: a query may wait, bounded, until a projection has applied a position.

use std::time::{Duration, Instant};

use omnistream_store::partitioning::partition_of;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::{state, ProjectionError};

/// Whether `projection` has applied the event at global `position`.
///
/// Checkpoints are ordered by `(tx_id, position)`: the event's pair is compared, not its
/// position. A projection fed from Kafka has one checkpoint per partition: the event's
/// tenant names the partition.
pub async fn has_applied(pool: &PgPool, projection: &str, position: i64) -> Result<bool, ProjectionError> {
    let row = sqlx::query(
        "SELECT s.source, (e.tx_id, e.position) <= (s.tx_id, s.position) AS applied, e.tenant_id, \
                (SELECT count(*)::int FROM projection_partitions p WHERE p.projection = s.name) AS partitions \
         FROM projection_state s LEFT JOIN events e ON e.position = $2 WHERE s.name = $1",
    )
    .bind(projection)
    .bind(position)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let source: String = row.try_get("source")?;
    if source != state::SOURCE_KAFKA {
        // A position that holds no event (yet) has not been applied.
        return Ok(row.try_get::<Option<bool>, _>("applied")?.unwrap_or(false));
    }
    let partitions: i32 = row.try_get("partitions")?;
    let tenant: Option<Uuid> = row.try_get("tenant_id")?;
    let applied: Option<bool> = sqlx::query_scalar(
        "SELECT (e.tx_id, e.position) <= (p.tx_id, p.position) \
         FROM projection_partitions p JOIN events e ON e.position = $3 WHERE p.projection = $1 AND p.partition = $2",
    )
    .bind(projection)
    .bind(partition_of(tenant, partitions))
    .bind(position)
    .fetch_optional(pool)
    .await?
    .flatten();
    Ok(applied.unwrap_or(false))
}

/// Waits until `check` answers true or `timeout` passes; answers the last result.
pub async fn until<F, Fut>(timeout: Duration, mut check: F) -> Result<bool, ProjectionError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, ProjectionError>>,
{
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        if check().await? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
