//! Chat expiration rules: applying their events, and a tenant's rules.

use chrono::{DateTime, Utc};
use omnistream_domain::chat_expiration::{ChatExpirationRuleConfigured, ChatExpirationRuleEvent, ExpiryAction};
use omnistream_domain::conversation::Channel;
use omnistream_store::RecordedEvent;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::{ProjectionError, TenantScope};

/// Applies one rule event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: ChatExpirationRuleEvent,
) -> Result<(), ProjectionError> {
    match e {
        ChatExpirationRuleEvent::ChatExpirationRuleConfigured(r) => {
            sqlx::query(
                "INSERT INTO chat_expiration_rules (tenant_id, channel, window_hours, human_agent_window, expiry_action, \
                 resolve_after_minutes, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (tenant_id, channel) DO UPDATE SET window_hours = $3, human_agent_window = $4, \
                 expiry_action = $5, resolve_after_minutes = $6, updated_at = $7, version = $8",
            )
            .bind(r.tenant_id)
            .bind(r.channel.as_str())
            .bind(r.window_hours.map(|h| h as i32))
            .bind(r.human_agent_window)
            .bind(r.expiry_action.as_str())
            .bind(r.resolve_after_minutes as i32)
            .bind(event.recorded_at)
            .bind(event.version)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// A configured rule.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct RuleRow {
    /// The organization.
    pub tenant_id: Uuid,
    /// The channel.
    pub channel: String,
    /// Window hours; none: no window.
    pub window_hours: Option<i32>,
    /// Instagram's `HUMAN_AGENT` extension.
    pub human_agent_window: bool,
    /// `none`, `mark` or `resolve`.
    pub expiry_action: String,
    /// Grace before resolving.
    pub resolve_after_minutes: i32,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

impl RuleRow {
    /// The rule as the domain reads it.
    pub fn rule(&self) -> Option<ChatExpirationRuleConfigured> {
        let channel = Channel::parse(&self.channel).filter(|c| *c != Channel::Api)?;
        Some(ChatExpirationRuleConfigured {
            tenant_id: self.tenant_id,
            channel,
            window_hours: self.window_hours.and_then(|h| u32::try_from(h).ok()),
            human_agent_window: self.human_agent_window,
            expiry_action: match self.expiry_action.as_str() {
                "mark" => ExpiryAction::Mark,
                "resolve" => ExpiryAction::Resolve,
                _ => ExpiryAction::None,
            },
            resolve_after_minutes: u32::try_from(self.resolve_after_minutes).unwrap_or_default(),
        })
    }
}

/// The tenant's configured rules.
pub async fn list(pool: &PgPool, scope: TenantScope) -> Result<Vec<RuleRow>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT tenant_id, channel, window_hours, human_agent_window, expiry_action, resolve_after_minutes, \
         updated_at, version FROM rm.chat_expiration_rules WHERE tenant_id = $1 ORDER BY channel",
    )
    .bind(scope.tenant_id())
    .fetch_all(pool)
    .await?)
}
