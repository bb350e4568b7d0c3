//! Media: applying uploads, and finding a tenant's file.

use chrono::{DateTime, Utc};
use omnistream_domain::media::MediaEvent;
use omnistream_store::RecordedEvent;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::{ProjectionError, TenantScope};

/// Applies one media event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: MediaEvent,
) -> Result<(), ProjectionError> {
    let MediaEvent::MediaUploaded(m) = e;
    sqlx::query(
        "INSERT INTO media (id, tenant_id, file_name, content_type, size, sha256, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
    )
    .bind(m.media_id)
    .bind(m.tenant_id)
    .bind(m.file_name)
    .bind(m.content_type)
    .bind(m.size)
    .bind(m.sha256)
    .bind(m.uploaded_by)
    .bind(event.recorded_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct MediaRow {
    /// Id.
    pub id: Uuid,
    /// Name as uploaded.
    pub file_name: String,
    /// Content type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    /// Uploader.
    pub uploaded_by: Option<Uuid>,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
}

/// One file of the tenant.
pub async fn get(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<MediaRow>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT id, file_name, content_type, size, sha256, uploaded_by, created_at FROM rm.media WHERE tenant_id = $1 AND id = $2",
    )
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(pool)
    .await?)
}
