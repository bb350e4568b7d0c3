//! Quick reply commands: shortcuts are unique in an organization through claim streams.

use omnistream_domain::claim::ClaimCommand;
use omnistream_domain::quick_reply::{parse_shortcut, QuickReply, QuickReplyCommand, QuickReplyCreated};
use omnistream_domain::DomainError;
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::{claims, CommandBus, CommandContext, CommandError, Executed};

fn tenant_of(ctx: &CommandContext) -> Result<Uuid, CommandError> {
    Ok(ctx.scope.require_tenant("quick replies")?)
}

fn taken(error: CommandError) -> CommandError {
    match error {
        CommandError::Domain(DomainError::AlreadyExists(_)) => {
            DomainError::AlreadyExists("a quick reply with this shortcut exists".into()).into()
        }
        other => other,
    }
}

/// Creates a quick reply: personal when `owner_agent_id` is set, else shared.
pub async fn create(
    bus: &CommandBus,
    ctx: &CommandContext,
    shortcut: String,
    content: String,
    owner_agent_id: Option<Uuid>,
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    let shortcut = parse_shortcut(&shortcut)?;
    let id = Uuid::now_v7();
    retry_on_conflict(|| async {
        let reply = bus.fresh::<QuickReply>(ctx.scope, id);
        let claim = claims::tenant_value(bus, tenant_id, "shortcut", &shortcut).await?;
        let mut requests: Vec<_> = claim
            .decide(ctx, ClaimCommand::Claim { owner_id: id })
            .map_err(taken)?
            .into_iter()
            .collect();
        let command = QuickReplyCommand::Create(QuickReplyCreated {
            quick_reply_id: id,
            tenant_id,
            shortcut: shortcut.clone(),
            content: content.clone(),
            owner_agent_id,
        });
        requests.extend(reply.decide(ctx, command)?);
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(id, &reply.stream_id, 1, &outcomes))
    })
    .await
}

/// Changes a quick reply; a new shortcut is claimed and the old one released.
pub async fn update(
    bus: &CommandBus,
    ctx: &CommandContext,
    id: Uuid,
    shortcut: Option<String>,
    content: Option<String>,
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    let shortcut = shortcut.as_deref().map(parse_shortcut).transpose()?;
    retry_on_conflict(|| async {
        let reply = bus
            .load::<QuickReply>(ctx.scope, &id.to_string())
            .await?
            .require_exists()?;
        let mut requests = Vec::new();
        if let Some(new) = shortcut.as_ref().filter(|s| **s != reply.state.shortcut) {
            let claim = claims::tenant_value(bus, tenant_id, "shortcut", new).await?;
            requests.extend(claim.decide(ctx, ClaimCommand::Claim { owner_id: id }).map_err(taken)?);
            let old = claims::tenant_value(bus, tenant_id, "shortcut", &reply.state.shortcut).await?;
            requests.extend(old.decide(ctx, ClaimCommand::Release { owner_id: id })?);
        }
        let command = QuickReplyCommand::Update {
            shortcut: shortcut.clone(),
            content: content.clone(),
        };
        requests.extend(reply.decide(ctx, command)?);
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(id, &reply.stream_id, reply.version, &outcomes))
    })
    .await
}

/// Deletes a quick reply, freeing its shortcut.
pub async fn delete(bus: &CommandBus, ctx: &CommandContext, id: Uuid) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    retry_on_conflict(|| async {
        let reply = bus
            .load::<QuickReply>(ctx.scope, &id.to_string())
            .await?
            .require_exists()?;
        let claim = claims::tenant_value(bus, tenant_id, "shortcut", &reply.state.shortcut).await?;
        let mut requests: Vec<_> = claim
            .decide(ctx, ClaimCommand::Release { owner_id: id })?
            .into_iter()
            .collect();
        requests.extend(reply.decide(ctx, QuickReplyCommand::Delete)?);
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(id, &reply.stream_id, reply.version, &outcomes))
    })
    .await
}
