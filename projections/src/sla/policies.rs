//! SLA policies: applying the policy book's events, and the tenant's policies.

use chrono::{DateTime, Utc};
use omnistream_domain::sla_policy::{SlaConditions, SlaPolicyDefinition, SlaPolicyEvent};
use omnistream_store::RecordedEvent;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::{ProjectionError, TenantScope};

/// Applies one policy-book event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: SlaPolicyEvent,
) -> Result<(), ProjectionError> {
    let (tenant_id, policy) = match e {
        SlaPolicyEvent::SlaPolicyCreated(created) => (created.tenant_id, created.policy),
        SlaPolicyEvent::SlaPolicyUpdated(updated) => (updated.tenant_id, updated.policy),
        SlaPolicyEvent::SlaPolicyDeleted(deleted) => {
            sqlx::query("DELETE FROM sla_policies WHERE id = $1 AND tenant_id = $2")
                .bind(deleted.policy_id)
                .bind(deleted.tenant_id)
                .execute(&mut *conn)
                .await?;
            return Ok(());
        }
    };
    let minutes = |m: Option<u32>| m.map(|m| m as i32);
    sqlx::query(
        "INSERT INTO sla_policies (id, tenant_id, name, description, enabled, rank, first_response_minutes, \
         next_response_minutes, resolution_minutes, business_hours, warning_minutes, conditions, created_at, updated_at, \
         version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) \
         ON CONFLICT (id) DO UPDATE SET name = $3, description = $4, enabled = $5, rank = $6, \
         first_response_minutes = $7, next_response_minutes = $8, resolution_minutes = $9, business_hours = $10, \
         warning_minutes = $11, conditions = $12, updated_at = $13, version = $14",
    )
    .bind(policy.policy_id)
    .bind(tenant_id)
    .bind(&policy.name)
    .bind(&policy.description)
    .bind(policy.enabled)
    .bind(policy.rank)
    .bind(minutes(policy.first_response_minutes))
    .bind(minutes(policy.next_response_minutes))
    .bind(minutes(policy.resolution_minutes))
    .bind(policy.business_hours)
    .bind(minutes(policy.warning_minutes))
    .bind(Json(&policy.conditions))
    .bind(event.recorded_at)
    .bind(event.version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the tenant has an enabled policy (inside the projection's batch).
pub(crate) async fn tenant_has_enabled(conn: &mut PgConnection, tenant_id: Uuid) -> Result<bool, ProjectionError> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sla_policies WHERE tenant_id = $1 AND enabled)")
            .bind(tenant_id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// A policy.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct PolicyRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Applies to conversations.
    pub enabled: bool,
    /// Tried in ascending rank.
    pub rank: i32,
    /// First-response target.
    pub first_response_minutes: Option<i32>,
    /// Next-response target.
    pub next_response_minutes: Option<i32>,
    /// Resolution target.
    pub resolution_minutes: Option<i32>,
    /// Working hours only.
    pub business_hours: bool,
    /// Warning lead time.
    pub warning_minutes: Option<i32>,
    /// Which conversations it applies to.
    pub conditions: Json<SlaConditions>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// The policy book's version after the last change.
    pub version: i64,
}

impl PolicyRow {
    /// The definition as the domain reads it.
    pub fn definition(&self) -> SlaPolicyDefinition {
        let minutes = |m: Option<i32>| m.and_then(|m| u32::try_from(m).ok());
        SlaPolicyDefinition {
            policy_id: self.id,
            name: self.name.clone(),
            description: self.description.clone(),
            enabled: self.enabled,
            rank: self.rank,
            first_response_minutes: minutes(self.first_response_minutes),
            next_response_minutes: minutes(self.next_response_minutes),
            resolution_minutes: minutes(self.resolution_minutes),
            business_hours: self.business_hours,
            warning_minutes: minutes(self.warning_minutes),
            conditions: self.conditions.0.clone(),
        }
    }
}

const COLUMNS: &str = "SELECT id, name, description, enabled, rank, first_response_minutes, next_response_minutes, \
     resolution_minutes, business_hours, warning_minutes, conditions, created_at, updated_at, version FROM rm.sla_policies";

/// The tenant's policies, in the order they are tried.
pub async fn list(pool: &PgPool, scope: TenantScope) -> Result<Vec<PolicyRow>, ProjectionError> {
    Ok(
        sqlx::query_as(&format!("{COLUMNS} WHERE tenant_id = $1 ORDER BY rank, created_at, id"))
            .bind(scope.tenant_id())
            .fetch_all(pool)
            .await?,
    )
}

/// One policy.
pub async fn get(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<PolicyRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!("{COLUMNS} WHERE tenant_id = $1 AND id = $2"))
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(pool)
        .await?)
}
