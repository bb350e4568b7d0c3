//! Planner statistics of a projection's tables.
//!
//! Read models grow from empty, and a plan chosen while a table was small (and kept by a
//! prepared statement) stays a sequential scan until the table's statistics change.
//! Autovacuum refreshes them on most servers but not on all (it can be switched off), so the
//! runner and the rebuild `ANALYZE` a generation's tables themselves whenever the events
//! applied to it cross a milestone: 1,000 and every fourfold from there, a dozen times in
//! ten million events.

use sqlx::PgConnection;

use crate::{Projection, ProjectionError};

/// Whether going from `before` to `after` applied events passes a milestone.
pub fn crosses_milestone(before: i64, after: i64) -> bool {
    let mut milestone: i64 = 1_000;
    while milestone <= after {
        if before < milestone {
            return true;
        }
        milestone = milestone.saturating_mul(4);
    }
    false
}

/// Analyzes the projection's tables (in the generation `search_path` points at) when the
/// batch crossed a milestone.
pub async fn refresh_if_grown(
    conn: &mut PgConnection,
    projection: &dyn Projection,
    before: i64,
    after: i64,
) -> Result<(), ProjectionError> {
    if !crosses_milestone(before, after) {
        return Ok(());
    }
    for table in projection.tables() {
        sqlx::query(&format!("ANALYZE {table}")).execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::crosses_milestone;

    #[test]
    fn milestones_start_at_a_thousand_and_grow_fourfold() {
        assert!(!crosses_milestone(0, 999));
        assert!(crosses_milestone(0, 1_000));
        assert!(!crosses_milestone(1_000, 3_999));
        assert!(crosses_milestone(3_999, 4_000));
        assert!(crosses_milestone(10_000, 20_000), "16,000");
        assert!(!crosses_milestone(16_000, 63_999));
        assert!(crosses_milestone(1_000_000, 1_100_000), "1,024,000");
    }
}
