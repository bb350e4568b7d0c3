//! The read side: a runner for named projections (catch-up then live, read-model changes and
//! checkpoint in one transaction), rebuilds into fresh tables swapped in without downtime,
//! and the read models with their tenant-scoped queries.

pub mod activity_log;
pub mod analytics;
pub mod changes;
pub mod channels;
pub mod csat;
pub mod directory;
pub mod error;
pub mod inbox;
pub mod metrics;
pub mod page;
pub mod projection;
pub mod rebuild;
pub mod runner;
pub mod scheduler;
pub mod sla;
pub mod state;
pub mod statistics;
pub mod tenant_scope;
pub mod wait;

use std::sync::Arc;

pub use error::ProjectionError;
pub use projection::Projection;
pub use runner::Runner;
pub use tenant_scope::TenantScope;

/// Every projection this build knows, by name.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(directory::DirectoryProjection),
        Arc::new(activity_log::ActivityLogProjection),
        Arc::new(inbox::InboxProjection),
        Arc::new(channels::ChannelsProjection),
        Arc::new(scheduler::SchedulerProjection),
        Arc::new(sla::SlaProjection),
        Arc::new(csat::CsatProjection),
        Arc::new(analytics::AnalyticsProjection),
    ]
}

/// The projection with this name.
pub fn by_name(name: &str) -> Option<Arc<dyn Projection>> {
    all().into_iter().find(|p| p.name() == name)
}
