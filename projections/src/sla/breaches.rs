//! The SLA breach log: every breach with its policy, target, agent, division and times.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::page::{parse_time_cursor, time_cursor, Page, PageRequest};
use crate::{ProjectionError, TenantScope};

/// A breach.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct BreachRow {
    /// The `SlaBreached` event's id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// The policy.
    pub policy_id: Uuid,
    /// Its name now (none: deleted since).
    pub policy_name: Option<String>,
    /// `first_response`, `next_response` or `resolution`.
    pub target: String,
    /// When the clock started.
    pub started_at: DateTime<Utc>,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    /// When the breach was recorded.
    pub breached_at: DateTime<Utc>,
    /// The assignee at the time.
    pub agent_id: Option<Uuid>,
    /// The division at the time.
    pub division_id: Option<Uuid>,
    /// The channel.
    pub channel: Option<String>,
}

/// Which breaches to list.
#[derive(Debug, Clone, Default)]
pub struct BreachFilter {
    /// Of this policy.
    pub policy_id: Option<Uuid>,
    /// Of this agent's conversations.
    pub agent_id: Option<Uuid>,
    /// In this division.
    pub division_id: Option<Uuid>,
    /// Of this target.
    pub target: Option<String>,
    /// Of this conversation.
    pub conversation_id: Option<Uuid>,
    /// Due at or after.
    pub from: Option<DateTime<Utc>>,
    /// Due before.
    pub to: Option<DateTime<Utc>>,
}

/// A page of the tenant's breaches, latest due first.
pub async fn list(
    pool: &PgPool,
    scope: TenantScope,
    filter: &BreachFilter,
    page: &PageRequest,
) -> Result<Page<BreachRow>, ProjectionError> {
    const WHERE: &str = "b.tenant_id = $1 AND ($2::uuid IS NULL OR b.policy_id = $2) \
         AND ($3::uuid IS NULL OR b.agent_id = $3) AND ($4::uuid IS NULL OR b.division_id = $4) \
         AND ($5::text IS NULL OR b.target = $5) AND ($6::uuid IS NULL OR b.conversation_id = $6) \
         AND ($7::timestamptz IS NULL OR b.due_at >= $7) AND ($8::timestamptz IS NULL OR b.due_at < $8)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM rm.sla_breaches b WHERE {WHERE}"))
        .bind(scope.tenant_id())
        .bind(filter.policy_id)
        .bind(filter.agent_id)
        .bind(filter.division_id)
        .bind(&filter.target)
        .bind(filter.conversation_id)
        .bind(filter.from)
        .bind(filter.to)
        .fetch_one(pool)
        .await?;
    let cursor = page.cursor.as_deref().map(parse_time_cursor).transpose()?;
    let (after_due, after_id) = cursor.unzip();
    let data = sqlx::query_as(&format!(
        "SELECT b.id, b.conversation_id, b.policy_id, p.name AS policy_name, b.target, b.started_at, b.due_at, \
         b.breached_at, b.agent_id, b.division_id, b.channel FROM rm.sla_breaches b \
         LEFT JOIN rm.sla_policies p ON p.id = b.policy_id \
         WHERE {WHERE} AND ($9::timestamptz IS NULL OR (b.due_at, b.id) < ($9, $10)) \
         ORDER BY b.due_at DESC, b.id DESC LIMIT $11 OFFSET $12"
    ))
    .bind(scope.tenant_id())
    .bind(filter.policy_id)
    .bind(filter.agent_id)
    .bind(filter.division_id)
    .bind(&filter.target)
    .bind(filter.conversation_id)
    .bind(filter.from)
    .bind(filter.to)
    .bind(after_due)
    .bind(after_id)
    .bind(page.per_page + 1)
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(Page::from_rows(data, page, total, |b: &BreachRow| {
        time_cursor(b.due_at, b.id)
    }))
}
