//! Chat expiration commands: configuring a channel's window rule, reading the policy a send
//! is checked against, and acting when a conversation's window closes.

use chrono::{DateTime, Utc};
use omnistream_domain::chat_expiration::{
    ChatExpirationRule, ChatExpirationRuleConfigured, ConfigureChatExpiration, ExpiryAction, WindowPolicy,
};
use omnistream_domain::conversation::{Channel, Conversation, ConversationCommand, ConversationStatus};
use omnistream_domain::{Aggregate, DomainError};
use uuid::Uuid;

use crate::{CommandBus, CommandContext, CommandError, Executed, Scope};

/// A channel's rule as configured.
#[derive(Debug, Clone, Copy)]
pub struct RuleSettings {
    /// Window hours; none: no window.
    pub window_hours: Option<u32>,
    /// Instagram's 7-day `HUMAN_AGENT` extension.
    pub human_agent_window: bool,
    /// What happens at expiry.
    pub expiry_action: ExpiryAction,
    /// For `resolve`: minutes after expiry.
    pub resolve_after_minutes: u32,
}

/// Configures (creates or replaces) a channel's rule.
pub async fn configure(
    bus: &CommandBus,
    ctx: &CommandContext,
    channel: Channel,
    settings: RuleSettings,
) -> Result<Executed, CommandError> {
    let tenant_id = ctx
        .scope
        .tenant_id()
        .ok_or_else(|| DomainError::Rule("rules belong to an organization".into()))?;
    let command = ConfigureChatExpiration(ChatExpirationRuleConfigured {
        tenant_id,
        channel,
        window_hours: settings.window_hours,
        human_agent_window: settings.human_agent_window,
        expiry_action: settings.expiry_action,
        resolve_after_minutes: settings.resolve_after_minutes,
    });
    bus.execute::<ChatExpirationRule>(ctx, ChatExpirationRule::id_for(tenant_id, channel), command)
        .await
}

/// The window policy of a tenant's channel (the provider's window when unconfigured).
pub async fn policy(bus: &CommandBus, scope: Scope, channel: Channel) -> Result<WindowPolicy, CommandError> {
    let tenant_id = scope
        .tenant_id()
        .ok_or_else(|| DomainError::Rule("rules belong to an organization".into()))?;
    let rule = bus
        .load::<ChatExpirationRule>(scope, &ChatExpirationRule::id_for(tenant_id, channel).to_string())
        .await?;
    Ok(WindowPolicy::of(channel, rule.state.rule.as_ref()))
}

/// Acts on a conversation whose window may have closed: marks it, and resolves it once the
/// grace period passed, as its channel's rule says. Answers when to look again, if ever.
pub async fn expire(
    bus: &CommandBus,
    ctx: &CommandContext,
    conversation_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, CommandError> {
    let conversation = bus
        .load::<Conversation>(ctx.scope, &conversation_id.to_string())
        .await?;
    let state = &conversation.state;
    let (Some(channel), Some(last_inbound_at)) = (state.channel, state.last_inbound_at) else {
        return Ok(None);
    };
    if !state.exists() || channel == Channel::Api {
        return Ok(None);
    }
    let policy = policy(bus, ctx.scope, channel).await?;
    let (Some(length), false) = (policy.longest(), policy.action == ExpiryAction::None) else {
        return Ok(None);
    };
    let expired_at = last_inbound_at + length;
    if now < expired_at {
        return Ok(Some(expired_at));
    }
    let mut commands = vec![ConversationCommand::ExpireWindow {
        last_inbound_at,
        expired_at,
    }];
    let mut again = None;
    if policy.action == ExpiryAction::Resolve {
        let resolve_at = expired_at + policy.grace;
        let active = matches!(state.status, ConversationStatus::Open | ConversationStatus::Pending);
        if now < resolve_at {
            again = Some(resolve_at);
        } else if active {
            commands.push(ConversationCommand::SetStatus {
                status: ConversationStatus::Resolved,
                snoozed_until: None,
                now,
            });
        }
    }
    if let Some(request) = conversation.decide_all(ctx, commands)? {
        bus.commit(vec![request]).await?;
    }
    Ok(again)
}
