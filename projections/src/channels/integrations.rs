//! Integrations: applying their events, and reading a tenant's.

use chrono::{DateTime, Utc};
use omnistream_domain::integration::IntegrationEvent;
use omnistream_store::RecordedEvent;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::{ProjectionError, TenantScope};

/// Applies one integration event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: IntegrationEvent,
) -> Result<(), ProjectionError> {
    match e {
        IntegrationEvent::IntegrationConfigured(c) => {
            sqlx::query(
                "INSERT INTO integrations (tenant_id, channel, enabled, default_division_id, settings, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, channel) DO UPDATE SET \
                 enabled = $3, default_division_id = $4, settings = $5, updated_at = $6, version = $7",
            )
            .bind(c.tenant_id)
            .bind(c.channel.as_str())
            .bind(c.enabled)
            .bind(c.default_division_id)
            .bind(Json(&c.settings))
            .bind(event.recorded_at)
            .bind(event.version)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// A configured integration.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct IntegrationRow {
    /// The channel.
    pub channel: String,
    /// Whether it takes and sends messages.
    pub enabled: bool,
    /// The division new conversations start in.
    pub default_division_id: Option<Uuid>,
    /// Free-form settings.
    pub settings: Json<serde_json::Map<String, serde_json::Value>>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

/// The tenant's configured integrations, by channel.
pub async fn list(pool: &PgPool, scope: TenantScope) -> Result<Vec<IntegrationRow>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT channel, enabled, default_division_id, settings, updated_at, version FROM rm.integrations \
         WHERE tenant_id = $1 ORDER BY channel",
    )
    .bind(scope.tenant_id())
    .fetch_all(pool)
    .await?)
}

/// One channel's integration, if configured.
pub async fn get(pool: &PgPool, scope: TenantScope, channel: &str) -> Result<Option<IntegrationRow>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT channel, enabled, default_division_id, settings, updated_at, version FROM rm.integrations \
         WHERE tenant_id = $1 AND channel = $2",
    )
    .bind(scope.tenant_id())
    .bind(channel)
    .fetch_optional(pool)
    .await?)
}
