//! The Kafka event bus, switched on by `KAFKA_BROKERS`: the relay publishing committed
//! events to the events topic, consumer-group projection workers whose offsets commit with
//! their read-model writes in PostgreSQL, and Kafka-first webhook ingest.

pub mod consumer;
pub mod error;
pub mod health;
pub mod inbound;
pub mod metrics;
pub mod projector;
pub mod relay;
pub mod settings;
pub mod topics;
pub mod wire;

pub use error::BusError;
pub use metrics::KafkaMetrics;
pub use settings::KafkaSettings;
