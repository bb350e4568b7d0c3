//! The scheduler projection: turns events that promise future work into durable jobs
//! (`jobs` table), in the same transaction as its checkpoint, so each is scheduled once.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use omnistream_domain::conversation::{Channel, ConversationEvent, ConversationStatus};
use omnistream_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Projection, ProjectionError};

/// Job kind: reopen a snoozed conversation when its snooze ends.
pub const CONVERSATION_WAKE_UP: &str = "conversation.wake_up";

/// Job kind: send a queued outbound message through its channel.
pub const MESSAGE_DELIVER: &str = "message.deliver";

/// Job kind: act on a conversation whose messaging window may have closed (one job per
/// conversation, moved on by each customer message).
pub const CONVERSATION_WINDOW_EXPIRY: &str = "conversation.window_expiry";

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

    /// Customer messages of a batch move each conversation's expiry job once, to an hour
    /// after its latest message (the job then waits for the window its rule sets).
    async fn apply_batch(&self, conn: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let mut latest: HashMap<&str, (Option<Uuid>, DateTime<Utc>)> = HashMap::new();
        for event in events {
            if event.event_type != "MessageReceived" {
                self.apply(conn, event).await?;
                continue;
            }
            let ConversationEvent::MessageReceived(received) = event.decode::<ConversationEvent>()? else {
                continue;
            };
            if received.channel.is_none_or(|c| c == Channel::Api) {
                continue;
            }
            let conversation_id = event.stream_id.trim_start_matches("conversation-");
            let entry = latest
                .entry(conversation_id)
                .or_insert((event.tenant_id, received.received_at));
            entry.1 = entry.1.max(received.received_at);
        }
        if latest.is_empty() {
            return Ok(());
        }
        let (mut ids, mut keys, mut tenants, mut payloads, mut due) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (conversation_id, (tenant_id, at)) in latest {
            ids.push(Uuid::now_v7());
            keys.push(format!("{CONVERSATION_WINDOW_EXPIRY}:{conversation_id}"));
            tenants.push(tenant_id);
            payloads.push(serde_json::json!({ "conversation_id": conversation_id }));
            due.push(at + chrono::Duration::hours(1));
        }
        sqlx::query(
            "INSERT INTO public.jobs (id, key, tenant_id, kind, payload, due_at) \
             SELECT id, key, tenant_id, $4, payload, due_at \
             FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $5::jsonb[], $6::timestamptz[]) \
               AS t(id, key, tenant_id, payload, due_at) \
             ON CONFLICT (key) DO UPDATE SET due_at = greatest(jobs.due_at, excluded.due_at), done_at = NULL, \
                 attempts = 0, locked_until = NULL, last_error = NULL",
        )
        .bind(&ids)
        .bind(&keys)
        .bind(&tenants)
        .bind(CONVERSATION_WINDOW_EXPIRY)
        .bind(&payloads)
        .bind(&due)
        .execute(&mut *conn)
        .await?;
        Ok(())
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
