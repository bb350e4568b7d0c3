//! Notes: applying note events, and the notes of a conversation.

use chrono::{DateTime, Utc};
use omnistream_domain::note::NoteEvent;
use omnistream_store::RecordedEvent;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use super::{entity_id, tenant};
use crate::{ProjectionError, TenantScope};

/// Applies one note event.
pub(crate) async fn apply(conn: &mut PgConnection, event: &RecordedEvent, e: NoteEvent) -> Result<(), ProjectionError> {
    let id = entity_id(event)?;
    let query = match e {
        NoteEvent::NoteAdded(n) => sqlx::query(
            "INSERT INTO notes (id, tenant_id, conversation_id, author_agent_id, content, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(tenant(event)?)
        .bind(n.conversation_id)
        .bind(n.author_agent_id)
        .bind(n.content)
        .bind(event.recorded_at)
        .bind(event.version),
        NoteEvent::NoteEdited(n) => sqlx::query("UPDATE notes SET content = $2, updated_at = $3, version = $4 WHERE id = $1")
            .bind(id)
            .bind(n.content)
            .bind(event.recorded_at)
            .bind(event.version),
        NoteEvent::NoteDeleted(_) => sqlx::query("UPDATE notes SET deleted = true, updated_at = $2, version = $3 WHERE id = $1")
            .bind(id)
            .bind(event.recorded_at)
            .bind(event.version),
    };
    query.execute(&mut *conn).await?;
    Ok(())
}

/// A note.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct NoteRow {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// The author.
    pub author_agent_id: Option<Uuid>,
    /// The author's name.
    pub author_name: Option<String>,
    /// The text.
    pub content: String,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

const SELECT: &str =
    "SELECT n.id, n.conversation_id, n.author_agent_id, a.name AS author_name, n.content, n.created_at, \
     n.updated_at, n.version FROM rm.notes n LEFT JOIN rm.agents a ON a.id = n.author_agent_id";

/// A conversation's live notes, oldest first.
pub async fn of_conversation(
    pool: &PgPool,
    scope: TenantScope,
    conversation_id: Uuid,
) -> Result<Vec<NoteRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE n.tenant_id = $1 AND n.conversation_id = $2 AND NOT n.deleted ORDER BY n.created_at, n.id"
    ))
    .bind(scope.tenant_id())
    .bind(conversation_id)
    .fetch_all(pool)
    .await?)
}

/// One live note of the tenant.
pub async fn get(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<NoteRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE n.tenant_id = $1 AND n.id = $2 AND NOT n.deleted"
    ))
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(pool)
    .await?)
}
