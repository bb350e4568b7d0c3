//! Working hours and application settings: applying their events, and the tenant's rows.

use chrono::{DateTime, NaiveDate, Utc};
use omnistream_domain::app_settings::AppSettingsEvent;
use omnistream_domain::working_hours::{DayHours, WorkingHoursEvent};
use omnistream_store::RecordedEvent;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::{ProjectionError, TenantScope};

/// The settings key of the time zone.
pub const TIMEZONE: &str = "timezone";

/// Applies one working-hours event.
pub(crate) async fn apply_working_hours(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: WorkingHoursEvent,
) -> Result<(), ProjectionError> {
    match e {
        WorkingHoursEvent::WorkingHoursSet(set) => {
            sqlx::query(
                "INSERT INTO working_hours (tenant_id, division_id, days, closed_dates, updated_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (tenant_id, (coalesce(division_id, '00000000-0000-0000-0000-000000000000'))) \
                 DO UPDATE SET days = $3, closed_dates = $4, updated_at = $5, version = $6",
            )
            .bind(set.tenant_id)
            .bind(set.division_id)
            .bind(Json(&set.days))
            .bind(Json(&set.closed_dates))
            .bind(event.recorded_at)
            .bind(event.version)
            .execute(&mut *conn)
            .await?;
        }
        WorkingHoursEvent::WorkingHoursRemoved(removed) => {
            sqlx::query("DELETE FROM working_hours WHERE tenant_id = $1 AND division_id = $2")
                .bind(removed.tenant_id)
                .bind(removed.division_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Applies one settings event.
pub(crate) async fn apply_app_settings(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: AppSettingsEvent,
) -> Result<(), ProjectionError> {
    match e {
        AppSettingsEvent::TimezoneChanged(changed) => {
            sqlx::query(
                "INSERT INTO app_settings (tenant_id, key, value, updated_at, version) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tenant_id, key) DO UPDATE SET value = $3, updated_at = $4, version = $5",
            )
            .bind(changed.tenant_id)
            .bind(TIMEZONE)
            .bind(changed.timezone)
            .bind(event.recorded_at)
            .bind(event.version)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// A schedule: the organization's (no division) or a division's override.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct WorkingHoursRow {
    /// The division it overrides for.
    pub division_id: Option<Uuid>,
    /// Each day with hours.
    pub days: Json<Vec<DayHours>>,
    /// Closed dates.
    pub closed_dates: Json<Vec<NaiveDate>>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

const HOURS_COLUMNS: &str = "SELECT division_id, days, closed_dates, updated_at, version FROM rm.working_hours";

/// The organization's schedule (`division_id` none) or a division's override.
pub async fn working_hours(
    pool: &PgPool,
    scope: TenantScope,
    division_id: Option<Uuid>,
) -> Result<Option<WorkingHoursRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "{HOURS_COLUMNS} WHERE tenant_id = $1 AND division_id IS NOT DISTINCT FROM $2"
    ))
    .bind(scope.tenant_id())
    .bind(division_id)
    .fetch_optional(pool)
    .await?)
}

/// Every division override of the organization.
pub async fn division_overrides(pool: &PgPool, scope: TenantScope) -> Result<Vec<WorkingHoursRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "{HOURS_COLUMNS} WHERE tenant_id = $1 AND division_id IS NOT NULL ORDER BY division_id"
    ))
    .bind(scope.tenant_id())
    .fetch_all(pool)
    .await?)
}

/// A setting.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SettingRow {
    /// Its key.
    pub key: String,
    /// Its value.
    pub value: String,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

/// The organization's settings that were changed from their defaults.
pub async fn app_settings(pool: &PgPool, scope: TenantScope) -> Result<Vec<SettingRow>, ProjectionError> {
    Ok(
        sqlx::query_as("SELECT key, value, updated_at, version FROM rm.app_settings WHERE tenant_id = $1 ORDER BY key")
            .bind(scope.tenant_id())
            .fetch_all(pool)
            .await?,
    )
}
