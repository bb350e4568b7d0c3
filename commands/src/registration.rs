//! Registering an organization with its first admin, and creating platform super-admins.

use omnistream_domain::agent::{Agent, AgentCommand, RoleRef};
use omnistream_domain::claim::ClaimCommand;
use omnistream_domain::organization::{Organization, OrganizationCommand};
use omnistream_domain::permission::SystemRole;
use omnistream_domain::super_admin::{SuperAdmin, SuperAdminCommand};
use omnistream_domain::values::{Email, Password};
use omnistream_domain::{Actor, ActorKind, Aggregate};
use sqlx::PgPool;
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::{claims, password, CommandBus, CommandContext, CommandError, Scope};

/// What registration asks for.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The organization's name.
    pub organization_name: String,
    /// The first admin's name.
    pub name: String,
    /// The first admin's login e-mail.
    pub email: String,
    /// The first admin's password.
    pub password: String,
}

/// A registered organization.
#[derive(Debug, Clone, Copy)]
pub struct Registered {
    /// The organization (tenant) id.
    pub organization_id: Uuid,
    /// Its first admin.
    pub agent_id: Uuid,
    /// The admin's stream version.
    pub version: i64,
    /// The last global position written.
    pub position: Option<i64>,
}

/// Creates an organization and its first admin in one atomic append; the e-mail's claim
/// stream makes a second registration with the same address fail.
#[tracing::instrument(skip_all, err)]
pub async fn register(
    bus: &CommandBus,
    pool: &PgPool,
    request_id: Option<String>,
    registration: Registration,
) -> Result<Registered, CommandError> {
    let email = Email::parse(&registration.email)?;
    let secret = Password::parse(&registration.password)?;
    let organization_id = Uuid::now_v7();
    let agent_id = Uuid::now_v7();
    let actor = Actor {
        kind: ActorKind::Agent,
        id: Some(agent_id),
        api_key_id: None,
    };
    let ctx = CommandContext::new(Scope::Tenant(organization_id), actor, request_id);
    // Validate everything before the slow hash, so bad input answers fast.
    Organization::default().decide(OrganizationCommand::Create {
        organization_id,
        name: registration.organization_name.clone(),
    })?;
    let create_agent = AgentCommand::Create {
        agent_id,
        tenant_id: organization_id,
        name: registration.name.clone(),
        email: email.as_str().to_owned(),
        role: RoleRef::System {
            role: SystemRole::Admin,
        },
    };
    Agent::default().decide(create_agent.clone())?;
    let claim = claims::login_email(bus, &email).await?;
    claim.decide(
        &ctx.in_scope(Scope::Platform),
        ClaimCommand::Claim { owner_id: agent_id },
    )?;

    password::store(pool, agent_id, &password::hash(&secret).await?).await?;
    retry_on_conflict(|| async {
        let organization = bus.fresh::<Organization>(ctx.scope, organization_id);
        let agent = bus.fresh::<Agent>(ctx.scope, agent_id);
        let claim = claims::login_email(bus, &email).await?;
        let requests = [
            organization.decide(
                &ctx,
                OrganizationCommand::Create {
                    organization_id,
                    name: registration.organization_name.clone(),
                },
            )?,
            agent.decide(&ctx, create_agent.clone())?,
            claim.decide(
                &ctx.in_scope(Scope::Platform),
                ClaimCommand::Claim { owner_id: agent_id },
            )?,
        ];
        let outcomes = bus.commit(requests.into_iter().flatten().collect()).await?;
        Ok(Registered {
            organization_id,
            agent_id,
            version: outcomes.get(1).map_or(1, |o| o.version),
            position: outcomes.iter().filter_map(|o| o.last_position()).max(),
        })
    })
    .await
}

/// Creates a platform super-admin (from the CLI).
#[tracing::instrument(skip(bus, pool, password), err)]
pub async fn create_super_admin(
    bus: &CommandBus,
    pool: &PgPool,
    name: &str,
    email: &str,
    password: &str,
) -> Result<Uuid, CommandError> {
    let email = Email::parse(email)?;
    let secret = Password::parse(password)?;
    let id = Uuid::now_v7();
    let ctx = CommandContext::new(Scope::Platform, Actor::system(), None);
    let create = SuperAdminCommand::Create {
        super_admin_id: id,
        name: name.to_owned(),
        email: email.as_str().to_owned(),
    };
    SuperAdmin::default().decide(create.clone())?;
    let claim = claims::login_email(bus, &email).await?;
    claim.decide(&ctx, ClaimCommand::Claim { owner_id: id })?;
    password::store(pool, id, &password::hash(&secret).await?).await?;
    retry_on_conflict(|| async {
        let admin = bus.fresh::<SuperAdmin>(Scope::Platform, id);
        let claim = claims::login_email(bus, &email).await?;
        let requests = [
            admin.decide(&ctx, create.clone())?,
            claim.decide(&ctx, ClaimCommand::Claim { owner_id: id })?,
        ];
        bus.commit(requests.into_iter().flatten().collect()).await?;
        Ok(id)
    })
    .await
}
