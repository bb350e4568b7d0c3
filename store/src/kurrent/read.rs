//! Reads: one stream, the catch-up read of `$all`, and the head of `$all`.
//!
//! `$all` also holds KurrentDB's own events (system streams and event types start with
//! `$`); they are skipped on the client, so a page read from the server may yield fewer
//! events than it carried and reads go on page by page.

use kurrentdb::{Client, Position, ReadAllOptions, ReadStreamOptions, StreamPosition};

use super::backend;
use super::envelope::{decode, is_system, position_of};
use crate::{Checkpoint, RecordedEvent, StoreError};

/// The most events one `$all` page asks the server for.
const MAX_PAGE: usize = 1000;
/// The page size when looking for the newest event from the end of `$all`.
const HEAD_PAGE: usize = 32;

/// One stream from a version on (versions are revisions + 1); empty when it does not exist.
pub(super) async fn stream(
    client: &Client,
    stream_id: &str,
    from_version: i64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let start = match u64::try_from(from_version.saturating_sub(1)) {
        Ok(revision) if revision > 0 => StreamPosition::Position(revision),
        _ => StreamPosition::Start,
    };
    let options = ReadStreamOptions::default().position(start).forwards();
    read_stream_with(client, stream_id, &options).await
}

/// The last `count` events of a stream, newest first; empty when it does not exist.
pub(super) async fn tail(client: &Client, stream_id: &str, count: usize) -> Result<Vec<RecordedEvent>, StoreError> {
    let options = ReadStreamOptions::default()
        .position(StreamPosition::End)
        .backwards()
        .max_count(count.max(1));
    read_stream_with(client, stream_id, &options).await
}

/// Up to `limit` events after a checkpoint, in `$all` order, system events left out.
///
/// Whether the server starts a read at the given position or just after it, events at or
/// before the last one seen are skipped, so nothing is returned twice.
pub(super) async fn all(client: &Client, after: Checkpoint, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
    let limit = usize::try_from(limit).unwrap_or(0);
    let mut events = Vec::new();
    if limit == 0 {
        return Ok(events);
    }
    let mut seen = position_of(after);
    let mut from = if after == Checkpoint::default() {
        StreamPosition::Start
    } else {
        StreamPosition::Position(seen)
    };
    loop {
        // One more than still wanted, and at least two, so a page that starts with the
        // event already seen still moves the reader on.
        let page = (limit - events.len() + 1).clamp(2, MAX_PAGE);
        let options = ReadAllOptions::default().position(from).forwards().max_count(page);
        let mut read = client.read_all(&options).await.map_err(backend)?;
        let mut carried = 0;
        while let Some(resolved) = read.next().await.map_err(backend)? {
            carried += 1;
            let stored = resolved.get_original_event();
            if stored.position <= seen {
                continue;
            }
            seen = stored.position;
            if is_system(stored) {
                continue;
            }
            events.push(decode(stored)?);
            if events.len() == limit {
                return Ok(events);
            }
        }
        let moved = StreamPosition::Position(seen) != from;
        if carried < page || !moved {
            return Ok(events);
        }
        from = StreamPosition::Position(seen);
    }
}

/// The prepare position of the newest non-system event, 0 when there is none.
pub(super) async fn head_position(client: &Client) -> Result<i64, StoreError> {
    let mut from = StreamPosition::End;
    let mut seen: Option<Position> = None;
    loop {
        let options = ReadAllOptions::default()
            .position(from)
            .backwards()
            .max_count(HEAD_PAGE);
        let mut read = client.read_all(&options).await.map_err(backend)?;
        let mut carried = 0;
        while let Some(resolved) = read.next().await.map_err(backend)? {
            carried += 1;
            let stored = resolved.get_original_event();
            if seen.is_some_and(|seen| stored.position >= seen) {
                continue;
            }
            seen = Some(stored.position);
            if !is_system(stored) {
                return Ok(i64::try_from(stored.position.prepare).unwrap_or(i64::MAX));
            }
        }
        match seen {
            Some(position) if carried == HEAD_PAGE && StreamPosition::Position(position) != from => {
                from = StreamPosition::Position(position);
            }
            _ => return Ok(0),
        }
    }
}

/// Every event a stream read with `options` yields; empty when the stream does not exist.
async fn read_stream_with(
    client: &Client,
    stream_id: &str,
    options: &ReadStreamOptions,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut read = client.read_stream(stream_id, options).await.map_err(backend)?;
    let mut events = Vec::new();
    loop {
        match read.next().await {
            Ok(Some(resolved)) => events.push(decode(resolved.get_original_event())?),
            Ok(None) => return Ok(events),
            Err(kurrentdb::Error::ResourceNotFound) => return Ok(Vec::new()),
            Err(error) => return Err(backend(error)),
        }
    }
}
