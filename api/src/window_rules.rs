//! The tenants' chat expiration rules as the inbox applies them to every conversation it
//! lists, kept in memory (a list would otherwise read them on every request) while the
//! `channels` read model is unchanged for the tenant, as its announcements tell; while they
//! cannot be heard, for a few seconds at most. Changing a rule through this process forgets
//! its tenant's entry at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use omnistream_domain::chat_expiration::WindowPolicy;
use omnistream_domain::conversation::Channel;
use omnistream_projections::changes::{ChangeFeed, Stamp};
use omnistream_projections::channels::expiration_rules;
use omnistream_projections::{ProjectionError, TenantScope};
use sqlx::PgPool;
use uuid::Uuid;

/// How long policies are kept while the announcements cannot be heard.
const TTL: Duration = Duration::from_secs(5);

/// The read model the rules come from.
const DEPENDS_ON: &[&str] = &["channels"];

/// Each channel's window policy for one tenant.
#[derive(Debug, Clone, Default)]
pub struct Policies(HashMap<Channel, WindowPolicy>);

impl Policies {
    /// The policy of `channel` (the provider's window when unconfigured).
    pub fn of(&self, channel: Channel) -> WindowPolicy {
        self.0
            .get(&channel)
            .copied()
            .unwrap_or_else(|| WindowPolicy::of(channel, None))
    }
}

struct Kept {
    read_at: Instant,
    stamp: Option<Stamp>,
    policies: Policies,
}

/// The cache.
pub struct WindowRules {
    feed: ChangeFeed,
    cache: Mutex<HashMap<Uuid, Kept>>,
}

impl WindowRules {
    /// A cache following `feed`.
    pub fn new(feed: ChangeFeed) -> Self {
        Self {
            feed,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant's policies.
    pub async fn policies(&self, pool: &PgPool, scope: TenantScope) -> Result<Policies, ProjectionError> {
        let tenant = scope.tenant_id();
        let stamp = self.feed.stamp(DEPENDS_ON, tenant);
        if let Some(kept) = self.lock().get(&tenant) {
            let current = match stamp {
                Some(stamp) => kept.stamp == Some(stamp),
                None => kept.read_at.elapsed() < TTL,
            };
            if current {
                return Ok(kept.policies.clone());
            }
        }
        let rows = expiration_rules::list(pool, scope).await?;
        let policies = Policies(
            rows.iter()
                .filter_map(|row| row.rule())
                .map(|rule| (rule.channel, WindowPolicy::of(rule.channel, Some(&rule))))
                .collect(),
        );
        self.lock().insert(
            tenant,
            Kept {
                read_at: Instant::now(),
                stamp,
                policies: policies.clone(),
            },
        );
        Ok(policies)
    }

    /// Forgets a tenant's cached policies (after a change).
    pub fn forget(&self, tenant: Uuid) {
        self.lock().remove(&tenant);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Kept>> {
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
