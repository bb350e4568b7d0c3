//! The Kafka-protocol broker the Kafka tests use, and helpers around it.
//!
//! `scripts/test` starts a broker on loopback (tansu, installed once per machine when
//! missing) and passes its address in `OMNISTREAM_TEST_KAFKA_BROKERS`. Each test gets topics
//! and consumer groups of its own, so tests share the broker without seeing each other.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use omnistream_kafka::KafkaSettings;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// The broker's address.
pub fn brokers() -> String {
    std::env::var("OMNISTREAM_TEST_KAFKA_BROKERS").expect(
        "OMNISTREAM_TEST_KAFKA_BROKERS is not set: run the suite with scripts/test, which starts a broker \
         (or start one: tansu broker --listener-url tcp://127.0.0.1:9092 --advertised-listener-url \
         tcp://127.0.0.1:9092 --storage-engine memory://tansu/)",
    )
}

/// Settings with topics and groups no other test uses.
pub fn settings(partitions: i32) -> KafkaSettings {
    let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    KafkaSettings {
        group: format!("{prefix}-projections"),
        topic_prefix: prefix,
        partitions,
        ..KafkaSettings::for_brokers(&brokers())
    }
}

/// A record read back by [`read_topic`].
#[derive(Debug, Clone)]
pub struct ReadRecord {
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its key, as text.
    pub key: String,
    /// Its value.
    pub payload: Vec<u8>,
}

/// Reads every partition of `topic` from the beginning until `expected` records arrived or
/// `within` passed; answers what was read, in each partition's order.
pub async fn read_topic(settings: &KafkaSettings, topic: &str, expected: usize, within: Duration) -> Vec<ReadRecord> {
    let (settings, topic) = (settings.clone(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut config = settings.client();
        config.set("group.id", format!("{}-reader", settings.topic_prefix));
        config.set("enable.auto.commit", "false");
        let consumer: BaseConsumer = config.create().expect("reader");
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(5))
            .expect("metadata");
        let mut assignment = TopicPartitionList::new();
        for t in metadata.topics() {
            for p in t.partitions() {
                assignment
                    .add_partition_offset(&topic, p.id(), Offset::Beginning)
                    .expect("offset");
            }
        }
        consumer.assign(&assignment).expect("assign");
        let deadline = Instant::now() + within;
        let mut records = Vec::new();
        while records.len() < expected && Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => records.push(ReadRecord {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                    payload: m.payload().unwrap_or_default().to_vec(),
                }),
                Some(Err(error)) => eprintln!("reader: {error}"),
                None => {}
            }
        }
        records
    })
    .await
    .expect("reader thread")
}

/// Records per partition, in offset order.
pub fn by_partition(records: &[ReadRecord]) -> HashMap<i32, Vec<ReadRecord>> {
    let mut map: HashMap<i32, Vec<ReadRecord>> = HashMap::new();
    for record in records {
        map.entry(record.partition).or_default().push(record.clone());
    }
    for list in map.values_mut() {
        list.sort_by_key(|r| r.offset);
    }
    map
}
