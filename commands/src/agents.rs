//! Agent commands that span streams: an agent's e-mail is claimed, moved and released
//! together with the agent's own events, in one atomic append.

use omnistream_domain::agent::{Agent, AgentCommand, AgentStatus, RoleRef};
use omnistream_domain::claim::ClaimCommand;
use omnistream_domain::role::Role;
use omnistream_domain::values::{Email, Password};
use omnistream_domain::{Aggregate, DomainError};
use sqlx::PgPool;
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::{claims, password, session, CommandBus, CommandContext, CommandError, Executed, Scope};

/// A new agent.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Display name.
    pub name: String,
    /// Login e-mail.
    pub email: String,
    /// Initial password.
    pub password: String,
    /// Role.
    pub role: RoleRef,
}

/// Changes to an agent; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct AgentChanges {
    /// New name.
    pub name: Option<String>,
    /// New e-mail.
    pub email: Option<String>,
    /// New role.
    pub role: Option<RoleRef>,
    /// New password.
    pub password: Option<String>,
}

fn tenant_of(ctx: &CommandContext) -> Result<Uuid, CommandError> {
    Ok(ctx.scope.require_tenant("agents")?)
}

/// Refuses a custom role that is not a live role of the tenant.
async fn check_role(bus: &CommandBus, ctx: &CommandContext, role: &RoleRef) -> Result<(), CommandError> {
    if let RoleRef::Custom { role_id } = role {
        let loaded = bus.load::<Role>(ctx.scope, &role_id.to_string()).await;
        if !matches!(loaded, Ok(ref l) if l.state.active) {
            return Err(DomainError::invalid("custom_role_id", "no such role in this organization").into());
        }
    }
    Ok(())
}

/// Creates an agent, claiming its e-mail.
#[tracing::instrument(skip(bus, pool, ctx, agent), err)]
pub async fn create(
    bus: &CommandBus,
    pool: &PgPool,
    ctx: &CommandContext,
    agent: NewAgent,
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    let email = Email::parse(&agent.email)?;
    let secret = Password::parse(&agent.password)?;
    let agent_id = Uuid::now_v7();
    let command = AgentCommand::Create {
        agent_id,
        tenant_id,
        name: agent.name.clone(),
        email: email.as_str().to_owned(),
        role: agent.role.clone(),
    };
    Agent::default().decide(command.clone())?;
    check_role(bus, ctx, &agent.role).await?;
    claims::login_email(bus, &email).await?.decide(
        &ctx.in_scope(Scope::Platform),
        ClaimCommand::Claim { owner_id: agent_id },
    )?;
    password::store(pool, agent_id, &password::hash(&secret).await?).await?;
    retry_on_conflict(|| async {
        let loaded = bus.fresh::<Agent>(ctx.scope, agent_id);
        let claim = claims::login_email(bus, &email).await?;
        let requests = [
            loaded.decide(ctx, command.clone())?,
            claim.decide(
                &ctx.in_scope(Scope::Platform),
                ClaimCommand::Claim { owner_id: agent_id },
            )?,
        ];
        let outcomes = bus.commit(requests.into_iter().flatten().collect()).await?;
        Ok(Executed::of(agent_id, &loaded.stream_id, 1, &outcomes))
    })
    .await
}

/// Updates an agent; a new e-mail is claimed and the old one released atomically.
#[tracing::instrument(skip(bus, pool, ctx, changes), err)]
pub async fn update(
    bus: &CommandBus,
    pool: &PgPool,
    ctx: &CommandContext,
    agent_id: Uuid,
    changes: AgentChanges,
) -> Result<Executed, CommandError> {
    let new_email = changes.email.as_deref().map(Email::parse).transpose()?;
    let secret = changes.password.as_deref().map(Password::parse).transpose()?;
    if let Some(role) = &changes.role {
        check_role(bus, ctx, role).await?;
    }
    let current = bus
        .load::<Agent>(ctx.scope, &agent_id.to_string())
        .await?
        .require_exists()?;
    // Validate the profile change before hashing anything.
    current.state.decide(AgentCommand::Update {
        name: changes.name.clone(),
        email: new_email.as_ref().map(|e| e.as_str().to_owned()),
        role: changes.role.clone(),
    })?;
    let new_hash = match &secret {
        Some(secret) => Some(password::hash(secret).await?),
        None => None,
    };
    let executed = retry_on_conflict(|| async {
        let agent = bus
            .load::<Agent>(ctx.scope, &agent_id.to_string())
            .await?
            .require_exists()?;
        let mut requests = Vec::new();
        if let Some(email) = new_email.as_ref().filter(|e| e.as_str() != agent.state.email) {
            let old = Email::parse(&agent.state.email)?;
            let platform = ctx.in_scope(Scope::Platform);
            requests.extend(
                claims::login_email(bus, email)
                    .await?
                    .decide(&platform, ClaimCommand::Claim { owner_id: agent_id })?,
            );
            requests.extend(
                claims::login_email(bus, &old)
                    .await?
                    .decide(&platform, ClaimCommand::Release { owner_id: agent_id })?,
            );
        }
        let mut update = agent.decide(
            ctx,
            AgentCommand::Update {
                name: changes.name.clone(),
                email: new_email.as_ref().map(|e| e.as_str().to_owned()),
                role: changes.role.clone(),
            },
        )?;
        if secret.is_some() {
            let changed = agent.decide(ctx, AgentCommand::ChangePassword)?;
            match (&mut update, changed) {
                (Some(update), Some(changed)) => update.events.extend(changed.events),
                (update @ None, changed) => *update = changed,
                _ => {}
            }
        }
        requests.extend(update);
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(agent_id, &agent.stream_id, agent.version, &outcomes))
    })
    .await?;
    if let Some(hash) = new_hash {
        password::store(pool, agent_id, &hash).await?;
        session::revoke_all(pool, agent_id).await?;
    }
    Ok(executed)
}

/// Sets an agent's availability.
pub async fn set_status(
    bus: &CommandBus,
    ctx: &CommandContext,
    agent_id: Uuid,
    status: AgentStatus,
) -> Result<Executed, CommandError> {
    bus.execute::<Agent>(ctx, agent_id, AgentCommand::SetStatus(status))
        .await
}

/// Removes an agent: releases its e-mail and ends its sessions.
#[tracing::instrument(skip(bus, pool, ctx), err)]
pub async fn delete(
    bus: &CommandBus,
    pool: &PgPool,
    ctx: &CommandContext,
    agent_id: Uuid,
) -> Result<Executed, CommandError> {
    let executed = retry_on_conflict(|| async {
        let agent = bus
            .load::<Agent>(ctx.scope, &agent_id.to_string())
            .await?
            .require_exists()?;
        let email = Email::parse(&agent.state.email)?;
        let requests = [
            agent.decide(ctx, AgentCommand::Delete)?,
            claims::login_email(bus, &email).await?.decide(
                &ctx.in_scope(Scope::Platform),
                ClaimCommand::Release { owner_id: agent_id },
            )?,
        ];
        let outcomes = bus.commit(requests.into_iter().flatten().collect()).await?;
        Ok(Executed::of(agent_id, &agent.stream_id, agent.version, &outcomes))
    })
    .await?;
    session::revoke_all(pool, agent_id).await?;
    Ok(executed)
}
