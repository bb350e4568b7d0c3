//! Auth tag: registration, login, logout and the caller's identity.

use chrono::{DateTime, Utc};
use omnistream_commands::registration::{self, Registration};
use omnistream_commands::{password, session, CommandContext, Scope};
use omnistream_domain::agent::{Agent, AgentCommand};
use omnistream_domain::values::Email;
use omnistream_domain::{Actor, ActorKind};
use omnistream_projections::directory;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::agents::AgentPublic;
use super::consistency::wait_for_position;
use super::ApiTags;
use crate::auth::{Auth, PrincipalKind};
use crate::error::{current_request_id, ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// Registers an organization with its first admin.
#[derive(Debug, Clone, Object)]
pub struct RegisterRequest {
    /// The organization's name.
    pub organization_name: String,
    /// Your name.
    pub name: String,
    /// Your login e-mail.
    pub email: String,
    /// Your password (8-256 characters, letters mixed with digits or symbols).
    pub password: String,
}

/// Credentials.
#[derive(Debug, Clone, Object)]
pub struct LoginRequest {
    /// Login e-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A session: send `token` back as `Authorization: Bearer <token>`.
#[derive(Debug, Clone, Object)]
pub struct LoginResponse {
    /// The session token (shown once).
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// The agent logged in; absent for a super-admin.
    #[oai(skip_serializing_if_is_none)]
    pub agent: Option<AgentPublic>,
    /// The agent's organization.
    #[oai(skip_serializing_if_is_none)]
    pub organization_id: Option<Uuid>,
    /// Whether this is a platform super-admin session.
    pub super_admin: bool,
}

/// Who the caller is and what it may do.
#[derive(Debug, Clone, Object)]
pub struct MeResponse {
    /// `agent` or `super_admin`.
    pub kind: String,
    /// The agent, for agents.
    #[oai(skip_serializing_if_is_none)]
    pub agent: Option<AgentPublic>,
    /// The organization acted in.
    #[oai(skip_serializing_if_is_none)]
    pub organization_id: Option<Uuid>,
    /// Its name.
    #[oai(skip_serializing_if_is_none)]
    pub organization_name: Option<String>,
    /// `session` or `api_key`.
    pub authenticated_by: String,
    /// Permission codes held.
    pub permissions: Vec<String>,
}

/// Registration answers.
#[derive(ApiResponse)]
pub enum Registered {
    /// The organization exists and you are logged in as its admin.
    #[oai(status = 201)]
    Created(Json<LoginResponse>, #[oai(header = "X-Event-Position")] Option<i64>),
}

/// Logout answers.
#[derive(ApiResponse)]
pub enum LoggedOut {
    /// The session has ended.
    #[oai(status = 204)]
    NoContent,
}

/// Auth operations.
pub struct AuthApi;

impl AuthApi {
    async fn agent_public(state: &AppState, agent_id: Uuid) -> ApiResult<Option<AgentPublic>> {
        Ok(directory::agent_for_credential(&state.pool, agent_id)
            .await?
            .map(AgentPublic::from))
    }
}

#[OpenApi(prefix_path = "/api/auth", tag = "ApiTags::Auth")]
impl AuthApi {
    /// Registers an organization and its first admin, and logs the admin in. Public.
    #[oai(path = "/register", method = "post")]
    async fn register(&self, state: Data<&SharedState>, body: Json<RegisterRequest>) -> ApiResult<Registered> {
        let body = body.0;
        let registered = registration::register(
            &state.0.bus,
            &state.0.pool,
            Some(current_request_id()),
            Registration {
                organization_name: body.organization_name,
                name: body.name,
                email: body.email,
                password: body.password,
            },
        )
        .await?;
        wait_for_position(state.0, "directory", registered.position).await?;
        let opened = session::open(
            &state.0.pool,
            registered.agent_id,
            Some(registered.organization_id),
            false,
            chrono::Duration::from_std(state.0.config.session_ttl).unwrap_or(chrono::Duration::hours(12)),
        )
        .await?;
        Ok(Registered::Created(
            Json(LoginResponse {
                token: opened.token,
                token_type: "Bearer".into(),
                expires_at: opened.expires_at,
                agent: Self::agent_public(state.0, registered.agent_id).await?,
                organization_id: Some(registered.organization_id),
                super_admin: false,
            }),
            registered.position,
        ))
    }

    /// Logs in with e-mail and password. Public; 5 failures per e-mail in 15 minutes block it.
    #[oai(path = "/login", method = "post")]
    async fn login(&self, state: Data<&SharedState>, body: Json<LoginRequest>) -> ApiResult<Json<LoginResponse>> {
        let body = body.0;
        let wrong = || ApiError::unauthorized("wrong e-mail or password");
        let Ok(email) = Email::parse(&body.email) else {
            return Err(wrong());
        };
        let pool = &state.0.pool;
        if let Some(retry_after) = session::login_blocked_for(pool, email.as_str()).await? {
            return Err(ApiError::rate_limited(
                retry_after,
                "too many failed logins; try again later",
            ));
        }
        let target = directory::find_login(pool, email.as_str()).await?;
        let stored = match &target {
            Some(t) => password::load(pool, t.principal_id).await?,
            None => None,
        };
        let Some(target) = target.filter(|_| stored.is_some()) else {
            password::verify(None, body.password).await;
            session::record_login_failure(pool, email.as_str()).await?;
            return Err(wrong());
        };
        if !password::verify(stored, body.password).await {
            session::record_login_failure(pool, email.as_str()).await?;
            return Err(wrong());
        }
        session::clear_login_failures(pool, email.as_str()).await?;
        let ttl = chrono::Duration::from_std(state.0.config.session_ttl).unwrap_or(chrono::Duration::hours(12));
        let opened = session::open(pool, target.principal_id, target.tenant_id, target.super_admin, ttl).await?;
        if let Some(tenant_id) = target.tenant_id {
            let actor = Actor {
                kind: ActorKind::Agent,
                id: Some(target.principal_id),
                api_key_id: None,
            };
            let ctx = CommandContext::new(Scope::Tenant(tenant_id), actor, Some(current_request_id()));
            let command = AgentCommand::RecordLogin {
                session_id: opened.id,
                expires_at: opened.expires_at,
            };
            state.0.bus.execute::<Agent>(&ctx, target.principal_id, command).await?;
        }
        Ok(Json(LoginResponse {
            token: opened.token,
            token_type: "Bearer".into(),
            expires_at: opened.expires_at,
            agent: Self::agent_public(state.0, target.principal_id).await?,
            organization_id: target.tenant_id,
            super_admin: target.super_admin,
        }))
    }

    /// Ends the current session.
    #[oai(path = "/logout", method = "post")]
    async fn logout(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<LoggedOut> {
        let principal = auth.principal();
        let Some(session_id) = principal.session_id else {
            return Err(ApiError::validation(
                "Authorization",
                "logout ends a session; API keys are revoked with DELETE /api/api-keys/{id}",
            ));
        };
        session::revoke(&state.0.pool, session_id).await?;
        if let PrincipalKind::Agent { agent_id, .. } = principal.kind {
            let ctx = principal.command_context()?;
            state
                .0
                .bus
                .execute::<Agent>(&ctx, agent_id, AgentCommand::RecordLogout { session_id })
                .await?;
        }
        Ok(LoggedOut::NoContent)
    }

    /// The caller: agent or super-admin, organization, and permissions.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<MeResponse>> {
        let principal = auth.principal();
        let (kind, agent) = match principal.kind {
            PrincipalKind::Agent { agent_id, .. } => ("agent", Self::agent_public(state.0, agent_id).await?),
            PrincipalKind::SuperAdmin { .. } => ("super_admin", None),
        };
        let organization = match principal.tenant_id {
            Some(tenant) => {
                directory::organization(&state.0.pool, omnistream_projections::TenantScope::new(tenant)).await?
            }
            None => None,
        };
        Ok(Json(MeResponse {
            kind: kind.into(),
            agent,
            organization_id: principal.tenant_id,
            organization_name: organization.map(|o| o.name),
            authenticated_by: if principal.api_key_id.is_some() {
                "api_key"
            } else {
                "session"
            }
            .into(),
            permissions: principal.permissions.iter().map(|p| p.code().to_owned()).collect(),
        }))
    }
}
