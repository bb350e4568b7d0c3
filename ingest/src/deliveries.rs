//! The delivery log: webhook deliveries as they arrived, written before the provider gets its
//! 200 and processed afterwards. Writes are group-committed: concurrent receivers share one
//! multi-row insert and one commit, so a burst of deliveries costs a few transactions.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Deliveries written per transaction, at most.
const MAX_GROUP: usize = 512;

/// Which receiver took a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// WhatsApp Cloud API.
    Whatsapp,
    /// Instagram Messaging.
    Instagram,
    /// Postmark inbound.
    Postmark,
    /// Mailgun routes.
    Mailgun,
    /// SendGrid Inbound Parse.
    Sendgrid,
}

impl Source {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Whatsapp => "whatsapp",
            Source::Instagram => "instagram",
            Source::Postmark => "postmark",
            Source::Mailgun => "mailgun",
            Source::Sendgrid => "sendgrid",
        }
    }

    /// The source of a stored name.
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "whatsapp" => Some(Source::Whatsapp),
            "instagram" => Some(Source::Instagram),
            "postmark" => Some(Source::Postmark),
            "mailgun" => Some(Source::Mailgun),
            "sendgrid" => Some(Source::Sendgrid),
            _ => None,
        }
    }
}

/// A delivery accepted for one account.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    /// Its id (the causation of every event it leads to).
    pub id: Uuid,
    /// The account's organization.
    pub tenant_id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// The receiver.
    pub source: Source,
    /// How it was authenticated (`x-hub-signature-256`, `mailgun-signature`, ...).
    pub verification: String,
    /// Its content type.
    pub content_type: String,
    /// The raw body.
    pub body: Vec<u8>,
    /// When the receiver accepted it.
    pub received_at: DateTime<Utc>,
}

/// Where receivers put the deliveries they accept before answering 200: the delivery log
/// in PostgreSQL, or (Kafka-first ingest) the inbound topic.
#[async_trait::async_trait]
pub trait DeliverySink: Send + Sync {
    /// Keeps a delivery durably; returns once it is.
    async fn write(&self, delivery: NewDelivery) -> Result<(), LogUnavailable>;
}

/// The delivery log could not take a delivery.
#[derive(Debug, thiserror::Error)]
#[error("the delivery log is unavailable: {0}")]
pub struct LogUnavailable(pub String);

type Pending = (NewDelivery, oneshot::Sender<Result<(), String>>);

/// The writer side of the log.
#[derive(Clone)]
pub struct DeliveryLog {
    sender: mpsc::Sender<Pending>,
}

#[async_trait::async_trait]
impl DeliverySink for DeliveryLog {
    async fn write(&self, delivery: NewDelivery) -> Result<(), LogUnavailable> {
        DeliveryLog::write(self, delivery).await
    }
}

impl DeliveryLog {
    /// Starts `writers` group-commit writers on the pool.
    pub fn start(pool: PgPool, writers: usize) -> Self {
        let (sender, receiver) = mpsc::channel::<Pending>(MAX_GROUP * 8);
        let receiver = std::sync::Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            let pool = pool.clone();
            let receiver = receiver.clone();
            tokio::spawn(async move {
                loop {
                    let mut group = Vec::new();
                    {
                        let mut receiver = receiver.lock().await;
                        if receiver.recv_many(&mut group, MAX_GROUP).await == 0 {
                            return;
                        }
                    }
                    let deliveries: Vec<&NewDelivery> = group.iter().map(|(d, _)| d).collect();
                    let result = insert(&pool, &deliveries).await;
                    let result = result.map_err(|e| e.to_string());
                    if let Err(error) = &result {
                        tracing::error!(%error, deliveries = group.len(), "delivery log write failed");
                    }
                    for (_, reply) in group {
                        let _ = reply.send(result.clone());
                    }
                }
            });
        }
        Self { sender }
    }

    /// Writes a delivery; returns once it is committed.
    pub async fn write(&self, delivery: NewDelivery) -> Result<(), LogUnavailable> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((delivery, reply))
            .await
            .map_err(|_| LogUnavailable("the log writers stopped".into()))?;
        match tokio::time::timeout(Duration::from_secs(10), answer).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(error))) => Err(LogUnavailable(error)),
            Ok(Err(_)) => Err(LogUnavailable("the log writer stopped".into())),
            Err(_) => Err(LogUnavailable("the write timed out".into())),
        }
    }
}

/// Writes deliveries in one statement; a delivery already logged (same id) is left as it is.
pub async fn insert<'e>(executor: impl sqlx::PgExecutor<'e>, group: &[&NewDelivery]) -> Result<(), sqlx::Error> {
    let (mut ids, mut tenants, mut accounts, mut sources) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut verifications, mut types, mut bodies, mut times) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for d in group {
        ids.push(d.id);
        tenants.push(d.tenant_id);
        accounts.push(d.account_id);
        sources.push(d.source.as_str());
        verifications.push(d.verification.as_str());
        types.push(d.content_type.as_str());
        bodies.push(d.body.as_slice());
        times.push(d.received_at);
    }
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, tenant_id, account_id, provider, verification, content_type, body, received_at) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bytea[], \
                              $8::timestamptz[]) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&ids)
    .bind(&tenants)
    .bind(&accounts)
    .bind(&sources)
    .bind(&verifications)
    .bind(&types)
    .bind(&bodies)
    .bind(&times)
    .execute(executor)
    .await?;
    Ok(())
}

/// A delivery claimed for processing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    /// Its id.
    pub id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// The receiver's name.
    pub provider: String,
    /// The raw body.
    pub body: Vec<u8>,
    /// Its content type.
    pub content_type: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// Processing attempts so far, this one included.
    pub attempts: i32,
}

impl ClaimedDelivery {
    /// How this claim of it ended.
    pub fn ended(&self, outcome: Outcome) -> Finished {
        Finished {
            id: self.id,
            attempts: self.attempts,
            outcome,
        }
    }
}

/// How long a claim lasts before another processor may take the delivery again.
pub const LEASE: Duration = Duration::from_secs(60);

/// Claims up to `limit` pending deliveries, oldest first, for [`LEASE`].
pub async fn claim(pool: &PgPool, limit: i64) -> Result<Vec<ClaimedDelivery>, sqlx::Error> {
    sqlx::query_as(
        "WITH due AS (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= now() \
                      ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         UPDATE webhook_deliveries w SET attempts = w.attempts + 1, \
                next_attempt_at = now() + make_interval(secs => $2) \
         FROM due WHERE w.id = due.id \
         RETURNING w.id, w.tenant_id, w.account_id, w.provider, w.body, w.content_type, w.received_at, w.attempts",
    )
    .bind(limit)
    .bind(LEASE.as_secs_f64())
    .fetch_all(pool)
    .await
    .map(|mut rows: Vec<ClaimedDelivery>| {
        rows.sort_by_key(|d| (d.received_at, d.id));
        rows
    })
}

/// How processing a delivery ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every item handled (some may have been refused, as `summary` tells).
    Processed {
        /// What was done, item by item in counts and refusals.
        summary: Value,
        /// The contacts whose messages it carried (erasing one deletes the delivery).
        subjects: Vec<Uuid>,
    },
    /// Try again after `delay`.
    Retry {
        /// Why it failed.
        error: String,
        /// When to try again.
        delay: Duration,
    },
    /// Given up.
    Failed {
        /// Why.
        error: String,
    },
}

/// How processing one claim of a delivery ended, until it is recorded.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The delivery.
    pub id: Uuid,
    /// Its attempts when it was claimed: the claim this outcome belongs to.
    pub attempts: i32,
    /// How it ended.
    pub outcome: Outcome,
}

/// Records how processing ended, if the delivery is still pending under the same claim: once
/// its lease ended and another processor claimed it again, that one's outcome counts.
pub async fn finish(pool: &PgPool, finished: &Finished) -> Result<(), sqlx::Error> {
    let Finished { id, attempts, outcome } = finished;
    let query = match outcome {
        Outcome::Processed { summary, subjects } => sqlx::query(
            "UPDATE webhook_deliveries SET state = 'processed', processed_at = now(), outcome = $3, subject_ids = $4 \
             WHERE id = $1 AND attempts = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(attempts)
        .bind(summary)
        .bind(subjects),
        Outcome::Retry { error, delay } => sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $3), \
             outcome = jsonb_build_object('error', $4::text) WHERE id = $1 AND attempts = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(attempts)
        .bind(delay.as_secs_f64())
        .bind(error),
        Outcome::Failed { error } => sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', processed_at = now(), \
             outcome = jsonb_build_object('error', $3::text) WHERE id = $1 AND attempts = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(attempts)
        .bind(error),
    };
    query.execute(pool).await?;
    Ok(())
}

/// Deletes the deliveries that carried a contact's messages (its erasure); answers how many.
pub async fn forget_subject(pool: &PgPool, tenant_id: Uuid, contact_id: Uuid) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND subject_ids @> ARRAY[$2]::uuid[]")
        .bind(tenant_id)
        .bind(contact_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes processed deliveries older than `retention`; answers how many.
pub async fn purge(pool: &PgPool, retention: Duration) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND received_at < now() - make_interval(secs => $1)",
    )
    .bind(retention.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// A logged delivery as the admin screens show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoggedDelivery {
    /// Its id (the causation id of the events it led to).
    pub id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// The receiver.
    pub provider: String,
    /// How it was authenticated.
    pub verification: String,
    /// Its content type.
    pub content_type: String,
    /// The raw body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// `pending`, `processed` or `failed`.
    pub state: String,
    /// Processing attempts.
    pub attempts: i32,
    /// When processing ended.
    pub processed_at: Option<DateTime<Utc>>,
    /// What processing did (counts, refusals) or why it failed.
    pub outcome: Option<Value>,
}

const LOGGED: &str = "id, account_id, provider, verification, content_type, body, received_at, state, attempts, \
    processed_at, outcome";

/// A tenant's deliveries, newest first, optionally of one account and state; `before` pages
/// (the last id of the previous page).
pub async fn list(
    pool: &PgPool,
    tenant_id: Uuid,
    account_id: Option<Uuid>,
    state: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<LoggedDelivery>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {LOGGED} FROM webhook_deliveries WHERE tenant_id = $1 AND ($2::uuid IS NULL OR account_id = $2) \
         AND ($3::text IS NULL OR state = $3) AND ($4::uuid IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    ))
    .bind(tenant_id)
    .bind(account_id)
    .bind(state)
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// One delivery of a tenant.
pub async fn get(pool: &PgPool, tenant_id: Uuid, id: Uuid) -> Result<Option<LoggedDelivery>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {LOGGED} FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tenant_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}
