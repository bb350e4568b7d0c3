//! Prometheus metrics of the relay and the consumers.

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// The Kafka path's metrics.
#[derive(Clone)]
pub struct KafkaMetrics {
    /// Events the broker acknowledged from this process's relay.
    pub relay_published: IntCounter,
    /// Events committed to the store that the relay has not published yet.
    pub relay_lag: IntGauge,
    /// Records between a partition's end and the next offset its consumer will apply.
    pub consumer_lag: IntGaugeVec,
    /// Records applied by the consumers of this process.
    pub consumed: IntCounterVec,
    /// Webhook deliveries the broker acknowledged from this process's receivers.
    pub inbound_published: IntCounter,
}

impl KafkaMetrics {
    /// Creates the metrics and registers them.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            relay_published: IntCounter::new(
                "omnistream_kafka_relay_published_total",
                "Events published to the events topic and acknowledged by the broker",
            )?,
            relay_lag: IntGauge::new(
                "omnistream_kafka_relay_lag_events",
                "Events committed to the store and not yet acknowledged by the broker (producer lag)",
            )?,
            consumer_lag: IntGaugeVec::new(
                Opts::new(
                    "omnistream_kafka_consumer_lag_records",
                    "Records in a partition after the next offset its consumer will apply (consumer lag)",
                ),
                &["group", "topic", "partition"],
            )?,
            consumed: IntCounterVec::new(
                Opts::new(
                    "omnistream_kafka_consumed_records_total",
                    "Records applied and committed with their offsets",
                ),
                &["group", "topic"],
            )?,
            inbound_published: IntCounter::new(
                "omnistream_kafka_inbound_published_total",
                "Webhook deliveries written to the inbound topic and acknowledged",
            )?,
        };
        registry.register(Box::new(metrics.relay_published.clone()))?;
        registry.register(Box::new(metrics.relay_lag.clone()))?;
        registry.register(Box::new(metrics.consumer_lag.clone()))?;
        registry.register(Box::new(metrics.consumed.clone()))?;
        registry.register(Box::new(metrics.inbound_published.clone()))?;
        Ok(metrics)
    }

    /// Metrics registered nowhere (tests and benchmarks that do not scrape).
    pub fn unregistered() -> Self {
        Self::register(&Registry::new()).expect("fresh registry")
    }
}
