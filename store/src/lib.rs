//! The event store: the [`EventStore`] contract every backend passes, and the PostgreSQL
//! backend with group commit, gap-safe catch-up reads and LISTEN/NOTIFY wake-ups.

pub mod audit;
pub mod error;
pub mod event;
pub mod hash;
#[cfg(feature = "kurrentdb")]
pub mod kurrent;
pub mod partitioning;
pub mod postgres;
pub mod shredding;

use async_trait::async_trait;
use tokio::sync::watch;

pub use error::StoreError;
pub use event::{AppendOutcome, AppendRequest, Checkpoint, ExpectedVersion, NewEvent, RecordedEvent};
#[cfg(feature = "kurrentdb")]
pub use kurrent::KurrentEventStore;
pub use postgres::PgEventStore;
pub use shredding::{Shredder, ShreddingStore};

/// What every event-store backend offers.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends to one or more streams atomically: all requests land, or none do.
    ///
    /// Events whose id is already stored are skipped, so retrying an append is harmless.
    async fn append(&self, requests: Vec<AppendRequest>) -> Result<Vec<AppendOutcome>, StoreError>;

    /// Reads one stream from a version on (1 is the first event), in version order.
    async fn read_stream(&self, stream_id: &str, from_version: i64) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Reads up to `limit` events after a checkpoint, in the store's catch-up order; never
    /// passes an event that a still-open transaction may yet commit before it.
    async fn read_all(&self, after: Checkpoint, limit: i64) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Like [`EventStore::read_all`], leaving personal fields as stored: sealed where a
    /// decorator would open them. For readers that never look at personal data, which then
    /// pay neither the key lookups nor the decryption.
    async fn read_all_sealed(&self, after: Checkpoint, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_all(after, limit).await
    }

    /// The highest global position stored, 0 when empty.
    async fn head_position(&self) -> Result<i64, StoreError>;

    /// A receiver that changes whenever new events may be readable.
    fn wake_ups(&self) -> watch::Receiver<u64>;
}
