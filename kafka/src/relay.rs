//! The relay: publishes every committed event, in the store's catch-up order, to the events
//! topic. Records are keyed by stream id and placed by tenant (see
//! [`omnistream_store::partitioning`]); the relay's checkpoint is kept in PostgreSQL and
//! advanced only after the broker acknowledged every record up to it.
//!
//! One relay publishes at a time (a PostgreSQL advisory lock); others wait as standbys. A
//! relay stopped between the broker's acknowledgement and its checkpoint update publishes
//! those events again when it restarts: consumers skip them (each partition's records come in
//! catch-up order, and a consumer drops any record at or below what it applied).

use std::sync::Arc;
use std::time::Duration;

use omnistream_store::partitioning::partition_of;
use omnistream_store::{Checkpoint, EventStore};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::{PgPool, Row};
use tokio::sync::watch;

use crate::{topics, wire, BusError, KafkaMetrics, KafkaSettings};

/// Events published per acknowledged batch.
pub const RELAY_BATCH: i64 = 2000;

/// The relay.
#[derive(Clone)]
pub struct Relay {
    store: Arc<dyn EventStore>,
    pool: PgPool,
    settings: KafkaSettings,
    metrics: KafkaMetrics,
}

impl Relay {
    /// A relay of `store` (the raw store: personal fields stay sealed on the topic).
    pub fn new(store: Arc<dyn EventStore>, pool: PgPool, settings: KafkaSettings, metrics: KafkaMetrics) -> Self {
        Self {
            store,
            pool,
            settings,
            metrics,
        }
    }

    /// Runs until `shutdown` turns true: waits for leadership, then publishes as the store
    /// grows. Failures are logged and retried with backoff; nothing is ever skipped.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(200);
        while !*shutdown.borrow() {
            match self.lead(&mut shutdown).await {
                Ok(()) => backoff = Duration::from_millis(200),
                Err(error) => {
                    tracing::error!(%error, "event relay failed; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Takes the relay's lock if free and publishes until shutdown; answers `Ok` at once
    /// when another relay holds it.
    async fn lead(&self, shutdown: &mut watch::Receiver<bool>) -> Result<(), BusError> {
        let topic = self.settings.events_topic();
        let mut lock = self.pool.acquire().await?;
        let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('omnistream.relay.' || $1))")
            .bind(&topic)
            .fetch_one(&mut *lock)
            .await?;
        if !leader {
            return Ok(());
        }
        tracing::info!(%topic, "event relay leading");
        let result = self.publish_until(shutdown).await;
        let _ = sqlx::query("SELECT pg_advisory_unlock(hashtext('omnistream.relay.' || $1))")
            .bind(&topic)
            .execute(&mut *lock)
            .await;
        result
    }

    async fn publish_until(&self, shutdown: &mut watch::Receiver<bool>) -> Result<(), BusError> {
        topics::ensure_topics(&self.settings).await?;
        let topic = self.settings.events_topic();
        let partitions = topics::partition_count(&self.settings, &topic).await?;
        let producer: FutureProducer = self.settings.producer().create()?;
        let mut wake_ups = self.store.wake_ups();
        loop {
            if *shutdown.borrow() {
                return Ok(());
            }
            if self.publish_batch(&producer, partitions).await? > 0 {
                continue;
            }
            tokio::select! {
                _ = wake_ups.changed() => {}
                // Also look now and then: a wake-up may be lost while reconnecting.
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Publishes the next batch after the stored checkpoint and advances it once the broker
    /// acknowledged every record; answers how many events were published.
    pub async fn publish_batch(&self, producer: &FutureProducer, partitions: i32) -> Result<usize, BusError> {
        let topic = self.settings.events_topic();
        let checkpoint = checkpoint(&self.pool, &topic).await?;
        let events = self.store.read_all(checkpoint, RELAY_BATCH).await?;
        let Some(last) = events.last().map(|e| e.checkpoint()) else {
            self.report_lag(checkpoint).await;
            return Ok(0);
        };
        let mut deliveries = Vec::with_capacity(events.len());
        for event in &events {
            let payload = wire::encode(event);
            let partition = partition_of(event.tenant_id, partitions);
            let timestamp = event.recorded_at.timestamp_millis();
            let mut record = FutureRecord::to(&topic)
                .key(event.stream_id.as_str())
                .payload(payload.as_slice())
                .partition(partition)
                .timestamp(timestamp);
            // Enqueue strictly in order: a full queue is waited out on the same record.
            loop {
                match producer.send_result(record) {
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((error, _)) => return Err(error.into()),
                }
            }
        }
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) => return Err(error.into()),
                Err(_) => return Err(KafkaError::Canceled.into()),
            }
        }
        sqlx::query(
            "INSERT INTO event_relay (topic, tx_id, position, published) VALUES ($1, $2::text::xid8, $3, $4) \
             ON CONFLICT (topic) DO UPDATE SET tx_id = EXCLUDED.tx_id, position = EXCLUDED.position, \
             published = event_relay.published + EXCLUDED.published, updated_at = now()",
        )
        .bind(&topic)
        .bind(last.tx_id.to_string())
        .bind(last.position)
        .bind(events.len() as i64)
        .execute(&self.pool)
        .await?;
        self.metrics.relay_published.inc_by(events.len() as u64);
        self.report_lag(last).await;
        Ok(events.len())
    }

    async fn report_lag(&self, at: Checkpoint) {
        if let Ok(head) = self.store.head_position().await {
            self.metrics.relay_lag.set((head - at.position).max(0));
        }
    }
}

/// The relay's checkpoint for `topic` (the start when it never published).
pub async fn checkpoint(pool: &PgPool, topic: &str) -> Result<Checkpoint, sqlx::Error> {
    let row = sqlx::query("SELECT tx_id::text::bigint AS tx_id, position FROM event_relay WHERE topic = $1")
        .bind(topic)
        .fetch_optional(pool)
        .await?;
    Ok(match row {
        Some(row) => Checkpoint {
            tx_id: row.try_get("tx_id")?,
            position: row.try_get("position")?,
        },
        None => Checkpoint::default(),
    })
}
