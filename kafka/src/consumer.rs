//! A consumer-group member whose offsets live in PostgreSQL: each batch of a partition is
//! applied and its next offset stored in one transaction, and a partition assigned to this
//! member starts at the offset stored there. Effects are exactly once: a batch is either
//! wholly applied with its offset or not at all, and a record below the stored offset (a
//! member that lost the partition while working, say) is skipped under the offset row's lock.
//!
//! The member runs on a thread of its own (librdkafka calls the rebalance callback from
//! `poll`, and reading the stored offsets there must block), reaching PostgreSQL through the
//! Tokio runtime that started it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::future::join_all;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::{Headers, Message};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::ClientContext;
use sqlx::{PgConnection, PgPool, Row};
use tokio::runtime::Handle;
use tokio::sync::watch;

use crate::settings::PRODUCER_BATCH_RECORDS;
use crate::{topics, BusError, KafkaMetrics, KafkaSettings};

/// Records applied per transaction, at most.
pub const MAX_BATCH: usize = 2000;

/// A record as the handlers see it.
#[derive(Debug, Clone)]
pub struct Record {
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its key.
    pub key: Option<Vec<u8>>,
    /// Its value.
    pub payload: Vec<u8>,
    /// Its headers.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Record {
    /// The value of a header, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

/// What a consumer does with a partition's batch, inside the transaction that also stores
/// the batch's next offset.
#[async_trait]
pub trait BatchHandler: Send + Sync + 'static {
    /// Applies `records` (one partition's, in offset order, none applied before).
    async fn apply(&self, tx: &mut PgConnection, partition: i32, records: &[Record]) -> Result<(), BusError>;

    /// Called after a batch committed.
    fn committed(&self, _records: usize) {}
}

/// A consumer of one topic in one group.
pub struct PgOffsetConsumer<H> {
    settings: KafkaSettings,
    group: String,
    topic: String,
    pool: PgPool,
    handler: Arc<H>,
    metrics: KafkaMetrics,
}

struct OffsetContext {
    pool: PgPool,
    runtime: Handle,
    group: String,
    topic: String,
    /// Each partition's high watermark as the client's last statistics reported it.
    high_watermarks: Mutex<HashMap<i32, i64>>,
}

impl ClientContext for OffsetContext {
    fn stats(&self, statistics: Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        if let Ok(mut highs) = self.high_watermarks.lock() {
            for (partition, figures) in &topic.partitions {
                if *partition >= 0 && figures.hi_offset >= 0 {
                    highs.insert(*partition, figures.hi_offset);
                }
            }
        }
    }
}

impl ConsumerContext for OffsetContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, partitions: &mut TopicPartitionList) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let stored = self
                    .runtime
                    .block_on(stored_offsets(&self.pool, &self.group, &self.topic));
                let stored = stored.unwrap_or_else(|error| {
                    // Started from the beginning instead: the offset check under the row lock
                    // still skips whatever was applied.
                    tracing::warn!(%error, group = %self.group, "stored offsets unreadable; assigning from the beginning");
                    HashMap::new()
                });
                let assigned: Vec<(String, i32)> = partitions
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                for (topic, partition) in &assigned {
                    let offset = match stored.get(partition) {
                        // Up to a producer batch early (see PRODUCER_BATCH_RECORDS): what was
                        // applied already is skipped under the offset row's lock.
                        Some(next) if topic == &self.topic => Offset::Offset((*next - PRODUCER_BATCH_RECORDS).max(0)),
                        _ => Offset::Beginning,
                    };
                    if let Err(error) = partitions.set_partition_offset(topic, *partition, offset) {
                        tracing::warn!(%error, partition, "cannot set a partition's start offset");
                    }
                }
                tracing::info!(group = %self.group, partitions = ?assigned.iter().map(|(_, p)| p).collect::<Vec<_>>(), "partitions assigned");
                if let Err(error) = consumer.assign(partitions) {
                    tracing::error!(%error, "partition assignment failed");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                tracing::info!(group = %self.group, "partitions revoked");
                if let Err(error) = consumer.unassign() {
                    tracing::error!(%error, "partition revocation failed");
                }
            }
            other => {
                tracing::error!(error = ?other, "rebalance failed");
                let _ = consumer.unassign();
            }
        }
    }
}

async fn stored_offsets(pool: &PgPool, group: &str, topic: &str) -> Result<HashMap<i32, i64>, sqlx::Error> {
    let rows = sqlx::query("SELECT partition, next_offset FROM kafka_offsets WHERE group_id = $1 AND topic = $2")
        .bind(group)
        .bind(topic)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("partition")?, row.try_get("next_offset")?)))
        .collect()
}

impl<H: BatchHandler> PgOffsetConsumer<H> {
    /// A member of `group` consuming `topic` with `handler`.
    pub fn new(
        settings: KafkaSettings,
        group: String,
        topic: String,
        pool: PgPool,
        handler: Arc<H>,
        metrics: KafkaMetrics,
    ) -> Self {
        Self {
            settings,
            group,
            topic,
            pool,
            handler,
            metrics,
        }
    }

    /// Starts the member on its own thread; it leaves the group when `shutdown` turns true.
    /// Must be called within a Tokio runtime, which it uses for PostgreSQL.
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> std::io::Result<std::thread::JoinHandle<()>> {
        let runtime = Handle::current();
        std::thread::Builder::new()
            .name(format!("kafka-{}", self.group))
            .spawn(move || self.run(&runtime, &shutdown))
    }

    fn run(self, runtime: &Handle, shutdown: &watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(200);
        while !*shutdown.borrow() {
            match self.session(runtime, shutdown) {
                Ok(()) => return,
                Err(error) => {
                    tracing::error!(%error, group = %self.group, "consumer failed; rejoining");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    fn session(&self, runtime: &Handle, shutdown: &watch::Receiver<bool>) -> Result<(), BusError> {
        runtime.block_on(topics::ensure_topics(&self.settings))?;
        let context = OffsetContext {
            pool: self.pool.clone(),
            runtime: runtime.clone(),
            group: self.group.clone(),
            topic: self.topic.clone(),
            high_watermarks: Mutex::new(HashMap::new()),
        };
        // Statistics carry the high watermarks the lag metric needs, without a round trip.
        let consumer: BaseConsumer<OffsetContext> = self
            .settings
            .consumer(&self.group)
            .set("statistics.interval.ms", "2000")
            .create_with_context(context)?;
        consumer.subscribe(&[&self.topic])?;
        let mut applied_up_to: HashMap<i32, i64> = HashMap::new();
        let mut lag_reported = Instant::now();
        loop {
            if *shutdown.borrow() {
                consumer.unsubscribe();
                return Ok(());
            }
            let batch = poll_batch(&consumer);
            let mut by_partition: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
            for record in batch {
                by_partition.entry(record.partition).or_default().push(record);
            }
            // In offset order, each offset once: a seek or reassignment can leave records of
            // the earlier fetch position in the same poll as the refetched ones.
            for (partition, records) in by_partition.iter_mut() {
                let polled = records.len();
                let in_order = records.windows(2).all(|w| w[0].offset < w[1].offset);
                records.sort_by_key(|r| r.offset);
                records.dedup_by_key(|r| r.offset);
                if !in_order {
                    tracing::info!(
                        partition,
                        polled,
                        kept = records.len(),
                        "records of two fetch positions in one poll"
                    );
                }
            }
            // Partitions hold different tenants: their batches commit side by side.
            let applied = runtime.block_on(join_all(
                by_partition
                    .iter()
                    .map(|(partition, records)| self.apply_with_retry(*partition, records, shutdown)),
            ));
            for ((partition, records), landed) in by_partition.iter().zip(applied) {
                if !landed {
                    return Ok(());
                }
                applied_up_to.insert(*partition, records.last().map_or(0, |r| r.offset + 1));
            }
            if lag_reported.elapsed() > Duration::from_secs(2) {
                self.report_lag(&consumer, &applied_up_to);
                lag_reported = Instant::now();
            }
        }
    }

    /// Applies a partition's batch, retrying failures until it lands; answers false when
    /// shutdown came first (the batch is then left for whoever consumes the partition next).
    async fn apply_with_retry(&self, partition: i32, records: &[Record], shutdown: &watch::Receiver<bool>) -> bool {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.apply(partition, records).await {
                Ok(applied) => {
                    if applied > 0 {
                        self.metrics
                            .consumed
                            .with_label_values(&[&self.group, &self.topic])
                            .inc_by(applied as u64);
                        self.handler.committed(applied);
                    }
                    return true;
                }
                Err(error) => {
                    tracing::error!(%error, group = %self.group, partition, "batch failed; retrying");
                    if *shutdown.borrow() {
                        return false;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn apply(&self, partition: i32, records: &[Record]) -> Result<usize, BusError> {
        let mut tx = self.pool.begin().await?;
        let stored: Option<i64> = sqlx::query_scalar(
            "SELECT next_offset FROM kafka_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3 FOR UPDATE",
        )
        .bind(&self.group)
        .bind(&self.topic)
        .bind(partition)
        .fetch_optional(&mut *tx)
        .await?;
        let start = stored.unwrap_or(0);
        let fresh = &records[records.partition_point(|r| r.offset < start)..];
        let Some(last) = fresh.last() else {
            tx.rollback().await?;
            return Ok(0);
        };
        if fresh[0].offset > start && stored.is_some() {
            tracing::warn!(
                partition,
                expected = start,
                got = fresh[0].offset,
                "records missing from the partition (retention?)"
            );
        }
        self.handler.apply(&mut tx, partition, fresh).await?;
        sqlx::query(
            "INSERT INTO kafka_offsets (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()",
        )
        .bind(&self.group)
        .bind(&self.topic)
        .bind(partition)
        .bind(last.offset + 1)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(fresh.len())
    }

    fn report_lag(&self, consumer: &BaseConsumer<OffsetContext>, applied_up_to: &HashMap<i32, i64>) {
        let Ok(assignment) = consumer.assignment() else { return };
        let Ok(highs) = consumer.context().high_watermarks.lock().map(|h| h.clone()) else {
            return;
        };
        for element in assignment.elements() {
            let partition = element.partition();
            let Some(&high) = highs.get(&partition) else { continue };
            let next = applied_up_to.get(&partition).copied().unwrap_or(0);
            self.metrics
                .consumer_lag
                .with_label_values(&[&self.group, &self.topic, &partition.to_string()])
                .set((high - next).max(0));
        }
    }
}

/// Up to [`MAX_BATCH`] records: waits a little for the first, then takes what is fetched.
fn poll_batch(consumer: &BaseConsumer<OffsetContext>) -> Vec<Record> {
    let mut records = Vec::new();
    let mut timeout = Duration::from_millis(200);
    while records.len() < MAX_BATCH {
        match consumer.poll(timeout) {
            None => break,
            Some(Ok(message)) => records.push(Record {
                partition: message.partition(),
                offset: message.offset(),
                key: message.key().map(<[u8]>::to_vec),
                payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                headers: message
                    .headers()
                    .map(|headers| {
                        headers
                            .iter()
                            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec).unwrap_or_default()))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            Some(Err(error)) => {
                tracing::warn!(%error, "consumer error");
                break;
            }
        }
        timeout = Duration::ZERO;
    }
    records
}
