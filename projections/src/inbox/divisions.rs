//! Divisions: applying division events, and divisions with their counts.

use chrono::{DateTime, Utc};
use omnistream_domain::division::DivisionEvent;
use omnistream_store::RecordedEvent;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use super::{entity_id, tenant};
use crate::{ProjectionError, TenantScope};

/// Applies one division event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: DivisionEvent,
) -> Result<(), ProjectionError> {
    let id = entity_id(event)?;
    let tenant_id = tenant(event)?;
    let (at, version) = (event.recorded_at, event.version);
    let query = match e {
        DivisionEvent::DivisionCreated(d) => sqlx::query(
            "INSERT INTO divisions (id, tenant_id, name, description, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(d.name)
        .bind(d.description)
        .bind(at)
        .bind(version),
        DivisionEvent::DivisionUpdated(d) => sqlx::query(
            "UPDATE divisions SET name = coalesce($2, name), description = coalesce($3, description), updated_at = $4, \
             version = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(d.name)
        .bind(d.description)
        .bind(at)
        .bind(version),
        DivisionEvent::DivisionMemberAdded(m) => sqlx::query(
            "INSERT INTO division_members (division_id, agent_id, tenant_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(m.agent_id)
        .bind(tenant_id),
        DivisionEvent::DivisionMemberRemoved(m) => {
            sqlx::query("DELETE FROM division_members WHERE division_id = $1 AND agent_id = $2")
                .bind(id)
                .bind(m.agent_id)
        }
        DivisionEvent::DivisionDeleted(_) => {
            sqlx::query("DELETE FROM division_members WHERE division_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE divisions SET deleted = true, updated_at = $2, version = $3 WHERE id = $1")
                .bind(id)
                .bind(at)
                .bind(version)
        }
    };
    query.execute(&mut *conn).await?;
    if !matches!(
        event.event_type.as_str(),
        "DivisionCreated" | "DivisionUpdated" | "DivisionDeleted"
    ) {
        sqlx::query("UPDATE divisions SET updated_at = $2, version = $3 WHERE id = $1")
            .bind(id)
            .bind(at)
            .bind(version)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A division with its counts.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct DivisionRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// What it handles.
    pub description: String,
    /// Its agents.
    pub agent_ids: Vec<Uuid>,
    /// Conversations open in it.
    pub open_conversations: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

const SELECT: &str = "SELECT d.id, d.name, d.description, \
     coalesce((SELECT array_agg(m.agent_id ORDER BY m.agent_id) FROM rm.division_members m WHERE m.division_id = d.id), '{}') AS agent_ids, \
     (SELECT count(*) FROM rm.conversations c WHERE c.tenant_id = d.tenant_id AND c.division_id = d.id AND c.status = 'open') AS open_conversations, \
     d.created_at, d.updated_at, d.version FROM rm.divisions d";

/// The tenant's divisions, by name.
pub async fn list(pool: &PgPool, scope: TenantScope) -> Result<Vec<DivisionRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE d.tenant_id = $1 AND NOT d.deleted ORDER BY lower(d.name), d.id"
    ))
    .bind(scope.tenant_id())
    .fetch_all(pool)
    .await?)
}

/// One live division of the tenant.
pub async fn get(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<DivisionRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE d.tenant_id = $1 AND d.id = $2 AND NOT d.deleted"
    ))
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The divisions an agent belongs to.
pub async fn of_agent(pool: &PgPool, scope: TenantScope, agent_id: Uuid) -> Result<Vec<Uuid>, ProjectionError> {
    Ok(
        sqlx::query_scalar("SELECT division_id FROM rm.division_members WHERE tenant_id = $1 AND agent_id = $2")
            .bind(scope.tenant_id())
            .bind(agent_id)
            .fetch_all(pool)
            .await?,
    )
}
