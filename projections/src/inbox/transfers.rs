//! Transfer history: per conversation and across the tenant.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::page::{Page, PageRequest};
use crate::{ProjectionError, TenantScope};

/// A transfer.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct TransferRow {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// Agent before.
    pub from_agent_id: Option<Uuid>,
    /// Agent after.
    pub to_agent_id: Option<Uuid>,
    /// Division before.
    pub from_division_id: Option<Uuid>,
    /// Division after.
    pub to_division_id: Option<Uuid>,
    /// Why.
    pub reason: String,
    /// Who moved it.
    pub actor_id: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Filters of the transfer history.
#[derive(Debug, Clone, Default)]
pub struct TransferFilter {
    /// One conversation.
    pub conversation_id: Option<Uuid>,
    /// From or to this agent.
    pub agent_id: Option<Uuid>,
    /// From or to this division.
    pub division_id: Option<Uuid>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

/// The tenant's transfers, newest first.
pub async fn list(
    pool: &PgPool,
    scope: TenantScope,
    filter: &TransferFilter,
    page: &PageRequest,
) -> Result<Page<TransferRow>, ProjectionError> {
    const WHERE: &str = "tenant_id = $1 AND ($2::uuid IS NULL OR conversation_id = $2) \
         AND ($3::uuid IS NULL OR from_agent_id = $3 OR to_agent_id = $3) \
         AND ($4::uuid IS NULL OR from_division_id = $4 OR to_division_id = $4) \
         AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM rm.transfers WHERE {WHERE}"))
        .bind(scope.tenant_id())
        .bind(filter.conversation_id)
        .bind(filter.agent_id)
        .bind(filter.division_id)
        .bind(filter.from)
        .bind(filter.to)
        .fetch_one(pool)
        .await?;
    let cursor = page
        .cursor
        .as_deref()
        .map(|c| Uuid::parse_str(c).map_err(|_| ProjectionError::InvalidCursor))
        .transpose()?;
    let data = sqlx::query_as(&format!(
        "SELECT id, conversation_id, from_agent_id, to_agent_id, from_division_id, to_division_id, reason, actor_id, \
         created_at FROM rm.transfers WHERE {WHERE} AND ($7::uuid IS NULL OR id < $7) ORDER BY id DESC LIMIT $8 OFFSET $9"
    ))
    .bind(scope.tenant_id())
    .bind(filter.conversation_id)
    .bind(filter.agent_id)
    .bind(filter.division_id)
    .bind(filter.from)
    .bind(filter.to)
    .bind(cursor)
    .bind(page.per_page + 1)
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(Page::from_rows(data, page, total, |t: &TransferRow| t.id.to_string()))
}
