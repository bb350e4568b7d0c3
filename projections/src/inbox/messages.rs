//! Messages of a conversation, paged by cursor in both directions.

use chrono::{DateTime, Utc};
use omnistream_domain::conversation::ProviderAttachment;
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::{ProjectionError, TenantScope};

/// A message.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct MessageRow {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// Order within the conversation (the event's global position).
    pub position: i64,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// The message type.
    pub message_type: String,
    /// Text.
    pub text: Option<String>,
    /// Media.
    pub media_ids: Vec<Uuid>,
    /// The message it answers.
    pub reply_to_message_id: Option<Uuid>,
    /// Delivery status.
    pub status: String,
    /// Author (outbound).
    pub author_agent_id: Option<Uuid>,
    /// The quick reply used.
    pub quick_reply_id: Option<Uuid>,
    /// Whether it was the conversation's first reply.
    pub first_response: bool,
    /// The provider's id of the message.
    pub provider_message_id: Option<String>,
    /// Media the provider holds.
    pub attachments: sqlx::types::Json<Vec<ProviderAttachment>>,
    /// Why delivery failed.
    pub error: Option<String>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// Which way to page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Older than the cursor (or the newest, without one).
    Before(Option<i64>),
    /// Newer than the cursor.
    After(i64),
}

/// A page of messages, oldest first, with cursors both ways.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagePage {
    /// The messages, oldest first.
    pub data: Vec<MessageRow>,
    /// Pass as `before` for older messages, when there are some.
    pub before_cursor: Option<i64>,
    /// Pass as `after` for newer messages, when there are some.
    pub after_cursor: Option<i64>,
}

const COLUMNS: &str = "id, conversation_id, position, direction, message_type, text, media_ids, reply_to_message_id, \
     status, author_agent_id, quick_reply_id, first_response, provider_message_id, attachments, error, created_at";

/// Messages of a conversation of the tenant.
pub async fn page(
    pool: &PgPool,
    scope: TenantScope,
    conversation_id: Uuid,
    direction: Direction,
    limit: i64,
) -> Result<MessagePage, ProjectionError> {
    let mut data: Vec<MessageRow> = match direction {
        Direction::Before(cursor) => {
            let mut rows: Vec<MessageRow> = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM rm.messages WHERE tenant_id = $1 AND conversation_id = $2 \
                 AND ($3::bigint IS NULL OR position < $3) ORDER BY position DESC LIMIT $4"
            ))
            .bind(scope.tenant_id())
            .bind(conversation_id)
            .bind(cursor)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?;
            rows.reverse();
            rows
        }
        Direction::After(cursor) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM rm.messages WHERE tenant_id = $1 AND conversation_id = $2 AND position > $3 \
                 ORDER BY position LIMIT $4"
            ))
            .bind(scope.tenant_id())
            .bind(conversation_id)
            .bind(cursor)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        }
    };
    let more = data.len() as i64 > limit;
    let (older, newer) = match direction {
        Direction::Before(cursor) => {
            if more {
                data.remove(0);
            }
            (more, cursor.is_some())
        }
        Direction::After(_) => {
            data.truncate(limit as usize);
            (true, more)
        }
    };
    Ok(MessagePage {
        before_cursor: if older { data.first().map(|m| m.position) } else { None },
        after_cursor: if newer { data.last().map(|m| m.position) } else { None },
        data,
    })
}

/// One message of the tenant.
pub async fn get(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<MessageRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rm.messages WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(pool)
    .await?)
}
