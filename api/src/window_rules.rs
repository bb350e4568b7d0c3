//! The tenants' chat expiration rules as the inbox applies them to every conversation it
//! lists, cached for a few seconds (a list would otherwise read them on every request);
//! changing a rule through this process forgets its tenant's entry at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use omnistream_domain::chat_expiration::WindowPolicy;
use omnistream_domain::conversation::Channel;
use omnistream_projections::channels::expiration_rules;
use omnistream_projections::{ProjectionError, TenantScope};
use sqlx::PgPool;
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(5);

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

/// The cache.
#[derive(Default)]
pub struct WindowRules {
    cache: Mutex<HashMap<Uuid, (Instant, Policies)>>,
}

impl WindowRules {
    /// The tenant's policies.
    pub async fn policies(&self, pool: &PgPool, scope: TenantScope) -> Result<Policies, ProjectionError> {
        let tenant = scope.tenant_id();
        if let Some((at, policies)) = self.cache.lock().expect("rules lock").get(&tenant) {
            if at.elapsed() < TTL {
                return Ok(policies.clone());
            }
        }
        let rows = expiration_rules::list(pool, scope).await?;
        let policies = Policies(
            rows.iter()
                .filter_map(|row| row.rule())
                .map(|rule| (rule.channel, WindowPolicy::of(rule.channel, Some(&rule))))
                .collect(),
        );
        self.cache
            .lock()
            .expect("rules lock")
            .insert(tenant, (Instant::now(), policies.clone()));
        Ok(policies)
    }

    /// Forgets a tenant's cached policies (after a change).
    pub fn forget(&self, tenant: Uuid) {
        self.cache.lock().expect("rules lock").remove(&tenant);
    }
}
