//! The KurrentDB (EventStoreDB) backend, over the official gRPC client (`kurrentdb` crate).
//!
//! What maps to what:
//! - a stream is a KurrentDB stream of the same name; its version is the revision + 1;
//! - the event id is KurrentDB's event id, so the server's own retry detection applies;
//! - the payload is the event's JSON data; tenant, schema version, our metadata, recording
//!   time and the hash chain travel in the custom-metadata JSON (see `envelope`);
//! - a checkpoint is a `$all` position, `tx_id` = commit position and `position` = prepare
//!   position (that is `$all` order); an event's `position` is its prepare position;
//! - `read_all` and `head_position` leave out KurrentDB's system streams and events (`$…`).
//!
//! Limits, compared with PostgreSQL:
//! - one stream per append: client 1.2 has no multi-stream append, so an append of several
//!   requests is refused with [`StoreError::MultiStreamAppendUnsupported`] before anything
//!   is written;
//! - retries are recognised when the whole append is the stream's latest one, or (by the
//!   server) when it is sent again with the same explicit expected version; an `Any` append
//!   resent after the stream moved on, or an append mixing stored and new event ids, is not
//!   a no-op as on PostgreSQL (there: every stored id is skipped, wherever it is);
//! - an `Any` append is pinned to the revision it read, and gives up with a conflict after a
//!   few lost races; each append costs a tail read before and a position read after.

mod append;
mod envelope;
mod read;
mod wake;

use async_trait::async_trait;
use kurrentdb::{Client, ClientSettings};
use tokio::sync::watch;

use crate::{AppendOutcome, AppendRequest, Checkpoint, EventStore, RecordedEvent, StoreError};

/// The KurrentDB event store. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct KurrentEventStore {
    client: Client,
    wake_ups: watch::Receiver<u64>,
}

impl KurrentEventStore {
    /// Connects with a `kurrentdb://` (or `esdb://`) connection string, checks that `$all`
    /// is readable, and starts the wake-up subscription.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        // The parse error may quote the connection string, credentials included: not shown.
        let settings: ClientSettings = url.parse().map_err(|e: kurrentdb::ClientSettingsParseError| {
            let detail = e.error().map(|e| format!(": {e}")).unwrap_or_default();
            StoreError::Backend(format!("invalid KurrentDB connection string{detail}"))
        })?;
        let client =
            Client::new(settings).map_err(|e| StoreError::Backend(format!("cannot create a KurrentDB client: {e}")))?;
        read::head_position(&client).await?;
        let wake_ups = wake::spawn(client.clone());
        Ok(Self { client, wake_ups })
    }
}

#[async_trait]
impl EventStore for KurrentEventStore {
    async fn append(&self, requests: Vec<AppendRequest>) -> Result<Vec<AppendOutcome>, StoreError> {
        match requests.as_slice() {
            [] => Ok(Vec::new()),
            [request] => Ok(vec![append::append(&self.client, request).await?]),
            several => Err(StoreError::MultiStreamAppendUnsupported { streams: several.len() }),
        }
    }

    async fn read_stream(&self, stream_id: &str, from_version: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        read::stream(&self.client, stream_id, from_version).await
    }

    async fn read_all(&self, after: Checkpoint, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        read::all(&self.client, after, limit).await
    }

    async fn head_position(&self) -> Result<i64, StoreError> {
        read::head_position(&self.client).await
    }

    fn wake_ups(&self) -> watch::Receiver<u64> {
        self.wake_ups.clone()
    }
}

/// A client error as a store error (its messages name no credentials).
fn backend(error: kurrentdb::Error) -> StoreError {
    StoreError::Backend(format!("KurrentDB: {error}"))
}
