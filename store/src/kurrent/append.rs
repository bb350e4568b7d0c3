//! Appends to one stream: the optimistic-concurrency check is KurrentDB's expected revision,
//! the hash chain is computed from the stream's last event, and a retry is recognised by
//! event id.
//!
//! Every append reads the stream's tail first (for the chain, the tenant check and retries).
//! An `Any` append is sent with the revision that tail showed, so a concurrent writer cannot
//! slip between the chain's links; when one does, the append starts over, a few times.

use kurrentdb::{AppendToStreamOptions, Client, CurrentRevision, ReadStreamOptions, StreamPosition, StreamState};

use super::backend;
use super::envelope::{decode, encode, recording_time};
use super::read::tail;
use crate::{AppendOutcome, AppendRequest, ExpectedVersion, StoreError};

/// How often an `Any` append starts over when another writer moved the stream meanwhile.
const ANY_ATTEMPTS: usize = 5;

/// Appends one request; see the module documentation.
pub(super) async fn append(client: &Client, request: &AppendRequest) -> Result<AppendOutcome, StoreError> {
    let mut attempt = 1;
    loop {
        match try_append(client, request).await {
            Ok(outcome) => return Ok(outcome),
            Err(Failure::Raced { actual }) if request.expected == ExpectedVersion::Any && attempt < ANY_ATTEMPTS => {
                tracing::debug!(stream_id = %request.stream_id, actual, attempt, "stream moved during an append; retrying");
                attempt += 1;
            }
            Err(Failure::Raced { actual }) => return Err(conflict(request, actual)),
            Err(Failure::Store(error)) => return Err(error),
        }
    }
}

/// Why one attempt failed.
enum Failure {
    /// The server refused the expected revision: the stream is at `actual`.
    Raced { actual: i64 },
    /// Anything else.
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Store(error)
    }
}

async fn try_append(client: &Client, request: &AppendRequest) -> Result<AppendOutcome, Failure> {
    let tail = tail(client, &request.stream_id, request.events.len()).await?;
    let head = tail.first();
    let head_version = head.map_or(0, |e| e.version);
    let unchanged = AppendOutcome {
        stream_id: request.stream_id.clone(),
        version: head_version,
        positions: Vec::new(),
    };
    if head.is_some_and(|e| e.tenant_id != request.tenant_id) {
        return Err(StoreError::TenantMismatch(request.stream_id.clone()).into());
    }
    // The retry of the stream's latest append: its events are the tail already.
    let stored = |id| tail.iter().any(|e| e.event_id == id);
    if request.events.iter().all(|e| stored(e.event_id)) {
        return Ok(unchanged);
    }
    let state = match request.expected {
        ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => StreamState::NoStream,
        ExpectedVersion::Exact(version) => match u64::try_from(version - 1) {
            Ok(revision) => StreamState::StreamRevision(revision),
            Err(_) => return Err(conflict(request, head_version).into()),
        },
        ExpectedVersion::Any => match u64::try_from(head_version - 1) {
            Ok(revision) => StreamState::StreamRevision(revision),
            Err(_) => StreamState::NoStream,
        },
    };

    // When the expectation does not match the head, nothing below is written: the server
    // refuses it, or finds the same event ids already there (a retry) and writes nothing.
    let recorded_at = recording_time();
    let mut prev_hash = head.map(|e| e.hash.clone());
    let mut events = Vec::with_capacity(request.events.len());
    for (offset, event) in (1..).zip(&request.events) {
        let encoded = encode(
            &request.stream_id,
            head_version + offset,
            request.tenant_id,
            event,
            prev_hash.as_deref(),
            event.recorded_at.unwrap_or(recorded_at),
        )?;
        events.push(encoded.data);
        prev_hash = Some(encoded.hash);
    }
    let options = AppendToStreamOptions::default().stream_state(state);
    let written = match client
        .append_to_stream(request.stream_id.as_str(), &options, events)
        .await
    {
        Ok(written) => written,
        Err(kurrentdb::Error::WrongExpectedVersion { current, .. }) => {
            let actual = match current {
                CurrentRevision::Current(revision) => version_of(revision),
                CurrentRevision::NoStream => 0,
            };
            return Err(Failure::Raced { actual });
        }
        Err(error) => return Err(backend(error).into()),
    };
    let version = version_of(written.next_expected_version);
    if version <= head_version {
        // The server recognised the event ids at the expected revision: an earlier append's.
        return Ok(unchanged);
    }
    Ok(AppendOutcome {
        stream_id: request.stream_id.clone(),
        version,
        positions: positions(client, request, version).await?,
    })
}

/// A stream version (from 1) from a KurrentDB revision (from 0).
fn version_of(revision: u64) -> i64 {
    i64::try_from(revision).map_or(i64::MAX, |r| r + 1)
}

/// The prepare positions of the events just written, read back (the append answers one
/// position for the whole write).
async fn positions(client: &Client, request: &AppendRequest, version: i64) -> Result<Vec<i64>, StoreError> {
    let count = request.events.len();
    let first_revision = u64::try_from(version - count as i64).unwrap_or(0);
    let options = ReadStreamOptions::default()
        .position(StreamPosition::Position(first_revision))
        .forwards()
        .max_count(count);
    let mut read = client
        .read_stream(request.stream_id.as_str(), &options)
        .await
        .map_err(backend)?;
    let mut positions = Vec::with_capacity(count);
    while let Some(resolved) = read.next().await.map_err(backend)? {
        let event = decode(resolved.get_original_event())?;
        if request.events.iter().any(|e| e.event_id == event.event_id) {
            positions.push(event.position);
        }
    }
    Ok(positions)
}

fn conflict(request: &AppendRequest, actual: i64) -> StoreError {
    StoreError::Conflict {
        stream_id: request.stream_id.clone(),
        expected: request.expected.to_string(),
        actual,
    }
}
