//! The service's connections to PostgreSQL.

use std::time::Duration;

use omnistream_api::db::{connect, connect_planned_once, CHECK_IDLE_AFTER};
use omnistream_projections::inbox::planned_once::PlannedOnceConnections;
use omnistream_tests::fresh_database;

/// The server's process behind the connection a statement ran on.
async fn backend(pool: &sqlx::PgPool) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(pool).await
}

/// Ends the server's process `pid` (its connection is closed) and waits until it is gone.
async fn terminate(admin: &sqlx::PgPool, pid: i32) {
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(pid)
        .fetch_one(admin)
        .await
        .unwrap();
    assert!(ended);
}

#[tokio::test]
async fn a_pooled_connection_the_server_closed_while_it_was_idle_is_replaced_before_use() {
    let url = fresh_database().await;
    let pool = connect(&url, 1).await.unwrap();
    let admin = connect(&url, 1).await.unwrap();
    let first = backend(&pool).await.unwrap();
    // In use a moment ago, the same connection serves the next statement.
    assert_eq!(backend(&pool).await.unwrap(), first);
    terminate(&admin, first).await;
    // Idle for longer than the check's threshold, the dead connection is noticed before any
    // statement is sent on it, and a new one takes its place.
    tokio::time::sleep(CHECK_IDLE_AFTER + Duration::from_millis(200)).await;
    let second = backend(&pool).await.expect("a fresh connection");
    assert_ne!(second, first);
}

/// The server's process behind a planned-once connection, on a connection lent for it.
async fn lent_backend(connections: &PlannedOnceConnections) -> Result<i32, sqlx::Error> {
    let mut connection = connections.lend().await?;
    let pid = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *connection)
        .await;
    connection.keep_if_sound(pid)
}

#[tokio::test]
async fn planned_once_connections_plan_once_and_are_lent_to_one_statement_at_a_time() {
    let url = fresh_database().await;
    let connections = connect_planned_once(&url, 1).unwrap();
    let mut lent = connections.lend().await.unwrap();
    let mode: String = sqlx::query_scalar("SHOW plan_cache_mode")
        .fetch_one(&mut *lent)
        .await
        .unwrap();
    assert_eq!(mode, "force_generic_plan");
    // The only connection is lent: the next statement waits for it.
    assert!(tokio::time::timeout(Duration::from_millis(200), connections.lend())
        .await
        .is_err());
    let first: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *lent)
        .await
        .unwrap();
    drop(lent);
    // Back as it was, the same connection serves the next statement.
    assert_eq!(lent_backend(&connections).await.unwrap(), first);
}

#[tokio::test]
async fn a_planned_once_connection_whose_statement_was_abandoned_answers_the_next_one() {
    let url = fresh_database().await;
    let connections = connect_planned_once(&url, 1).unwrap();
    let first = lent_backend(&connections).await.unwrap();
    {
        let mut lent = connections.lend().await.unwrap();
        // A client gone halfway: the statement's future is dropped before its answer came.
        let abandoned = tokio::time::timeout(
            Duration::from_millis(50),
            sqlx::query("SELECT pg_sleep(0.3)").execute(&mut *lent),
        )
        .await;
        assert!(abandoned.is_err());
    }
    let mut lent = connections.lend().await.unwrap();
    let answer: i32 = sqlx::query_scalar("SELECT 7").fetch_one(&mut *lent).await.unwrap();
    assert_eq!(answer, 7);
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *lent)
        .await
        .unwrap();
    assert_eq!(pid, first, "the same connection, not a new one");
}

#[tokio::test]
async fn a_planned_once_connection_the_server_closed_is_dropped_and_replaced() {
    let url = fresh_database().await;
    let connections = connect_planned_once(&url, 1).unwrap();
    let admin = connect(&url, 1).await.unwrap();
    let first = lent_backend(&connections).await.unwrap();
    terminate(&admin, first).await;
    // In use a moment ago, it is lent unchecked: that statement fails, the connection is
    // dropped, and the next statement gets a new one.
    assert!(lent_backend(&connections).await.is_err());
    let second = lent_backend(&connections).await.expect("a new connection");
    assert_ne!(second, first);
    // Idle for longer than the check's threshold, a closed connection is noticed before any
    // statement is sent on it.
    terminate(&admin, second).await;
    tokio::time::sleep(CHECK_IDLE_AFTER + Duration::from_millis(200)).await;
    let third = lent_backend(&connections).await.expect("a new connection");
    assert_ne!(third, second);
}
