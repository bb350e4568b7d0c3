//! Division commands.

use omnistream_domain::division::{Division, DivisionCommand};
use omnistream_domain::DomainError;
use uuid::Uuid;

use crate::conversations::check_agent;
use crate::{CommandBus, CommandContext, CommandError, Executed};

/// Creates a division.
pub async fn create(
    bus: &CommandBus,
    ctx: &CommandContext,
    name: String,
    description: String,
) -> Result<Executed, CommandError> {
    let tenant_id = ctx
        .scope
        .tenant_id()
        .ok_or_else(|| DomainError::Rule("divisions belong to an organization".into()))?;
    let division_id = Uuid::now_v7();
    let command = DivisionCommand::Create {
        division_id,
        tenant_id,
        name,
        description,
    };
    bus.create::<Division>(ctx, division_id, command).await
}

/// Runs a division command; members must be live agents of the tenant.
pub async fn execute(
    bus: &CommandBus,
    ctx: &CommandContext,
    id: Uuid,
    command: DivisionCommand,
) -> Result<Executed, CommandError> {
    let agents: Vec<Uuid> = match &command {
        DivisionCommand::SetMembers { agent_ids } => agent_ids.clone(),
        DivisionCommand::AddMember { agent_id } => vec![*agent_id],
        _ => Vec::new(),
    };
    for agent_id in agents {
        check_agent(bus, ctx, "agent_ids", agent_id).await?;
    }
    bus.execute::<Division>(ctx, id, command).await
}
