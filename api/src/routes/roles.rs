//! Roles tag (admin only): the three system roles, custom roles, and the permission catalogue.

use chrono::{DateTime, Utc};
use omnistream_commands::roles as role_commands;
use omnistream_domain::permission::SystemRole;
use omnistream_domain::Permission as DomainPermission;
use omnistream_projections::directory::{self, RoleRow};
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

/// A permission of the catalogue.
#[derive(Debug, Clone, Object)]
pub struct Permission {
    /// The code endpoints check, such as `agents.manage`.
    pub code: String,
    /// What it allows.
    pub description: String,
}

impl From<DomainPermission> for Permission {
    fn from(p: DomainPermission) -> Self {
        Self {
            code: p.code().into(),
            description: p.description().into(),
        }
    }
}

/// A role: `admin`, `supervisor` and `agent` are the system roles; others are custom.
#[derive(Debug, Clone, Object)]
pub struct Role {
    /// The system role's name, or the custom role's UUID.
    pub id: String,
    /// Name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Whether it is a fixed system role.
    pub is_system: bool,
    /// Created (custom roles).
    #[oai(skip_serializing_if_is_none)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last changed (custom roles).
    #[oai(skip_serializing_if_is_none)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Stream version (custom roles).
    #[oai(skip_serializing_if_is_none)]
    pub version: Option<i64>,
}

/// A role with its permissions.
#[derive(Debug, Clone, Object)]
pub struct RoleWithPermissions {
    /// The role.
    #[oai(flatten)]
    pub role: Role,
    /// Its permissions.
    pub permissions: Vec<Permission>,
}

/// A new custom role.
#[derive(Debug, Clone, Object)]
pub struct CreateRole {
    /// Name, unique in the organization; not a system role's name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Permission codes from `GET /api/permissions`.
    pub permissions: Vec<String>,
}

/// Changes to a custom role; absent fields stay.
#[derive(Debug, Clone, Object)]
pub struct UpdateRole {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// The new full set of permission codes.
    pub permissions: Option<Vec<String>>,
}

/// A role written by a command.
#[derive(ApiResponse)]
pub enum RoleWritten {
    /// Created.
    #[oai(status = 201)]
    Created(
        Json<RoleWithPermissions>,
        #[oai(header = "X-Stream-Version")] i64,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
    /// Changed.
    #[oai(status = 200)]
    Ok(
        Json<RoleWithPermissions>,
        #[oai(header = "X-Stream-Version")] i64,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
}

fn system_role(role: SystemRole) -> RoleWithPermissions {
    let description = match role {
        SystemRole::Admin => "Everything in the organization",
        SystemRole::Supervisor => "Runs the team: everything but roles and billing",
        SystemRole::Agent => "Answers conversations",
    };
    RoleWithPermissions {
        role: Role {
            id: role.name().into(),
            name: role.name().into(),
            description: description.into(),
            is_system: true,
            created_at: None,
            updated_at: None,
            version: None,
        },
        permissions: role.permissions().into_iter().map(Permission::from).collect(),
    }
}

fn custom_role(row: RoleRow) -> RoleWithPermissions {
    RoleWithPermissions {
        role: Role {
            id: row.id.to_string(),
            name: row.name,
            description: row.description,
            is_system: false,
            created_at: Some(row.created_at),
            updated_at: Some(row.updated_at),
            version: Some(row.version),
        },
        permissions: row
            .permissions
            .iter()
            .filter_map(|c| DomainPermission::from_code(c))
            .map(Permission::from)
            .collect(),
    }
}

/// A custom role's id from a path, refusing system roles (which cannot change).
fn custom_id(id: &str) -> ApiResult<Uuid> {
    if SystemRole::from_name(id).is_some() {
        return Err(ApiError::unprocessable(
            "unprocessable",
            "system roles cannot be changed",
        ));
    }
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("role"))
}

/// Role operations.
pub struct RolesApi;

impl RolesApi {
    async fn read(
        state: &AppState,
        scope: TenantScope,
        id: Uuid,
        position: Option<i64>,
    ) -> ApiResult<RoleWithPermissions> {
        wait_for_position(state, "directory", position).await?;
        let row = directory::role(&state.pool, scope, id).await?;
        row.map(custom_role).ok_or_else(|| ApiError::not_found("role"))
    }

    async fn check_name(state: &AppState, scope: TenantScope, name: &str, except: Option<Uuid>) -> ApiResult<()> {
        if directory::role_name_taken(&state.pool, scope, name, except).await? {
            return Err(ApiError::conflict(
                "already_exists",
                format!("a role named {:?} exists", name.trim()),
            ));
        }
        Ok(())
    }
}

#[OpenApi(tag = "ApiTags::Roles")]
impl RolesApi {
    /// The permission catalogue (needs `roles.manage`).
    #[oai(path = "/api/permissions", method = "get")]
    async fn permissions(&self, auth: Auth) -> ApiResult<Json<Vec<Permission>>> {
        auth.principal().require(DomainPermission::RolesManage)?;
        Ok(Json(
            DomainPermission::ALL.iter().copied().map(Permission::from).collect(),
        ))
    }

    /// System roles, then the organization's custom roles by name; `GET /api/roles/{id}`
    /// shows a role's permissions (needs `roles.manage`).
    #[oai(path = "/api/roles", method = "get")]
    async fn list(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<Vec<Role>>> {
        let scope = auth.principal().require(DomainPermission::RolesManage)?.scope()?;
        let mut roles: Vec<_> = SystemRole::ALL.into_iter().map(|r| system_role(r).role).collect();
        roles.extend(
            directory::list_roles(&state.0.pool, scope)
                .await?
                .into_iter()
                .map(|r| custom_role(r).role),
        );
        Ok(Json(roles))
    }

    /// Creates a custom role (needs `roles.manage`).
    #[oai(path = "/api/roles", method = "post")]
    async fn create(&self, state: Data<&SharedState>, auth: Auth, body: Json<CreateRole>) -> ApiResult<RoleWritten> {
        let principal = auth.principal().require(DomainPermission::RolesManage)?;
        let scope = principal.scope()?;
        let body = body.0;
        Self::check_name(state.0, scope, &body.name, None).await?;
        let ctx = principal.command_context()?;
        let executed = role_commands::create(
            &state.0.bus,
            &ctx,
            body.name,
            body.description.unwrap_or_default(),
            body.permissions,
        )
        .await?;
        let role = Self::read(state.0, scope, executed.id, executed.position).await?;
        Ok(RoleWritten::Created(Json(role), executed.version, executed.position))
    }

    /// Reads a role: a system role by name or a custom role by id (needs `roles.manage`).
    #[oai(path = "/api/roles/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<String>,
    ) -> ApiResult<Json<RoleWithPermissions>> {
        let scope = auth.principal().require(DomainPermission::RolesManage)?.scope()?;
        if let Some(system) = SystemRole::from_name(&id.0) {
            return Ok(Json(system_role(system)));
        }
        let id = Uuid::parse_str(&id.0).map_err(|_| ApiError::not_found("role"))?;
        Ok(Json(Self::read(state.0, scope, id, None).await?))
    }

    /// Changes a custom role; agents holding it get the new permissions at once (needs `roles.manage`).
    #[oai(path = "/api/roles/:id", method = "patch")]
    async fn update(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<String>,
        body: Json<UpdateRole>,
    ) -> ApiResult<RoleWritten> {
        let principal = auth.principal().require(DomainPermission::RolesManage)?;
        let scope = principal.scope()?;
        let id = custom_id(&id.0)?;
        let body = body.0;
        if let Some(name) = &body.name {
            Self::check_name(state.0, scope, name, Some(id)).await?;
        }
        let ctx = principal.command_context()?;
        let executed =
            role_commands::update(&state.0.bus, &ctx, id, body.name, body.description, body.permissions).await?;
        let role = Self::read(state.0, scope, id, executed.position).await?;
        Ok(RoleWritten::Ok(Json(role), executed.version, executed.position))
    }

    /// Deletes a custom role that no agent holds (needs `roles.manage`).
    #[oai(path = "/api/roles/:id", method = "delete")]
    async fn delete(&self, state: Data<&SharedState>, auth: Auth, id: Path<String>) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(DomainPermission::RolesManage)?;
        let scope = principal.scope()?;
        let id = custom_id(&id.0)?;
        let holders = directory::role_in_use(&state.0.pool, scope, id).await?;
        if holders > 0 {
            return Err(ApiError::unprocessable(
                "role_in_use",
                format!("{holders} agent(s) hold this role; give them another role first"),
            ));
        }
        let ctx = principal.command_context()?;
        let executed = role_commands::delete(&state.0.bus, &ctx, id).await?;
        wait_for_position(state.0, "directory", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: id.to_string(),
            deleted: true,
        }))
    }
}
