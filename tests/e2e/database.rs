//! The service's connections to PostgreSQL.

use std::time::Duration;

use omnistream_api::db::{connect, CHECK_IDLE_AFTER};
use omnistream_tests::fresh_database;

/// The server's process behind the connection a statement ran on.
async fn backend(pool: &sqlx::PgPool) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(pool).await
}

#[tokio::test]
async fn a_pooled_connection_the_server_closed_while_it_was_idle_is_replaced_before_use() {
    let url = fresh_database().await;
    let pool = connect(&url, 1).await.unwrap();
    let admin = connect(&url, 1).await.unwrap();
    let first = backend(&pool).await.unwrap();
    // In use a moment ago, the same connection serves the next statement.
    assert_eq!(backend(&pool).await.unwrap(), first);
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert!(ended);
    // Idle for longer than the check's threshold, the dead connection is noticed before any
    // statement is sent on it, and a new one takes its place.
    tokio::time::sleep(CHECK_IDLE_AFTER + Duration::from_millis(200)).await;
    let second = backend(&pool).await.expect("a fresh connection");
    assert_ne!(second, first);
}
