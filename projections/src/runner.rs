//! Runs one projection: batches of events applied in one transaction with the checkpoint,
//! catching up from the checkpoint and then following the log as it grows.

use std::sync::Arc;
use std::time::Duration;

use omnistream_store::EventStore;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::metrics::ProjectionMetrics;
use crate::projection::{apply_into, read_for, Prefetch};
use crate::{changes, state, Projection, ProjectionError};

/// Events applied per transaction.
pub const DEFAULT_BATCH: i64 = 500;

/// The runner of one projection.
#[derive(Clone)]
pub struct Runner {
    store: Arc<dyn EventStore>,
    pool: PgPool,
    projection: Arc<dyn Projection>,
    metrics: Option<ProjectionMetrics>,
    batch: i64,
}

impl Runner {
    /// A runner of `projection` over `store`, writing to `pool`.
    pub fn new(store: Arc<dyn EventStore>, pool: PgPool, projection: Arc<dyn Projection>) -> Self {
        Self {
            store,
            pool,
            projection,
            metrics: None,
            batch: DEFAULT_BATCH,
        }
    }

    /// Reports lag and progress to these metrics.
    pub fn with_metrics(mut self, metrics: ProjectionMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Applies at most `batch` events per transaction (default [`DEFAULT_BATCH`]).
    pub fn with_batch(mut self, batch: i64) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Applies at most one batch; answers how many events it applied.
    ///
    /// The events are read before the transaction, so a batch holds one connection at a
    /// time. The state row is then locked and its checkpoint compared with the one read
    /// from: two runners of the same projection (two processes) take turns, and one that
    /// finds the checkpoint moved reads again instead of applying the same events twice.
    pub async fn run_batch(&self) -> Result<usize, ProjectionError> {
        self.run_batch_prefetching(&mut None).await
    }

    /// [`Runner::run_batch`], taking its events from `prefetch` when that read starts at the
    /// checkpoint, and leaving in it a read of the batch after a full one.
    #[tracing::instrument(skip_all, fields(projection = self.projection.name()), err)]
    async fn run_batch_prefetching(&self, prefetch: &mut Option<Prefetch>) -> Result<usize, ProjectionError> {
        let name = self.projection.name();
        let personal = self.projection.needs_personal_data();
        loop {
            let seen = state::checkpoint(&self.pool, name).await?;
            let events = match prefetch.take() {
                Some(read) if read.after() == seen => read.events().await?,
                _ => read_for(self.store.as_ref(), personal, seen, self.batch).await?,
            };
            let Some(last) = events.last() else {
                self.report(seen.position).await;
                return Ok(0);
            };
            let checkpoint = last.checkpoint();
            let mut tx = self.pool.begin().await?;
            let installed = state::lock(&mut tx, name).await?;
            if installed.source != state::SOURCE_STORE {
                // Kafka workers feed it; applying here too would apply events twice.
                tx.rollback().await?;
                tracing::debug!(projection = name, source = %installed.source, "fed from elsewhere; not applying");
                return Ok(0);
            }
            if installed.checkpoint != seen {
                tx.rollback().await?;
                continue;
            }
            if events.len() as i64 == self.batch {
                // A full batch: more is probably waiting, so read it while this one applies.
                *prefetch = Some(Prefetch::start(&self.store, personal, checkpoint, self.batch));
            }
            apply_into(
                &mut tx,
                self.projection.as_ref(),
                &installed.schema_name,
                &events,
                installed.events_applied,
            )
            .await?;
            state::save_checkpoint(&mut tx, name, checkpoint, events.len() as i64).await?;
            changes::announce(&mut tx, name, &events).await?;
            tx.commit().await?;
            if let Some(metrics) = &self.metrics {
                metrics.applied.with_label_values(&[name]).inc_by(events.len() as u64);
            }
            self.report(checkpoint.position).await;
            return Ok(events.len());
        }
    }

    async fn report(&self, position: i64) {
        let Some(metrics) = &self.metrics else { return };
        let name = self.projection.name();
        metrics.position.with_label_values(&[name]).set(position);
        if let Ok(head) = self.store.head_position().await {
            metrics.lag.with_label_values(&[name]).set((head - position).max(0));
        }
    }

    /// Applies batches until the projection has caught up with what is readable now.
    pub async fn catch_up(&self) -> Result<usize, ProjectionError> {
        let mut total = 0;
        let mut prefetch = None;
        loop {
            let applied = self.run_batch_prefetching(&mut prefetch).await?;
            total += applied;
            if applied == 0 {
                return Ok(total);
            }
        }
    }

    /// Follows the log until `shutdown` turns true: catches up, then waits for wake-ups.
    /// A failing batch is logged and retried with backoff; it is never skipped.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut wake_ups = self.store.wake_ups();
        let mut backoff = Duration::from_millis(100);
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.catch_up().await {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(error) => {
                    tracing::error!(projection = self.projection.name(), %error, "projection batch failed; retrying");
                    if let Some(metrics) = &self.metrics {
                        metrics.failures.with_label_values(&[self.projection.name()]).inc();
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            }
            tokio::select! {
                changed = wake_ups.changed() => if changed.is_err() { return },
                _ = shutdown.changed() => {}
            }
        }
    }
}
