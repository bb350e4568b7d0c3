//! What can go wrong on the Kafka path.

use omnistream_projections::ProjectionError;
use omnistream_store::StoreError;

/// A failure of the relay, a consumer or the ingest producer.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker or the client.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The database.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The event store.
    #[error("event store: {0}")]
    Store(#[from] StoreError),
    /// A projection's apply.
    #[error("projection: {0}")]
    Projection(#[from] ProjectionError),
    /// The topic does not fit what was built from it.
    #[error("{0}")]
    Topology(String),
    /// A record this build cannot read.
    #[error("{0}")]
    Record(String),
}
