//! Conversation commands: starting one, assignment, status, tags, transfers, reading, and
//! messages both ways (the customer's side only on the built-in API channel).

use chrono::Utc;
use omnistream_domain::agent::Agent;
use omnistream_domain::contact::Contact;
use omnistream_domain::conversation::{Channel, Conversation, ConversationCommand, ConversationStarted, MessageBody};
use omnistream_domain::division::Division;
use omnistream_domain::integration::IntegrationAccount;
use omnistream_domain::quick_reply::{render, QuickReply};
use omnistream_domain::{Aggregate, DomainError};
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::{chat_expiration, inbound, wa_templates, CommandBus, CommandContext, CommandError, Executed};

/// A conversation to start.
#[derive(Debug, Clone)]
pub struct NewConversation {
    /// The contact.
    pub contact_id: Uuid,
    /// The channel.
    pub channel: Channel,
    /// The channel account.
    pub channel_account_id: Option<Uuid>,
    /// The division.
    pub division_id: Option<Uuid>,
    /// A subject.
    pub subject: Option<String>,
    /// Assign it at once.
    pub assignee_id: Option<Uuid>,
}

/// A message an agent (or API consumer) sends.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// Its body; the text may be empty when a quick reply provides it.
    pub body: MessageBody,
    /// A quick reply to render into the text.
    pub quick_reply_id: Option<Uuid>,
    /// A WhatsApp template and its body parameters, rendered into the body.
    pub template: Option<(Uuid, Vec<String>)>,
    /// The author.
    pub author_agent_id: Option<Uuid>,
}

fn tenant_of(ctx: &CommandContext) -> Result<Uuid, CommandError> {
    Ok(ctx.scope.require_tenant("conversations")?)
}

/// Refuses an agent that is not a live agent of the tenant.
pub async fn check_agent(
    bus: &CommandBus,
    ctx: &CommandContext,
    field: &'static str,
    agent_id: Uuid,
) -> Result<Agent, CommandError> {
    match bus.load::<Agent>(ctx.scope, &agent_id.to_string()).await {
        Ok(loaded) if loaded.state.exists() => Ok(loaded.state),
        Ok(_) | Err(CommandError::Domain(DomainError::NotFound(_))) => {
            Err(DomainError::invalid(field, "no such agent in this organization").into())
        }
        Err(other) => Err(other),
    }
}

/// Refuses a division that is not a live division of the tenant.
pub async fn check_division(bus: &CommandBus, ctx: &CommandContext, division_id: Uuid) -> Result<(), CommandError> {
    match bus.load::<Division>(ctx.scope, &division_id.to_string()).await {
        Ok(loaded) if loaded.state.exists() => Ok(()),
        Ok(_) | Err(CommandError::Domain(DomainError::NotFound(_))) => {
            Err(DomainError::invalid("division_id", "no such division in this organization").into())
        }
        Err(other) => Err(other),
    }
}

/// Starts a conversation with a contact, assigned at once when asked: on the built-in API
/// channel, or on a channel account of the organization (the business writes first; on
/// WhatsApp that means a template, since no customer message opened the window). A chat
/// channel keeps one current conversation per contact and account: a second start while one
/// is open is refused, naming it.
pub async fn start(bus: &CommandBus, ctx: &CommandContext, new: NewConversation) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx)?;
    let contact = match bus.load::<Contact>(ctx.scope, &new.contact_id.to_string()).await {
        Ok(contact) if contact.state.exists() => contact.state,
        Ok(_) | Err(CommandError::Domain(DomainError::NotFound(_))) => {
            return Err(DomainError::invalid("contact_id", "no such contact in this organization").into())
        }
        Err(other) => return Err(other),
    };
    let account_id = match (new.channel, new.channel_account_id) {
        (Channel::Api, None) => None,
        (Channel::Api, Some(_)) => {
            return Err(DomainError::invalid("channel_account_id", "the api channel has no accounts").into())
        }
        (_, None) => {
            return Err(DomainError::invalid("channel_account_id", "is required to write on this channel").into())
        }
        (channel, Some(account_id)) => {
            check_account(bus, ctx, channel, account_id, &contact).await?;
            Some(account_id)
        }
    };
    if let Some(division_id) = new.division_id {
        check_division(bus, ctx, division_id).await?;
    }
    if let Some(agent_id) = new.assignee_id {
        check_agent(bus, ctx, "assignee_id", agent_id).await?;
    }
    let conversation_id = Uuid::now_v7();
    let mut commands = vec![ConversationCommand::Start(ConversationStarted {
        conversation_id,
        tenant_id,
        contact_id: new.contact_id,
        channel: new.channel,
        channel_account_id: new.channel_account_id,
        division_id: new.division_id,
        subject: new.subject,
    })];
    if new.assignee_id.is_some() {
        commands.push(ConversationCommand::Assign {
            agent_id: new.assignee_id,
        });
    }
    retry_on_conflict(|| async {
        let conversation = bus.fresh::<Conversation>(ctx.scope, conversation_id);
        let mut requests: Vec<_> = conversation.decide_all(ctx, commands.clone())?.into_iter().collect();
        if let (Some(account_id), true) = (
            account_id,
            matches!(new.channel, Channel::Whatsapp | Channel::Instagram),
        ) {
            requests
                .extend(inbound::take_thread(bus, ctx, tenant_id, account_id, new.contact_id, conversation_id).await?);
        }
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(conversation_id, &conversation.stream_id, 1, &outcomes))
    })
    .await
}

/// Refuses an account that is not a live account of the tenant on `channel`, or a contact
/// the channel cannot reach.
async fn check_account(
    bus: &CommandBus,
    ctx: &CommandContext,
    channel: Channel,
    account_id: Uuid,
    contact: &Contact,
) -> Result<(), CommandError> {
    let account = match bus.load::<IntegrationAccount>(ctx.scope, &account_id.to_string()).await {
        Ok(loaded) if loaded.state.exists() => loaded.state.account,
        Ok(_) | Err(CommandError::Domain(DomainError::NotFound(_))) => None,
        Err(other) => return Err(other),
    };
    if account.is_none_or(|a| a.channel != channel) {
        return Err(DomainError::invalid(
            "channel_account_id",
            format!("no {} account with this id in this organization", channel.as_str()),
        )
        .into());
    }
    let profile = &contact.profile;
    let reachable = match channel {
        Channel::Whatsapp => profile.phone.is_some(),
        Channel::Instagram => profile.instagram_id.is_some(),
        Channel::Email => profile.email.is_some(),
        Channel::Api => true,
    };
    if !reachable {
        return Err(DomainError::invalid(
            "contact_id",
            format!("the contact has no {} identity to write to", channel.as_str()),
        )
        .into());
    }
    Ok(())
}

/// Assigns a conversation to a live agent of the tenant, or unassigns it.
pub async fn assign(
    bus: &CommandBus,
    ctx: &CommandContext,
    id: Uuid,
    agent_id: Option<Uuid>,
) -> Result<Executed, CommandError> {
    if let Some(agent_id) = agent_id {
        check_agent(bus, ctx, "agent_id", agent_id).await?;
    }
    bus.execute::<Conversation>(ctx, id, ConversationCommand::Assign { agent_id })
        .await
}

/// Moves a conversation to another agent and/or division, with a reason.
pub async fn transfer(
    bus: &CommandBus,
    ctx: &CommandContext,
    id: Uuid,
    to_agent_id: Option<Uuid>,
    to_division_id: Option<Uuid>,
    reason: String,
) -> Result<Executed, CommandError> {
    if let Some(agent_id) = to_agent_id {
        check_agent(bus, ctx, "agent_id", agent_id).await?;
    }
    if let Some(division_id) = to_division_id {
        check_division(bus, ctx, division_id).await?;
    }
    let command = ConversationCommand::Transfer {
        transfer_id: Uuid::now_v7(),
        to_agent_id,
        to_division_id,
        reason,
    };
    bus.execute::<Conversation>(ctx, id, command).await
}

/// Runs any other conversation command.
pub async fn execute(
    bus: &CommandBus,
    ctx: &CommandContext,
    id: Uuid,
    command: ConversationCommand,
) -> Result<Executed, CommandError> {
    bus.execute::<Conversation>(ctx, id, command).await
}

/// Records a customer message on an API-channel conversation.
pub async fn receive(
    bus: &CommandBus,
    ctx: &CommandContext,
    id: Uuid,
    body: MessageBody,
) -> Result<Executed, CommandError> {
    let message_id = Uuid::now_v7();
    retry_on_conflict(|| async {
        let conversation = bus
            .load::<Conversation>(ctx.scope, &id.to_string())
            .await?
            .require_exists()?;
        if conversation.state.channel != Some(Channel::Api) {
            return Err(DomainError::Rule("customer messages arrive through the channel's webhooks".into()).into());
        }
        let command = ConversationCommand::Receive {
            message_id,
            body: body.clone(),
            provider_message_id: None,
            now: Utc::now(),
        };
        let request = conversation.decide(ctx, command)?;
        let outcomes = bus.commit(request.into_iter().collect()).await?;
        Ok(Executed::of(
            message_id,
            &conversation.stream_id,
            conversation.version,
            &outcomes,
        ))
    })
    .await
}

/// Records an outgoing message as queued, rendering a quick reply's variables.
pub async fn send(
    bus: &CommandBus,
    ctx: &CommandContext,
    id: Uuid,
    message: OutgoingMessage,
) -> Result<Executed, CommandError> {
    let message_id = Uuid::now_v7();
    retry_on_conflict(|| async {
        let conversation = bus
            .load::<Conversation>(ctx.scope, &id.to_string())
            .await?
            .require_exists()?;
        let mut body = message.body.clone();
        if let Some((template_id, parameters)) = &message.template {
            body = wa_templates::message_body(bus, ctx, &conversation.state, *template_id, parameters.clone()).await?;
        }
        if let Some(quick_reply_id) = message.quick_reply_id {
            body.text =
                Some(quick_reply_text(bus, ctx, &conversation.state, quick_reply_id, message.author_agent_id).await?);
        }
        let window = match conversation.state.channel {
            Some(channel) if channel != Channel::Api => Some(chat_expiration::policy(bus, ctx.scope, channel).await?),
            _ => None,
        };
        let command = ConversationCommand::Send {
            message_id,
            body,
            author_agent_id: message.author_agent_id,
            quick_reply_id: message.quick_reply_id,
            window,
            now: Utc::now(),
        };
        let request = conversation.decide(ctx, command)?;
        let outcomes = bus.commit(request.into_iter().collect()).await?;
        Ok(Executed::of(
            message_id,
            &conversation.stream_id,
            conversation.version,
            &outcomes,
        ))
    })
    .await
}

/// The text of a quick reply usable by the author, its variables rendered for this conversation.
async fn quick_reply_text(
    bus: &CommandBus,
    ctx: &CommandContext,
    conversation: &Conversation,
    quick_reply_id: Uuid,
    author: Option<Uuid>,
) -> Result<String, CommandError> {
    let unknown = || DomainError::invalid("quick_reply_id", "no such quick reply available to you");
    let reply = match bus.load::<QuickReply>(ctx.scope, &quick_reply_id.to_string()).await {
        Ok(loaded) if loaded.state.exists() => loaded.state,
        Ok(_) | Err(CommandError::Domain(DomainError::NotFound(_))) => return Err(unknown().into()),
        Err(other) => return Err(other),
    };
    if reply.owner_agent_id.is_some() && reply.owner_agent_id != author {
        return Err(unknown().into());
    }
    let contact = bus
        .load::<Contact>(ctx.scope, &conversation.contact_id.to_string())
        .await?
        .state;
    let agent_name = match author {
        Some(agent_id) => Some(bus.load::<Agent>(ctx.scope, &agent_id.to_string()).await?.state.name),
        None => None,
    };
    Ok(render(&reply.content, |name| match name {
        "contact.name" => contact.profile.name.clone(),
        "contact.phone" => contact.profile.phone.clone(),
        "contact.email" => contact.profile.email.clone(),
        "agent.name" => agent_name.clone(),
        "conversation.id" => Some(conversation.id.to_string()),
        _ => None,
    }))
}
