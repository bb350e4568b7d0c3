//! Chat expiration rules: per channel, how long the messaging window stays open after the
//! customer last wrote, and what happens when it closes (mark the conversation, or resolve
//! it after a grace period). Unconfigured channels keep the providers' windows.

use chrono::Duration;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::conversation::Channel;
use crate::messaging_window::MessagingWindow;
use crate::{Aggregate, DomainError, DomainEvent};

/// What happens when a conversation's window closes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryAction {
    /// Nothing.
    #[default]
    None,
    /// The conversation is marked as expired.
    Mark,
    /// The conversation is marked, then resolved after the grace period.
    Resolve,
}

impl ExpiryAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryAction::None => "none",
            ExpiryAction::Mark => "mark",
            ExpiryAction::Resolve => "resolve",
        }
    }
}

/// How long Instagram allows replies tagged `HUMAN_AGENT`.
pub const HUMAN_AGENT_HOURS: u32 = 7 * 24;

/// Event: a channel's expiration rule was configured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChatExpirationRuleConfigured {
    /// The organization.
    pub tenant_id: Uuid,
    /// The channel.
    pub channel: Channel,
    /// Hours the window stays open after the customer last wrote; none: no window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_hours: Option<u32>,
    /// Instagram: replies tagged `HUMAN_AGENT` stay allowed for 7 days.
    #[serde(default)]
    pub human_agent_window: bool,
    /// What happens at expiry.
    pub expiry_action: ExpiryAction,
    /// For `resolve`: minutes after expiry before the conversation is resolved.
    #[serde(default)]
    pub resolve_after_minutes: u32,
}

/// The events of a chat-expiration-rule stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ChatExpirationRuleEvent {
    /// See [`ChatExpirationRuleConfigured`].
    ChatExpirationRuleConfigured(ChatExpirationRuleConfigured),
}

impl DomainEvent for ChatExpirationRuleEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ChatExpirationRuleEvent::ChatExpirationRuleConfigured(_) => "ChatExpirationRuleConfigured",
        }
    }
}

/// Configure (create or replace) a channel's rule.
#[derive(Debug, Clone)]
pub struct ConfigureChatExpiration(pub ChatExpirationRuleConfigured);

/// A channel's rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatExpirationRule {
    /// As configured last.
    pub rule: Option<ChatExpirationRuleConfigured>,
}

/// The window a channel's conversations have under a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowPolicy {
    /// The standard window; none: free-form messages are always allowed.
    pub standard: Option<Duration>,
    /// A longer window for replies tagged `HUMAN_AGENT` (Instagram).
    pub human_agent: Option<Duration>,
    /// What happens at expiry.
    pub action: ExpiryAction,
    /// For `resolve`: the grace period after expiry.
    pub grace: Duration,
}

impl WindowPolicy {
    /// The policy of `channel` under its rule, or the provider's window without one.
    pub fn of(channel: Channel, rule: Option<&ChatExpirationRuleConfigured>) -> Self {
        match rule {
            None => Self {
                standard: MessagingWindow::default_length(channel),
                human_agent: None,
                action: ExpiryAction::None,
                grace: Duration::zero(),
            },
            Some(rule) => Self {
                standard: rule.window_hours.map(|h| Duration::hours(i64::from(h))),
                human_agent: (rule.human_agent_window && channel == Channel::Instagram)
                    .then(|| Duration::hours(i64::from(HUMAN_AGENT_HOURS))),
                action: rule.expiry_action,
                grace: Duration::minutes(i64::from(rule.resolve_after_minutes)),
            },
        }
    }

    /// When free-form messages stop being possible: the longest window.
    pub fn longest(&self) -> Option<Duration> {
        match (self.standard, self.human_agent) {
            (Some(standard), Some(extended)) => Some(standard.max(extended)),
            (standard, None) => standard,
            (None, extended) => extended,
        }
    }
}

impl ChatExpirationRule {
    /// The stream id of a tenant's rule of a channel.
    pub fn id_for(tenant_id: Uuid, channel: Channel) -> Uuid {
        Uuid::new_v5(&tenant_id, format!("chat-expiration:{}", channel.as_str()).as_bytes())
    }
}

impl Aggregate for ChatExpirationRule {
    type Command = ConfigureChatExpiration;
    type Event = ChatExpirationRuleEvent;
    const STREAM_PREFIX: &'static str = "chatexpiration";
    const NAME: &'static str = "chat expiration rule";

    fn decide(&self, ConfigureChatExpiration(rule): ConfigureChatExpiration) -> Result<Vec<Self::Event>, DomainError> {
        let max_hours = match rule.channel {
            Channel::Api => return Err(DomainError::invalid("channel", "the api channel has no window")),
            // The providers close their windows after a day whatever is configured here.
            Channel::Whatsapp | Channel::Instagram => 24,
            Channel::Email => 24 * 365,
        };
        match rule.window_hours {
            Some(hours) if hours == 0 || hours > max_hours => {
                return Err(DomainError::invalid(
                    "window_hours",
                    format!("must be 1-{max_hours} for {}", rule.channel.as_str()),
                ))
            }
            None if rule.expiry_action != ExpiryAction::None => {
                return Err(DomainError::invalid(
                    "expiry_action",
                    "a channel without a window never expires: set window_hours",
                ))
            }
            _ => {}
        }
        if rule.human_agent_window && rule.channel != Channel::Instagram {
            return Err(DomainError::invalid(
                "human_agent_window",
                "only Instagram has the HUMAN_AGENT tag",
            ));
        }
        if rule.resolve_after_minutes > 60 * 24 * 30 {
            return Err(DomainError::invalid("resolve_after_minutes", "at most 30 days"));
        }
        if self.rule.as_ref() == Some(&rule) {
            return Ok(vec![]);
        }
        Ok(vec![ChatExpirationRuleEvent::ChatExpirationRuleConfigured(rule)])
    }

    fn apply(mut self, event: &Self::Event) -> Self {
        match event {
            ChatExpirationRuleEvent::ChatExpirationRuleConfigured(rule) => self.rule = Some(rule.clone()),
        }
        self
    }

    fn exists(&self) -> bool {
        self.rule.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    fn rule(channel: Channel, window_hours: Option<u32>, action: ExpiryAction) -> ConfigureChatExpiration {
        ConfigureChatExpiration(ChatExpirationRuleConfigured {
            tenant_id: Uuid::nil(),
            channel,
            window_hours,
            human_agent_window: false,
            expiry_action: action,
            resolve_after_minutes: 0,
        })
    }

    #[test]
    fn windows_stay_within_what_the_providers_allow() {
        assert!(given::<ChatExpirationRule>(&[])
            .when(rule(Channel::Whatsapp, Some(48), ExpiryAction::None))
            .is_err());
        assert!(given::<ChatExpirationRule>(&[])
            .when(rule(Channel::Email, None, ExpiryAction::Resolve))
            .is_err());
        assert!(given::<ChatExpirationRule>(&[])
            .when(rule(Channel::Api, Some(1), ExpiryAction::None))
            .is_err());
        let mut tagged = rule(Channel::Whatsapp, Some(24), ExpiryAction::Mark);
        tagged.0.human_agent_window = true;
        assert!(given::<ChatExpirationRule>(&[]).when(tagged).is_err());
        assert_eq!(
            given::<ChatExpirationRule>(&[])
                .when(rule(Channel::Email, Some(72), ExpiryAction::Resolve))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn instagram_may_extend_to_seven_days_for_human_agents() {
        let mut configured = rule(Channel::Instagram, Some(24), ExpiryAction::Mark).0;
        configured.human_agent_window = true;
        let policy = WindowPolicy::of(Channel::Instagram, Some(&configured));
        assert_eq!(policy.standard, Some(Duration::hours(24)));
        assert_eq!(policy.longest(), Some(Duration::hours(168)));
        let default = WindowPolicy::of(Channel::Email, None);
        assert_eq!((default.standard, default.action), (None, ExpiryAction::None));
    }
}
