//! The PostgreSQL event store: the store contract every backend passes, then what is
//! PostgreSQL's own: group commit under concurrency, the xid8 fence and the hash chain
//! against tampering in the table.

use std::time::Duration;

use omnistream_domain::Metadata;
use omnistream_store::{audit, Checkpoint, EventStore, ExpectedVersion};
use omnistream_tests::fresh_store;
use omnistream_tests::store_contract::{self, event, request, MultiStream};
use sqlx::Connection;
use uuid::Uuid;

/// Runs one function of the store contract against a fresh PostgreSQL store.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_pool, store) = fresh_store().await;
            store_contract::$name(&store, &store_contract::unique_prefix("pg")).await;
        }
    )*};
}

contract!(
    expected_versions_are_enforced,
    read_stream_returns_what_was_appended,
    stored_event_ids_are_not_appended_again,
    streams_keep_their_tenant,
    read_all_pages_in_order_after_a_checkpoint,
    head_position_grows,
    appends_wake_up_listeners,
    a_retried_exact_append_is_a_no_op,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_stream_appends_are_atomic() {
    let (_pool, store) = fresh_store().await;
    let prefix = store_contract::unique_prefix("pg");
    assert_eq!(
        store_contract::multi_stream_appends_are_all_or_nothing(&store, &prefix).await,
        MultiStream::Atomic
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_single_event_appends_are_grouped_without_losing_concurrency_checks() {
    let (pool, store) = fresh_store().await;
    // 40 writers on their own streams, plus 20 racing for version 1 of one shared stream.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append(vec![request(
                    &format!("solo-{i}"),
                    None,
                    ExpectedVersion::NoStream,
                    vec![event(i)],
                )])
                .await
                .map(|_| ())
        }));
    }
    let mut racers = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        racers.push(tokio::spawn(async move {
            store
                .append(vec![request(
                    "contended",
                    None,
                    ExpectedVersion::Exact(0),
                    vec![event(i)],
                )])
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let mut winners = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => winners += 1,
            Err(e) => assert!(e.is_conflict(), "{e:?}"),
        }
    }
    assert_eq!(winners, 1, "exactly one writer may take version 1");
    assert_eq!(store.read_stream("contended", 1).await.unwrap().len(), 1);
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 41);
    // Fewer transactions than events: the appends were grouped.
    let transactions: i64 = sqlx::query_scalar("SELECT count(DISTINCT tx_id) FROM events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        transactions < 41,
        "{transactions} transactions for 41 events: no grouping happened"
    );
    assert_eq!(store.events_appended(), 41);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_readers_never_pass_an_open_transaction() {
    let (pool, store) = fresh_store().await;
    store
        .append(vec![request("early", None, ExpectedVersion::NoStream, vec![event(0)])])
        .await
        .unwrap();

    // A slow writer: takes a position, then holds its transaction open.
    let mut slow = sqlx::PgConnection::connect_with(&pool.connect_options()).await.unwrap();
    let mut slow_tx = slow.begin().await.unwrap();
    let slow_position: i64 = sqlx::query_scalar(
        "INSERT INTO events (stream_id, version, event_id, event_type, schema_version, payload, metadata, recorded_at, hash) \
         VALUES ('slow', 1, $1, 'Thing', 1, '{}', $2, now(), '\\x00') RETURNING position",
    )
    .bind(Uuid::now_v7())
    .bind(serde_json::to_value(Metadata::system()).unwrap())
    .fetch_one(&mut *slow_tx)
    .await
    .unwrap();

    // Later appends commit while it is open.
    for i in 1..=3 {
        store
            .append(vec![request(
                &format!("late-{i}"),
                None,
                ExpectedVersion::NoStream,
                vec![event(i)],
            )])
            .await
            .unwrap();
    }
    // The fence is cluster-wide: a transaction of another database may hold back even the
    // early event for a moment; wait for it, then nothing after the open one may show.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut seen = store.read_all(Checkpoint::default(), 100).await.unwrap();
    while seen.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        seen = store.read_all(Checkpoint::default(), 100).await.unwrap();
    }
    assert_eq!(seen.len(), 1, "only the event before the open transaction is readable");
    assert_eq!(seen[0].stream_id, "early");
    let checkpoint = seen[0].checkpoint();
    assert!(store.read_all(checkpoint, 100).await.unwrap().is_empty());

    slow_tx.commit().await.unwrap();
    // The fence is cluster-wide: a transaction of a test running beside this one, in another
    // database, may hold it back for a moment. Nothing may be skipped while we wait.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut rest = Vec::new();
    let mut at = checkpoint;
    while rest.len() < 4 && std::time::Instant::now() < deadline {
        let batch = store.read_all(at, 100).await.unwrap();
        if let Some(last) = batch.last() {
            at = last.checkpoint();
        }
        rest.extend(batch);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let streams: Vec<_> = rest.iter().map(|e| e.stream_id.as_str()).collect();
    assert_eq!(
        streams,
        vec!["slow", "late-1", "late-2", "late-3"],
        "nothing skipped once it commits"
    );
    assert_eq!(rest[0].position, slow_position);
    assert!(rest[1].position > slow_position);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hash_chain_detects_altered_and_removed_events() {
    let (pool, store) = fresh_store().await;
    let tenant = Uuid::now_v7();
    for stream in ["chain-a", "chain-b"] {
        store
            .append(vec![request(
                stream,
                Some(tenant),
                ExpectedVersion::NoStream,
                vec![event(1), event(2), event(3)],
            )])
            .await
            .unwrap();
    }
    let events = store.read_stream("chain-a", 1).await.unwrap();
    assert_eq!(events[0].prev_hash, None);
    assert_eq!(events[1].prev_hash.as_ref(), Some(&events[0].hash));
    let clean = audit::verify_tenant(&pool, Some(tenant)).await.unwrap();
    assert_eq!((clean.streams, clean.events, clean.breaks.len()), (2, 6, 0));

    // The append-only trigger stops honest mistakes...
    let refused = sqlx::query("UPDATE events SET payload = '{\"n\": 99}' WHERE stream_id = 'chain-a' AND version = 2")
        .execute(&pool)
        .await;
    assert!(refused.is_err());
    // ...and the chain catches whoever disables it.
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET payload = '{\"n\": 99}' WHERE stream_id = 'chain-a' AND version = 2")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM events WHERE stream_id = 'chain-b' AND version = 3")
        .execute(&pool)
        .await
        .unwrap();
    let tampered = audit::verify_tenant(&pool, Some(tenant)).await.unwrap();
    let broken: Vec<_> = tampered
        .breaks
        .iter()
        .map(|b| (b.stream_id.as_str(), b.version))
        .collect();
    assert!(broken.contains(&("chain-a", 2)), "{:?}", tampered.breaks);
    assert!(broken.contains(&("chain-b", 0)), "{:?}", tampered.breaks);
    assert_eq!(tampered.breaks.len(), 2, "{:?}", tampered.breaks);
}
