//! The holder of a presented credential, found in one query per request: the session or API
//! key, its agent (or super-admin) and the agent's custom role, as they are now.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

/// A live session or API key with what it acts as.
#[derive(Debug, Clone, FromRow)]
pub(crate) struct Holder {
    /// The session's or the key's id.
    pub credential_id: Uuid,
    /// The agent or super-admin.
    pub principal_id: Uuid,
    /// The credential's organization; `None` for super-admins.
    pub tenant_id: Option<Uuid>,
    /// Whether a super-admin holds it (and still exists).
    pub super_admin: bool,
    /// The agent's organization, when the agent exists and is not deleted.
    pub agent_tenant_id: Option<Uuid>,
    /// The agent's system role name, or `custom`.
    pub agent_role: Option<String>,
    /// The custom role's permission codes, when the agent has a live custom role.
    pub role_permissions: Option<Vec<String>>,
    /// When the credential expires (API keys may not).
    pub expires_at: Option<DateTime<Utc>>,
}

const AGENT_AND_ROLE: &str = "LEFT JOIN rm.agents a ON a.id = h.principal_id AND NOT a.deleted \
     LEFT JOIN rm.roles r ON r.id = a.custom_role_id AND r.tenant_id = a.tenant_id AND NOT r.deleted";

/// The holder of a live (unexpired, unrevoked) session token, by its SHA-256.
pub(crate) async fn session_holder(pool: &PgPool, token_sha256: &[u8]) -> Result<Option<Holder>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT h.id AS credential_id, h.principal_id, h.tenant_id, \
         (h.super_admin AND EXISTS (SELECT 1 FROM rm.super_admins s WHERE s.id = h.principal_id)) AS super_admin, \
         a.tenant_id AS agent_tenant_id, a.role AS agent_role, r.permissions AS role_permissions, h.expires_at \
         FROM sessions h {AGENT_AND_ROLE} \
         WHERE h.token_sha256 = $1 AND h.revoked_at IS NULL AND h.expires_at > now()"
    ))
    .bind(token_sha256)
    .fetch_optional(pool)
    .await
}

/// The holder of a live API key, by the hex SHA-256 of the key.
pub(crate) async fn api_key_holder(pool: &PgPool, key_sha256: &str) -> Result<Option<Holder>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT h.id AS credential_id, h.principal_id, h.tenant_id, false AS super_admin, \
         a.tenant_id AS agent_tenant_id, a.role AS agent_role, r.permissions AS role_permissions, h.expires_at \
         FROM (SELECT id, agent_id AS principal_id, tenant_id, expires_at FROM rm.api_keys \
               WHERE key_sha256 = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) h \
         {AGENT_AND_ROLE}"
    ))
    .bind(key_sha256)
    .fetch_optional(pool)
    .await
}
