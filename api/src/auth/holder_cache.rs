//! Credential holders kept in memory, so that a request does not pay a database round trip
//! to learn who is calling. A holder is served again only while nothing that decides it has
//! changed for its organization: the `directory` read model (agents, roles, API keys,
//! super-admins) and the `sessions` (revocations announce themselves), as the
//! [`ChangeFeed`] tells, and while the credential has not expired. Super-admins' sessions,
//! which belong to no organization, are always read afresh.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use omnistream_projections::changes::{ChangeFeed, Stamp};
use sqlx::PgPool;
use uuid::Uuid;

use super::credential::{self, Holder};

/// What a holder depends on.
const DEPENDS_ON: &[&str] = &["directory", "sessions"];

/// How often this process records that an API key was used: `last_used_at` is kept to the
/// minute.
const KEY_USE_INTERVAL: Duration = Duration::from_secs(60);

/// Which credential a holder was found by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Credential {
    /// A session token's SHA-256.
    Session(Vec<u8>),
    /// An API key's SHA-256, in hex.
    ApiKey(String),
}

struct Kept {
    holder: Holder,
    tenant: Uuid,
    stamp: Stamp,
}

/// The cache.
pub struct HolderCache {
    feed: ChangeFeed,
    capacity: usize,
    kept: Mutex<HashMap<Credential, Kept>>,
    /// When this process last recorded each API key's use.
    key_uses: Mutex<HashMap<Uuid, Instant>>,
}

impl HolderCache {
    /// A cache of at most `capacity` holders (0: none).
    pub fn new(feed: ChangeFeed, capacity: usize) -> Self {
        Self {
            feed,
            capacity,
            kept: Mutex::new(HashMap::new()),
            key_uses: Mutex::new(HashMap::new()),
        }
    }

    /// The holder of a live session token, by its SHA-256.
    pub(crate) async fn session(&self, pool: &PgPool, token_sha256: Vec<u8>) -> Result<Option<Holder>, sqlx::Error> {
        self.holder(pool, Credential::Session(token_sha256)).await
    }

    /// The holder of a live API key, by the hex SHA-256 of the key.
    pub(crate) async fn api_key(&self, pool: &PgPool, key_sha256: String) -> Result<Option<Holder>, sqlx::Error> {
        self.holder(pool, Credential::ApiKey(key_sha256)).await
    }

    /// Whether this process should record a use of `api_key_id` now (at most once a minute).
    pub fn key_use_due(&self, api_key_id: Uuid) -> bool {
        let mut uses = self.key_uses.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        match uses.get(&api_key_id) {
            Some(last) if now.duration_since(*last) < KEY_USE_INTERVAL => false,
            _ => {
                if uses.len() >= self.capacity.max(1) {
                    uses.retain(|_, last| now.duration_since(*last) < KEY_USE_INTERVAL);
                }
                uses.insert(api_key_id, now);
                true
            }
        }
    }

    async fn holder(&self, pool: &PgPool, credential: Credential) -> Result<Option<Holder>, sqlx::Error> {
        if let Some(holder) = self.kept(&credential) {
            return Ok(Some(holder));
        }
        // The organization is known only once the holder is read: mark the feed before, and
        // keep the holder only if nothing about that organization was heard in between.
        let mark = self.feed.mark().filter(|_| self.capacity > 0);
        let holder = match &credential {
            Credential::Session(sha256) => credential::session_holder(pool, sha256).await?,
            Credential::ApiKey(sha256) => credential::api_key_holder(pool, sha256).await?,
        };
        let tenant = holder.as_ref().and_then(|h| h.tenant_id);
        if let (Some(mark), Some(holder), Some(tenant)) = (mark, &holder, tenant) {
            if let Some(stamp) = self.feed.stamp_since(mark, DEPENDS_ON, tenant) {
                let mut kept = self.lock();
                if kept.len() >= self.capacity {
                    kept.clear();
                }
                kept.insert(
                    credential,
                    Kept {
                        holder: holder.clone(),
                        tenant,
                        stamp,
                    },
                );
            }
        }
        Ok(holder)
    }

    /// The kept holder of `credential`, if it is still the holder; drops it otherwise.
    fn kept(&self, credential: &Credential) -> Option<Holder> {
        let mut kept = self.lock();
        let entry = kept.get(credential)?;
        let live = entry.holder.expires_at.is_none_or(|at| at > Utc::now());
        if live && self.feed.stamp(DEPENDS_ON, entry.tenant) == Some(entry.stamp) {
            return Some(entry.holder.clone());
        }
        kept.remove(credential);
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Credential, Kept>> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
