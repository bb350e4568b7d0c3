//! Kafka-first webhook ingest: receivers write each verified delivery to the inbound topic
//! and answer 200 once the broker acknowledged it, so webhooks keep being accepted while
//! PostgreSQL is down. A consumer group copies the records into the delivery log (offsets in
//! the same transaction), where the processor turns them into commands as usual.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use omnistream_ingest::arrivals::Arrivals;
use omnistream_ingest::deliveries::{self, DeliverySink, LogUnavailable, NewDelivery, Source};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::consumer::{BatchHandler, Record};
use crate::{BusError, KafkaMetrics, KafkaSettings};

/// Writes deliveries to the inbound topic.
#[derive(Clone)]
pub struct InboundPublisher {
    producer: FutureProducer,
    topic: String,
    metrics: KafkaMetrics,
}

impl InboundPublisher {
    /// A publisher to the configured inbound topic.
    pub fn new(settings: &KafkaSettings, metrics: KafkaMetrics) -> Result<Self, BusError> {
        Ok(Self {
            producer: settings.ingest_producer().create()?,
            topic: settings.inbound_topic(),
            metrics,
        })
    }
}

#[async_trait]
impl DeliverySink for InboundPublisher {
    async fn write(&self, delivery: NewDelivery) -> Result<(), LogUnavailable> {
        let (id, tenant, account) = (
            delivery.id.to_string(),
            delivery.tenant_id.to_string(),
            delivery.account_id.to_string(),
        );
        let received_at = delivery.received_at.to_rfc3339();
        let headers = OwnedHeaders::new()
            .insert(header("id", &id))
            .insert(header("tenant_id", &tenant))
            .insert(header("account_id", &account))
            .insert(header("source", delivery.source.as_str()))
            .insert(header("verification", &delivery.verification))
            .insert(header("content_type", &delivery.content_type))
            .insert(header("received_at", &received_at));
        // Keyed by account: one account's deliveries stay in order.
        let record = FutureRecord::to(&self.topic)
            .key(account.as_str())
            .payload(delivery.body.as_slice())
            .headers(headers);
        match self.producer.send(record, Duration::from_secs(2)).await {
            Ok(_) => {
                self.metrics.inbound_published.inc();
                Ok(())
            }
            Err((error, _)) => Err(LogUnavailable(format!("the inbound topic did not take it: {error}"))),
        }
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}

/// Copies inbound records into the delivery log.
pub struct InboundLog {
    arrivals: Arc<Arrivals>,
}

impl InboundLog {
    /// A handler telling `arrivals` (this process's processor) of each committed batch.
    pub fn new(arrivals: Arc<Arrivals>) -> Self {
        Self { arrivals }
    }
}

fn delivery_of(record: &Record) -> Result<NewDelivery, BusError> {
    let field = |name: &str| {
        record
            .header(name)
            .ok_or_else(|| BusError::Record(format!("inbound record at offset {} has no {name}", record.offset)))
    };
    let uuid = |name: &str| Uuid::parse_str(field(name)?).map_err(|e| BusError::Record(format!("{name}: {e}")));
    let source = field("source")?;
    Ok(NewDelivery {
        id: uuid("id")?,
        tenant_id: uuid("tenant_id")?,
        account_id: uuid("account_id")?,
        source: Source::parse(source).ok_or_else(|| BusError::Record(format!("unknown source {source}")))?,
        verification: field("verification")?.to_owned(),
        content_type: field("content_type")?.to_owned(),
        body: record.payload.clone(),
        received_at: DateTime::parse_from_rfc3339(field("received_at")?)
            .map_err(|e| BusError::Record(format!("received_at: {e}")))?
            .with_timezone(&Utc),
    })
}

#[async_trait]
impl BatchHandler for InboundLog {
    async fn apply(&self, tx: &mut PgConnection, _partition: i32, records: &[Record]) -> Result<(), BusError> {
        let mut batch = Vec::with_capacity(records.len());
        for record in records {
            match delivery_of(record) {
                Ok(delivery) => batch.push(delivery),
                // Only our receivers write here; a record they did not write is left out,
                // loudly, rather than stopping the partition for good.
                Err(error) => tracing::error!(%error, "inbound record skipped"),
            }
        }
        let refs: Vec<&NewDelivery> = batch.iter().collect();
        deliveries::insert(&mut *tx, &refs).await?;
        Ok(())
    }

    fn committed(&self, _records: usize) {
        self.arrivals.arrived();
    }
}
