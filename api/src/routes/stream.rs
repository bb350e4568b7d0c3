//! Realtime: `GET /api/stream`, Server-Sent Events of the organization's conversation changes
//! that the caller may see. Each event's id is its global position; reconnecting with
//! `Last-Event-ID` resumes right after it, with nothing lost or repeated.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, BoxStream, StreamExt};
use omnistream_domain::Permission;
use omnistream_projections::inbox::conversation_queries::{self, Visibility};
use omnistream_projections::{wait, TenantScope};
use omnistream_store::postgres::{checkpoint_at, current_checkpoint, read_tenant_after};
use omnistream_store::{Checkpoint, EventStore, RecordedEvent};
use poem::web::sse::Event;
use poem::web::Data;
use poem_openapi::param::Header;
use poem_openapi::payload::EventStream;
use poem_openapi::{Object, OpenApi};
use tokio::sync::watch;
use uuid::Uuid;

use super::{visibility, ApiTags};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// One change, as the stream sends it (`event:` is the type, `id:` the position).
#[derive(Debug, Clone, Object)]
pub struct StreamEvent {
    /// The event's global position (also the SSE id).
    pub position: i64,
    /// The event type, such as `MessageReceived`.
    pub event_type: String,
    /// The conversation it belongs to.
    pub conversation_id: Uuid,
    /// Version within the conversation's stream.
    pub version: i64,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The event's payload.
    pub payload: serde_json::Value,
}

struct Cursor {
    state: Arc<AppState>,
    scope: TenantScope,
    visibility: Visibility,
    checkpoint: Checkpoint,
    buffer: VecDeque<StreamEvent>,
    wake_ups: watch::Receiver<u64>,
}

impl Cursor {
    /// Whether the caller may see this event's conversation, judged once the inbox model has
    /// applied the event (so a conversation assigned just now is judged by that assignment).
    async fn visible(&self, event: &RecordedEvent, conversation_id: Uuid) -> bool {
        if self.visibility == Visibility::All {
            return true;
        }
        let _ = wait::until(Duration::from_secs(2), || {
            wait::has_applied(&self.state.pool, "inbox", event.position)
        })
        .await;
        matches!(
            conversation_queries::get(&self.state.pool, self.scope, &self.visibility, conversation_id).await,
            Ok(Some(_))
        )
    }

    /// Fills the buffer with the next visible changes; waits for new events when none.
    async fn refill(&mut self) -> Result<(), String> {
        loop {
            let mut events = read_tenant_after(&self.state.pool, self.scope.tenant_id(), self.checkpoint, 200)
                .await
                .map_err(|e| e.to_string())?;
            self.state
                .events
                .shredder()
                .open(&mut events)
                .await
                .map_err(|e| e.to_string())?;
            if events.is_empty() {
                tokio::select! {
                    changed = self.wake_ups.changed() => if changed.is_err() { return Err("store stopped".into()) },
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
                continue;
            }
            for event in events {
                self.checkpoint = event.checkpoint();
                let Some(id) = event
                    .stream_id
                    .strip_prefix("conversation-")
                    .and_then(|id| Uuid::parse_str(id).ok())
                else {
                    continue;
                };
                if self.visible(&event, id).await {
                    self.buffer.push_back(StreamEvent {
                        position: event.position,
                        event_type: event.event_type,
                        conversation_id: id,
                        version: event.version,
                        recorded_at: event.recorded_at,
                        payload: event.payload,
                    });
                }
            }
            if !self.buffer.is_empty() {
                return Ok(());
            }
        }
    }
}

/// Realtime operations.
pub struct StreamApi;

#[OpenApi(tag = "ApiTags::Conversations")]
impl StreamApi {
    /// Server-Sent Events of conversation changes you may see: new messages, status changes,
    /// assignments, transfers, tags. Send the last `id` you received as `Last-Event-ID` to
    /// resume after it (needs `conversations.view`).
    #[oai(path = "/api/stream", method = "get")]
    async fn stream(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// The last event id received; the stream resumes after it.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> ApiResult<EventStream<BoxStream<'static, StreamEvent>>> {
        let principal = auth.principal().require(Permission::ConversationsView)?;
        let scope = principal.scope()?;
        let checkpoint = match last_event_id.0.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => current_checkpoint(&state.pool)
                .await
                .map_err(|e| ApiError::internal(&e))?,
            Some(raw) => {
                let position: i64 = raw.parse().map_err(|_| {
                    ApiError::validation("Last-Event-ID", "Last-Event-ID must be an event id from this stream")
                })?;
                checkpoint_at(&state.pool, position)
                    .await
                    .map_err(|e| ApiError::internal(&e))?
                    .ok_or_else(|| ApiError::validation("Last-Event-ID", "no event has this id"))?
            }
        };
        let cursor = Cursor {
            state: state.0.clone(),
            scope,
            visibility: visibility::of(state.0, principal).await?,
            checkpoint,
            buffer: VecDeque::new(),
            wake_ups: state.store.wake_ups(),
        };
        let events = stream::unfold(cursor, |mut cursor| async move {
            if cursor.buffer.is_empty() {
                if let Err(error) = cursor.refill().await {
                    tracing::warn!(%error, "realtime stream ended");
                    return None;
                }
            }
            let next = cursor.buffer.pop_front()?;
            Some((next, cursor))
        })
        .boxed();
        Ok(EventStream::new(events)
            .keep_alive(Duration::from_secs(15))
            .to_event(|item: StreamEvent| {
                let data = serde_json::to_string(&poem_openapi::types::ToJSON::to_json(&item)).unwrap_or_default();
                Event::message(data)
                    .id(item.position.to_string())
                    .event_type(item.event_type)
            }))
    }
}
