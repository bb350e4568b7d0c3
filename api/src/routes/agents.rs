//! Agents tag: agent CRUD and availability, all as events on agent streams.

use chrono::{DateTime, Utc};
use omnistream_commands::agents::{self as agent_commands, AgentChanges, NewAgent};
use omnistream_domain::agent::{AgentStatus as DomainStatus, RoleRef};
use omnistream_domain::permission::SystemRole;
use omnistream_domain::Permission;
use omnistream_projections::directory::{self, AgentFilter, AgentRow};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::consistency::{wait_for_position, wait_for_version};
use super::{page_request, paginated, ApiTags, DeleteResponse};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// An agent's role: a system role, or `custom` with `custom_role_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AgentRole {
    /// Everything in the organization.
    Admin,
    /// Runs the team.
    Supervisor,
    /// Answers conversations.
    Agent,
    /// A custom role (see `custom_role_id`).
    Custom,
}

/// Whether an agent is taking conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Taking conversations.
    Online,
    /// Logged in, not taking conversations.
    Away,
    /// Not working.
    Offline,
}

impl AgentRole {
    /// The role's stored name.
    pub fn name(self) -> &'static str {
        match self {
            AgentRole::Admin => "admin",
            AgentRole::Supervisor => "supervisor",
            AgentRole::Agent => "agent",
            AgentRole::Custom => "custom",
        }
    }
}

impl From<AgentStatus> for DomainStatus {
    fn from(status: AgentStatus) -> Self {
        match status {
            AgentStatus::Online => DomainStatus::Online,
            AgentStatus::Away => DomainStatus::Away,
            AgentStatus::Offline => DomainStatus::Offline,
        }
    }
}

/// An agent as the API shows it (never a password).
#[derive(Debug, Clone, Object)]
pub struct AgentPublic {
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Login e-mail.
    pub email: String,
    /// Role.
    pub role: AgentRole,
    /// The custom role, when `role` is `custom`.
    #[oai(skip_serializing_if_is_none)]
    pub custom_role_id: Option<Uuid>,
    /// Availability.
    pub status: AgentStatus,
    /// Last login.
    #[oai(skip_serializing_if_is_none)]
    pub last_login_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// The agent stream's version (for `min_version`).
    pub version: i64,
}

impl From<AgentRow> for AgentPublic {
    fn from(row: AgentRow) -> Self {
        let role = match row.role.as_str() {
            "admin" => AgentRole::Admin,
            "supervisor" => AgentRole::Supervisor,
            "custom" => AgentRole::Custom,
            _ => AgentRole::Agent,
        };
        let status = match row.status.as_str() {
            "online" => AgentStatus::Online,
            "away" => AgentStatus::Away,
            _ => AgentStatus::Offline,
        };
        Self {
            id: row.id,
            name: row.name,
            email: row.email,
            role,
            custom_role_id: row.custom_role_id,
            status,
            last_login_at: row.last_login_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

paginated!(
    /// A page of agents.
    AgentList,
    AgentPublic
);

/// A new agent.
#[derive(Debug, Clone, Object)]
pub struct CreateAgent {
    /// Display name (1-200 characters).
    pub name: String,
    /// Login e-mail, unique across OmniStream.
    pub email: String,
    /// Initial password (8-256 characters, letters mixed with digits or symbols).
    pub password: String,
    /// Role.
    pub role: AgentRole,
    /// Required when `role` is `custom`.
    pub custom_role_id: Option<Uuid>,
}

/// Changes to an agent; absent fields stay as they are.
#[derive(Debug, Clone, Object)]
pub struct UpdateAgent {
    /// New display name.
    pub name: Option<String>,
    /// New login e-mail.
    pub email: Option<String>,
    /// New password (ends the agent's sessions).
    pub password: Option<String>,
    /// New role.
    pub role: Option<AgentRole>,
    /// Required when `role` is `custom`.
    pub custom_role_id: Option<Uuid>,
}

/// A new availability.
#[derive(Debug, Clone, Object)]
pub struct UpdateAgentStatusRequest {
    /// The status to set.
    pub status: AgentStatus,
}

/// An agent written by a command.
#[derive(ApiResponse)]
pub enum AgentWritten {
    /// Created.
    #[oai(status = 201)]
    Created(
        Json<AgentPublic>,
        #[oai(header = "X-Stream-Version")] i64,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
    /// Changed (or already so).
    #[oai(status = 200)]
    Ok(
        Json<AgentPublic>,
        #[oai(header = "X-Stream-Version")] i64,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
}

fn role_ref(role: AgentRole, custom_role_id: Option<Uuid>) -> ApiResult<RoleRef> {
    let system = |role| Ok(RoleRef::System { role });
    match (role, custom_role_id) {
        (AgentRole::Custom, Some(role_id)) => Ok(RoleRef::Custom { role_id }),
        (AgentRole::Custom, None) => Err(ApiError::validation(
            "custom_role_id",
            "custom_role_id is required when role is custom",
        )),
        (_, Some(_)) => Err(ApiError::validation(
            "custom_role_id",
            "custom_role_id is only allowed when role is custom",
        )),
        (AgentRole::Admin, None) => system(SystemRole::Admin),
        (AgentRole::Supervisor, None) => system(SystemRole::Supervisor),
        (AgentRole::Agent, None) => system(SystemRole::Agent),
    }
}

/// Agent operations.
pub struct AgentsApi;

impl AgentsApi {
    async fn written(state: &AppState, auth: &Auth, id: Uuid, position: Option<i64>) -> ApiResult<AgentPublic> {
        wait_for_position(state, "directory", position).await?;
        let scope = auth.principal().scope()?;
        let row = directory::agent(&state.pool, scope, id).await?;
        row.map(AgentPublic::from).ok_or_else(|| ApiError::not_found("agent"))
    }
}

#[OpenApi(prefix_path = "/api/agents", tag = "ApiTags::Agents")]
impl AgentsApi {
    /// Lists the organization's agents (needs `agents.view`).
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Only agents with this status.
        status: Query<Option<AgentStatus>>,
        /// Only agents with this role.
        role: Query<Option<AgentRole>>,
        /// Name or e-mail contains this text.
        search: Query<Option<String>>,
        /// Page number, from 1.
        page: Query<Option<i64>>,
        /// Rows per page (1-200, default 50).
        per_page: Query<Option<i64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the list includes the write at this position.
        #[oai(name = "X-Min-Position")]
        min_position: Header<Option<i64>>,
    ) -> ApiResult<Json<AgentList>> {
        let principal = auth.principal().require(Permission::AgentsView)?;
        let scope = principal.scope()?;
        let request = page_request(page.0, per_page.0, cursor.0)?;
        wait_for_position(state.0, "directory", min_position.0).await?;
        let filter = AgentFilter {
            status: status.0.map(|s| DomainStatus::from(s).as_str().to_owned()),
            role: role.0.map(|r| r.name().to_owned()),
            search: search.0.filter(|s| !s.trim().is_empty()),
        };
        let page = directory::list_agents(&state.0.pool, scope, &filter, &request).await?;
        Ok(Json(AgentList::from_page(page, AgentPublic::from)))
    }

    /// Creates an agent (needs `agents.manage`).
    #[oai(path = "/", method = "post")]
    async fn create(&self, state: Data<&SharedState>, auth: Auth, body: Json<CreateAgent>) -> ApiResult<AgentWritten> {
        let principal = auth.principal().require(Permission::AgentsManage)?;
        let body = body.0;
        let role = role_ref(body.role, body.custom_role_id)?;
        let ctx = principal.command_context()?;
        let new_agent = NewAgent {
            name: body.name,
            email: body.email,
            password: body.password,
            role,
        };
        let executed = agent_commands::create(&state.0.bus, &state.0.pool, &ctx, new_agent).await?;
        let agent = Self::written(state.0, &auth, executed.id, executed.position).await?;
        Ok(AgentWritten::Created(Json(agent), executed.version, executed.position))
    }

    /// Reads one agent (needs `agents.view`).
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        /// Wait until the agent has reached this stream version.
        min_version: Query<Option<i64>>,
    ) -> ApiResult<Json<AgentPublic>> {
        let principal = auth.principal().require(Permission::AgentsView)?;
        let scope = principal.scope()?;
        let pool = &state.0.pool;
        wait_for_version(state.0, min_version.0, || async move {
            Ok(directory::agent(pool, scope, id.0).await?.map(|a| a.version))
        })
        .await?;
        let row = directory::agent(pool, scope, id.0).await?;
        row.map(|r| Json(r.into())).ok_or_else(|| ApiError::not_found("agent"))
    }

    /// Changes an agent's profile, role or password (needs `agents.manage`).
    #[oai(path = "/:id", method = "patch")]
    async fn update(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateAgent>,
    ) -> ApiResult<AgentWritten> {
        let principal = auth.principal().require(Permission::AgentsManage)?;
        let body = body.0;
        let role = match (body.role, body.custom_role_id) {
            (None, None) => None,
            (None, Some(_)) => return Err(ApiError::validation("role", "send role: custom with custom_role_id")),
            (Some(role), custom) => Some(role_ref(role, custom)?),
        };
        let ctx = principal.command_context()?;
        let changes = AgentChanges {
            name: body.name,
            email: body.email,
            role,
            password: body.password,
        };
        let executed = agent_commands::update(&state.0.bus, &state.0.pool, &ctx, id.0, changes).await?;
        let agent = Self::written(state.0, &auth, id.0, executed.position).await?;
        Ok(AgentWritten::Ok(Json(agent), executed.version, executed.position))
    }

    /// Removes an agent: its sessions end and its e-mail is free again (needs `agents.manage`).
    #[oai(path = "/:id", method = "delete")]
    async fn delete(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(Permission::AgentsManage)?;
        if principal.agent_id() == Some(id.0) {
            return Err(ApiError::unprocessable("unprocessable", "you cannot delete yourself"));
        }
        let ctx = principal.command_context()?;
        let executed = agent_commands::delete(&state.0.bus, &state.0.pool, &ctx, id.0).await?;
        wait_for_position(state.0, "directory", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: id.0.to_string(),
            deleted: true,
        }))
    }

    /// Sets an agent's availability: your own always, others' with `agents.manage`.
    #[oai(path = "/:id/status", method = "put")]
    async fn set_status(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateAgentStatusRequest>,
    ) -> ApiResult<AgentWritten> {
        let principal = auth.principal();
        if principal.agent_id() != Some(id.0) {
            principal.require(Permission::AgentsManage)?;
        }
        let ctx = principal.command_context()?;
        let executed = agent_commands::set_status(&state.0.bus, &ctx, id.0, body.0.status.into()).await?;
        let agent = Self::written(state.0, &auth, id.0, executed.position).await?;
        Ok(AgentWritten::Ok(Json(agent), executed.version, executed.position))
    }
}
