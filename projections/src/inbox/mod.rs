//! The inbox read model: contacts, conversations with their last message and unread count,
//! messages, transfers, notes, quick replies and divisions, with the queries the inbox serves.

pub mod contact_search;
pub mod contacts;
pub mod conversation_queries;
pub mod conversations;
pub mod divisions;
pub mod media;
mod message_runs;
pub mod messages;
pub mod notes;
pub mod planned_once;
pub mod quick_replies;
pub mod search_backend;
pub mod search_statistics;
pub mod transfers;

use async_trait::async_trait;
use omnistream_domain::conversation::ConversationEvent;
use omnistream_store::{RecordedEvent, StoreError};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Projection, ProjectionError};

/// The inbox projection.
pub struct InboxProjection;

/// The id part of an `<prefix>-<uuid>` stream.
pub(crate) fn entity_id(event: &RecordedEvent) -> Result<Uuid, ProjectionError> {
    event
        .stream_id
        .split_once('-')
        .and_then(|(_, id)| Uuid::parse_str(id).ok())
        .ok_or_else(|| {
            ProjectionError::Store(StoreError::Corrupt {
                position: event.position,
                reason: format!("stream id {} has no uuid", event.stream_id),
            })
        })
}

/// The event's tenant, which every inbox stream has.
pub(crate) fn tenant(event: &RecordedEvent) -> Result<Uuid, ProjectionError> {
    event.tenant_id.ok_or_else(|| {
        ProjectionError::Store(StoreError::Corrupt {
            position: event.position,
            reason: "inbox event without a tenant".into(),
        })
    })
}

#[async_trait]
impl Projection for InboxProjection {
    fn name(&self) -> &'static str {
        "inbox"
    }

    fn definition_version(&self) -> i32 {
        9
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "contacts",
            "contact_terms",
            "conversations",
            "conversation_counts",
            "conversation_tags",
            "messages",
            "transfers",
            "notes",
            "quick_replies",
            "divisions",
            "division_members",
            "media",
        ]
    }

    fn ddl(&self) -> &'static str {
        include_str!("schema.sql")
    }

    /// Message events go into a run written in two statements; anything that must see those
    /// writes first flushes the run, so the result equals applying the events one by one.
    async fn apply_batch(&self, conn: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let mut run = message_runs::MessageRun::default();
        for event in events {
            match event.stream_id.split_once('-').map_or("", |(p, _)| p) {
                "conversation" => {
                    let decoded: ConversationEvent = event.decode()?;
                    if run.take(event, &decoded)? {
                        continue;
                    }
                    if run.touches(entity_id(event)?) {
                        run.flush(conn).await?;
                    }
                    conversations::apply(conn, event, decoded).await?;
                }
                // An erasure clears message texts: the run's must be there to be cleared.
                "contact" if event.event_type == "ContactErased" => {
                    run.flush(conn).await?;
                    self.apply(conn, event).await?;
                }
                _ => self.apply(conn, event).await?,
            }
        }
        run.flush(conn).await
    }

    async fn apply(&self, conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        match event.stream_id.split_once('-').map_or("", |(p, _)| p) {
            "contact" => contacts::apply(conn, event, event.decode()?).await,
            "conversation" => conversations::apply(conn, event, event.decode()?).await,
            "note" => notes::apply(conn, event, event.decode()?).await,
            "quickreply" => quick_replies::apply(conn, event, event.decode()?).await,
            "division" => divisions::apply(conn, event, event.decode()?).await,
            "media" => media::apply(conn, event, event.decode()?).await,
            _ => Ok(()),
        }
    }
}
