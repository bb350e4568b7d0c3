//! The `Idempotency-Key` cache: the first answer to a key is kept for 24 hours and replayed
//! to every retry with the same key and the same request, so a retry appends nothing.

use sqlx::{PgPool, Row};

use crate::CommandError;

/// How long a key's answer is kept.
pub const RETENTION_HOURS: i32 = 24;

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// The headers worth replaying.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First time: run it, then [`complete`] or [`release`].
    Fresh,
    /// Answered before: replay this.
    Replay(StoredResponse),
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Claims a key for a request fingerprint.
#[tracing::instrument(skip(pool, fingerprint), err)]
pub async fn claim(pool: &PgPool, scope: &str, key: &str, fingerprint: &[u8]) -> Result<Claim, CommandError> {
    // An expired entry is as good as none.
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 \
         AND created_at < now() - make_interval(hours => $3)",
    )
    .bind(scope)
    .bind(key)
    .bind(RETENTION_HOURS)
    .execute(pool)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(fingerprint)
    .execute(pool)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let Some(row) =
        sqlx::query("SELECT fingerprint, status, headers, body FROM idempotency_keys WHERE scope = $1 AND key = $2")
            .bind(scope)
            .bind(key)
            .fetch_optional(pool)
            .await?
    else {
        // Released between our insert and select: the caller may simply try again.
        return Ok(Claim::InProgress);
    };
    let stored_fingerprint: Vec<u8> = row.try_get("fingerprint")?;
    if stored_fingerprint != fingerprint {
        return Ok(Claim::Mismatch);
    }
    let Some(status) = row.try_get::<Option<i32>, _>("status")? else {
        return Ok(Claim::InProgress);
    };
    let headers: Option<serde_json::Value> = row.try_get("headers")?;
    let headers = headers
        .and_then(|h| serde_json::from_value::<Vec<(String, String)>>(h).ok())
        .unwrap_or_default();
    Ok(Claim::Replay(StoredResponse {
        status: u16::try_from(status).unwrap_or(500),
        headers,
        body: row.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
    }))
}

/// Stores the answer to a claimed key.
#[tracing::instrument(skip(pool, response), err)]
pub async fn complete(pool: &PgPool, scope: &str, key: &str, response: &StoredResponse) -> Result<(), CommandError> {
    sqlx::query("UPDATE idempotency_keys SET status = $3, headers = $4, body = $5 WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .bind(i32::from(response.status))
        .bind(serde_json::json!(response.headers))
        .bind(&response.body)
        .execute(pool)
        .await?;
    Ok(())
}

/// Gives a key up (the request failed on our side), so a retry runs it afresh.
#[tracing::instrument(skip(pool), err)]
pub async fn release(pool: &PgPool, scope: &str, key: &str) -> Result<(), CommandError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL")
        .bind(scope)
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes answers older than the retention; returns how many.
#[tracing::instrument(skip(pool), err)]
pub async fn purge_expired(pool: &PgPool) -> Result<u64, CommandError> {
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)")
            .bind(RETENTION_HOURS)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
