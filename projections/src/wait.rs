//! Read-your-writes: a query may wait, bounded, until a projection has applied a position.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::ProjectionError;

/// Whether `projection` has applied the event at global `position`.
pub async fn has_applied(pool: &PgPool, projection: &str, position: i64) -> Result<bool, ProjectionError> {
    // Checkpoints are ordered by (tx_id, position): compare the event's pair, not positions.
    let applied: Option<bool> = sqlx::query_scalar(
        "SELECT (e.tx_id, e.position) <= (s.tx_id, s.position) \
         FROM projection_state s LEFT JOIN events e ON e.position = $2 WHERE s.name = $1",
    )
    .bind(projection)
    .bind(position)
    .fetch_optional(pool)
    .await?
    .flatten();
    // A position that holds no event (yet) has not been applied.
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
