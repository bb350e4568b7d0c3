//! The scheduler projection: turns events that promise future work into durable jobs
//! (`jobs` table), in the same transaction as its checkpoint, so each is scheduled once.

use async_trait::async_trait;
use omnistream_domain::conversation::{Channel, ConversationEvent, ConversationStatus};
use omnistream_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Projection, ProjectionError};

/// Job kind: reopen a snoozed conversation when its snooze ends.
pub const CONVERSATION_WAKE_UP: &str = "conversation.wake_up";

/// Job kind: send a queued outbound message through its channel.
pub const MESSAGE_DELIVER: &str = "message.deliver";

/// The scheduler projection.
pub struct SchedulerProjection;

#[async_trait]
impl Projection for SchedulerProjection {
    fn name(&self) -> &'static str {
        "scheduler"
    }

    fn definition_version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    fn ddl(&self) -> &'static str {
        // Its only table, `jobs`, is shared with the workers and lives in a migration; job
        // keys make a rebuild schedule nothing twice, and a delivery job for a message that
        // is no longer queued does nothing.
        ""
    }

    async fn apply(&self, conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.event_type != "ConversationStatusChanged" && event.event_type != "MessageQueued" {
            return Ok(());
        }
        let conversation_id = event.stream_id.trim_start_matches("conversation-");
        let (key, kind, payload, due) = match event.decode::<ConversationEvent>()? {
            ConversationEvent::ConversationStatusChanged(changed) => {
                let (ConversationStatus::Snoozed, Some(until)) = (changed.status, changed.snoozed_until) else {
                    return Ok(());
                };
                (
                    format!("{CONVERSATION_WAKE_UP}:{conversation_id}:{}", until.timestamp_micros()),
                    CONVERSATION_WAKE_UP,
                    serde_json::json!({ "conversation_id": conversation_id, "snoozed_until": until }),
                    until,
                )
            }
            // Messages of the API channel are the API consumer's to deliver.
            ConversationEvent::MessageQueued(queued) if queued.channel.is_some_and(|c| c != Channel::Api) => (
                format!("{MESSAGE_DELIVER}:{}", queued.message_id),
                MESSAGE_DELIVER,
                serde_json::json!({ "conversation_id": conversation_id, "message_id": queued.message_id }),
                event.recorded_at,
            ),
            _ => return Ok(()),
        };
        sqlx::query(
            "INSERT INTO public.jobs (id, key, tenant_id, kind, payload, due_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(key)
        .bind(event.tenant_id)
        .bind(kind)
        .bind(payload)
        .bind(due)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
