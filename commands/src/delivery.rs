//! The write side of outbound delivery: what a queued message needs to be sent (its body, its
//! recipient, the e-mail thread it answers), and recording each attempt's result.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use omnistream_domain::claim::ClaimCommand;
use omnistream_domain::contact::Contact;
use omnistream_domain::conversation::{
    Conversation, ConversationCommand, ConversationEvent, DeliveryStatus, MessageQueued,
};
use omnistream_domain::media::{Media, MediaEvent};
use omnistream_domain::{Aggregate, DomainError};
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::media::MediaStore;
use crate::{claims, CommandBus, CommandContext, CommandError, Scope};

/// A queued message with what sending it needs.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The conversation as it stands.
    pub conversation: Conversation,
    /// The message as queued.
    pub queued: MessageQueued,
    /// The recipient.
    pub contact: Contact,
    /// Provider ids of the conversation's messages so far, oldest first (for e-mail:
    /// `In-Reply-To` and `References`).
    pub thread: Vec<String>,
}

/// The queued message `message_id` of a conversation; `None` when it is no longer queued
/// (sent, failed) or unknown.
pub async fn outgoing(
    bus: &CommandBus,
    scope: Scope,
    conversation_id: Uuid,
    message_id: Uuid,
) -> Result<Option<Outgoing>, CommandError> {
    let stream_id = Conversation::stream_id(conversation_id);
    let recorded = bus.store().read_stream(&stream_id, 1).await?;
    if recorded.first().is_some_and(|e| e.tenant_id != scope.tenant_id()) {
        return Ok(None);
    }
    let mut conversation = Conversation::default();
    let (mut queued, mut thread) = (None, Vec::new());
    for event in &recorded {
        let decoded: ConversationEvent = event.decode()?;
        match &decoded {
            ConversationEvent::MessageQueued(q) if q.message_id == message_id => queued = Some(q.clone()),
            ConversationEvent::MessageReceived(m) => thread.extend(m.provider_message_id.clone()),
            ConversationEvent::MessageSent(m) => thread.push(m.provider_message_id.clone()),
            _ => {}
        }
        conversation = conversation.apply(&decoded);
    }
    let Some(queued) = queued else { return Ok(None) };
    if conversation.outbound.get(&message_id) != Some(&DeliveryStatus::Queued) {
        return Ok(None);
    }
    let contact = bus
        .load::<Contact>(scope, &conversation.contact_id.to_string())
        .await?
        .state;
    Ok(Some(Outgoing {
        conversation,
        queued,
        contact,
        thread,
    }))
}

/// An uploaded file a message carries, read for sending.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Its name as uploaded.
    pub file_name: String,
    /// Its content type.
    pub content_type: String,
    /// Its content.
    pub content: Bytes,
}

/// The uploaded media of a message, read from the media store.
pub async fn attachments(
    bus: &CommandBus,
    store: &MediaStore,
    scope: Scope,
    media_ids: &[Uuid],
) -> Result<Vec<Attachment>, CommandError> {
    let mut files = Vec::with_capacity(media_ids.len());
    for media_id in media_ids {
        let recorded = bus.store().read_stream(&Media::stream_id(media_id), 1).await?;
        let uploaded = match recorded.first().filter(|e| e.tenant_id == scope.tenant_id()) {
            Some(event) => match event.decode::<MediaEvent>()? {
                MediaEvent::MediaUploaded(uploaded) => uploaded,
            },
            None => return Err(DomainError::NotFound("media").into()),
        };
        let mut stream = store
            .open(uploaded.tenant_id, &uploaded.sha256, None)
            .await
            .map_err(|e| CommandError::Storage(e.to_string()))?;
        let mut content = Vec::with_capacity(usize::try_from(uploaded.size).unwrap_or_default());
        while let Some(chunk) = stream.next().await {
            content.extend_from_slice(&chunk.map_err(|e| CommandError::Storage(e.to_string()))?);
        }
        files.push(Attachment {
            file_name: uploaded.file_name,
            content_type: uploaded.content_type,
            content: Bytes::from(content),
        });
    }
    Ok(files)
}

/// Records that the provider took a message: its id, and the claims that let status reports
/// (and, for e-mail, replies) find the conversation.
pub async fn sent(
    bus: &CommandBus,
    ctx: &CommandContext,
    account_id: Uuid,
    outgoing: &Outgoing,
    provider_message_id: &str,
    attempt: u32,
) -> Result<(), CommandError> {
    let tenant_id = outgoing.conversation.tenant_id;
    let conversation_id = outgoing.conversation.id;
    retry_on_conflict(|| async {
        let conversation = bus
            .load::<Conversation>(ctx.scope, &conversation_id.to_string())
            .await?;
        let command = ConversationCommand::MarkSent {
            message_id: outgoing.queued.message_id,
            provider_message_id: provider_message_id.to_owned(),
            sent_at: Utc::now(),
            attempt,
        };
        let mut requests: Vec<_> = conversation.decide(ctx, command)?.into_iter().collect();
        if requests.is_empty() {
            return Ok(());
        }
        let mut kinds = vec!["provider-message"];
        if outgoing.conversation.channel == Some(omnistream_domain::conversation::Channel::Email) {
            kinds.push("email-message");
        }
        for kind in kinds {
            let key = format!("{account_id}:{}", provider_message_id.trim_matches(['<', '>']));
            let claim = claims::tenant_value(bus, tenant_id, kind, &key).await?;
            if claim.state.owner.is_none() {
                requests.extend(claim.decide(
                    ctx,
                    ClaimCommand::Claim {
                        owner_id: conversation_id,
                    },
                )?);
            }
        }
        bus.commit(requests).await?;
        Ok(())
    })
    .await
}

/// Records a failed attempt: tried again at `retry_at`, or never (the message fails).
pub async fn failed(
    bus: &CommandBus,
    ctx: &CommandContext,
    outgoing: &Outgoing,
    attempt: u32,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), CommandError> {
    let command = ConversationCommand::RecordDeliveryFailure {
        message_id: outgoing.queued.message_id,
        attempt,
        error: error.to_owned(),
        retry_at,
        at: Utc::now(),
    };
    bus.execute::<Conversation>(ctx, outgoing.conversation.id, command)
        .await?;
    Ok(())
}
