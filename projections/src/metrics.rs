//! Prometheus metrics of the projection runners.

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

/// The runners' metrics, labelled by projection.
#[derive(Clone)]
pub struct ProjectionMetrics {
    /// Events between the store's head and the projection's checkpoint.
    pub lag: IntGaugeVec,
    /// The checkpoint's global position.
    pub position: IntGaugeVec,
    /// Events applied since start.
    pub applied: IntCounterVec,
    /// Failed batches since start.
    pub failures: IntCounterVec,
}

impl ProjectionMetrics {
    /// Creates the metrics and registers them.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            lag: IntGaugeVec::new(
                Opts::new(
                    "omnistream_projection_lag_events",
                    "Events the projection has yet to apply",
                ),
                &["projection"],
            )?,
            position: IntGaugeVec::new(
                Opts::new(
                    "omnistream_projection_position",
                    "Global position of the projection's checkpoint",
                ),
                &["projection"],
            )?,
            applied: IntCounterVec::new(
                Opts::new(
                    "omnistream_projection_events_applied_total",
                    "Events applied by the projection",
                ),
                &["projection"],
            )?,
            failures: IntCounterVec::new(
                Opts::new("omnistream_projection_failures_total", "Failed projection batches"),
                &["projection"],
            )?,
        };
        registry.register(Box::new(metrics.lag.clone()))?;
        registry.register(Box::new(metrics.position.clone()))?;
        registry.register(Box::new(metrics.applied.clone()))?;
        registry.register(Box::new(metrics.failures.clone()))?;
        Ok(metrics)
    }
}
