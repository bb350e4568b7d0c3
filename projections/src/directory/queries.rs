//! Reads of the directory model: principal look-ups for authentication, and the
//! tenant-scoped lists and details the API serves.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::page::{Page, PageRequest};
use crate::{ProjectionError, TenantScope};

/// An agent as the API shows it.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AgentRow {
    /// Id.
    pub id: Uuid,
    /// Organization.
    pub tenant_id: Uuid,
    /// Display name.
    pub name: String,
    /// Login e-mail.
    pub email: String,
    /// `admin`, `supervisor`, `agent` or `custom`.
    pub role: String,
    /// The custom role, when `role` is `custom`.
    pub custom_role_id: Option<Uuid>,
    /// `online`, `away` or `offline`.
    pub status: String,
    /// Removed.
    pub deleted: bool,
    /// Last login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

/// A custom role.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct RoleRow {
    /// Id.
    pub id: Uuid,
    /// Organization.
    pub tenant_id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Permission codes.
    pub permissions: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

/// An API key (never the key itself).
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ApiKeyRow {
    /// Id.
    pub id: Uuid,
    /// Organization.
    pub tenant_id: Uuid,
    /// The agent it acts as.
    pub agent_id: Uuid,
    /// Label.
    pub name: String,
    /// First characters of the key.
    pub prefix: String,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Stream version.
    pub version: i64,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct OrganizationRow {
    /// Id (the tenant id).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// Who may log in with an e-mail.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct LoginTarget {
    /// The agent's or super-admin's id.
    pub principal_id: Uuid,
    /// The agent's organization; `None` for a super-admin.
    pub tenant_id: Option<Uuid>,
    /// Whether it is a super-admin.
    pub super_admin: bool,
}

/// Filters of the agent list.
#[derive(Debug, Clone, Default)]
pub struct AgentFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this role name.
    pub role: Option<String>,
    /// Name or e-mail contains this.
    pub search: Option<String>,
}

/// A `LIKE` pattern matching `text` anywhere, with the wildcards in `text` escaped.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

fn uuid_cursor(cursor: &Option<String>) -> Result<Option<Uuid>, ProjectionError> {
    cursor
        .as_deref()
        .map(|c| Uuid::parse_str(c).map_err(|_| ProjectionError::InvalidCursor))
        .transpose()
}

/// The live principal behind a login e-mail.
pub async fn find_login(pool: &PgPool, email: &str) -> Result<Option<LoginTarget>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT id AS principal_id, tenant_id, false AS super_admin FROM rm.agents WHERE email = $1 AND NOT deleted \
         UNION ALL SELECT id, NULL, true FROM rm.super_admins WHERE email = $1 LIMIT 1",
    )
    .bind(email)
    .fetch_optional(pool)
    .await?)
}

/// An agent by id in any tenant: only for resolving an already authenticated credential.
pub async fn agent_for_credential(pool: &PgPool, agent_id: Uuid) -> Result<Option<AgentRow>, ProjectionError> {
    Ok(sqlx::query_as("SELECT * FROM rm.agents WHERE id = $1 AND NOT deleted")
        .bind(agent_id)
        .fetch_optional(pool)
        .await?)
}

/// Records that a key was used, at most once a minute per key.
pub async fn touch_api_key(pool: &PgPool, api_key_id: Uuid) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO api_key_usage (api_key_id, last_used_at) VALUES ($1, now()) \
         ON CONFLICT (api_key_id) DO UPDATE SET last_used_at = now() \
         WHERE api_key_usage.last_used_at < now() - interval '1 minute'",
    )
    .bind(api_key_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// The tenant's organization.
pub async fn organization(pool: &PgPool, scope: TenantScope) -> Result<Option<OrganizationRow>, ProjectionError> {
    Ok(
        sqlx::query_as("SELECT id, name, created_at FROM rm.organizations WHERE id = $1")
            .bind(scope.tenant_id())
            .fetch_optional(pool)
            .await?,
    )
}

/// The tenant's agents, filtered, by id (creation order).
pub async fn list_agents(
    pool: &PgPool,
    scope: TenantScope,
    filter: &AgentFilter,
    page: &PageRequest,
) -> Result<Page<AgentRow>, ProjectionError> {
    const WHERE: &str = "tenant_id = $1 AND NOT deleted AND ($2::text IS NULL OR status = $2) \
         AND ($3::text IS NULL OR role = $3) AND ($4::text IS NULL OR name ILIKE $4 OR email ILIKE $4)";
    let search = filter.search.as_deref().map(contains_pattern);
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM rm.agents WHERE {WHERE}"))
        .bind(scope.tenant_id())
        .bind(&filter.status)
        .bind(&filter.role)
        .bind(&search)
        .fetch_one(pool)
        .await?;
    let data: Vec<AgentRow> = sqlx::query_as(&format!(
        "SELECT * FROM rm.agents WHERE {WHERE} AND ($5::uuid IS NULL OR id > $5) ORDER BY id LIMIT $6 OFFSET $7"
    ))
    .bind(scope.tenant_id())
    .bind(&filter.status)
    .bind(&filter.role)
    .bind(&search)
    .bind(uuid_cursor(&page.cursor)?)
    .bind(page.per_page + 1)
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(Page::from_rows(data, page, total, |a| a.id.to_string()))
}

/// One live agent of the tenant.
pub async fn agent(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<AgentRow>, ProjectionError> {
    Ok(
        sqlx::query_as("SELECT * FROM rm.agents WHERE tenant_id = $1 AND id = $2 AND NOT deleted")
            .bind(scope.tenant_id())
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// The tenant's live custom roles, by name.
pub async fn list_roles(pool: &PgPool, scope: TenantScope) -> Result<Vec<RoleRow>, ProjectionError> {
    Ok(
        sqlx::query_as("SELECT * FROM rm.roles WHERE tenant_id = $1 AND NOT deleted ORDER BY lower(name), id")
            .bind(scope.tenant_id())
            .fetch_all(pool)
            .await?,
    )
}

/// One live custom role of the tenant.
pub async fn role(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<RoleRow>, ProjectionError> {
    Ok(
        sqlx::query_as("SELECT * FROM rm.roles WHERE tenant_id = $1 AND id = $2 AND NOT deleted")
            .bind(scope.tenant_id())
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Whether another live role of the tenant has this name (case-insensitive).
pub async fn role_name_taken(
    pool: &PgPool,
    scope: TenantScope,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool, ProjectionError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM rm.roles WHERE tenant_id = $1 AND NOT deleted \
         AND lower(name) = lower($2) AND ($3::uuid IS NULL OR id <> $3))",
    )
    .bind(scope.tenant_id())
    .bind(name.trim())
    .bind(except)
    .fetch_one(pool)
    .await?)
}

/// Agents of the tenant holding a custom role.
pub async fn role_in_use(pool: &PgPool, scope: TenantScope, role_id: Uuid) -> Result<i64, ProjectionError> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM rm.agents WHERE tenant_id = $1 AND custom_role_id = $2 AND NOT deleted",
    )
    .bind(scope.tenant_id())
    .bind(role_id)
    .fetch_one(pool)
    .await?)
}

const API_KEY_COLUMNS: &str = "k.id, k.tenant_id, k.agent_id, k.name, k.prefix, k.expires_at, k.revoked_at, \
     k.created_at, u.last_used_at, k.version";

/// The tenant's API keys (optionally of one agent), newest first.
pub async fn list_api_keys(
    pool: &PgPool,
    scope: TenantScope,
    agent_id: Option<Uuid>,
    page: &PageRequest,
) -> Result<Page<ApiKeyRow>, ProjectionError> {
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM rm.api_keys WHERE tenant_id = $1 AND ($2::uuid IS NULL OR agent_id = $2)",
    )
    .bind(scope.tenant_id())
    .bind(agent_id)
    .fetch_one(pool)
    .await?;
    let data: Vec<ApiKeyRow> = sqlx::query_as(&format!(
        "SELECT {API_KEY_COLUMNS} FROM rm.api_keys k LEFT JOIN api_key_usage u ON u.api_key_id = k.id \
         WHERE k.tenant_id = $1 AND ($2::uuid IS NULL OR k.agent_id = $2) AND ($3::uuid IS NULL OR k.id < $3) \
         ORDER BY k.id DESC LIMIT $4 OFFSET $5"
    ))
    .bind(scope.tenant_id())
    .bind(agent_id)
    .bind(uuid_cursor(&page.cursor)?)
    .bind(page.per_page + 1)
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(Page::from_rows(data, page, total, |k| k.id.to_string()))
}

/// One API key of the tenant.
pub async fn api_key(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<ApiKeyRow>, ProjectionError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {API_KEY_COLUMNS} FROM rm.api_keys k LEFT JOIN api_key_usage u ON u.api_key_id = k.id \
         WHERE k.tenant_id = $1 AND k.id = $2"
    ))
    .bind(scope.tenant_id())
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The names of the tenant's agents, deleted ones included (reports name them too).
pub async fn agent_names(pool: &PgPool, scope: TenantScope) -> Result<Vec<(Uuid, String)>, ProjectionError> {
    Ok(sqlx::query_as("SELECT id, name FROM rm.agents WHERE tenant_id = $1")
        .bind(scope.tenant_id())
        .fetch_all(pool)
        .await?)
}
