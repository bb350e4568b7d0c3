//! What a text search over the inbox needs besides the service's pool: the search indexes'
//! statistics (which words are rare), and connections that plan a statement once.
//!
//! A search for rare words is index lookups whatever its values, yet PostgreSQL planned it
//! afresh on every request: a prepared statement's generic plan costs more, by its estimate,
//! than a custom plan for a handful of ids, so PostgreSQL kept making custom ones, and
//! planning took more of its time than running the lookups (42 % of its CPU under load). The
//! rare path's statements therefore run on a few connections of their own, set to
//! `plan_cache_mode = force_generic_plan`: each connection plans them once, with parameters,
//! and keeps the plan until `ANALYZE` or a rebuild's swap invalidates it. Nothing else runs
//! there, since a generic plan for a statement whose best plan depends on its values (a
//! common word, a walk of recent conversations) could read every row.

use super::planned_once::PlannedOnceConnections;
use super::search_statistics::SearchStatistics;

/// The statistics and the plan-once connections.
#[derive(Debug)]
pub struct SearchBackend {
    statistics: SearchStatistics,
    planned_once: PlannedOnceConnections,
}

impl SearchBackend {
    /// A backend whose rare searches run on `planned_once` (which serves only statements
    /// whose plan cannot depend on values).
    pub fn new(planned_once: PlannedOnceConnections) -> Self {
        Self {
            statistics: SearchStatistics::default(),
            planned_once,
        }
    }

    /// The search indexes' statistics.
    pub fn statistics(&self) -> &SearchStatistics {
        &self.statistics
    }

    /// The connections that plan each statement once.
    pub fn planned_once(&self) -> &PlannedOnceConnections {
        &self.planned_once
    }
}
