//! WhatsApp templates: applying their events, and the tenant's templates.

use chrono::{DateTime, Utc};
use omnistream_domain::wa_template::{placeholders, TemplateComponents, WaTemplateEvent};
use omnistream_store::RecordedEvent;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::{ProjectionError, TenantScope};

/// Applies one template event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    id: Uuid,
    e: WaTemplateEvent,
) -> Result<(), ProjectionError> {
    let query = match e {
        WaTemplateEvent::WaTemplateCreated(c) => {
            let parameters = placeholders(&c.components.body).unwrap_or_default() as i32;
            sqlx::query(
            "INSERT INTO wa_templates (id, tenant_id, account_id, name, language, category, components, parameters, \
             status, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9, $10) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(c.tenant_id)
        .bind(c.account_id)
        .bind(c.name)
        .bind(c.language)
        .bind(c.category.as_str())
        .bind(Json(c.components))
        .bind(parameters)
        .bind(event.recorded_at)
        .bind(event.version)
        }
        WaTemplateEvent::WaTemplateStatusChanged(s) => sqlx::query(
            "UPDATE wa_templates SET status = $2, status_reason = $3, updated_at = $4, version = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(s.status.as_str())
        .bind(s.reason)
        .bind(event.recorded_at)
        .bind(event.version),
        WaTemplateEvent::WaTemplateDeleted(_) => {
            sqlx::query("UPDATE wa_templates SET deleted = true, updated_at = $2, version = $3 WHERE id = $1")
                .bind(id)
                .bind(event.recorded_at)
                .bind(event.version)
        }
    };
    query.execute(&mut *conn).await?;
    Ok(())
}

/// A template.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct TemplateRow {
    /// Id.
    pub id: Uuid,
    /// The WhatsApp account.
    pub account_id: Uuid,
    /// Name.
    pub name: String,
    /// Language code.
    pub language: String,
    /// Category.
    pub category: String,
    /// Parts.
    pub components: Json<TemplateComponents>,
    /// How many body placeholders.
    pub parameters: i32,
    /// Review status.
    pub status: String,
    /// Meta's reason for a rejection.
    pub status_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

const COLUMNS: &str = "id, account_id, name, language, category, components, parameters, status, status_reason, \
    created_at, updated_at, version";

/// The tenant's live templates, filtered, by name and language.
pub async fn list(
    pool: &PgPool,
    scope: TenantScope,
    account_id: Option<Uuid>,
    status: Option<&str>,
) -> Result<Vec<TemplateRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rm.wa_templates WHERE tenant_id = $1 AND NOT deleted \
         AND ($2::uuid IS NULL OR account_id = $2) AND ($3::text IS NULL OR status = $3) \
         ORDER BY name, language LIMIT 500"
    ))
    .bind(scope.tenant_id())
    .bind(account_id)
    .bind(status)
    .fetch_all(pool)
    .await?)
}

/// One live template of the tenant.
pub async fn get(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<TemplateRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rm.wa_templates WHERE tenant_id = $1 AND id = $2 AND NOT deleted"
    ))
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The tenant's live templates of this name and language on the accounts of a WhatsApp
/// business account (Meta reviews templates per business account).
pub async fn under_review(
    pool: &PgPool,
    scope: TenantScope,
    business_account_id: &str,
    name: &str,
    language: &str,
) -> Result<Vec<Uuid>, ProjectionError> {
    Ok(sqlx::query_scalar(
        "SELECT t.id FROM rm.wa_templates t JOIN rm.integration_accounts a ON a.id = t.account_id \
         WHERE t.tenant_id = $1 AND NOT t.deleted AND t.name = $3 AND t.language = $4 \
         AND a.whatsapp_business_account_id = $2 ORDER BY t.id",
    )
    .bind(scope.tenant_id())
    .bind(business_account_id)
    .bind(name)
    .bind(language)
    .fetch_all(pool)
    .await?)
}
