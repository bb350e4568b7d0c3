//! Divisions tag (supervisor/admin): teams of agents, their members and open conversations.

use chrono::{DateTime, Utc};
use omnistream_commands::divisions as division_commands;
use omnistream_domain::division::DivisionCommand;
use omnistream_domain::Permission;
use omnistream_projections::inbox::divisions::{self as division_queries, DivisionRow};
use omnistream_projections::TenantScope;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::{ApiTags, DeleteResponse};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// A division.
#[derive(Debug, Clone, Object)]
pub struct Division {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// What it handles.
    pub description: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

/// A division with its members and counts.
#[derive(Debug, Clone, Object)]
pub struct DivisionWithCount {
    /// The division.
    pub division: Division,
    /// Its agents.
    pub agent_ids: Vec<Uuid>,
    /// How many agents.
    pub agent_count: i64,
    /// Its open conversations.
    pub open_conversations: i64,
}

impl From<DivisionRow> for DivisionWithCount {
    fn from(row: DivisionRow) -> Self {
        Self {
            agent_count: row.agent_ids.len() as i64,
            agent_ids: row.agent_ids,
            open_conversations: row.open_conversations,
            division: Division {
                id: row.id,
                name: row.name,
                description: row.description,
                created_at: row.created_at,
                updated_at: row.updated_at,
                version: row.version,
            },
        }
    }
}

/// A new division.
#[derive(Debug, Clone, Object)]
pub struct CreateDivision {
    /// Name (1-200 characters).
    pub name: String,
    /// What it handles.
    pub description: Option<String>,
    /// Its first agents.
    pub agent_ids: Option<Vec<Uuid>>,
}

/// Changes to a division; absent fields stay.
#[derive(Debug, Clone, Object)]
pub struct UpdateDivision {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
}

/// A division's members.
#[derive(Debug, Clone, Object)]
pub struct DivisionMembersRequest {
    /// Exactly these agents.
    pub agent_ids: Vec<Uuid>,
}

/// A division written by a command.
#[derive(ApiResponse)]
pub enum DivisionWritten {
    /// Created.
    #[oai(status = 201)]
    Created(Json<DivisionWithCount>, #[oai(header = "X-Event-Position")] Option<i64>),
    /// Changed.
    #[oai(status = 200)]
    Ok(Json<DivisionWithCount>, #[oai(header = "X-Event-Position")] Option<i64>),
}

/// Division operations.
pub struct DivisionsApi;

impl DivisionsApi {
    async fn read(
        state: &AppState,
        scope: TenantScope,
        id: Uuid,
        position: Option<i64>,
    ) -> ApiResult<DivisionWithCount> {
        wait_for_position(state, "inbox", position).await?;
        let row = division_queries::get(&state.pool, scope, id).await?;
        row.map(DivisionWithCount::from)
            .ok_or_else(|| ApiError::not_found("division"))
    }

    async fn exists(state: &AppState, scope: TenantScope, id: Uuid) -> ApiResult<()> {
        Self::read(state, scope, id, None).await.map(|_| ())
    }
}

#[OpenApi(prefix_path = "/api/divisions", tag = "ApiTags::Divisions")]
impl DivisionsApi {
    /// The organization's divisions with their counts (needs `divisions.manage`).
    #[oai(path = "/", method = "get")]
    async fn list(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<Vec<DivisionWithCount>>> {
        let scope = auth.principal().require(Permission::DivisionsManage)?.scope()?;
        let rows = division_queries::list(&state.pool, scope).await?;
        Ok(Json(rows.into_iter().map(DivisionWithCount::from).collect()))
    }

    /// Creates a division, optionally with its agents (needs `divisions.manage`).
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<CreateDivision>,
    ) -> ApiResult<DivisionWritten> {
        let principal = auth.principal().require(Permission::DivisionsManage)?;
        let body = body.0;
        let ctx = principal.command_context()?;
        let mut executed =
            division_commands::create(&state.bus, &ctx, body.name, body.description.unwrap_or_default()).await?;
        if let Some(agent_ids) = body.agent_ids.filter(|ids| !ids.is_empty()) {
            let id = executed.id;
            executed =
                division_commands::execute(&state.bus, &ctx, id, DivisionCommand::SetMembers { agent_ids }).await?;
        }
        let division = Self::read(state.0, principal.scope()?, executed.id, executed.position).await?;
        Ok(DivisionWritten::Created(Json(division), executed.position))
    }

    /// Reads a division (needs `divisions.manage`).
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<DivisionWithCount>> {
        let scope = auth.principal().require(Permission::DivisionsManage)?.scope()?;
        Ok(Json(Self::read(state.0, scope, id.0, None).await?))
    }

    /// Renames or describes a division (needs `divisions.manage`).
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateDivision>,
    ) -> ApiResult<DivisionWritten> {
        let principal = auth.principal().require(Permission::DivisionsManage)?;
        let scope = principal.scope()?;
        Self::exists(state.0, scope, id.0).await?;
        let ctx = principal.command_context()?;
        let command = DivisionCommand::Update {
            name: body.0.name,
            description: body.0.description,
        };
        let executed = division_commands::execute(&state.bus, &ctx, id.0, command).await?;
        Ok(DivisionWritten::Ok(
            Json(Self::read(state.0, scope, id.0, executed.position).await?),
            executed.position,
        ))
    }

    /// Sets a division's agents (needs `divisions.manage`).
    #[oai(path = "/:id/members", method = "put")]
    async fn members(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<DivisionMembersRequest>,
    ) -> ApiResult<DivisionWritten> {
        let principal = auth.principal().require(Permission::DivisionsManage)?;
        let scope = principal.scope()?;
        Self::exists(state.0, scope, id.0).await?;
        if body.0.agent_ids.len() > 1000 {
            return Err(ApiError::validation("agent_ids", "at most 1000 agents"));
        }
        let ctx = principal.command_context()?;
        let command = DivisionCommand::SetMembers {
            agent_ids: body.0.agent_ids,
        };
        let executed = division_commands::execute(&state.bus, &ctx, id.0, command).await?;
        Ok(DivisionWritten::Ok(
            Json(Self::read(state.0, scope, id.0, executed.position).await?),
            executed.position,
        ))
    }

    /// Deletes a division (needs `divisions.manage`).
    #[oai(path = "/:id", method = "delete")]
    async fn delete(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(Permission::DivisionsManage)?;
        let scope = principal.scope()?;
        Self::exists(state.0, scope, id.0).await?;
        let ctx = principal.command_context()?;
        let executed = division_commands::execute(&state.bus, &ctx, id.0, DivisionCommand::Delete).await?;
        wait_for_position(state.0, "inbox", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: id.0.to_string(),
            deleted: true,
        }))
    }
}
