//! Applying conversation events: the conversation row, its messages and its transfers.

use omnistream_domain::conversation::{ConversationEvent, MessageBody, MessageType};
use omnistream_store::RecordedEvent;
use sqlx::PgConnection;

use super::message_runs::MessageRun;
use super::{entity_id, tenant};
use crate::ProjectionError;

/// Characters of the last message kept for the inbox list.
const PREVIEW_CHARS: usize = 160;

pub(super) fn type_name(t: MessageType) -> &'static str {
    match t {
        MessageType::Text => "text",
        MessageType::Image => "image",
        MessageType::Video => "video",
        MessageType::Audio => "audio",
        MessageType::Document => "document",
        MessageType::Template => "template",
        MessageType::Unsupported => "unsupported",
    }
}

pub(super) fn preview(body: &MessageBody) -> String {
    match body.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => text.chars().take(PREVIEW_CHARS).collect(),
        None => format!("[{}]", type_name(body.message_type)),
    }
}

/// Applies one conversation event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: ConversationEvent,
) -> Result<(), ProjectionError> {
    let id = entity_id(event)?;
    let (at, version) = (event.recorded_at, event.version);
    match e {
        ConversationEvent::ConversationStarted(s) => {
            sqlx::query(
                "INSERT INTO conversations (id, tenant_id, contact_id, contact_name, contact_phone, contact_email, channel, \
                 channel_account_id, division_id, status, subject, last_activity_at, created_at, updated_at, version) \
                 SELECT $1, $2, $3, c.name, c.phone, c.email, $4, $5, $6, 'open', $7, $8, $8, $8, $9 \
                 FROM (SELECT 1) one LEFT JOIN contacts c ON c.id = $3 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(tenant(event)?)
            .bind(s.contact_id)
            .bind(s.channel.as_str())
            .bind(s.channel_account_id)
            .bind(s.division_id)
            .bind(&s.subject)
            .bind(at)
            .bind(version)
            .execute(&mut *conn)
            .await?;
        }
        ConversationEvent::ConversationAssigned(a) => {
            sqlx::query("UPDATE conversations SET assignee_id = $2, updated_at = $3, last_activity_at = $3, version = $4 WHERE id = $1")
                .bind(id)
                .bind(a.agent_id)
                .bind(at)
                .bind(version)
                .execute(&mut *conn)
                .await?;
        }
        ConversationEvent::ConversationStatusChanged(s) => {
            sqlx::query(
                "UPDATE conversations SET status = $2, snoozed_until = $3, updated_at = $4, last_activity_at = $4, version = $5 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(s.status.as_str())
            .bind(s.snoozed_until)
            .bind(at)
            .bind(version)
            .execute(&mut *conn)
            .await?;
        }
        ConversationEvent::ConversationTagsChanged(t) => {
            sqlx::query("UPDATE conversations SET tags = $2, updated_at = $3, version = $4 WHERE id = $1")
                .bind(id)
                .bind(&t.tags)
                .bind(at)
                .bind(version)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM conversation_tags WHERE conversation_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO conversation_tags (conversation_id, tenant_id, tag) \
                 SELECT $1, $2, tag FROM UNNEST($3::text[]) AS t(tag) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(tenant(event)?)
            .bind(&t.tags)
            .execute(&mut *conn)
            .await?;
        }
        ConversationEvent::ConversationTransferred(t) => {
            sqlx::query(
                "UPDATE conversations SET assignee_id = $2, division_id = $3, updated_at = $4, last_activity_at = $4, \
                 version = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(t.to_agent_id)
            .bind(t.to_division_id)
            .bind(at)
            .bind(version)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO transfers (id, tenant_id, conversation_id, from_agent_id, to_agent_id, from_division_id, \
                 to_division_id, reason, actor_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(t.transfer_id)
            .bind(tenant(event)?)
            .bind(id)
            .bind(t.from_agent_id)
            .bind(t.to_agent_id)
            .bind(t.from_division_id)
            .bind(t.to_division_id)
            .bind(&t.reason)
            .bind(event.metadata.actor.id)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ConversationEvent::ConversationContactChanged(c) => {
            sqlx::query(
                "UPDATE conversations v SET contact_id = $2, contact_name = c.name, contact_phone = c.phone, \
                 contact_email = c.email, updated_at = $3, version = $4 FROM contacts c WHERE v.id = $1 AND c.id = $2",
            )
            .bind(id)
            .bind(c.contact_id)
            .bind(at)
            .bind(version)
            .execute(&mut *conn)
            .await?;
        }
        ConversationEvent::ConversationRead(_) => {
            sqlx::query("UPDATE conversations SET unread_count = 0, version = $2 WHERE id = $1")
                .bind(id)
                .bind(version)
                .execute(&mut *conn)
                .await?;
        }
        ConversationEvent::MessageSent(m) => {
            sqlx::query(
                "UPDATE messages SET status = 'sent', provider_message_id = $2 WHERE id = $1 AND status = 'queued'",
            )
            .bind(m.message_id)
            .bind(m.provider_message_id)
            .execute(&mut *conn)
            .await?;
        }
        ConversationEvent::ConversationPriorityChanged(p) => {
            sqlx::query("UPDATE conversations SET priority = $2, updated_at = $3, version = $4 WHERE id = $1")
                .bind(id)
                .bind(p.priority.as_str())
                .bind(at)
                .bind(version)
                .execute(&mut *conn)
                .await?;
        }
        // SLA clocks are the `sla` projection's; the row only follows the stream's version.
        ConversationEvent::SlaPolicyApplied(_)
        | ConversationEvent::SlaPolicyRemoved(_)
        | ConversationEvent::SlaTargetStarted(_)
        | ConversationEvent::SlaWarningIssued(_)
        | ConversationEvent::SlaBreached(_)
        | ConversationEvent::SlaTargetStopped(_) => {
            sqlx::query("UPDATE conversations SET version = $2 WHERE id = $1")
                .bind(id)
                .bind(version)
                .execute(&mut *conn)
                .await?;
        }
        ConversationEvent::ConversationWindowExpired(e) => {
            sqlx::query("UPDATE conversations SET window_expired_at = $2, version = $3 WHERE id = $1")
                .bind(id)
                .bind(e.expired_at)
                .bind(version)
                .execute(&mut *conn)
                .await?;
        }
        ConversationEvent::MessageDeliveryAttempted(m) => {
            sqlx::query("UPDATE messages SET error = $2 WHERE id = $1 AND status = 'queued'")
                .bind(m.message_id)
                .bind(m.error)
                .execute(&mut *conn)
                .await?;
        }
        ConversationEvent::MessageStatusChanged(m) => {
            sqlx::query("UPDATE messages SET status = $2, error = $3 WHERE id = $1")
                .bind(m.message_id)
                .bind(m.status.as_str())
                .bind(m.error)
                .execute(&mut *conn)
                .await?;
        }
        message @ (ConversationEvent::MessageReceived(_)
        | ConversationEvent::MessageQueued(_)
        | ConversationEvent::MessageEchoed(_)) => {
            let mut run = MessageRun::default();
            run.take(event, &message)?;
            run.flush(conn).await?;
        }
    }
    Ok(())
}
