//! API Keys tag: keys act as the agent who created them; shown once, stored hashed.

use chrono::{DateTime, Utc};
use omnistream_commands::api_keys as key_commands;
use omnistream_domain::Permission;
use omnistream_projections::directory::{self, ApiKeyRow};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::{page_request, paginated, ApiTags, DeleteResponse};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

/// An API key (never the key itself).
#[derive(Debug, Clone, Object)]
pub struct ApiKey {
    /// Id.
    pub id: Uuid,
    /// Label.
    pub name: String,
    /// The key's first characters, to recognize it.
    pub prefix: String,
    /// The agent the key acts as.
    pub agent_id: Uuid,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    #[oai(skip_serializing_if_is_none)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    #[oai(skip_serializing_if_is_none)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Stream version.
    pub version: i64,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(row: ApiKeyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            prefix: row.prefix,
            agent_id: row.agent_id,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
            version: row.version,
        }
    }
}

paginated!(
    /// A page of API keys.
    ApiKeyList,
    ApiKey
);

/// A new API key.
#[derive(Debug, Clone, Object)]
pub struct CreateApiKeyRequest {
    /// A label, such as the integration using it.
    pub name: String,
    /// When it stops working (optional; must be in the future).
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key just created: `key` is shown this once and never again.
#[derive(Debug, Clone, Object)]
pub struct ApiKeyCreateResponse {
    /// The key's record.
    pub api_key: ApiKey,
    /// The key, for the `X-API-Key` header.
    pub key: String,
}

/// Creation answers.
#[derive(ApiResponse)]
pub enum ApiKeyCreated {
    /// Created.
    #[oai(status = 201)]
    Created(
        Json<ApiKeyCreateResponse>,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
}

/// API key operations.
pub struct ApiKeysApi;

#[OpenApi(prefix_path = "/api/api-keys", tag = "ApiTags::ApiKeys")]
impl ApiKeysApi {
    /// Creates a key acting as you: needs a login session and `developer.access`.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<CreateApiKeyRequest>,
    ) -> ApiResult<ApiKeyCreated> {
        let principal = auth
            .principal()
            .require_session()?
            .require(Permission::DeveloperAccess)?;
        let scope = principal.scope()?;
        let agent_id = principal
            .agent_id()
            .ok_or_else(|| ApiError::forbidden("API keys act as an agent; super-admins cannot hold one"))?;
        let ctx = principal.command_context()?;
        let body = body.0;
        let issued = key_commands::create(&state.0.bus, &ctx, agent_id, body.name, body.expires_at).await?;
        wait_for_position(state.0, "directory", issued.executed.position).await?;
        let row = directory::api_key(&state.0.pool, scope, issued.executed.id)
            .await?
            .ok_or_else(|| ApiError::not_found("API key"))?;
        Ok(ApiKeyCreated::Created(
            Json(ApiKeyCreateResponse {
                api_key: row.into(),
                key: issued.key,
            }),
            issued.executed.position,
        ))
    }

    /// Lists the organization's keys, newest first (needs `developer.access`).
    #[oai(path = "/", method = "get")]
    async fn list(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Only keys acting as this agent.
        agent_id: Query<Option<Uuid>>,
        /// Page number, from 1.
        page: Query<Option<i64>>,
        /// Rows per page (1-200, default 50).
        per_page: Query<Option<i64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<ApiKeyList>> {
        let scope = auth.principal().require(Permission::DeveloperAccess)?.scope()?;
        let request = page_request(page.0, per_page.0, cursor.0)?;
        let page = directory::list_api_keys(&state.0.pool, scope, agent_id.0, &request).await?;
        Ok(Json(ApiKeyList::from_page(page, ApiKey::from)))
    }

    /// Revokes a key at once (needs `developer.access`).
    #[oai(path = "/:id", method = "delete")]
    async fn revoke(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(Permission::DeveloperAccess)?;
        let ctx = principal.command_context()?;
        let executed = key_commands::revoke(&state.0.bus, &ctx, id.0).await?;
        wait_for_position(state.0, "directory", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: id.0.to_string(),
            deleted: true,
        }))
    }
}
