//! Who is calling: resolved once per request from `X-API-Key` or `Authorization: Bearer`.

use std::collections::BTreeSet;

use omnistream_commands::{session, CommandContext, Scope};
use omnistream_domain::permission::SystemRole;
use omnistream_domain::{Actor, ActorKind, Permission};
use omnistream_projections::{directory, TenantScope};
use poem::Request;
use uuid::Uuid;

use super::credential::Holder;
use crate::error::{current_request_id, ApiError};
use crate::state::AppState;

/// The kind of authenticated principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An agent of an organization.
    Agent {
        /// The agent.
        agent_id: Uuid,
        /// The system role name, or `custom`.
        role: String,
    },
    /// A platform super-admin.
    SuperAdmin {
        /// The super-admin.
        super_admin_id: Uuid,
    },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Who.
    pub kind: PrincipalKind,
    /// The organization acted in (a super-admin picks one with `X-Tenant-Id`).
    pub tenant_id: Option<Uuid>,
    /// What the caller may do.
    pub permissions: BTreeSet<Permission>,
    /// The session, when authenticated by token.
    pub session_id: Option<Uuid>,
    /// The API key, when authenticated by key.
    pub api_key_id: Option<Uuid>,
}

impl Principal {
    /// Passes when the caller holds `permission`; this is each endpoint's one check.
    pub fn require(&self, permission: Permission) -> Result<&Self, ApiError> {
        if self.permissions.contains(&permission) {
            Ok(self)
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the `{}` permission",
                permission.code()
            )))
        }
    }

    /// Passes only for a login session (not an API key).
    pub fn require_session(&self) -> Result<&Self, ApiError> {
        if self.session_id.is_some() {
            Ok(self)
        } else {
            Err(ApiError::forbidden("this needs a login session, not an API key"))
        }
    }

    /// The organization whose data the caller reads.
    pub fn scope(&self) -> Result<TenantScope, ApiError> {
        self.tenant_id
            .map(TenantScope::new)
            .ok_or_else(|| ApiError::forbidden("super-admins choose an organization with the X-Tenant-Id header"))
    }

    /// The agent's id, when the caller is an agent.
    pub fn agent_id(&self) -> Option<Uuid> {
        match self.kind {
            PrincipalKind::Agent { agent_id, .. } => Some(agent_id),
            PrincipalKind::SuperAdmin { .. } => None,
        }
    }

    /// The actor recorded on events.
    pub fn actor(&self) -> Actor {
        match self.kind {
            PrincipalKind::Agent { agent_id, .. } => Actor {
                kind: if self.api_key_id.is_some() {
                    ActorKind::ApiKey
                } else {
                    ActorKind::Agent
                },
                id: Some(agent_id),
                api_key_id: self.api_key_id,
            },
            PrincipalKind::SuperAdmin { super_admin_id } => Actor {
                kind: ActorKind::SuperAdmin,
                id: Some(super_admin_id),
                api_key_id: None,
            },
        }
    }

    /// The context of a command issued by this caller in its organization.
    pub fn command_context(&self) -> Result<CommandContext, ApiError> {
        let scope = self.scope()?;
        Ok(CommandContext::new(
            Scope::Tenant(scope.tenant_id()),
            self.actor(),
            Some(current_request_id()),
        ))
    }
}

/// A principal already resolved for this request, kept in its extensions.
#[derive(Debug, Clone)]
pub struct Resolved(pub Option<Principal>);

/// Resolves the principal of a request: `Ok(None)` when it carries no credentials. A
/// resolution cached in the request's extensions (by a middleware) is reused.
pub async fn resolve(state: &AppState, req: &Request) -> Result<Option<Principal>, ApiError> {
    if let Some(Resolved(cached)) = req.extensions().get::<Resolved>() {
        return Ok(cached.clone());
    }
    let api_key = req.header("X-API-Key").map(str::trim).filter(|k| !k.is_empty());
    let bearer = req
        .header("Authorization")
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let tenant_header = req.header("X-Tenant-Id");
    let principal = match (api_key, bearer) {
        (Some(key), _) => Some(from_api_key(state, key).await?),
        (None, Some(token)) => Some(from_session(state, token, tenant_header).await?),
        (None, None) => None,
    };
    Ok(principal)
}

async fn from_api_key(state: &AppState, key: &str) -> Result<Principal, ApiError> {
    let invalid = || ApiError::unauthorized("the API key is invalid, revoked or expired");
    let digest = hex::encode(session::secret_sha256(key));
    let holder = state.holders.api_key(&state.pool, digest).await?.ok_or_else(invalid)?;
    let principal = agent_principal(holder, false).ok_or_else(invalid)?;
    if let Some(key_id) = principal.api_key_id.filter(|id| state.holders.key_use_due(*id)) {
        directory::touch_api_key(&state.pool, key_id).await?;
    }
    Ok(principal)
}

async fn from_session(state: &AppState, token: &str, tenant_header: Option<&str>) -> Result<Principal, ApiError> {
    let invalid = || ApiError::unauthorized("the session token is invalid or expired; log in again");
    let holder = state
        .holders
        .session(&state.pool, session::secret_sha256(token))
        .await?
        .ok_or_else(invalid)?;
    if holder.tenant_id.is_none() {
        if !holder.super_admin {
            return Err(invalid());
        }
        let tenant_id = tenant_header
            .map(|raw| {
                Uuid::parse_str(raw.trim())
                    .map_err(|_| ApiError::validation("X-Tenant-Id", "X-Tenant-Id must be a UUID"))
            })
            .transpose()?;
        return Ok(Principal {
            kind: PrincipalKind::SuperAdmin {
                super_admin_id: holder.principal_id,
            },
            tenant_id,
            permissions: Permission::ALL.iter().copied().collect(),
            session_id: Some(holder.credential_id),
            api_key_id: None,
        });
    }
    agent_principal(holder, true).ok_or_else(invalid)
}

/// An agent's principal, with its role's permissions as they are now: fixed for system
/// roles, those of the custom role otherwise (so a role's change applies to the next
/// request). `None` when the agent is gone or belongs to another organization.
fn agent_principal(holder: Holder, by_session: bool) -> Option<Principal> {
    if holder.agent_tenant_id.is_none() || holder.agent_tenant_id != holder.tenant_id {
        return None;
    }
    let role = holder.agent_role?;
    let permissions: BTreeSet<Permission> = match SystemRole::from_name(&role) {
        Some(system) => system.permissions().into_iter().collect(),
        None => holder
            .role_permissions
            .unwrap_or_default()
            .iter()
            .filter_map(|c| Permission::from_code(c))
            .collect(),
    };
    Some(Principal {
        kind: PrincipalKind::Agent {
            agent_id: holder.principal_id,
            role,
        },
        tenant_id: holder.tenant_id,
        permissions,
        session_id: by_session.then_some(holder.credential_id),
        api_key_id: (!by_session).then_some(holder.credential_id),
    })
}
