//! The KurrentDB event store against the same contract as PostgreSQL, on the server that
//! `KURRENTDB_URL` names (e.g. `kurrentdb://admin:changeit@127.0.0.1:2113?tls=false`; the
//! user must be able to read `$all`). Without it each test says so and passes: no server
//! can be started where these tests usually run. Streams are unique per run, so a shared
//! server serves.

use omnistream_store::KurrentEventStore;
use omnistream_tests::store_contract::{self, MultiStream};

/// The store for one test, or `None` (after saying so) when no server is configured.
async fn store() -> Option<KurrentEventStore> {
    let Ok(url) = std::env::var("KURRENTDB_URL") else {
        println!("KURRENTDB_URL not set: KurrentDB contract not run");
        return None;
    };
    Some(
        KurrentEventStore::connect(&url)
            .await
            .expect("KURRENTDB_URL is set, so KurrentDB must be reachable"),
    )
}

/// Runs one function of the store contract against KurrentDB.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let Some(store) = store().await else { return };
            store_contract::$name(&store, &store_contract::unique_prefix("kurrent")).await;
        }
    )*};
}

contract!(
    expected_versions_are_enforced,
    read_stream_returns_what_was_appended,
    stored_event_ids_are_not_appended_again,
    a_retried_exact_append_is_a_no_op,
    streams_keep_their_tenant,
    read_all_pages_in_order_after_a_checkpoint,
    head_position_grows,
    appends_wake_up_listeners,
);

/// KurrentDB client 1.2 has no multi-stream append: such appends are refused whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_stream_appends_are_refused_whole() {
    let Some(store) = store().await else { return };
    let prefix = store_contract::unique_prefix("kurrent");
    assert_eq!(
        store_contract::multi_stream_appends_are_all_or_nothing(&store, &prefix).await,
        MultiStream::Refused
    );
}
