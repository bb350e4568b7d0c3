//! How to reach the broker and what to call things there.

use rdkafka::ClientConfig;

/// The most records a producer of ours puts in one record batch. A consumer resumes a
/// partition this many offsets before its stored offset: some brokers (tansu 0.6) answer a
/// fetch only from whole batches starting at or after the offset asked for, so a resume inside
/// a batch would skip the rest of it. Records below the stored offset are skipped anyway.
pub const PRODUCER_BATCH_RECORDS: i64 = 1000;

/// The Kafka settings (`KAFKA_*` variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    /// `KAFKA_BROKERS`: bootstrap servers, `host:port[,host:port…]`.
    pub brokers: String,
    /// `KAFKA_TOPIC_PREFIX`: topics are `<prefix>.events` and `<prefix>.inbound`.
    pub topic_prefix: String,
    /// `KAFKA_PARTITIONS`: partitions of the topics this service creates.
    pub partitions: i32,
    /// `KAFKA_REPLICATION_FACTOR`: replicas of the topics this service creates.
    pub replication: i32,
    /// `KAFKA_CONSUMER_GROUP`: the projection workers' consumer group (the inbound
    /// consumers use `<group>.inbound`).
    pub group: String,
}

impl KafkaSettings {
    /// Settings for these brokers with every other value at its default.
    pub fn for_brokers(brokers: &str) -> Self {
        Self {
            brokers: brokers.to_owned(),
            topic_prefix: "omnistream".into(),
            partitions: 12,
            replication: 1,
            group: "omnistream-projections".into(),
        }
    }

    /// The topic committed events are relayed to.
    pub fn events_topic(&self) -> String {
        format!("{}.events", self.topic_prefix)
    }

    /// The topic Kafka-first ingest writes raw, verified webhook deliveries to.
    pub fn inbound_topic(&self) -> String {
        format!("{}.inbound", self.topic_prefix)
    }

    /// The consumer group turning inbound deliveries into logged deliveries.
    pub fn inbound_group(&self) -> String {
        format!("{}.inbound", self.group)
    }

    /// Settings every client shares.
    pub fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", "omnistream")
            .set("socket.keepalive.enable", "true");
        config
    }

    /// An idempotent producer waiting for every in-sync replica (`acks=all`): no record is
    /// duplicated or reordered by its retries, and none is left out of a partition while a
    /// later one lands (gapless).
    pub fn producer(&self) -> ClientConfig {
        let mut config = self.client();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("enable.gapless.guarantee", "true")
            .set("linger.ms", "2")
            .set("batch.num.messages", PRODUCER_BATCH_RECORDS.to_string())
            .set("message.timeout.ms", "30000")
            .set("queue.buffering.max.messages", "200000");
        config
    }

    /// A producer for webhook deliveries: like [`Self::producer`], but answering within the
    /// provider's patience when the broker is away.
    pub fn ingest_producer(&self) -> ClientConfig {
        let mut config = self.producer();
        config.set("message.timeout.ms", "8000").set("linger.ms", "1");
        config
    }

    /// A consumer in `group` that never commits to the broker (offsets are kept in
    /// PostgreSQL) and starts a partition with no stored offset at its beginning.
    pub fn consumer(&self, group: &str) -> ClientConfig {
        let mut config = self.client();
        config
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("partition.assignment.strategy", "roundrobin")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .set("max.poll.interval.ms", "30000")
            // A fetch with nothing to return is answered within 20 ms: Apache Kafka answers
            // as soon as a record arrives anyway, tansu only at the deadline, and librdkafka's
            // 500 ms default was most of the append-to-read-model lag measured against it.
            .set("fetch.wait.max.ms", "20");
        config
    }
}
