//! Messages arriving on a channel account, whatever the provider: the customer is found or
//! created by channel identity, the message is threaded into the conversation it belongs to
//! (or opens one), and everything is appended in one atomic commit.
//!
//! Idempotent end to end: a message's id is derived from the account and the provider's
//! message id, so a redelivered message finds its conversation and changes nothing.

use chrono::{DateTime, Utc};
use omnistream_domain::claim::{ClaimCommand, ValueClaim};
use omnistream_domain::contact::{Contact, ContactCommand, ContactProfile};
use omnistream_domain::conversation::{
    Channel, Conversation, ConversationCommand, ConversationStarted, ConversationStatus, MessageBody,
};
use omnistream_domain::{Aggregate, DomainError};
use omnistream_store::AppendRequest;
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::{claims, CommandBus, CommandContext, CommandError, Loaded};

/// The account a message arrived on.
#[derive(Debug, Clone)]
pub struct ChannelAccount {
    /// Its id.
    pub id: Uuid,
    /// Its organization.
    pub tenant_id: Uuid,
    /// Its channel.
    pub channel: Channel,
    /// The division its new conversations start in.
    pub division_id: Option<Uuid>,
}

/// Who the customer is on the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A WhatsApp id (the phone number, digits only).
    WhatsappId(String),
    /// An Instagram-scoped id.
    InstagramId(String),
    /// An e-mail address.
    Email(String),
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// The customer.
    Customer,
    /// The business, from another tool (an echo): recorded as outbound.
    Business,
}

/// How an e-mail finds its thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailThreading {
    /// Its subject (the subject of a conversation it opens).
    pub subject: String,
    /// `In-Reply-To`.
    pub in_reply_to: Option<String>,
    /// `References`, oldest first.
    pub references: Vec<String>,
    /// The plus-address part of the recipient (`support+<hash>@`): a conversation id.
    pub mailbox_hash: Option<String>,
}

/// A message as a provider delivered it.
#[derive(Debug, Clone)]
pub struct ChannelMessage {
    /// The provider's message id: the dedupe key.
    pub provider_message_id: String,
    /// The customer.
    pub identity: Identity,
    /// The customer's name, when the provider tells it.
    pub profile_name: Option<String>,
    /// Who wrote it.
    pub author: Author,
    /// What it says.
    pub body: MessageBody,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// E-mail threading headers.
    pub email: Option<EmailThreading>,
}

/// What recording a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The customer.
    pub contact_id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// The message.
    pub message_id: Uuid,
    /// False for a message recorded before (a redelivery).
    pub new: bool,
}

/// The id a provider's message gets on an account.
pub fn message_id(account_id: Uuid, provider_message_id: &str) -> Uuid {
    Uuid::new_v5(&account_id, format!("message:{provider_message_id}").as_bytes())
}

impl Identity {
    fn profile(&self, name: Option<&str>) -> Result<ContactProfile, DomainError> {
        let mut profile = match self {
            Identity::WhatsappId(wa_id) => ContactProfile {
                phone: Some(format!("+{}", wa_id.trim_start_matches('+'))),
                ..ContactProfile::default()
            },
            Identity::InstagramId(id) => ContactProfile {
                instagram_id: Some(id.clone()),
                ..ContactProfile::default()
            },
            Identity::Email(address) => ContactProfile {
                email: Some(address.clone()),
                ..ContactProfile::default()
            },
        };
        // A name the contact rules refuse (too long, control characters) is left out.
        profile.name = name.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        match profile.clone().parse() {
            Ok(parsed) => Ok(parsed),
            Err(_) if profile.name.is_some() => ContactProfile { name: None, ..profile }.parse(),
            Err(error) => Err(error),
        }
    }
}

/// Appends a claim for `owner`, releasing a previous owner's first.
fn claim_for(
    ctx: &CommandContext,
    claim: &Loaded<ValueClaim>,
    owner_id: Uuid,
) -> Result<Option<AppendRequest>, CommandError> {
    let mut commands = Vec::new();
    if let Some(previous) = claim.state.owner.filter(|o| *o != owner_id) {
        commands.push(ClaimCommand::Release { owner_id: previous });
    }
    commands.push(ClaimCommand::Claim { owner_id });
    claim.decide_all(ctx, commands)
}

fn thread_key(account: &ChannelAccount, contact_id: Uuid) -> String {
    format!("{}:{contact_id}", account.id)
}

fn email_key(account: &ChannelAccount, message_id: &str) -> String {
    format!(
        "{}:{}",
        account.id,
        message_id.trim().trim_start_matches('<').trim_end_matches('>')
    )
}

/// Records one message delivered on `account`, in its own atomic commit.
pub async fn record(
    bus: &CommandBus,
    ctx: &CommandContext,
    account: &ChannelAccount,
    message: &ChannelMessage,
) -> Result<Recorded, CommandError> {
    let mut recorded = record_all(bus, ctx, account, std::slice::from_ref(message)).await?;
    Ok(recorded.remove(0))
}

/// Records messages of one customer delivered together on a chat channel (one delivery's
/// messages from one sender), in one atomic commit: one contact lookup, one conversation
/// load, one append. E-mails are recorded one by one ([`record`]): each threads on its own.
pub async fn record_all(
    bus: &CommandBus,
    ctx: &CommandContext,
    account: &ChannelAccount,
    messages: &[ChannelMessage],
) -> Result<Vec<Recorded>, CommandError> {
    let Some(first) = messages.first() else {
        return Ok(Vec::new());
    };
    if messages.len() > 1 && (first.email.is_some() || messages.iter().any(|m| m.identity != first.identity)) {
        return Err(DomainError::Rule("only chat messages of one sender are recorded together".into()).into());
    }
    retry_on_conflict(|| async {
        let mut requests = Vec::new();
        let contact_id = find_or_create_contact(bus, ctx, account, first, &mut requests).await?;
        let found = find_conversation(bus, ctx, account, first, contact_id).await?;
        let (conversation, conversation_id, mut commands) = match found {
            Found::Open(conversation) => {
                let id = conversation.state.id;
                (*conversation, id, Vec::new())
            }
            Found::None { thread } => {
                let id = Uuid::now_v7();
                if let Some(claim) = &thread {
                    requests.extend(claim_for(ctx, claim, id)?);
                }
                let start = ConversationCommand::Start(ConversationStarted {
                    conversation_id: id,
                    tenant_id: account.tenant_id,
                    contact_id,
                    channel: account.channel,
                    channel_account_id: Some(account.id),
                    division_id: account.division_id,
                    subject: first.email.as_ref().map(|e| e.subject.clone()),
                });
                (bus.fresh::<Conversation>(ctx.scope, id), id, vec![start])
            }
        };
        let mut known = conversation.state.message_ids.clone();
        let mut recorded = Vec::with_capacity(messages.len());
        for message in messages {
            let message_id = message_id(account.id, &message.provider_message_id);
            let new = known.insert(message_id);
            recorded.push(Recorded {
                contact_id,
                conversation_id,
                message_id,
                new,
            });
            commands.push(match message.author {
                Author::Customer => ConversationCommand::Receive {
                    message_id,
                    body: message.body.clone(),
                    provider_message_id: Some(message.provider_message_id.clone()),
                    now: message.sent_at,
                },
                Author::Business => ConversationCommand::RecordEcho {
                    message_id,
                    body: message.body.clone(),
                    provider_message_id: message.provider_message_id.clone(),
                    sent_at: message.sent_at,
                },
            });
            if !new {
                continue;
            }
            let own_claim = match (message.author, &message.email) {
                // Its delivery reports (an Instagram read receipt) find it by the provider's id.
                (Author::Business, _) => Some((
                    "provider-message",
                    format!("{}:{}", account.id, message.provider_message_id),
                )),
                // Replies to it thread by its Message-ID.
                (_, Some(_)) => Some(("email-message", email_key(account, &message.provider_message_id))),
                _ => None,
            };
            if let Some((kind, key)) = own_claim {
                let claim = claims::tenant_value(bus, account.tenant_id, kind, &key).await?;
                if claim.state.owner.is_none() || kind == "provider-message" {
                    requests.extend(claim_for(ctx, &claim, conversation_id)?);
                }
            }
        }
        requests.extend(conversation.decide_all(ctx, commands)?);
        bus.commit(requests).await?;
        Ok(recorded.clone())
    })
    .await
}

/// Makes `conversation_id` the contact's current conversation on a chat account (a business
/// writing first); refused while another conversation there is open.
pub async fn take_thread(
    bus: &CommandBus,
    ctx: &CommandContext,
    tenant_id: Uuid,
    account_id: Uuid,
    contact_id: Uuid,
    conversation_id: Uuid,
) -> Result<Option<AppendRequest>, CommandError> {
    let thread = claims::tenant_value(bus, tenant_id, "thread", &format!("{account_id}:{contact_id}")).await?;
    if let Some(current) = thread.state.owner {
        let conversation = bus.load::<Conversation>(ctx.scope, &current.to_string()).await?.state;
        if conversation.exists() && conversation.status != ConversationStatus::Closed {
            return Err(DomainError::AlreadyExists(format!(
                "conversation {current} with this contact on this account is still open"
            ))
            .into());
        }
    }
    claim_for(ctx, &thread, conversation_id)
}

/// Moves a conversation's thread on a chat account from one contact to another (a merge):
/// the source's claim is given up, and the target's taken unless it holds an open
/// conversation there already.
pub async fn move_thread(
    bus: &CommandBus,
    ctx: &CommandContext,
    tenant_id: Uuid,
    account_id: Uuid,
    source_id: Uuid,
    target_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<AppendRequest>, CommandError> {
    let mut requests = Vec::new();
    let source = claims::tenant_value(bus, tenant_id, "thread", &format!("{account_id}:{source_id}")).await?;
    if source.state.owner == Some(conversation_id) {
        requests.extend(source.decide(
            ctx,
            ClaimCommand::Release {
                owner_id: conversation_id,
            },
        )?);
    } else {
        return Ok(requests);
    }
    let target = claims::tenant_value(bus, tenant_id, "thread", &format!("{account_id}:{target_id}")).await?;
    let target_busy = match target.state.owner {
        Some(current) => {
            let state = bus.load::<Conversation>(ctx.scope, &current.to_string()).await?.state;
            state.exists() && state.status != ConversationStatus::Closed
        }
        None => false,
    };
    if !target_busy {
        requests.extend(claim_for(ctx, &target, conversation_id)?);
    }
    Ok(requests)
}

/// The contact holding the customer's identity; one is created (claiming it) when none does.
async fn find_or_create_contact(
    bus: &CommandBus,
    ctx: &CommandContext,
    account: &ChannelAccount,
    message: &ChannelMessage,
    requests: &mut Vec<AppendRequest>,
) -> Result<Uuid, CommandError> {
    let profile = message.identity.profile(message.profile_name.as_deref())?;
    let (kind, value) = profile
        .identities()
        .into_iter()
        .next()
        .ok_or_else(|| DomainError::invalid("identity", "a message needs its sender's identity"))?;
    let claim = claims::tenant_value(bus, account.tenant_id, kind, &value).await?;
    if let Some(owner) = claim.state.owner {
        return Ok(owner);
    }
    let contact_id = Uuid::now_v7();
    requests.extend(claim_for(ctx, &claim, contact_id)?);
    let contact = bus.fresh::<Contact>(ctx.scope, contact_id);
    requests.extend(contact.decide(
        ctx,
        ContactCommand::Create {
            contact_id,
            tenant_id: account.tenant_id,
            profile,
        },
    )?);
    Ok(contact_id)
}

/// Where a message goes.
enum Found {
    /// Into this conversation.
    Open(Box<Loaded<Conversation>>),
    /// Into a new conversation, which takes over this thread claim (chat channels).
    None { thread: Option<Loaded<ValueClaim>> },
}

/// A conversation of the account that can take the message: not closed.
async fn usable(
    bus: &CommandBus,
    ctx: &CommandContext,
    account: &ChannelAccount,
    id: Uuid,
) -> Result<Option<Loaded<Conversation>>, CommandError> {
    let conversation = match bus.load::<Conversation>(ctx.scope, &id.to_string()).await {
        Ok(loaded) => loaded,
        Err(CommandError::Domain(DomainError::NotFound(_))) => return Ok(None),
        Err(other) => return Err(other),
    };
    let state = &conversation.state;
    let open = state.exists() && state.status != ConversationStatus::Closed;
    Ok((open && state.channel_account_id == Some(account.id)).then_some(conversation))
}

/// The conversation a message belongs to. E-mail: the thread of its own Message-ID, then of
/// `In-Reply-To` and `References` (newest first), then the plus-address. Chat channels: the
/// contact's current conversation on the account.
async fn find_conversation(
    bus: &CommandBus,
    ctx: &CommandContext,
    account: &ChannelAccount,
    message: &ChannelMessage,
    contact_id: Uuid,
) -> Result<Found, CommandError> {
    let Some(email) = &message.email else {
        let thread = claims::tenant_value(bus, account.tenant_id, "thread", &thread_key(account, contact_id)).await?;
        if let Some(owner) = thread.state.owner {
            if let Some(conversation) = usable(bus, ctx, account, owner).await? {
                return Ok(Found::Open(Box::new(conversation)));
            }
        }
        return Ok(Found::None { thread: Some(thread) });
    };
    let mut keys = vec![message.provider_message_id.as_str()];
    keys.extend(email.in_reply_to.as_deref());
    keys.extend(email.references.iter().rev().map(String::as_str));
    for key in keys.into_iter().take(20) {
        let claim = claims::tenant_value(bus, account.tenant_id, "email-message", &email_key(account, key)).await?;
        if let Some(owner) = claim.state.owner {
            if let Some(conversation) = usable(bus, ctx, account, owner).await? {
                return Ok(Found::Open(Box::new(conversation)));
            }
        }
    }
    if let Some(id) = email.mailbox_hash.as_deref().and_then(|h| Uuid::parse_str(h).ok()) {
        if let Some(conversation) = usable(bus, ctx, account, id).await? {
            return Ok(Found::Open(Box::new(conversation)));
        }
    }
    Ok(Found::None { thread: None })
}
