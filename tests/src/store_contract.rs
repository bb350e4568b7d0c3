//! The event-store contract: what every [`EventStore`] backend promises, as functions that
//! take a store and a stream prefix and panic when the promise is broken.
//!
//! Every stream a function touches starts with its prefix, and reads of everything look only
//! at those streams, so the suite runs against a shared server (pass [`unique_prefix`]).

use std::time::{Duration, Instant};

use omnistream_domain::Metadata;
use omnistream_store::hash::{chain_hash, HashedContent};
use omnistream_store::{
    AppendOutcome, AppendRequest, EventStore, ExpectedVersion, NewEvent, RecordedEvent, StoreError,
};
use serde_json::json;
use uuid::Uuid;

/// How long a read of everything may take to show what was appended: PostgreSQL's fence
/// holds back events while any older transaction of the cluster is open.
const VISIBLE_WITHIN: Duration = Duration::from_secs(10);

/// A prefix no other run uses.
pub fn unique_prefix(name: &str) -> String {
    format!("{name}{}", Uuid::new_v4().simple())
}

/// A test event whose payload carries `n`.
pub fn event(n: i64) -> NewEvent {
    let mut metadata = Metadata::system();
    metadata.correlation_id = Some(Uuid::now_v7());
    metadata.request_id = Some(format!("req-{n}"));
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "Thing".into(),
        schema_version: 1,
        payload: json!({ "n": n, "nested": { "b": 1, "a": [1.5, "x"] } }),
        metadata,
        recorded_at: None,
    }
}

/// A request to append `events` to one stream.
pub fn request(stream: &str, tenant: Option<Uuid>, expected: ExpectedVersion, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        stream_id: stream.into(),
        tenant_id: tenant,
        expected,
        events,
    }
}

async fn append_one(store: &dyn EventStore, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
    store.append(vec![request]).await.map(|mut outcomes| {
        assert_eq!(outcomes.len(), 1, "one outcome per request");
        outcomes.remove(0)
    })
}

async fn read(store: &dyn EventStore, stream: &str, from_version: i64) -> Vec<RecordedEvent> {
    store.read_stream(stream, from_version).await.expect("read stream")
}

fn numbers(events: &[RecordedEvent]) -> Vec<i64> {
    events.iter().map(|e| e.payload["n"].as_i64().unwrap_or(-1)).collect()
}

/// Expected versions: `NoStream`, `Exact` and `Any` are enforced, a refused append writes
/// nothing and its conflict names the stream's actual version.
pub async fn expected_versions_are_enforced(store: &dyn EventStore, prefix: &str) {
    let stream = format!("{prefix}-versions");
    let tenant = Some(Uuid::now_v7());
    let first = append_one(
        store,
        request(&stream, tenant, ExpectedVersion::NoStream, vec![event(1), event(2)]),
    )
    .await
    .expect("first append");
    assert_eq!((first.stream_id.as_str(), first.version), (stream.as_str(), 2));
    assert_eq!(first.positions.len(), 2);

    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Exact(1),
    ] {
        let refused = append_one(store, request(&stream, tenant, expected, vec![event(3)])).await;
        assert!(
            matches!(&refused, Err(StoreError::Conflict { stream_id, actual: 2, .. }) if *stream_id == stream),
            "{expected:?}: {refused:?}"
        );
        assert!(refused.is_err_and(|e| e.is_conflict()));
    }
    assert_eq!(
        read(store, &stream, 1).await.len(),
        2,
        "a refused append writes nothing"
    );

    let exact = append_one(
        store,
        request(&stream, tenant, ExpectedVersion::Exact(2), vec![event(3)]),
    )
    .await
    .expect("exact");
    assert_eq!(exact.version, 3);
    let any = append_one(store, request(&stream, tenant, ExpectedVersion::Any, vec![event(4)]))
        .await
        .expect("any");
    assert_eq!(any.version, 4);

    let missing = format!("{prefix}-versions-missing");
    let ahead = append_one(
        store,
        request(&missing, tenant, ExpectedVersion::Exact(5), vec![event(1)]),
    )
    .await;
    assert!(
        matches!(ahead, Err(StoreError::Conflict { actual: 0, .. })),
        "{ahead:?}"
    );
    assert!(read(store, &missing, 1).await.is_empty());
    let created = append_one(
        store,
        request(&missing, tenant, ExpectedVersion::Exact(0), vec![event(1)]),
    )
    .await
    .expect("exact 0 creates the stream");
    assert_eq!(created.version, 1);
    let any_new = format!("{prefix}-versions-any");
    let created = append_one(store, request(&any_new, tenant, ExpectedVersion::Any, vec![event(1)]))
        .await
        .expect("any creates the stream");
    assert_eq!(created.version, 1);
}

/// Reads of one stream: in version order from a given version, with everything that was
/// appended, each event's hash chained on the one before; a missing stream reads empty.
pub async fn read_stream_returns_what_was_appended(store: &dyn EventStore, prefix: &str) {
    let stream = format!("{prefix}-read");
    let tenant = Some(Uuid::now_v7());
    let appended = vec![event(1), event(2), event(3), event(4)];
    let outcome = append_one(
        store,
        request(&stream, tenant, ExpectedVersion::NoStream, appended[..3].to_vec()),
    )
    .await
    .expect("append");
    append_one(
        store,
        request(&stream, tenant, ExpectedVersion::Exact(3), appended[3..].to_vec()),
    )
    .await
    .expect("append");

    let all = read(store, &stream, 1).await;
    assert_eq!(all.iter().map(|e| e.version).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    assert_eq!(numbers(&all), vec![1, 2, 3, 4]);
    assert_eq!(
        outcome.positions,
        all[..3].iter().map(|e| e.position).collect::<Vec<_>>(),
        "the outcome names the positions the events are read back at"
    );
    let mut prev_hash: Option<Vec<u8>> = None;
    for (recorded, sent) in all.iter().zip(&appended) {
        assert_eq!(recorded.stream_id, stream);
        assert_eq!(recorded.event_id, sent.event_id);
        assert_eq!(recorded.event_type, sent.event_type);
        assert_eq!(recorded.schema_version, sent.schema_version);
        assert_eq!(recorded.tenant_id, tenant);
        assert_eq!(recorded.payload, sent.payload);
        assert_eq!(recorded.metadata, sent.metadata);
        assert_eq!(recorded.prev_hash, prev_hash, "version {}", recorded.version);
        let metadata = serde_json::to_value(&recorded.metadata).expect("metadata as JSON");
        let expected_hash = chain_hash(
            prev_hash.as_deref(),
            &HashedContent {
                stream_id: &recorded.stream_id,
                version: recorded.version,
                event_id: recorded.event_id,
                event_type: &recorded.event_type,
                schema_version: recorded.schema_version,
                tenant_id: recorded.tenant_id,
                payload: &recorded.payload,
                metadata: &metadata,
                recorded_at: recorded.recorded_at,
            },
        );
        assert_eq!(recorded.hash, expected_hash, "version {}", recorded.version);
        prev_hash = Some(recorded.hash.clone());
    }
    assert!(all.windows(2).all(|w| w[0].checkpoint() < w[1].checkpoint()));

    let from_three = read(store, &stream, 3).await;
    assert_eq!(from_three.iter().map(|e| e.version).collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(from_three, all[2..].to_vec());
    assert!(read(store, &stream, 5).await.is_empty());
    assert!(read(store, &format!("{prefix}-read-missing"), 1).await.is_empty());
}

/// Appending an event id that is stored already writes nothing: the retry of an append
/// succeeds with no new positions, whatever expectation it carries, also after the stream
/// moved on (retried with the expectation it was first sent with).
pub async fn stored_event_ids_are_not_appended_again(store: &dyn EventStore, prefix: &str) {
    let stream = format!("{prefix}-retry");
    let events = vec![event(1), event(2)];
    let first = append_one(store, request(&stream, None, ExpectedVersion::NoStream, events.clone()))
        .await
        .expect("first");
    assert_eq!((first.version, first.positions.len()), (2, 2));

    for expected in [
        ExpectedVersion::NoStream,
        ExpectedVersion::Exact(0),
        ExpectedVersion::Any,
    ] {
        let retry = append_one(store, request(&stream, None, expected, events.clone()))
            .await
            .unwrap_or_else(|e| panic!("retry with {expected:?}: {e}"));
        assert_eq!(retry.version, 2, "{expected:?}");
        assert!(retry.positions.is_empty(), "{expected:?}: {retry:?}");
    }
    assert_eq!(numbers(&read(store, &stream, 1).await), vec![1, 2]);

    append_one(store, request(&stream, None, ExpectedVersion::Any, vec![event(3)]))
        .await
        .expect("third");
    let stale = append_one(store, request(&stream, None, ExpectedVersion::NoStream, events))
        .await
        .expect("retry of an older append with its first expectation");
    assert_eq!((stale.version, stale.positions.len()), (3, 0));
    assert_eq!(numbers(&read(store, &stream, 1).await), vec![1, 2, 3]);
}

/// The retry of an append to an existing stream with an exact expected version, after the
/// first attempt was written (its answer lost), writes nothing and is no conflict.
pub async fn a_retried_exact_append_is_a_no_op(store: &dyn EventStore, prefix: &str) {
    let stream = format!("{prefix}-retry-exact");
    append_one(store, request(&stream, None, ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .expect("first");
    let second = vec![event(2), event(3)];
    let written = append_one(store, request(&stream, None, ExpectedVersion::Exact(1), second.clone()))
        .await
        .expect("second");
    assert_eq!((written.version, written.positions.len()), (3, 2));
    let retry = append_one(store, request(&stream, None, ExpectedVersion::Exact(1), second))
        .await
        .expect("the retry of a written exact append");
    assert_eq!((retry.version, retry.positions.len()), (3, 0));
    assert_eq!(numbers(&read(store, &stream, 1).await), vec![1, 2, 3]);
}

/// A stream keeps the tenant it was created for: another tenant's append is refused.
pub async fn streams_keep_their_tenant(store: &dyn EventStore, prefix: &str) {
    let stream = format!("{prefix}-tenant");
    let (a, b) = (Some(Uuid::now_v7()), Some(Uuid::now_v7()));
    append_one(store, request(&stream, a, ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .expect("append");
    for (tenant, expected) in [
        (b, ExpectedVersion::Any),
        (b, ExpectedVersion::Exact(1)),
        (None, ExpectedVersion::Any),
    ] {
        let refused = append_one(store, request(&stream, tenant, expected, vec![event(2)])).await;
        assert!(
            matches!(&refused, Err(StoreError::TenantMismatch(s)) if *s == stream),
            "{refused:?}"
        );
    }
    let events = read(store, &stream, 1).await;
    assert_eq!((events.len(), events[0].tenant_id), (1, a));
}

/// Reads of everything: after a checkpoint, in the store's catch-up order, at most `limit`
/// at a time, each event's checkpoint past the one before; paging on from the last event
/// read skips nothing and repeats nothing.
pub async fn read_all_pages_in_order_after_a_checkpoint(store: &dyn EventStore, prefix: &str) {
    let (a, b, c) = (
        format!("{prefix}-all-a"),
        format!("{prefix}-all-b"),
        format!("{prefix}-all-c"),
    );
    for (stream, expected, events) in [
        (&a, ExpectedVersion::NoStream, vec![event(1), event(2)]),
        (&b, ExpectedVersion::NoStream, vec![event(3)]),
        (&c, ExpectedVersion::NoStream, vec![event(4), event(5)]),
        (&a, ExpectedVersion::Exact(2), vec![event(6)]),
    ] {
        append_one(store, request(stream, None, expected, events))
            .await
            .expect("append");
    }
    let first = read(store, &a, 1).await.remove(0);
    let start = first.checkpoint();

    let mut ours = Vec::new();
    let mut at = start;
    let deadline = Instant::now() + VISIBLE_WITHIN;
    while ours.len() < 5 && Instant::now() < deadline {
        let batch = store.read_all(at, 2).await.expect("read all");
        assert!(batch.len() <= 2, "limit 2, got {}", batch.len());
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        for recorded in batch {
            assert!(
                recorded.checkpoint() > at,
                "{:?} is not after {at:?}",
                recorded.checkpoint()
            );
            at = recorded.checkpoint();
            if recorded.stream_id.starts_with(prefix) {
                ours.push(recorded);
            }
        }
    }
    let order: Vec<(&str, i64)> = ours
        .iter()
        .map(|e| (e.stream_id.as_str(), e.payload["n"].as_i64().unwrap_or(-1)))
        .collect();
    assert_eq!(
        order,
        vec![
            (a.as_str(), 2),
            (b.as_str(), 3),
            (c.as_str(), 4),
            (c.as_str(), 5),
            (a.as_str(), 6)
        ],
        "everything after the first event, in append order"
    );
    // Reads of everything and of one stream agree on where each event is.
    for recorded in &ours {
        let same = read(store, &recorded.stream_id, recorded.version).await.remove(0);
        assert_eq!(&same, recorded);
    }

    let large = store.read_all(start, 10_000).await.expect("read all");
    let again: Vec<_> = large.into_iter().filter(|e| e.stream_id.starts_with(prefix)).collect();
    assert_eq!(again, ours, "one large read sees the same as the pages");
    assert!(store.read_all(start, 0).await.expect("limit 0").is_empty());
}

/// The head position grows with each append and covers the events appended.
pub async fn head_position_grows(store: &dyn EventStore, prefix: &str) {
    let stream = format!("{prefix}-head");
    let before = store.head_position().await.expect("head");
    let outcome = append_one(store, request(&stream, None, ExpectedVersion::NoStream, vec![event(1)]))
        .await
        .expect("append");
    let after = store.head_position().await.expect("head");
    assert!(after > before, "head {before} -> {after}");
    let recorded = read(store, &stream, 1).await.remove(0);
    assert_eq!(outcome.last_position(), Some(recorded.position));
    assert!(
        after >= recorded.position,
        "head {after} < appended {}",
        recorded.position
    );
}

/// Readers waiting for new events are woken after an append.
pub async fn appends_wake_up_listeners(store: &dyn EventStore, prefix: &str) {
    let mut wake_ups = store.wake_ups();
    wake_ups.borrow_and_update();
    append_one(
        store,
        request(
            &format!("{prefix}-wake"),
            None,
            ExpectedVersion::NoStream,
            vec![event(1)],
        ),
    )
    .await
    .expect("append");
    tokio::time::timeout(Duration::from_secs(5), wake_ups.changed())
        .await
        .expect("woken within 5 s")
        .expect("the wake-up sender lives as long as the store");
}

/// How a backend treats an append to several streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiStream {
    /// All requests land, or none do.
    Atomic,
    /// Refused with a typed error, nothing written.
    Refused,
}

/// Appends to several streams are atomic, or refused whole with a typed error: never half
/// written. Answers which of the two the backend does.
pub async fn multi_stream_appends_are_all_or_nothing(store: &dyn EventStore, prefix: &str) -> MultiStream {
    let tenant = Some(Uuid::now_v7());
    let (x, y, z) = (
        format!("{prefix}-multi-x"),
        format!("{prefix}-multi-y"),
        format!("{prefix}-multi-z"),
    );
    let existing = format!("{prefix}-multi-existing");
    append_one(
        store,
        request(&existing, tenant, ExpectedVersion::NoStream, vec![event(1)]),
    )
    .await
    .expect("append");

    let both = store
        .append(vec![
            request(&x, tenant, ExpectedVersion::NoStream, vec![event(1)]),
            request(&y, tenant, ExpectedVersion::NoStream, vec![event(1), event(2)]),
        ])
        .await;
    // The second request conflicts, so the first must not land either.
    let failing = store
        .append(vec![
            request(&z, tenant, ExpectedVersion::NoStream, vec![event(1)]),
            request(&existing, tenant, ExpectedVersion::NoStream, vec![event(2)]),
        ])
        .await;
    assert!(read(store, &z, 1).await.is_empty(), "half written: {failing:?}");
    assert_eq!(read(store, &existing, 1).await.len(), 1);
    match both {
        Ok(outcomes) => {
            let versions: Vec<_> = outcomes.iter().map(|o| (o.stream_id.as_str(), o.version)).collect();
            assert_eq!(versions, vec![(x.as_str(), 1), (y.as_str(), 2)]);
            assert_eq!((read(store, &x, 1).await.len(), read(store, &y, 1).await.len()), (1, 2));
            assert!(
                matches!(&failing, Err(StoreError::Conflict { stream_id, actual: 1, .. }) if *stream_id == existing),
                "{failing:?}"
            );
            MultiStream::Atomic
        }
        Err(StoreError::MultiStreamAppendUnsupported { streams }) => {
            assert_eq!(streams, 2);
            assert!(read(store, &x, 1).await.is_empty() && read(store, &y, 1).await.is_empty());
            assert!(
                matches!(failing, Err(StoreError::MultiStreamAppendUnsupported { streams: 2 })),
                "{failing:?}"
            );
            MultiStream::Refused
        }
        Err(other) => panic!("a multi-stream append failed otherwise: {other:?}"),
    }
}
