//! Quick replies: applying their events, and the replies an agent may use.

use chrono::{DateTime, Utc};
use omnistream_domain::quick_reply::QuickReplyEvent;
use omnistream_store::RecordedEvent;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use super::{entity_id, tenant};
use crate::directory::contains_pattern;
use crate::{ProjectionError, TenantScope};

/// Applies one quick-reply event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: QuickReplyEvent,
) -> Result<(), ProjectionError> {
    let id = entity_id(event)?;
    let query = match e {
        QuickReplyEvent::QuickReplyCreated(q) => sqlx::query(
            "INSERT INTO quick_replies (id, tenant_id, shortcut, content, owner_agent_id, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(tenant(event)?)
        .bind(q.shortcut)
        .bind(q.content)
        .bind(q.owner_agent_id)
        .bind(event.recorded_at)
        .bind(event.version),
        QuickReplyEvent::QuickReplyUpdated(q) => sqlx::query(
            "UPDATE quick_replies SET shortcut = coalesce($2, shortcut), content = coalesce($3, content), \
             updated_at = $4, version = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(q.shortcut)
        .bind(q.content)
        .bind(event.recorded_at)
        .bind(event.version),
        QuickReplyEvent::QuickReplyDeleted(_) => {
            sqlx::query("UPDATE quick_replies SET deleted = true, updated_at = $2, version = $3 WHERE id = $1")
                .bind(id)
                .bind(event.recorded_at)
                .bind(event.version)
        }
    };
    query.execute(&mut *conn).await?;
    Ok(())
}

/// A quick reply.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct QuickReplyRow {
    /// Id.
    pub id: Uuid,
    /// Shortcut.
    pub shortcut: String,
    /// Content with variables.
    pub content: String,
    /// Owner of a personal reply.
    pub owner_agent_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

const COLUMNS: &str = "id, shortcut, content, owner_agent_id, created_at, updated_at, version";

/// The shared replies of the tenant and the personal ones of `agent_id`, by shortcut.
pub async fn usable_by(
    pool: &PgPool,
    scope: TenantScope,
    agent_id: Option<Uuid>,
    search: Option<&str>,
) -> Result<Vec<QuickReplyRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rm.quick_replies WHERE tenant_id = $1 AND NOT deleted \
         AND (owner_agent_id IS NULL OR owner_agent_id = $2) \
         AND ($3::text IS NULL OR shortcut ILIKE $3 OR content ILIKE $3) ORDER BY shortcut LIMIT 500"
    ))
    .bind(scope.tenant_id())
    .bind(agent_id)
    .bind(search.map(contains_pattern))
    .fetch_all(pool)
    .await?)
}

/// One live quick reply of the tenant (whoever owns it).
pub async fn get(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<QuickReplyRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rm.quick_replies WHERE tenant_id = $1 AND id = $2 AND NOT deleted"
    ))
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(pool)
    .await?)
}
