//! Creating the topics and reading their partition counts.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::KafkaSettings;

/// How long a metadata request may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// Creates the events and inbound topics when missing (with the configured partitions and
/// replicas); topics that exist are left as they are.
pub async fn ensure_topics(settings: &KafkaSettings) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> = settings.client().create()?;
    let (events, inbound) = (settings.events_topic(), settings.inbound_topic());
    let replication = || TopicReplication::Fixed(settings.replication);
    let topics = [
        NewTopic::new(&events, settings.partitions, replication()),
        NewTopic::new(&inbound, settings.partitions, replication()),
    ];
    let options = AdminOptions::new().operation_timeout(Some(METADATA_TIMEOUT));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(topic) => tracing::info!(%topic, partitions = settings.partitions, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::AdminOp(code)).inspect_err(|_| {
                    tracing::error!(%topic, %code, "topic creation failed");
                })
            }
        }
    }
    Ok(())
}

/// The number of partitions `topic` has, as the broker reports it.
pub async fn partition_count(settings: &KafkaSettings, topic: &str) -> Result<i32, KafkaError> {
    let config = settings.client();
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let client: BaseConsumer = config.create()?;
        let metadata = client.fetch_metadata(Some(&topic), METADATA_TIMEOUT)?;
        let count = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions().len() as i32)
            .unwrap_or(0);
        if count == 0 {
            return Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition));
        }
        Ok(count)
    })
    .await
    .map_err(|_| KafkaError::Canceled)?
}
