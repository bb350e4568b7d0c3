//! The PostgreSQL backend: one `events` table, a `streams` table of heads, group commit.

mod notify;
mod read;
mod row;
mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{AppendOutcome, AppendRequest, Checkpoint, EventStore, RecordedEvent, StoreError};

pub use notify::{EVENTS_CHANNEL, READ_MODELS_CHANNEL};

/// Tuning of the PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStoreConfig {
    /// Parallel group-commit writers (each with its own connection).
    pub writers: usize,
    /// Most events one group transaction carries.
    pub max_group_events: usize,
    /// How often readers are woken when no notification came (the polling fallback).
    pub poll_interval: Duration,
}

impl Default for PgStoreConfig {
    fn default() -> Self {
        Self {
            writers: 2,
            max_group_events: 2000,
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// The PostgreSQL event store. Cheap to clone; clones share the writers.
#[derive(Clone)]
pub struct PgEventStore {
    pool: PgPool,
    queue: mpsc::Sender<writer::Unit>,
    wake_ups: watch::Receiver<u64>,
    appended: Arc<AtomicU64>,
}

impl PgEventStore {
    /// Starts the group-commit writers and the notification listener on a pool.
    pub async fn start(pool: PgPool, config: PgStoreConfig) -> Result<Self, StoreError> {
        let (queue, receiver) = mpsc::channel(16 * 1024);
        let appended = Arc::new(AtomicU64::new(0));
        writer::spawn(
            pool.clone(),
            receiver,
            config.writers,
            config.max_group_events,
            appended.clone(),
        );
        let wake_ups = notify::spawn(pool.clone(), config.poll_interval).await?;
        Ok(Self {
            pool,
            queue,
            wake_ups,
            appended,
        })
    }

    /// Events this process has appended since it started.
    pub fn events_appended(&self) -> u64 {
        self.appended.load(Ordering::Relaxed)
    }

    /// The pool the store reads and writes through.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl EventStore for PgEventStore {
    async fn append(&self, requests: Vec<AppendRequest>) -> Result<Vec<AppendOutcome>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(writer::Unit { requests, reply })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    async fn read_stream(&self, stream_id: &str, from_version: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        read::stream(&self.pool, stream_id, from_version).await
    }

    async fn read_all(&self, after: Checkpoint, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        read::all(&self.pool, after, limit).await
    }

    async fn head_position(&self) -> Result<i64, StoreError> {
        read::head_position(&self.pool).await
    }

    fn wake_ups(&self) -> watch::Receiver<u64> {
        self.wake_ups.clone()
    }
}

pub use read::{checkpoint_at, current_checkpoint, read_tenant, read_tenant_after};
