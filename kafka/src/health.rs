//! Whether the broker answers, for readiness.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::{BusError, KafkaSettings};

/// Asks the brokers for the events topic's metadata.
#[derive(Clone)]
pub struct BrokerProbe {
    client: std::sync::Arc<BaseConsumer>,
    topic: String,
}

impl BrokerProbe {
    /// A probe of the configured brokers.
    pub fn new(settings: &KafkaSettings) -> Result<Self, BusError> {
        Ok(Self {
            client: std::sync::Arc::new(settings.client().create()?),
            topic: settings.events_topic(),
        })
    }

    /// `Ok` when a broker answered within `timeout`, else why not.
    pub async fn check(&self, timeout: Duration) -> Result<(), String> {
        let (client, topic) = (self.client.clone(), self.topic.clone());
        tokio::task::spawn_blocking(move || {
            client
                .fetch_metadata(Some(&topic), timeout)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }
}
