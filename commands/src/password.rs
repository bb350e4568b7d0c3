//! Password hashes (argon2id) in the `credentials` table, kept out of the event log so an
//! export or replay of the log never carries them.

use std::sync::OnceLock;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use omnistream_domain::values::Password;
use sqlx::PgPool;
use uuid::Uuid;

use crate::CommandError;

/// Hashes a password with argon2id on the blocking pool.
pub async fn hash(password: &Password) -> Result<String, CommandError> {
    let clear = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(clear.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| CommandError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| CommandError::Hashing(e.to_string()))?
}

/// Whether `candidate` matches the stored hash. With no hash (unknown account) it still
/// spends the time of a verification, so response times do not reveal which e-mails exist.
pub async fn verify(stored: Option<String>, candidate: String) -> bool {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let matches = Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok();
        matches && known
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not a password of anybody", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Stores (or replaces) a principal's password hash.
#[tracing::instrument(skip(pool, password_hash), err)]
pub async fn store(pool: &PgPool, principal_id: Uuid, password_hash: &str) -> Result<(), CommandError> {
    sqlx::query(
        "INSERT INTO credentials (principal_id, password_hash) VALUES ($1, $2) \
         ON CONFLICT (principal_id) DO UPDATE SET password_hash = EXCLUDED.password_hash, updated_at = now()",
    )
    .bind(principal_id)
    .bind(password_hash)
    .execute(pool)
    .await?;
    Ok(())
}

/// A principal's password hash, if it has one.
#[tracing::instrument(skip(pool), err)]
pub async fn load(pool: &PgPool, principal_id: Uuid) -> Result<Option<String>, CommandError> {
    Ok(
        sqlx::query_scalar("SELECT password_hash FROM credentials WHERE principal_id = $1")
            .bind(principal_id)
            .fetch_optional(pool)
            .await?,
    )
}
