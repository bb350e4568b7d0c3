//! The accounts deliveries are routed to, with their secrets opened, cached briefly: a busy
//! number gets thousands of deliveries a second, its account changes rarely.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omnistream_commands::inbound::ChannelAccount;
use omnistream_commands::secrets::SecretsKey;
use omnistream_domain::conversation::Channel;
use omnistream_projections::channels::accounts::{self as account_queries, AccountRow, Route};
use omnistream_projections::ProjectionError;
use sqlx::PgPool;
use uuid::Uuid;

/// How long a found account is used before it is read again.
const FOUND_TTL: Duration = Duration::from_secs(10);
/// How long an unknown identifier is remembered as unknown.
const MISSING_TTL: Duration = Duration::from_secs(1);

/// An account a delivery is for.
#[derive(Debug, Clone)]
pub struct RoutedAccount {
    /// The account as commands see it.
    pub account: ChannelAccount,
    /// The provider (`meta`, `postmark`, `mailgun`).
    pub provider: String,
    /// Whether it, and its channel, take messages.
    pub enabled: bool,
    /// The identifier deliveries name it by (phone number id, Instagram id, inbox address).
    pub routing_id: String,
    /// WhatsApp: its business account id (template reviews name it).
    pub business_account_id: Option<String>,
    /// The opened app secret (signing key, inbound token).
    pub app_secret: Option<String>,
    /// The opened access token (Graph API sends).
    pub access_token: Option<String>,
}

impl RoutedAccount {
    fn open(row: AccountRow, key: &SecretsKey) -> Self {
        let channel = Channel::parse(&row.channel).unwrap_or(Channel::Api);
        let secrets = row.secrets.0;
        Self {
            account: ChannelAccount {
                id: row.id,
                tenant_id: row.tenant_id,
                channel,
                division_id: row.division_id,
            },
            business_account_id: row.whatsapp_business_account_id,
            routing_id: row
                .phone_number_id
                .or(row.instagram_account_id)
                .or(row.email_address)
                .unwrap_or_default(),
            provider: row.provider,
            enabled: row.enabled && row.channel_enabled,
            app_secret: secrets.app_secret.as_ref().and_then(|s| key.open(s)),
            access_token: secrets.access_token.as_ref().and_then(|s| key.open(s)),
        }
    }
}

type Cached = (Instant, Option<Arc<RoutedAccount>>);

/// Account lookups with a short-lived cache.
#[derive(Clone)]
pub struct Accounts {
    pool: PgPool,
    key: SecretsKey,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

impl Accounts {
    /// Lookups on the channels read model.
    pub fn new(pool: PgPool, key: SecretsKey) -> Self {
        Self {
            pool,
            key,
            cache: Arc::default(),
        }
    }

    /// The secrets key.
    pub fn key(&self) -> &SecretsKey {
        &self.key
    }

    /// The live account a delivery is routed to, if any.
    pub async fn route(&self, route: Route<'_>) -> Result<Option<Arc<RoutedAccount>>, ProjectionError> {
        let cache_key = format!("{route:?}");
        let cached = self.cache.lock().expect("cache lock").get(&cache_key).cloned();
        if let Some((at, found)) = &cached {
            let ttl = if found.is_some() { FOUND_TTL } else { MISSING_TTL };
            if at.elapsed() < ttl {
                return Ok(found.clone());
            }
        }
        let found = match account_queries::route(&self.pool, route).await {
            Ok(row) => row.map(|row| Arc::new(RoutedAccount::open(row, &self.key))),
            // The database is unreachable: an account known before keeps taking deliveries
            // (Kafka-first ingest goes on while PostgreSQL is down).
            Err(error) => match cached {
                Some((_, Some(stale))) => {
                    tracing::warn!(%error, "account lookup failed; routing with the account as last read");
                    return Ok(Some(stale));
                }
                _ => return Err(error),
            },
        };
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(cache_key, (Instant::now(), found.clone()));
        Ok(found)
    }

    /// The account with this id, whichever tenant holds it (the processor's lookup).
    pub async fn by_id(&self, tenant_id: Uuid, id: Uuid) -> Result<Option<Arc<RoutedAccount>>, ProjectionError> {
        let cache_key = format!("id:{id}");
        if let Some((at, Some(found))) = self.cache.lock().expect("cache lock").get(&cache_key) {
            if at.elapsed() < FOUND_TTL {
                return Ok(Some(found.clone()));
            }
        }
        let scope = omnistream_projections::TenantScope::new(tenant_id);
        let found = account_queries::get(&self.pool, scope, id)
            .await?
            .map(|row| Arc::new(RoutedAccount::open(row, &self.key)));
        if let Some(found) = &found {
            self.cache
                .lock()
                .expect("cache lock")
                .insert(cache_key, (Instant::now(), Some(found.clone())));
        }
        Ok(found)
    }
}
