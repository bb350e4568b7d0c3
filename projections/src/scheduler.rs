//! The scheduler projection: turns events that promise future work into durable jobs
//! (`jobs` table), in the same transaction as its checkpoint, so each is scheduled once.

use async_trait::async_trait;
use omnistream_domain::conversation::{ConversationEvent, ConversationStatus};
use omnistream_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Projection, ProjectionError};

/// Job kind: reopen a snoozed conversation when its snooze ends.
pub const CONVERSATION_WAKE_UP: &str = "conversation.wake_up";

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
        // keys make a rebuild schedule nothing twice.
        ""
    }

    async fn apply(&self, conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.event_type != "ConversationStatusChanged" {
            return Ok(());
        }
        let ConversationEvent::ConversationStatusChanged(changed) = event.decode::<ConversationEvent>()? else {
            return Ok(());
        };
        let (ConversationStatus::Snoozed, Some(until)) = (changed.status, changed.snoozed_until) else {
            return Ok(());
        };
        let conversation_id = event.stream_id.trim_start_matches("conversation-");
        sqlx::query(
            "INSERT INTO public.jobs (id, key, tenant_id, kind, payload, due_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(format!(
            "{CONVERSATION_WAKE_UP}:{conversation_id}:{}",
            until.timestamp_micros()
        ))
        .bind(event.tenant_id)
        .bind(CONVERSATION_WAKE_UP)
        .bind(serde_json::json!({ "conversation_id": conversation_id, "snoozed_until": until }))
        .bind(until)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
