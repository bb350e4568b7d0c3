//! CSAT commands: a channel's survey settings, sending a survey after a resolution (a job),
//! and a customer's answer through the survey's token.

use chrono::{DateTime, Utc};
use omnistream_domain::conversation::{Channel, Conversation, ConversationCommand, ConversationStatus, MessageBody};
use omnistream_domain::csat::{
    ConfigureCsat, CsatSettings, CsatSettingsConfigured, CsatSurvey, CsatSurveyCommand, CsatSurveySent,
};
use omnistream_domain::{Actor, Aggregate, DomainError};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::{chat_expiration, CommandBus, CommandContext, CommandError, Executed, Scope};

fn tenant_of(scope: Scope) -> Result<Uuid, CommandError> {
    Ok(scope.require_tenant("surveys")?)
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Configures (creates or replaces) a channel's survey settings.
pub async fn configure(
    bus: &CommandBus,
    ctx: &CommandContext,
    channel: Channel,
    enabled: bool,
    expires_after_hours: u32,
    message: String,
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx.scope)?;
    let command = ConfigureCsat(CsatSettingsConfigured {
        tenant_id,
        channel,
        enabled,
        expires_after_hours,
        message,
    });
    bus.execute::<CsatSettings>(ctx, CsatSettings::id_for(tenant_id, channel), command)
        .await
}

/// Sends the survey of a conversation's resolution (the status change at `resolved_version`)
/// when its channel asks for one: the survey and the outbound message carrying its link are
/// appended together. One survey per resolution, however often the job runs; nothing when the
/// conversation was reopened meanwhile or its messaging window is closed.
pub async fn send(
    bus: &CommandBus,
    ctx: &CommandContext,
    conversation_id: Uuid,
    resolved_version: i64,
    link_base: &str,
    now: DateTime<Utc>,
) -> Result<(), CommandError> {
    let tenant_id = tenant_of(ctx.scope)?;
    let survey_id = CsatSurvey::id_for(conversation_id, resolved_version);
    retry_on_conflict(|| async {
        if bus
            .load::<CsatSurvey>(ctx.scope, &survey_id.to_string())
            .await?
            .state
            .exists()
        {
            return Ok(());
        }
        let conversation = bus
            .load::<Conversation>(ctx.scope, &conversation_id.to_string())
            .await?
            .require_exists()?;
        let state = &conversation.state;
        let Some(channel) = state.channel else { return Ok(()) };
        if state.status != ConversationStatus::Resolved {
            return Ok(());
        }
        let settings = bus
            .load::<CsatSettings>(ctx.scope, &CsatSettings::id_for(tenant_id, channel).to_string())
            .await?;
        let Some(settings) = settings.state.settings.filter(|s| s.enabled) else {
            return Ok(());
        };
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        let secret = hex::encode(secret);
        let token = format!("{}.{secret}", survey_id.simple());
        let link = format!("{}/{token}", link_base.trim_end_matches('/'));
        let message_id = Uuid::now_v7();
        let window = match channel {
            Channel::Api => None,
            _ => Some(chat_expiration::policy(bus, ctx.scope, channel).await?),
        };
        let send = ConversationCommand::Send {
            message_id,
            body: MessageBody {
                text: Some(settings.message.replace("{{link}}", &link)),
                ..Default::default()
            },
            author_agent_id: None,
            quick_reply_id: None,
            window,
            now,
        };
        let message = match conversation.decide(ctx, send) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(CommandError::Domain(DomainError::WindowClosed { .. })) => {
                tracing::info!(%conversation_id, "CSAT survey not sent: the messaging window is closed");
                return Ok(());
            }
            Err(other) => return Err(other),
        };
        let survey = bus.fresh::<CsatSurvey>(ctx.scope, survey_id).decide(
            ctx,
            CsatSurveyCommand::Send(CsatSurveySent {
                survey_id,
                tenant_id,
                conversation_id,
                contact_id: state.contact_id,
                channel,
                agent_id: state.assignee_id,
                division_id: state.division_id,
                message_id,
                token_sha256: digest(&secret),
                sent_at: now,
                expires_at: CsatSurvey::expiry(now, settings.expires_after_hours),
            }),
        )?;
        bus.commit(survey.into_iter().chain([message]).collect()).await?;
        Ok(())
    })
    .await
}

/// The survey a token (`<survey id>.<secret>`) names, its tenant, and the secret's digest.
/// An unknown or malformed token is "not found", whatever part of it is wrong.
async fn resolve(bus: &CommandBus, token: &str) -> Result<(Uuid, Uuid, String), CommandError> {
    let not_found = || CommandError::from(DomainError::NotFound(CsatSurvey::NAME));
    let (id, secret) = token.split_once('.').ok_or_else(not_found)?;
    let survey_id = Uuid::try_parse(id).map_err(|_| not_found())?;
    let recorded = bus.store().read_stream(&CsatSurvey::stream_id(survey_id), 1).await?;
    let tenant_id = recorded.first().and_then(|e| e.tenant_id).ok_or_else(not_found)?;
    Ok((tenant_id, survey_id, digest(secret)))
}

/// The survey a token names; "not found" unless the token is the survey's.
pub async fn survey(bus: &CommandBus, token: &str) -> Result<CsatSurvey, CommandError> {
    let (tenant_id, survey_id, digest) = resolve(bus, token).await?;
    let survey = bus
        .load::<CsatSurvey>(Scope::Tenant(tenant_id), &survey_id.to_string())
        .await?
        .state;
    if survey.holds_token(&digest) {
        Ok(survey)
    } else {
        Err(DomainError::NotFound(CsatSurvey::NAME).into())
    }
}

/// Records a customer's answer to the survey a token names.
pub async fn answer(
    bus: &CommandBus,
    token: &str,
    rating: u8,
    comment: Option<String>,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<Executed, CommandError> {
    let (tenant_id, survey_id, token_sha256) = resolve(bus, token).await?;
    let ctx = CommandContext::new(Scope::Tenant(tenant_id), Actor::anonymous(), request_id);
    let command = CsatSurveyCommand::Answer {
        token_sha256,
        rating,
        comment,
        now,
    };
    bus.execute::<CsatSurvey>(&ctx, survey_id, command).await
}
