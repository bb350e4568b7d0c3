//! Survey settings per channel: applying their events, and the tenant's settings.

use chrono::{DateTime, Utc};
use omnistream_domain::csat::CsatSettingsEvent;
use omnistream_store::RecordedEvent;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::{ProjectionError, TenantScope};

/// Applies one settings event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: CsatSettingsEvent,
) -> Result<(), ProjectionError> {
    match e {
        CsatSettingsEvent::CsatSettingsConfigured(s) => {
            sqlx::query(
                "INSERT INTO csat_settings (tenant_id, channel, enabled, expires_after_hours, message, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, channel) DO UPDATE SET enabled = $3, \
                 expires_after_hours = $4, message = $5, updated_at = $6, version = $7",
            )
            .bind(s.tenant_id)
            .bind(s.channel.as_str())
            .bind(s.enabled)
            .bind(s.expires_after_hours as i32)
            .bind(s.message)
            .bind(event.recorded_at)
            .bind(event.version)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// Whether the tenant sends surveys on any channel (inside the projection's batch).
pub(crate) async fn tenant_sends(conn: &mut PgConnection, tenant_id: Uuid) -> Result<bool, ProjectionError> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM csat_settings WHERE tenant_id = $1 AND enabled)")
            .bind(tenant_id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// A channel's settings.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SettingsRow {
    /// The channel.
    pub channel: String,
    /// Sends surveys.
    pub enabled: bool,
    /// Hours a survey stays open.
    pub expires_after_hours: i32,
    /// The message.
    pub message: String,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

/// The tenant's configured channels.
pub async fn list(pool: &PgPool, scope: TenantScope) -> Result<Vec<SettingsRow>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT channel, enabled, expires_after_hours, message, updated_at, version FROM rm.csat_settings \
         WHERE tenant_id = $1 ORDER BY channel",
    )
    .bind(scope.tenant_id())
    .fetch_all(pool)
    .await?)
}
