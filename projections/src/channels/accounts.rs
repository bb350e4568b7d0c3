//! Integration accounts: applying their events, the tenant's accounts for the admin screens,
//! and the routing lookups of the webhook receivers (by provider identifier or verify-token
//! digest: a delivery names no tenant, so these are the only lookups across tenants, and they
//! return the account's tenant for everything that follows).

use chrono::{DateTime, Utc};
use omnistream_domain::integration::{AccountSecrets, IntegrationAccountEvent};
use omnistream_store::RecordedEvent;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::{ProjectionError, TenantScope};

/// Applies one integration-account event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    id: Uuid,
    tenant_id: Uuid,
    e: IntegrationAccountEvent,
) -> Result<(), ProjectionError> {
    let query = match e {
        IntegrationAccountEvent::IntegrationAccountCreated(c) => sqlx::query(
            "INSERT INTO integration_accounts (id, tenant_id, channel, provider, name, phone_number_id, \
             whatsapp_business_account_id, display_phone_number, instagram_account_id, email_address, secrets, \
             verify_token_digest, enabled, division_id, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(tenant_id)
        .bind(c.channel.as_str())
        .bind(c.provider.as_str())
        .bind(c.name)
        .bind(c.address.phone_number_id)
        .bind(c.address.whatsapp_business_account_id)
        .bind(c.address.display_phone_number)
        .bind(c.address.instagram_account_id)
        .bind(c.address.email_address)
        .bind(Json(c.secrets))
        .bind(c.verify_token_digest)
        .bind(c.enabled)
        .bind(c.division_id)
        .bind(event.recorded_at)
        .bind(event.version),
        IntegrationAccountEvent::IntegrationAccountUpdated(u) => {
            let (waba, display) = u
                .address
                .map(|a| (a.whatsapp_business_account_id, a.display_phone_number))
                .unwrap_or_default();
            let secrets = u.secrets.unwrap_or_default();
            sqlx::query(
                "UPDATE integration_accounts SET name = coalesce($2, name), enabled = coalesce($3, enabled), \
                 division_id = CASE WHEN $4 THEN $5 ELSE division_id END, \
                 whatsapp_business_account_id = coalesce($6, whatsapp_business_account_id), \
                 display_phone_number = coalesce($7, display_phone_number), \
                 secrets = secrets || $8, verify_token_digest = coalesce($9, verify_token_digest), \
                 updated_at = $10, version = $11 WHERE id = $1",
            )
            .bind(id)
            .bind(u.name)
            .bind(u.enabled)
            .bind(u.division_id.is_some())
            .bind(u.division_id.flatten())
            .bind(waba)
            .bind(display)
            .bind(Json(secrets))
            .bind(u.verify_token_digest)
            .bind(event.recorded_at)
            .bind(event.version)
        }
        IntegrationAccountEvent::IntegrationAccountDeleted(_) => {
            sqlx::query("UPDATE integration_accounts SET deleted = true, updated_at = $2, version = $3 WHERE id = $1")
                .bind(id)
                .bind(event.recorded_at)
                .bind(event.version)
        }
    };
    query.execute(&mut *conn).await?;
    Ok(())
}

/// An integration account.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AccountRow {
    /// Id.
    pub id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The channel.
    pub channel: String,
    /// The provider.
    pub provider: String,
    /// A name for people.
    pub name: String,
    /// WhatsApp phone number id.
    pub phone_number_id: Option<String>,
    /// WhatsApp business account id.
    pub whatsapp_business_account_id: Option<String>,
    /// WhatsApp display number.
    pub display_phone_number: Option<String>,
    /// Instagram account id.
    pub instagram_account_id: Option<String>,
    /// Inbound e-mail address.
    pub email_address: Option<String>,
    /// Sealed secrets.
    pub secrets: Json<AccountSecrets>,
    /// Whether it takes and sends messages (and its channel's integration is enabled).
    pub enabled: bool,
    /// Whether its channel's integration is enabled.
    pub channel_enabled: bool,
    /// The division its new conversations start in: its own, else the integration's.
    pub division_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

const COLUMNS: &str = "a.id, a.tenant_id, a.channel, a.provider, a.name, a.phone_number_id, \
    a.whatsapp_business_account_id, a.display_phone_number, a.instagram_account_id, a.email_address, a.secrets, \
    a.enabled, coalesce(i.enabled, true) AS channel_enabled, coalesce(a.division_id, i.default_division_id) AS division_id, \
    a.created_at, a.updated_at, a.version";

const FROM: &str =
    "rm.integration_accounts a LEFT JOIN rm.integrations i ON i.tenant_id = a.tenant_id AND i.channel = a.channel";

/// The tenant's live accounts, optionally of one channel.
pub async fn list(
    pool: &PgPool,
    scope: TenantScope,
    channel: Option<&str>,
) -> Result<Vec<AccountRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE a.tenant_id = $1 AND NOT a.deleted \
         AND ($2::text IS NULL OR a.channel = $2) ORDER BY a.channel, a.name, a.id LIMIT 500"
    ))
    .bind(scope.tenant_id())
    .bind(channel)
    .fetch_all(pool)
    .await?)
}

/// One live account of the tenant.
pub async fn get(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<AccountRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE a.tenant_id = $1 AND a.id = $2 AND NOT a.deleted"
    ))
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// What a delivery is routed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route<'a> {
    /// A WhatsApp phone number id.
    WhatsappPhoneNumber(&'a str),
    /// A WhatsApp business account id (template reviews, account changes): its first
    /// number's account.
    WhatsappBusinessAccount(&'a str),
    /// An Instagram account id.
    InstagramAccount(&'a str),
    /// An inbound e-mail address (lower case).
    EmailInbox(&'a str),
    /// Meta's verification request, by the keyed digest of the token it presents.
    VerifyToken {
        /// `whatsapp` or `instagram`.
        channel: &'a str,
        /// The digest.
        digest: &'a str,
    },
}

/// The live account a delivery is for, whichever tenant holds it.
pub async fn route(pool: &PgPool, route: Route<'_>) -> Result<Option<AccountRow>, ProjectionError> {
    let (condition, channel, value) = match route {
        Route::WhatsappPhoneNumber(v) => ("a.phone_number_id = $2", "whatsapp", v),
        Route::WhatsappBusinessAccount(v) => ("a.whatsapp_business_account_id = $2", "whatsapp", v),
        Route::InstagramAccount(v) => ("a.instagram_account_id = $2", "instagram", v),
        Route::EmailInbox(v) => ("a.email_address = $2", "email", v),
        Route::VerifyToken { channel, digest } => ("a.verify_token_digest = $2", channel, digest),
    };
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE a.channel = $1 AND {condition} AND NOT a.deleted ORDER BY a.id LIMIT 1"
    ))
    .bind(channel)
    .bind(value)
    .fetch_optional(pool)
    .await?)
}
