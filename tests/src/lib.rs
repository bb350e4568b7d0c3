//! The test harness: each test gets its own fresh PostgreSQL database and the real
//! application on port 0, and talks to it over HTTP like any client.

pub mod channels;
pub mod client;
pub mod kafka;
pub mod private_postgres;
pub mod standins;
pub mod store_contract;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use omnistream_api::app::Application;
use omnistream_api::config::{Config, ProjectionSelection};
use omnistream_store::postgres::PgStoreConfig;
use omnistream_store::PgEventStore;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

pub use client::{Session, TestApp};

/// The server the tests use: `OMNISTREAM_TEST_DATABASE_URL`, else the local default.
pub fn server_url() -> String {
    std::env::var("OMNISTREAM_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

static CLEANED: OnceCell<()> = OnceCell::const_new();

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Drops test databases left by runs more than an hour old.
async fn drop_stale_databases() {
    let Ok(mut admin) = PgConnection::connect(&format!("{}/postgres", server_url())).await else {
        return;
    };
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'ost\\_%'")
        .fetch_all(&mut admin)
        .await
        .unwrap_or_default();
    let cutoff = now_secs().saturating_sub(3600);
    for name in names {
        let stamp = name.split('_').nth(1).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        if stamp < cutoff {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
}

/// A fresh, empty database's URL.
pub async fn fresh_database() -> String {
    CLEANED.get_or_init(drop_stale_databases).await;
    let name = format!("ost_{}_{}", now_secs(), uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .expect("PostgreSQL must be reachable for the tests (see README)");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .expect("create test database");
    format!("{}/{name}", server_url())
}

/// A fresh migrated database with a started event store, for store and projection tests.
pub async fn fresh_store() -> (PgPool, PgEventStore) {
    let url = fresh_database().await;
    let pool = omnistream_api::db::connect(&url, 8).await.expect("connect");
    omnistream_api::db::migrate(&pool).await.expect("migrate");
    let store = PgEventStore::start(
        pool.clone(),
        PgStoreConfig {
            writers: 2,
            ..PgStoreConfig::default()
        },
    )
    .await
    .expect("start store");
    (pool, store)
}

/// Starts the real application on port 0 against a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the real application with a configuration adjusted by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(&fresh_database().await, adjust).await
}

/// Starts the real application on the database at `url` (a private server's, say), with a
/// configuration adjusted by `adjust`.
pub async fn spawn_app_on(url: &str, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::for_database(url);
    config.max_connections = 6;
    config.append_writers = 2;
    config.media_dir = std::env::temp_dir().join(format!("omnistream-test-media-{}", uuid::Uuid::new_v4().simple()));
    adjust(&mut config);
    start(config).await
}

/// Starts a second API process on the database of `app`, without projection workers (the
/// first one runs them).
pub async fn spawn_second_process(app: &TestApp) -> TestApp {
    let mut config = Config::for_database(&app.database_url);
    config.projections = ProjectionSelection::None;
    config.max_connections = 4;
    start(config).await
}

async fn start(config: Config) -> TestApp {
    let url = config.database_url.clone();
    let app = Application::build(config).await.expect("build app");
    let port = app.port();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    TestApp::new(
        format!("http://127.0.0.1:{port}"),
        state.pool.clone(),
        Arc::new(state.store.clone()),
        url,
    )
}

/// Starts a `webhook-ingestor` (receivers and processor only) on the database of `app`.
pub async fn spawn_ingestor(app: &TestApp) -> String {
    let mut config = Config::for_database(&app.database_url);
    config.max_connections = 4;
    let ingestor = Application::build_as(config, omnistream_api::app::Role::Ingestor)
        .await
        .expect("build ingestor");
    let port = ingestor.port();
    tokio::spawn(ingestor.run_until_stopped());
    format!("http://127.0.0.1:{port}")
}
