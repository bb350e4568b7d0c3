//! Login sessions and login rate limiting. Tokens are random and only their SHA-256 is kept.

use chrono::{DateTime, Duration, Utc};
use omnistream_store::postgres::READ_MODELS_CHANNEL;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::CommandError;

/// A new random secret with a recognizable prefix: `oss_` for sessions, `osk_` for API keys.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// The SHA-256 of a secret, as stored.
pub fn secret_sha256(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A session just opened; the token is shown to the client once.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    /// The session's id.
    pub id: Uuid,
    /// The bearer token.
    pub token: String,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Opens a session for a principal.
#[tracing::instrument(skip(pool), err)]
pub async fn open(
    pool: &PgPool,
    principal_id: Uuid,
    tenant_id: Option<Uuid>,
    super_admin: bool,
    ttl: Duration,
) -> Result<OpenedSession, CommandError> {
    let session = OpenedSession {
        id: Uuid::now_v7(),
        token: new_secret("oss_"),
        expires_at: Utc::now() + ttl,
    };
    sqlx::query(
        "INSERT INTO sessions (id, token_sha256, principal_id, tenant_id, super_admin, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(session.id)
    .bind(secret_sha256(&session.token))
    .bind(principal_id)
    .bind(tenant_id)
    .bind(super_admin)
    .bind(session.expires_at)
    .execute(pool)
    .await?;
    Ok(session)
}

/// Ends one session.
#[tracing::instrument(skip(pool), err)]
pub async fn revoke(pool: &PgPool, session_id: Uuid) -> Result<(), CommandError> {
    revoke_where(pool, "id = $1", session_id).await
}

/// Ends every session of a principal (deleted agent, changed password).
#[tracing::instrument(skip(pool), err)]
pub async fn revoke_all(pool: &PgPool, principal_id: Uuid) -> Result<(), CommandError> {
    revoke_where(pool, "principal_id = $1", principal_id).await
}

/// Revokes the live sessions matching `condition` and announces their tenants' `sessions` on
/// the read-model channel in the same statement, so that every process forgets the holders
/// it keeps in memory (a super-admin's session, without a tenant, announces every tenant).
async fn revoke_where(pool: &PgPool, condition: &str, id: Uuid) -> Result<(), CommandError> {
    sqlx::query(&format!(
        "WITH revoked AS (UPDATE sessions SET revoked_at = now() WHERE {condition} AND revoked_at IS NULL \
                          RETURNING tenant_id) \
         SELECT pg_notify($2, 'sessions ' || coalesce(tenant_id::text, '*')) FROM revoked"
    ))
    .bind(id)
    .bind(READ_MODELS_CHANNEL)
    .execute(pool)
    .await?;
    Ok(())
}

/// Login attempts allowed per e-mail within [`LOGIN_WINDOW_MINUTES`].
pub const MAX_LOGIN_FAILURES: i64 = 5;
/// The sliding window of the login rate limit.
pub const LOGIN_WINDOW_MINUTES: i64 = 15;

/// Seconds until the next login may be tried for this e-mail, if it is blocked now.
#[tracing::instrument(skip(pool), err)]
pub async fn login_blocked_for(pool: &PgPool, email: &str) -> Result<Option<i64>, CommandError> {
    let row = sqlx::query(
        "SELECT count(*) AS failures, min(failed_at) AS oldest FROM login_failures \
         WHERE email = $1 AND failed_at > now() - make_interval(mins => $2::int)",
    )
    .bind(email)
    .bind(LOGIN_WINDOW_MINUTES as i32)
    .fetch_one(pool)
    .await?;
    let failures: i64 = row.try_get("failures")?;
    if failures < MAX_LOGIN_FAILURES {
        return Ok(None);
    }
    let oldest: Option<DateTime<Utc>> = row.try_get("oldest")?;
    let retry = oldest.map_or(60, |t| {
        (t + Duration::minutes(LOGIN_WINDOW_MINUTES) - Utc::now())
            .num_seconds()
            .max(1)
    });
    Ok(Some(retry))
}

/// Records a failed login for an e-mail.
#[tracing::instrument(skip(pool), err)]
pub async fn record_login_failure(pool: &PgPool, email: &str) -> Result<(), CommandError> {
    sqlx::query("INSERT INTO login_failures (email) VALUES ($1)")
        .bind(email)
        .execute(pool)
        .await?;
    Ok(())
}

/// Forgets an e-mail's failures after a successful login, and everybody's old ones.
#[tracing::instrument(skip(pool), err)]
pub async fn clear_login_failures(pool: &PgPool, email: &str) -> Result<(), CommandError> {
    sqlx::query(
        "DELETE FROM login_failures WHERE email = $1 \
            OR failed_at < now() - make_interval(mins => $2::int)",
    )
    .bind(email)
    .bind(LOGIN_WINDOW_MINUTES as i32)
    .execute(pool)
    .await?;
    Ok(())
}
