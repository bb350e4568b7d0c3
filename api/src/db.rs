//! Database bootstrap: create the database when missing, connect, migrate.

use std::str::FromStr;
use std::time::Duration;

use omnistream_projections::inbox::planned_once::PlannedOnceConnections;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// The embedded migrations of `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Creates the database named in `url` if it does not exist yet.
#[tracing::instrument(skip(url), err)]
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url)?;
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut admin = options.clone().database("postgres").connect().await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await?;
    if !exists {
        let quoted = name.replace('"', "\"\"");
        match sqlx::query(&format!("CREATE DATABASE \"{quoted}\""))
            .execute(&mut admin)
            .await
        {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another process created it at the same moment: fine.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    admin.close().await?;
    Ok(())
}

/// Longest a statement may run: a runaway query fails instead of holding the database.
const STATEMENT_TIMEOUT: &str = "60s";

/// Connects a pool to `url`. JIT compilation is off: every statement here is short, and
/// compiling one whose estimate crossed `jit_above_cost` took longer than running it (a rare
/// word's search went from under a millisecond to 10-18 ms).
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    Ok(pool_options(max_connections).connect_with(session(url)?).await?)
}

/// Up to `max_connections` connections that plan a prepared statement once, with its
/// parameters, for statements whose plan cannot depend on their values (see
/// `SearchBackend`). Lazily: they open on first use.
pub fn connect_planned_once(url: &str, max_connections: u32) -> anyhow::Result<PlannedOnceConnections> {
    Ok(PlannedOnceConnections::new(
        session(url)?,
        max_connections as usize,
        CHECK_IDLE_AFTER,
        WAIT_FOR_CONNECTION,
    ))
}

fn session(url: &str) -> anyhow::Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url)?.options([("statement_timeout", STATEMENT_TIMEOUT), ("jit", "off")]))
}

/// A pooled connection idle for longer than this is checked with a round trip before it is
/// handed out: those are the ones a restarted server or a firewall may have closed since.
pub const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

/// How long a statement waits for a free connection before it fails.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(10);

/// sqlx's default checks every connection with a round trip before handing it out (and again
/// when it comes back, which cannot be turned off): under load that was one more round trip
/// per statement, on both processes and the two cores they share. A connection in use a
/// moment ago goes straight to its statement; if it broke since, that statement fails and
/// the connection is dropped on its way back.
fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(WAIT_FOR_CONNECTION)
        .test_before_acquire(false)
        .before_acquire(|connection, held| {
            Box::pin(async move {
                if held.idle_for >= CHECK_IDLE_AFTER {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Applies pending migrations.
#[tracing::instrument(skip(pool), err)]
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
