//! Custom role commands.

use omnistream_domain::role::{Role, RoleCommand};
use uuid::Uuid;

use crate::{CommandBus, CommandContext, CommandError, Executed};

/// Creates a custom role in the context's organization.
pub async fn create(
    bus: &CommandBus,
    ctx: &CommandContext,
    name: String,
    description: String,
    permissions: Vec<String>,
) -> Result<Executed, CommandError> {
    let tenant_id = ctx
        .scope
        .tenant_id()
        .ok_or_else(|| omnistream_domain::DomainError::Rule("roles belong to an organization".into()))?;
    let role_id = Uuid::now_v7();
    let command = RoleCommand::Create {
        role_id,
        tenant_id,
        name,
        description,
        permissions,
    };
    bus.create::<Role>(ctx, role_id, command).await
}

/// Changes a custom role.
pub async fn update(
    bus: &CommandBus,
    ctx: &CommandContext,
    role_id: Uuid,
    name: Option<String>,
    description: Option<String>,
    permissions: Option<Vec<String>>,
) -> Result<Executed, CommandError> {
    let command = RoleCommand::Update {
        name,
        description,
        permissions,
    };
    bus.execute::<Role>(ctx, role_id, command).await
}

/// Deletes a custom role.
pub async fn delete(bus: &CommandBus, ctx: &CommandContext, role_id: Uuid) -> Result<Executed, CommandError> {
    bus.execute::<Role>(ctx, role_id, RoleCommand::Delete).await
}
