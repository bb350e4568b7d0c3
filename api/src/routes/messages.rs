//! Messages tag: a conversation's messages (cursor paging both ways) and sending.

use chrono::{DateTime, Utc};
use omnistream_commands::conversations::{self as conversation_commands, OutgoingMessage};
use omnistream_commands::{CommandError, Executed};
use omnistream_domain::conversation::{MessageBody, MessageType as DomainType};
use omnistream_domain::{DomainError, Permission};
use omnistream_projections::inbox::conversation_queries;
use omnistream_projections::inbox::messages::{self as message_queries, Direction, MessageRow};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Serialize;
use uuid::Uuid;

use super::direct_json::{rfc3339, SerializedJson};
use super::{visibility, ApiTags};
use crate::auth::{Auth, Principal};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// Text.
    Text,
    /// An image.
    Image,
    /// A video.
    Video,
    /// Audio.
    Audio,
    /// A document.
    Document,
    /// A WhatsApp template.
    Template,
    /// A kind OmniStream does not handle yet.
    Unsupported,
}

impl From<MessageType> for DomainType {
    fn from(t: MessageType) -> Self {
        match t {
            MessageType::Text => DomainType::Text,
            MessageType::Image => DomainType::Image,
            MessageType::Video => DomainType::Video,
            MessageType::Audio => DomainType::Audio,
            MessageType::Document => DomainType::Document,
            MessageType::Template => DomainType::Template,
            MessageType::Unsupported => DomainType::Unsupported,
        }
    }
}

fn type_of(stored: &str) -> MessageType {
    match stored {
        "image" => MessageType::Image,
        "video" => MessageType::Video,
        "audio" => MessageType::Audio,
        "document" => MessageType::Document,
        "template" => MessageType::Template,
        "unsupported" => MessageType::Unsupported,
        _ => MessageType::Text,
    }
}

/// Who sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MessageDirection {
    /// From the customer.
    Inbound,
    /// To the customer.
    Outbound,
}

/// Where a message is on its way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Received from the customer.
    Received,
    /// Recorded, waiting for delivery.
    Queued,
    /// Accepted by the provider.
    Sent,
    /// Delivered to the customer's device.
    Delivered,
    /// Read by the customer.
    Read,
    /// Not delivered (final).
    Failed,
}

fn status_of(stored: &str) -> MessageStatus {
    match stored {
        "queued" => MessageStatus::Queued,
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "failed" => MessageStatus::Failed,
        _ => MessageStatus::Received,
    }
}

/// Media a channel's provider holds for a message.
#[derive(Debug, Clone, Object, Serialize)]
pub struct MessageAttachment {
    /// `image`, `audio`, `video`, `document`, `sticker`, `file`, ...
    pub kind: String,
    /// The provider's media id (WhatsApp).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_media_id: Option<String>,
    /// Where the provider serves it (Instagram).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Its type.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Its file name.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A message.
#[derive(Debug, Clone, Object, Serialize)]
pub struct Message {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// Who sent it.
    pub direction: MessageDirection,
    /// What it carries.
    pub message_type: MessageType,
    /// Text or caption.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Media.
    pub media_ids: Vec<Uuid>,
    /// The message it answers.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to_message_id: Option<Uuid>,
    /// Delivery status.
    pub status: MessageStatus,
    /// The agent who wrote it.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_agent_id: Option<Uuid>,
    /// The quick reply used.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quick_reply_id: Option<Uuid>,
    /// Whether it was the conversation's first reply.
    pub first_response: bool,
    /// The channel provider's id of the message (`wamid...`, Instagram `mid`, e-mail Message-ID).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    /// Media the channel's provider holds, fetched later.
    pub attachments: Vec<MessageAttachment>,
    /// Why delivery failed, as the provider said.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Order within the conversation.
    pub position: i64,
    /// When it was recorded.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<MessageRow> for Message {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            conversation_id: row.conversation_id,
            direction: if row.direction == "inbound" {
                MessageDirection::Inbound
            } else {
                MessageDirection::Outbound
            },
            message_type: type_of(&row.message_type),
            text: row.text,
            media_ids: row.media_ids,
            reply_to_message_id: row.reply_to_message_id,
            status: status_of(&row.status),
            author_agent_id: row.author_agent_id,
            quick_reply_id: row.quick_reply_id,
            first_response: row.first_response,
            provider_message_id: row.provider_message_id,
            attachments: row
                .attachments
                .0
                .into_iter()
                .map(|a| MessageAttachment {
                    kind: a.kind,
                    provider_media_id: a.provider_media_id,
                    url: a.url,
                    mime_type: a.mime_type,
                    name: a.name,
                })
                .collect(),
            error: row.error,
            position: row.position,
            created_at: row.created_at,
        }
    }
}

/// A page of messages, oldest first.
#[derive(Debug, Clone, Object, Serialize)]
pub struct MessageListResponse {
    /// The messages, oldest first.
    pub data: Vec<Message>,
    /// Pass as `before` for older messages.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_cursor: Option<i64>,
    /// Pass as `after` for newer messages.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_cursor: Option<i64>,
}

/// A message to send (or, with `direction: inbound` on an `api` conversation, to record
/// from the customer). Needs text, media or a quick reply.
#[derive(Debug, Clone, Object)]
pub struct SendMessageRequest {
    /// Text (at most 4096 characters).
    pub text: Option<String>,
    /// Uploaded media.
    pub media_ids: Option<Vec<Uuid>>,
    /// A quick reply whose content (variables rendered) becomes the text.
    pub quick_reply_id: Option<Uuid>,
    /// The message this one answers.
    pub reply_to_message_id: Option<Uuid>,
    /// The message type (default: text, or image when only media is sent).
    pub message_type: Option<MessageType>,
    /// `outbound` (default) or `inbound` (API channel only).
    pub direction: Option<MessageDirection>,
}

/// A WhatsApp template to send.
#[derive(Debug, Clone, Object)]
pub struct SendTemplateMessageRequest {
    /// An approved template of the conversation's WhatsApp account.
    pub template_id: Uuid,
    /// One value per body placeholder (`{{1}}`, `{{2}}`, ...), in order.
    pub body_parameters: Option<Vec<String>>,
}

/// Sending answers.
#[derive(ApiResponse)]
pub enum MessageSent {
    /// Recorded (queued for delivery when outbound).
    #[oai(status = 201)]
    Created(
        Json<Message>,
        #[oai(header = "X-Stream-Version")] i64,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
}

/// Message operations.
pub struct MessagesApi;

#[OpenApi(tag = "ApiTags::Messages")]
impl MessagesApi {
    /// A conversation's messages, oldest first: the newest page without cursors, then
    /// `before` for older and `after` for newer (needs `conversations.view`).
    #[oai(path = "/api/conversations/:id/messages", method = "get")]
    async fn list(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        /// Messages before this position.
        before: Query<Option<i64>>,
        /// Messages after this position.
        after: Query<Option<i64>>,
        /// How many (1-200, default 50).
        limit: Query<Option<i64>>,
    ) -> ApiResult<SerializedJson<MessageListResponse>> {
        let principal = auth.principal().require(Permission::ConversationsView)?;
        let limit = limit.0.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::validation("limit", "limit must be between 1 and 200"));
        }
        let direction = match (before.0, after.0) {
            (Some(_), Some(_)) => return Err(ApiError::validation("before", "send before or after, not both")),
            (_, Some(after)) => Direction::After(after),
            (before, None) => Direction::Before(before),
        };
        let scope = principal.scope()?;
        let key = format!("{}|{}|{direction:?}|{limit}", visibility::cache_key(principal), id.0);
        let page = state
            .message_pages
            .get_or_load(scope.tenant_id(), key, false, || async {
                // Not visible (or not there): kept as such, answered 404 below.
                let visibility = visibility::of(state.0, principal).await?;
                if conversation_queries::get(&state.pool, scope, &visibility, id.0)
                    .await?
                    .is_none()
                {
                    return Ok((None, None));
                }
                let page = message_queries::page(&state.pool, scope, id.0, direction, limit).await?;
                let response = MessageListResponse {
                    data: page.data.into_iter().map(Message::from).collect(),
                    before_cursor: page.before_cursor,
                    after_cursor: page.after_cursor,
                };
                let serialized = SerializedJson::of(&response).map_err(|e| ApiError::internal(&e))?;
                Ok::<_, ApiError>((Some(serialized), None))
            })
            .await?;
        page.as_ref().clone().ok_or_else(|| ApiError::not_found("conversation"))
    }

    /// Sends a message: recorded as queued for delivery by the channel; with an
    /// `Idempotency-Key` a retried send never sends twice (needs `messages.send`).
    #[oai(path = "/api/conversations/:id/messages", method = "post")]
    async fn send(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<SendMessageRequest>,
    ) -> ApiResult<MessageSent> {
        let principal = auth.principal().require(Permission::MessagesSend)?;
        let body = body.0;
        visibility::conversation(state.0, principal, id.0, None).await?;
        let media_ids = body.media_ids.unwrap_or_default();
        let message_type = body.message_type.map(DomainType::from).unwrap_or(
            if body.text.is_none() && body.quick_reply_id.is_none() && !media_ids.is_empty() {
                DomainType::Image
            } else {
                DomainType::Text
            },
        );
        let message = MessageBody {
            message_type,
            text: body.text,
            media_ids,
            reply_to_message_id: body.reply_to_message_id,
            ..MessageBody::default()
        };
        let ctx = principal.command_context()?;
        let executed = match body.direction {
            Some(MessageDirection::Inbound) => {
                if body.quick_reply_id.is_some() {
                    return Err(ApiError::validation(
                        "quick_reply_id",
                        "customers do not use quick replies",
                    ));
                }
                conversation_commands::receive(&state.bus, &ctx, id.0, message).await?
            }
            _ => {
                let outgoing = OutgoingMessage {
                    body: message,
                    quick_reply_id: body.quick_reply_id,
                    template: None,
                    author_agent_id: principal.agent_id(),
                };
                match conversation_commands::send(&state.bus, &ctx, id.0, outgoing).await {
                    Err(CommandError::Domain(DomainError::WindowClosed { closed_at })) => {
                        return Err(ApiError::window_closed(closed_at, &id.0.to_string()))
                    }
                    other => other?,
                }
            }
        };
        recorded(state.0, principal, executed).await
    }

    /// Sends an approved WhatsApp template with one value per body placeholder: the way to
    /// write to a customer outside the 24-hour window (needs `messages.send`).
    #[oai(path = "/api/conversations/:id/messages/template", method = "post")]
    async fn send_template(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<SendTemplateMessageRequest>,
    ) -> ApiResult<MessageSent> {
        let principal = auth.principal().require(Permission::MessagesSend)?;
        visibility::conversation(state.0, principal, id.0, None).await?;
        let body = body.0;
        let outgoing = OutgoingMessage {
            body: MessageBody::default(),
            quick_reply_id: None,
            template: Some((body.template_id, body.body_parameters.unwrap_or_default())),
            author_agent_id: principal.agent_id(),
        };
        let ctx = principal.command_context()?;
        let executed = conversation_commands::send(&state.bus, &ctx, id.0, outgoing).await?;
        recorded(state.0, principal, executed).await
    }
}

/// The message a command recorded, once the inbox shows it.
async fn recorded(state: &AppState, principal: &Principal, executed: Executed) -> ApiResult<MessageSent> {
    super::consistency::wait_for_position(state, "inbox", executed.position).await?;
    let sent = message_queries::get(&state.pool, principal.scope()?, executed.id)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    Ok(MessageSent::Created(
        Json(sent.into()),
        executed.version,
        executed.position,
    ))
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;

    #[test]
    fn the_message_page_serializes_directly_as_its_schema_says() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("instant");
        let message = |filled: bool| Message {
            id: Uuid::now_v7(),
            conversation_id: Uuid::now_v7(),
            direction: if filled {
                MessageDirection::Outbound
            } else {
                MessageDirection::Inbound
            },
            message_type: if filled {
                MessageType::Document
            } else {
                MessageType::Text
            },
            text: filled.then(|| "see \"attached\"\n€".to_owned()),
            media_ids: if filled { vec![Uuid::now_v7()] } else { vec![] },
            reply_to_message_id: filled.then(Uuid::now_v7),
            status: if filled {
                MessageStatus::Failed
            } else {
                MessageStatus::Received
            },
            author_agent_id: filled.then(Uuid::now_v7),
            quick_reply_id: None,
            first_response: filled,
            provider_message_id: filled.then(|| "wamid.1".to_owned()),
            attachments: vec![MessageAttachment {
                kind: "document".into(),
                provider_media_id: filled.then(|| "m1".to_owned()),
                url: None,
                mime_type: Some("application/pdf".into()),
                name: None,
            }],
            error: filled.then(|| "131047".to_owned()),
            position: 7,
            created_at: at("2026-12-02T12:30:00.123456Z"),
        };
        for cursors in [(Some(3), None), (None, Some(9))] {
            let page = MessageListResponse {
                data: vec![message(true), message(false)],
                before_cursor: cursors.0,
                after_cursor: cursors.1,
            };
            assert_eq!(serde_json::to_value(&page).ok(), page.to_json());
        }
    }
}
