//! HTTP metrics for Prometheus.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Request counts and latencies by method and status.
#[derive(Clone)]
pub struct HttpMetrics {
    /// Requests served.
    pub requests: IntCounterVec,
    /// Request latency in seconds.
    pub latency: HistogramVec,
}

impl HttpMetrics {
    /// Creates and registers the HTTP metrics.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            requests: IntCounterVec::new(
                Opts::new("omnistream_http_requests_total", "HTTP requests served"),
                &["method", "status"],
            )?,
            latency: HistogramVec::new(
                HistogramOpts::new("omnistream_http_request_duration_seconds", "HTTP request latency").buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["method", "status"],
            )?,
        };
        registry.register(Box::new(metrics.requests.clone()))?;
        registry.register(Box::new(metrics.latency.clone()))?;
        Ok(metrics)
    }
}
