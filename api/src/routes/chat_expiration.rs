//! Chat Expiration tag: per channel, how long the messaging window stays open after the
//! customer last wrote and what happens when it closes. Sends outside the window are refused
//! with 422 `window_closed` (templates excepted); the inbox shows each window.

use chrono::{DateTime, Utc};
use omnistream_commands::chat_expiration::{self as rule_commands, RuleSettings};
use omnistream_domain::chat_expiration::{ExpiryAction, HUMAN_AGENT_HOURS};
use omnistream_domain::messaging_window::MessagingWindow;
use omnistream_domain::Permission;
use omnistream_projections::channels::expiration_rules::{self, RuleRow};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::consistency::wait_for_position;
use super::integrations::IntegrationChannel;
use super::ApiTags;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::state::SharedState;

/// What happens when a conversation's window closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ChatExpiryAction {
    /// Nothing.
    None,
    /// The conversation is marked (`window.marked_at`).
    Mark,
    /// Marked, then resolved after `resolve_after_minutes`.
    Resolve,
}

impl ChatExpiryAction {
    fn domain(self) -> ExpiryAction {
        match self {
            Self::None => ExpiryAction::None,
            Self::Mark => ExpiryAction::Mark,
            Self::Resolve => ExpiryAction::Resolve,
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            "mark" => Self::Mark,
            "resolve" => Self::Resolve,
            _ => Self::None,
        }
    }
}

/// A channel's messaging-window rule.
#[derive(Debug, Clone, Object)]
pub struct ChatExpirationRule {
    /// The channel.
    pub channel: IntegrationChannel,
    /// Hours free-form replies stay allowed after the customer last wrote (none: always).
    #[oai(skip_serializing_if_is_none)]
    pub window_hours: Option<i32>,
    /// Instagram: replies tagged `HUMAN_AGENT` stay allowed for 7 days.
    pub human_agent_window: bool,
    /// Hours replies are allowed at all (the human-agent extension included).
    #[oai(skip_serializing_if_is_none)]
    pub effective_window_hours: Option<i32>,
    /// What happens at expiry.
    pub expiry_action: ChatExpiryAction,
    /// For `resolve`: minutes after expiry before the conversation is resolved.
    pub resolve_after_minutes: i32,
    /// Whether it was configured (otherwise: the provider's window, no action).
    pub configured: bool,
    /// Last changed.
    #[oai(skip_serializing_if_is_none)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Stream version (0 when never configured).
    pub version: i64,
}

impl ChatExpirationRule {
    fn from_row(channel: IntegrationChannel, row: Option<&RuleRow>) -> Self {
        match row {
            Some(row) => Self {
                channel,
                window_hours: row.window_hours,
                human_agent_window: row.human_agent_window,
                effective_window_hours: if row.human_agent_window {
                    Some(HUMAN_AGENT_HOURS as i32)
                } else {
                    row.window_hours
                },
                expiry_action: ChatExpiryAction::of(&row.expiry_action),
                resolve_after_minutes: row.resolve_after_minutes,
                configured: true,
                updated_at: Some(row.updated_at),
                version: row.version,
            },
            None => {
                let hours = MessagingWindow::default_length(channel.domain()).map(|d| d.num_hours() as i32);
                Self {
                    channel,
                    window_hours: hours,
                    human_agent_window: false,
                    effective_window_hours: hours,
                    expiry_action: ChatExpiryAction::None,
                    resolve_after_minutes: 0,
                    configured: false,
                    updated_at: None,
                    version: 0,
                }
            }
        }
    }
}

/// A channel's rule; it replaces the current one.
#[derive(Debug, Clone, Object)]
pub struct UpsertChatExpirationRule {
    /// Hours the window stays open (WhatsApp and Instagram: 1-24; e-mail: 1-8760; absent:
    /// no window, e-mail only).
    pub window_hours: Option<u32>,
    /// Instagram only: allow replies tagged `HUMAN_AGENT` for 7 days.
    pub human_agent_window: Option<bool>,
    /// What happens at expiry (default `none`).
    pub expiry_action: Option<ChatExpiryAction>,
    /// For `resolve`: minutes after expiry (default 0, at most 30 days).
    pub resolve_after_minutes: Option<u32>,
}

/// A rule written by a command.
#[derive(ApiResponse)]
pub enum RuleWritten {
    /// Configured.
    #[oai(status = 200)]
    Ok(
        Json<ChatExpirationRule>,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
}

/// Rule operations.
pub struct ChatExpirationApi;

#[OpenApi(prefix_path = "/api/chat-expiration-rules", tag = "ApiTags::ChatExpiration")]
impl ChatExpirationApi {
    /// Every channel's rule, configured or the provider's default (needs `conversations.view`).
    #[oai(path = "/", method = "get")]
    async fn list(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<Vec<ChatExpirationRule>>> {
        let principal = auth.principal().require(Permission::ConversationsView)?;
        let rows = expiration_rules::list(&state.pool, principal.scope()?).await?;
        Ok(Json(
            IntegrationChannel::ALL
                .into_iter()
                .map(|c| ChatExpirationRule::from_row(c, rows.iter().find(|r| r.channel == c.domain().as_str())))
                .collect(),
        ))
    }

    /// One channel's rule (needs `conversations.view`).
    #[oai(path = "/:channel", method = "get")]
    async fn get(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        channel: Path<IntegrationChannel>,
    ) -> ApiResult<Json<ChatExpirationRule>> {
        let principal = auth.principal().require(Permission::ConversationsView)?;
        let rows = expiration_rules::list(&state.pool, principal.scope()?).await?;
        let row = rows.iter().find(|r| r.channel == channel.0.domain().as_str());
        Ok(Json(ChatExpirationRule::from_row(channel.0, row)))
    }

    /// Configures a channel's rule (needs `chat_expiration.manage`).
    #[oai(path = "/:channel", method = "put")]
    async fn upsert(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        channel: Path<IntegrationChannel>,
        body: Json<UpsertChatExpirationRule>,
    ) -> ApiResult<RuleWritten> {
        let principal = auth.principal().require(Permission::ChatExpirationManage)?;
        let body = body.0;
        let settings = RuleSettings {
            window_hours: body.window_hours,
            human_agent_window: body.human_agent_window.unwrap_or(false),
            expiry_action: body.expiry_action.unwrap_or(ChatExpiryAction::None).domain(),
            resolve_after_minutes: body.resolve_after_minutes.unwrap_or(0),
        };
        let ctx = principal.command_context()?;
        let executed = rule_commands::configure(&state.bus, &ctx, channel.0.domain(), settings).await?;
        let scope = principal.scope()?;
        wait_for_position(state.0, "channels", executed.position).await?;
        state.window_rules.forget(scope.tenant_id());
        let rows = expiration_rules::list(&state.pool, scope).await?;
        let row = rows.iter().find(|r| r.channel == channel.0.domain().as_str());
        Ok(RuleWritten::Ok(
            Json(ChatExpirationRule::from_row(channel.0, row)),
            executed.position,
        ))
    }
}
