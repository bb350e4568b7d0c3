//! The connections the rare searches run on: set to plan a statement once, with its
//! parameters (`plan_cache_mode = force_generic_plan`, see [`SearchBackend`]), and lent to one
//! statement at a time.
//!
//! Not an sqlx pool, because a pooled connection's return costs a round trip: sqlx sends
//! `Sync` and waits for `ReadyForQuery` on every connection that comes back, which cannot be
//! turned off (sqlx 0.8). A rare search is one statement, so that was a second round trip per
//! search: a wake-up, a read and a reply more in PostgreSQL and in the service, on the cores
//! they share. A lent connection comes back as it is. If the statement's future was dropped
//! halfway (a client gone), the next statement on the connection first reads what is left
//! of the last one's answer (sqlx does that before every statement), which is all that ping
//! would have done. A connection whose statement failed in a way that ends the session (the
//! server closed it) is dropped, and one idle for a while is checked before it is lent, as
//! the service's pool does.
//!
//! [`SearchBackend`]: super::search_backend::SearchBackend

use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError, PgSeverity};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{Semaphore, SemaphorePermit};

/// Up to a fixed number of connections, opened on first use.
#[derive(Debug)]
pub struct PlannedOnceConnections {
    options: PgConnectOptions,
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    permits: Semaphore,
    check_idle_after: Duration,
    wait_at_most: Duration,
}

impl PlannedOnceConnections {
    /// At most `size` connections with `options`, to which `plan_cache_mode =
    /// force_generic_plan` is added. One idle for `check_idle_after` or longer is checked
    /// with a round trip before it is lent (those are the ones a restarted server or a
    /// firewall may have closed since); a statement waits `wait_at_most` for a connection.
    pub fn new(options: PgConnectOptions, size: usize, check_idle_after: Duration, wait_at_most: Duration) -> Self {
        Self {
            options: options.options([("plan_cache_mode", "force_generic_plan")]),
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size.max(1)),
            check_idle_after,
            wait_at_most,
        }
    }

    /// A connection for one statement, waiting while all are lent.
    pub async fn lend(&self) -> Result<Lent<'_>, sqlx::Error> {
        let permit = tokio::time::timeout(self.wait_at_most, self.permits.acquire())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let connection = match idle {
            Some((mut connection, since)) => {
                if since.elapsed() < self.check_idle_after || connection.ping().await.is_ok() {
                    connection
                } else {
                    self.options.connect().await?
                }
            }
            None => self.options.connect().await?,
        };
        Ok(Lent {
            set: self,
            connection: Some(connection),
            _permit: permit,
        })
    }
}

/// A connection lent for one statement: it goes back when dropped, unless
/// [`Lent::keep_if_sound`] found it broken.
#[derive(Debug)]
pub struct Lent<'a> {
    set: &'a PlannedOnceConnections,
    connection: Option<PgConnection>,
    _permit: SemaphorePermit<'a>,
}

impl Lent<'_> {
    /// Passes `result` on, dropping the connection when its statement failed other than with
    /// an error the session outlives (the connection, the server or the session is gone).
    pub fn keep_if_sound<T>(mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if result.as_ref().is_err_and(|error| !session_survives(error)) {
            self.connection = None;
        }
        result
    }
}

impl Deref for Lent<'_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        self.connection
            .as_ref()
            .expect("a lent connection is held until dropped")
    }
}

impl DerefMut for Lent<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.connection
            .as_mut()
            .expect("a lent connection is held until dropped")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.set
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((connection, Instant::now()));
        }
    }
}

/// Whether the session goes on after `error`: an error of the statement does, unless
/// PostgreSQL reported it as `FATAL` or `PANIC`, which end the session (a terminated backend
/// answers `FATAL` before it closes).
fn session_survives(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(error) => error
            .try_downcast_ref::<PgDatabaseError>()
            .is_none_or(|error| !matches!(error.severity(), PgSeverity::Fatal | PgSeverity::Panic)),
        _ => false,
    }
}
