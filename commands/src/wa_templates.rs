//! WhatsApp template commands: submitting a template for a WhatsApp account (its name and
//! language unique on the account), recording Meta's review, deleting it, and sending one
//! into a conversation with its parameters.

use omnistream_domain::claim::ClaimCommand;
use omnistream_domain::conversation::{Channel, Conversation, MessageBody, MessageType, TemplateMessage};
use omnistream_domain::integration::IntegrationAccount;
use omnistream_domain::wa_template::{
    TemplateCategory, TemplateComponents, WaTemplate, WaTemplateCommand, WaTemplateCreated, WaTemplateStatusChanged,
};
use omnistream_domain::{Aggregate, DomainError};
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::{claims, CommandBus, CommandContext, CommandError, Executed};

/// A template to submit.
#[derive(Debug, Clone)]
pub struct NewTemplate {
    /// The WhatsApp account.
    pub account_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its language code.
    pub language: String,
    /// Its category.
    pub category: TemplateCategory,
    /// Its parts.
    pub components: TemplateComponents,
}

fn claim_key(template: &WaTemplateCreated) -> String {
    format!("{}:{}:{}", template.account_id, template.name, template.language)
}

/// Submits a template (status `pending`).
pub async fn create(bus: &CommandBus, ctx: &CommandContext, new: NewTemplate) -> Result<Executed, CommandError> {
    let tenant_id = ctx
        .scope
        .tenant_id()
        .ok_or_else(|| DomainError::Rule("templates belong to an organization".into()))?;
    let account = match bus
        .load::<IntegrationAccount>(ctx.scope, &new.account_id.to_string())
        .await
    {
        Ok(loaded) if loaded.state.exists() => loaded.state.account,
        Ok(_) | Err(CommandError::Domain(DomainError::NotFound(_))) => None,
        Err(other) => return Err(other),
    };
    if account.is_none_or(|a| a.channel != Channel::Whatsapp) {
        return Err(DomainError::invalid("account_id", "no WhatsApp account with this id in this organization").into());
    }
    let template_id = Uuid::now_v7();
    let created = WaTemplateCreated {
        template_id,
        tenant_id,
        account_id: new.account_id,
        name: new.name.trim().to_owned(),
        language: new.language.trim().to_owned(),
        category: new.category,
        components: new.components,
    };
    retry_on_conflict(|| async {
        let template = bus.fresh::<WaTemplate>(ctx.scope, template_id);
        let mut requests: Vec<_> = template
            .decide(ctx, WaTemplateCommand::Create(created.clone()))?
            .into_iter()
            .collect();
        let claim = claims::tenant_value(bus, tenant_id, "wa-template", &claim_key(&created)).await?;
        requests.extend(
            claim
                .decide(ctx, ClaimCommand::Claim { owner_id: template_id })
                .map_err(|e| match e {
                    CommandError::Domain(DomainError::AlreadyExists(_)) => CommandError::Domain(
                        DomainError::AlreadyExists("the account has a template of this name and language".into()),
                    ),
                    other => other,
                })?,
        );
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(template_id, &template.stream_id, 1, &outcomes))
    })
    .await
}

/// Records Meta's review of a template.
pub async fn set_status(
    bus: &CommandBus,
    ctx: &CommandContext,
    id: Uuid,
    change: WaTemplateStatusChanged,
) -> Result<Executed, CommandError> {
    bus.execute::<WaTemplate>(ctx, id, WaTemplateCommand::SetStatus(change))
        .await
}

/// Deletes a template, freeing its name and language on the account.
pub async fn delete(bus: &CommandBus, ctx: &CommandContext, id: Uuid) -> Result<Executed, CommandError> {
    retry_on_conflict(|| async {
        let template = bus
            .load::<WaTemplate>(ctx.scope, &id.to_string())
            .await?
            .require_exists()?;
        let created = template.state.template.clone().expect("an existing template");
        let mut requests: Vec<_> = template.decide(ctx, WaTemplateCommand::Delete)?.into_iter().collect();
        let claim = claims::tenant_value(bus, created.tenant_id, "wa-template", &claim_key(&created)).await?;
        requests.extend(claim.decide(ctx, ClaimCommand::Release { owner_id: id })?);
        let outcomes = bus.commit(requests).await?;
        Ok(Executed::of(id, &template.stream_id, template.version, &outcomes))
    })
    .await
}

/// The body of a template message for a conversation: the template must be approved and
/// belong to the conversation's WhatsApp account, the parameters must fit it.
pub async fn message_body(
    bus: &CommandBus,
    ctx: &CommandContext,
    conversation: &Conversation,
    template_id: Uuid,
    body_parameters: Vec<String>,
) -> Result<MessageBody, CommandError> {
    let unknown = || DomainError::invalid("template_id", "no such template in this organization");
    let template = match bus.load::<WaTemplate>(ctx.scope, &template_id.to_string()).await {
        Ok(loaded) if loaded.state.exists() => loaded.state,
        Ok(_) | Err(CommandError::Domain(DomainError::NotFound(_))) => return Err(unknown().into()),
        Err(other) => return Err(other),
    };
    let created = template.template.as_ref().ok_or_else(unknown)?;
    if conversation.channel != Some(Channel::Whatsapp) || conversation.channel_account_id != Some(created.account_id) {
        return Err(DomainError::Rule(
            "templates are sent on the WhatsApp account they belong to; this conversation is elsewhere".into(),
        )
        .into());
    }
    let text = template.render_for_sending(&body_parameters)?;
    Ok(MessageBody {
        message_type: MessageType::Template,
        text: Some(text),
        template: Some(TemplateMessage {
            template_id,
            name: created.name.clone(),
            language: created.language.clone(),
            body_parameters,
        }),
        ..MessageBody::default()
    })
}
