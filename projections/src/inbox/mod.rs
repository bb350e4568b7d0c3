//! The inbox read model: contacts, conversations with their last message and unread count,
//! messages, transfers, notes, quick replies and divisions, with the queries the inbox serves.

pub mod contacts;
pub mod conversation_queries;
pub mod conversations;
pub mod divisions;
pub mod media;
pub mod messages;
pub mod notes;
pub mod quick_replies;
pub mod transfers;

use async_trait::async_trait;
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
        2
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "contacts",
            "conversations",
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
