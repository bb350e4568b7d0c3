//! The conversation aggregate: one contact on one channel account, its messages, status,
//! assignment, division, tags and transfers.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::chat_expiration::WindowPolicy;
use crate::contact::parse_tags;
use crate::messaging_window::{MessagingWindow, WindowState};
use crate::sla::{
    SlaBreached, SlaPolicyApplied, SlaPolicyRemoved, SlaTargetStarted, SlaTargetStopped, SlaWarningIssued,
};
use crate::{Aggregate, DomainError, DomainEvent};

/// Where a conversation happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The built-in API channel: custom channels post both sides through the API.
    Api,
    /// WhatsApp Cloud API.
    Whatsapp,
    /// Instagram direct messages.
    Instagram,
    /// E-mail.
    Email,
}

impl Channel {
    /// The channel of a stored name.
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "api" => Some(Channel::Api),
            "whatsapp" => Some(Channel::Whatsapp),
            "instagram" => Some(Channel::Instagram),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Api => "api",
            Channel::Whatsapp => "whatsapp",
            Channel::Instagram => "instagram",
            Channel::Email => "email",
        }
    }
}

/// A conversation's status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Waiting for an agent.
    #[default]
    Open,
    /// Waiting for the customer or a third party.
    Pending,
    /// Put aside until a time, then open again.
    Snoozed,
    /// Done; a new customer message opens it again.
    Resolved,
    /// Done for good; nothing more is sent in it.
    Closed,
}

impl ConversationStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Pending => "pending",
            ConversationStatus::Snoozed => "snoozed",
            ConversationStatus::Resolved => "resolved",
            ConversationStatus::Closed => "closed",
        }
    }
}

/// How urgent a conversation is; SLA policies may apply by priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Soon.
    High,
    /// Now.
    Urgent,
}

impl Priority {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// What a message carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// Text.
    #[default]
    Text,
    /// An image.
    Image,
    /// A video.
    Video,
    /// Audio or a voice note.
    Audio,
    /// A document or file.
    Document,
    /// A message template (WhatsApp).
    Template,
    /// A kind the channel sent that OmniStream does not handle yet.
    Unsupported,
}

/// Media a provider holds for a message, fetched later by its id or URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProviderAttachment {
    /// `image`, `audio`, `video`, `document`, `sticker`, `file`, ...
    pub kind: String,
    /// The provider's media id (WhatsApp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_media_id: Option<String>,
    /// Where the provider serves it (Instagram).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Its type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Its file name (e-mail attachments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A WhatsApp template a message was sent from, with its values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateMessage {
    /// The template.
    pub template_id: Uuid,
    /// Its name, as Meta knows it.
    pub name: String,
    /// Its language code.
    pub language: String,
    /// One value per body placeholder, in order.
    pub body_parameters: Vec<String>,
}

/// The body of a message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageBody {
    /// What it carries.
    pub message_type: MessageType,
    /// Text (or a caption).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Uploaded media.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_ids: Vec<Uuid>,
    /// The message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_message_id: Option<Uuid>,
    /// Media the channel's provider holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<ProviderAttachment>,
    /// A message kind OmniStream does not handle yet, as the provider delivered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_payload: Option<serde_json::Value>,
    /// The WhatsApp template it was sent from (`text` holds the rendered body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateMessage>,
}

/// Longest message text.
pub const MAX_TEXT_CHARS: usize = 4096;

impl MessageBody {
    fn check(&self, known: &HashSet<Uuid>) -> Result<(), DomainError> {
        let text = self.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let carries = text.is_some()
            || !self.media_ids.is_empty()
            || !self.attachments.is_empty()
            || self.template.is_some()
            || self.message_type == MessageType::Unsupported;
        if !carries {
            return Err(DomainError::invalid("text", "a message needs text or media"));
        }
        if self.text.as_deref().is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS) {
            return Err(DomainError::invalid(
                "text",
                format!("must be at most {MAX_TEXT_CHARS} characters"),
            ));
        }
        if self.media_ids.len() > 10 {
            return Err(DomainError::invalid("media_ids", "at most 10 media per message"));
        }
        if self.reply_to_message_id.is_some_and(|id| !known.contains(&id)) {
            return Err(DomainError::invalid(
                "reply_to_message_id",
                "no such message in this conversation",
            ));
        }
        Ok(())
    }
}

/// Event: a conversation started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationStarted {
    /// The conversation's id.
    pub conversation_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The contact.
    pub contact_id: Uuid,
    /// The channel.
    pub channel: Channel,
    /// The channel account (none for the API channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_account_id: Option<Uuid>,
    /// The division it starts in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division_id: Option<Uuid>,
    /// A subject (e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// Event: the assignee changed (none: unassigned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationAssigned {
    /// The new assignee.
    pub agent_id: Option<Uuid>,
    /// The previous one.
    pub previous_agent_id: Option<Uuid>,
}

/// Event: the status changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationStatusChanged {
    /// The new status.
    pub status: ConversationStatus,
    /// The status before.
    pub previous: ConversationStatus,
    /// Until when it is snoozed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// Event: the tags changed; it carries the full new set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationTagsChanged {
    /// The tags now.
    pub tags: Vec<String>,
}

/// Event: the conversation moved to another agent and/or division.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationTransferred {
    /// The transfer's id.
    pub transfer_id: Uuid,
    /// The agent before.
    pub from_agent_id: Option<Uuid>,
    /// The agent now (none: unassigned).
    pub to_agent_id: Option<Uuid>,
    /// The division before.
    pub from_division_id: Option<Uuid>,
    /// The division now.
    pub to_division_id: Option<Uuid>,
    /// Why.
    pub reason: String,
}

/// Event: the conversation now belongs to another contact (after a merge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationContactChanged {
    /// The contact now.
    pub contact_id: Uuid,
    /// The contact before.
    pub previous_contact_id: Uuid,
}

/// Event: an agent read the conversation up to its last message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationRead {
    /// Who read it.
    pub agent_id: Option<Uuid>,
    /// The last message read.
    pub up_to_message_id: Uuid,
}

/// Event: the customer sent a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageReceived {
    /// The message's id.
    pub message_id: Uuid,
    /// The contact who wrote it: its personal-data key seals the text.
    pub contact_id: Uuid,
    /// The body.
    pub body: MessageBody,
    /// The provider's id of the message, when a channel delivered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    /// When the customer sent it (the provider's time, or arrival).
    pub received_at: DateTime<Utc>,
    /// The channel it came on (absent on messages recorded before channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
}

/// Event: an agent's (or API consumer's) message was recorded for delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageQueued {
    /// The message's id.
    pub message_id: Uuid,
    /// The contact it is for: its personal-data key seals the text.
    pub contact_id: Uuid,
    /// The body, variables already rendered.
    pub body: MessageBody,
    /// The agent who wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_agent_id: Option<Uuid>,
    /// The quick reply it was made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_reply_id: Option<Uuid>,
    /// The earliest customer message this is the first reply to, if any: the mark from
    /// which response times are measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responds_to_message_id: Option<Uuid>,
    /// When that customer message arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaited_since: Option<DateTime<Utc>>,
    /// Whether this is the conversation's first reply of all.
    pub first_response: bool,
    /// The channel that delivers it (absent on messages recorded before channel delivery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// Sent after the standard window under Instagram's `HUMAN_AGENT` tag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub human_agent_tag: bool,
}

/// Event: the business sent a message from another tool on the channel (an echo): an
/// outbound message already delivered, never queued here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageEchoed {
    /// The message's id.
    pub message_id: Uuid,
    /// The contact it went to: its personal-data key seals the text.
    pub contact_id: Uuid,
    /// The body.
    pub body: MessageBody,
    /// The provider's id of the message.
    pub provider_message_id: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
}

/// Where an outbound message stands with the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for the delivery worker.
    Queued,
    /// Accepted by the provider.
    Sent,
    /// On the customer's device.
    Delivered,
    /// Seen by the customer.
    Read,
    /// Not delivered (final).
    Failed,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Queued => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Delivered => 2,
            DeliveryStatus::Read => 3,
            DeliveryStatus::Failed => 4,
        }
    }

    /// Whether a report of `next` moves a message on from here: statuses only move forward
    /// (sent < delivered < read); failed is final, and a read message cannot fail anymore.
    pub fn advances_to(self, next: DeliveryStatus) -> bool {
        match (self, next) {
            (DeliveryStatus::Failed, _) | (DeliveryStatus::Read, DeliveryStatus::Failed) => false,
            (_, DeliveryStatus::Failed) => true,
            (current, next) => next.rank() > current.rank(),
        }
    }
}

/// Event: the provider accepted an outbound message and gave it its id (a delivery
/// attempt that succeeded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageSent {
    /// The message.
    pub message_id: Uuid,
    /// The provider's id of it.
    pub provider_message_id: String,
    /// When the provider accepted it.
    pub sent_at: DateTime<Utc>,
    /// Which attempt it was (1: the first).
    #[serde(default = "first_attempt")]
    pub attempt: u32,
}

fn first_attempt() -> u32 {
    1
}

/// Event: a delivery attempt failed; it is tried again at `retry_at`, or never (a final
/// refusal, followed by the message's `failed` status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageDeliveryAttempted {
    /// The message.
    pub message_id: Uuid,
    /// Which attempt it was (1: the first).
    pub attempt: u32,
    /// What went wrong, as the provider or the connection said.
    pub error: String,
    /// When it is tried again; none when the failure is final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
}

/// Event: the provider reported an outbound message's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageStatusChanged {
    /// The message.
    pub message_id: Uuid,
    /// Its status now.
    pub status: DeliveryStatus,
    /// The provider's reason, for `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the provider says it happened.
    pub at: DateTime<Utc>,
}

/// Event: the conversation's messaging window closed and its rule marks that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationWindowExpired {
    /// The customer's last message the window ran from.
    pub last_inbound_at: DateTime<Utc>,
    /// When the window closed.
    pub expired_at: DateTime<Utc>,
}

/// Event: the conversation's priority changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationPriorityChanged {
    /// The priority now.
    pub priority: Priority,
    /// The priority before.
    pub previous: Priority,
}

/// The events of a conversation stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum ConversationEvent {
    /// See [`ConversationStarted`].
    ConversationStarted(ConversationStarted),
    /// See [`ConversationAssigned`].
    ConversationAssigned(ConversationAssigned),
    /// See [`ConversationStatusChanged`].
    ConversationStatusChanged(ConversationStatusChanged),
    /// See [`ConversationTagsChanged`].
    ConversationTagsChanged(ConversationTagsChanged),
    /// See [`ConversationTransferred`].
    ConversationTransferred(ConversationTransferred),
    /// See [`ConversationContactChanged`].
    ConversationContactChanged(ConversationContactChanged),
    /// See [`ConversationRead`].
    ConversationRead(ConversationRead),
    /// See [`MessageReceived`].
    MessageReceived(MessageReceived),
    /// See [`MessageQueued`].
    MessageQueued(MessageQueued),
    /// See [`MessageEchoed`].
    MessageEchoed(MessageEchoed),
    /// See [`MessageSent`].
    MessageSent(MessageSent),
    /// See [`MessageStatusChanged`].
    MessageStatusChanged(MessageStatusChanged),
    /// See [`MessageDeliveryAttempted`].
    MessageDeliveryAttempted(MessageDeliveryAttempted),
    /// See [`ConversationWindowExpired`].
    ConversationWindowExpired(ConversationWindowExpired),
    /// See [`ConversationPriorityChanged`].
    ConversationPriorityChanged(ConversationPriorityChanged),
    /// See [`SlaPolicyApplied`].
    SlaPolicyApplied(SlaPolicyApplied),
    /// See [`SlaPolicyRemoved`].
    SlaPolicyRemoved(SlaPolicyRemoved),
    /// See [`SlaTargetStarted`].
    SlaTargetStarted(SlaTargetStarted),
    /// See [`SlaWarningIssued`].
    SlaWarningIssued(SlaWarningIssued),
    /// See [`SlaBreached`].
    SlaBreached(SlaBreached),
    /// See [`SlaTargetStopped`].
    SlaTargetStopped(SlaTargetStopped),
}

impl DomainEvent for ConversationEvent {
    fn event_type(&self) -> &'static str {
        match self {
            ConversationEvent::ConversationStarted(_) => "ConversationStarted",
            ConversationEvent::ConversationAssigned(_) => "ConversationAssigned",
            ConversationEvent::ConversationStatusChanged(_) => "ConversationStatusChanged",
            ConversationEvent::ConversationTagsChanged(_) => "ConversationTagsChanged",
            ConversationEvent::ConversationTransferred(_) => "ConversationTransferred",
            ConversationEvent::ConversationContactChanged(_) => "ConversationContactChanged",
            ConversationEvent::ConversationRead(_) => "ConversationRead",
            ConversationEvent::MessageReceived(_) => "MessageReceived",
            ConversationEvent::MessageQueued(_) => "MessageQueued",
            ConversationEvent::MessageEchoed(_) => "MessageEchoed",
            ConversationEvent::MessageSent(_) => "MessageSent",
            ConversationEvent::MessageStatusChanged(_) => "MessageStatusChanged",
            ConversationEvent::MessageDeliveryAttempted(_) => "MessageDeliveryAttempted",
            ConversationEvent::ConversationWindowExpired(_) => "ConversationWindowExpired",
            ConversationEvent::ConversationPriorityChanged(_) => "ConversationPriorityChanged",
            ConversationEvent::SlaPolicyApplied(_) => "SlaPolicyApplied",
            ConversationEvent::SlaPolicyRemoved(_) => "SlaPolicyRemoved",
            ConversationEvent::SlaTargetStarted(_) => "SlaTargetStarted",
            ConversationEvent::SlaWarningIssued(_) => "SlaWarningIssued",
            ConversationEvent::SlaBreached(_) => "SlaBreached",
            ConversationEvent::SlaTargetStopped(_) => "SlaTargetStopped",
        }
    }
}

/// What can be asked of a conversation.
#[derive(Debug, Clone)]
pub enum ConversationCommand {
    /// Start it.
    Start(ConversationStarted),
    /// Assign it (none: unassign).
    Assign {
        /// The agent.
        agent_id: Option<Uuid>,
    },
    /// Change its status.
    SetStatus {
        /// The status.
        status: ConversationStatus,
        /// Until when, for `snoozed`.
        snoozed_until: Option<DateTime<Utc>>,
        /// The current time.
        now: DateTime<Utc>,
    },
    /// Open it again when its snooze ends (a scheduled job).
    WakeUp {
        /// The snooze end the job was scheduled for.
        snoozed_until: DateTime<Utc>,
    },
    /// Change its priority.
    SetPriority {
        /// The priority.
        priority: Priority,
    },
    /// Change its tags.
    Tag {
        /// Tags to add.
        add: Vec<String>,
        /// Tags to remove.
        remove: Vec<String>,
        /// The full new set, replacing (applied before add and remove).
        set: Option<Vec<String>>,
    },
    /// Move it to another agent and/or division.
    Transfer {
        /// The transfer's id.
        transfer_id: Uuid,
        /// The agent (none: unassigned).
        to_agent_id: Option<Uuid>,
        /// The division (none: keep).
        to_division_id: Option<Uuid>,
        /// Why.
        reason: String,
    },
    /// Move it to another contact (merge).
    ChangeContact {
        /// The contact.
        contact_id: Uuid,
    },
    /// Mark it read.
    MarkRead {
        /// Who read it.
        agent_id: Option<Uuid>,
    },
    /// Record a customer message.
    Receive {
        /// Its id.
        message_id: Uuid,
        /// Its body.
        body: MessageBody,
        /// The provider's id.
        provider_message_id: Option<String>,
        /// When it arrived.
        now: DateTime<Utc>,
    },
    /// Record a message the business sent from another tool (an echo).
    RecordEcho {
        /// Its id.
        message_id: Uuid,
        /// Its body.
        body: MessageBody,
        /// The provider's id.
        provider_message_id: String,
        /// When it was sent.
        sent_at: DateTime<Utc>,
    },
    /// Record that the provider accepted an outbound message.
    MarkSent {
        /// The message.
        message_id: Uuid,
        /// The provider's id of it.
        provider_message_id: String,
        /// When.
        sent_at: DateTime<Utc>,
        /// Which attempt it was.
        attempt: u32,
    },
    /// Record a failed delivery attempt (final when `retry_at` is none).
    RecordDeliveryFailure {
        /// The message.
        message_id: Uuid,
        /// Which attempt it was.
        attempt: u32,
        /// What went wrong.
        error: String,
        /// When it is tried again.
        retry_at: Option<DateTime<Utc>>,
        /// When the attempt ended.
        at: DateTime<Utc>,
    },
    /// Record a status the provider reported for one of our messages.
    TrackStatus {
        /// The provider's id of the message.
        provider_message_id: String,
        /// The status reported.
        status: DeliveryStatus,
        /// The provider's reason, for `failed`.
        error: Option<String>,
        /// When the provider says it happened.
        at: DateTime<Utc>,
    },
    /// Record an outgoing message for delivery.
    Send {
        /// Its id.
        message_id: Uuid,
        /// Its body.
        body: MessageBody,
        /// Its author.
        author_agent_id: Option<Uuid>,
        /// The quick reply it came from.
        quick_reply_id: Option<Uuid>,
        /// The channel's window rules; none: no window is enforced.
        window: Option<WindowPolicy>,
        /// The current time.
        now: DateTime<Utc>,
    },
    /// Mark that the window running from the customer's message at `last_inbound_at` closed.
    ExpireWindow {
        /// The customer's last message the window ran from.
        last_inbound_at: DateTime<Utc>,
        /// When it closed.
        expired_at: DateTime<Utc>,
    },
}

/// A conversation's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Conversation {
    /// Its id.
    pub id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The contact.
    pub contact_id: Uuid,
    /// The channel.
    pub channel: Option<Channel>,
    /// The channel account.
    pub channel_account_id: Option<Uuid>,
    /// The subject (e-mail).
    pub subject: Option<String>,
    /// The status.
    pub status: ConversationStatus,
    /// Until when it is snoozed.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The assignee.
    pub assignee_id: Option<Uuid>,
    /// The division.
    pub division_id: Option<Uuid>,
    /// The tags.
    pub tags: Vec<String>,
    /// The priority.
    pub priority: Priority,
    /// Ids of its messages.
    pub message_ids: HashSet<Uuid>,
    /// The last message.
    pub last_message_id: Option<Uuid>,
    /// The earliest customer message not yet answered, and when it arrived.
    pub awaiting_reply: Option<(Uuid, DateTime<Utc>)>,
    /// Whether any reply was sent.
    pub replied: bool,
    /// When the customer last wrote.
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// The last-inbound time whose window was marked expired.
    pub window_expired_for: Option<DateTime<Utc>>,
    /// Outbound messages' delivery status.
    pub outbound: HashMap<Uuid, DeliveryStatus>,
    /// Outbound messages by the provider's id.
    pub provider_ids: HashMap<String, Uuid>,
    /// Started.
    pub started: bool,
}

fn reason(raw: &str) -> Result<String, DomainError> {
    let reason = raw.trim();
    if reason.chars().count() > 500 {
        return Err(DomainError::invalid("reason", "must be at most 500 characters"));
    }
    Ok(reason.to_owned())
}

impl Conversation {
    /// Whether a free-form message may go now under `policy`: `Ok(false)` inside the
    /// standard window, `Ok(true)` inside the `HUMAN_AGENT` extension (the message is
    /// tagged), an error once both closed.
    fn free_form_allowed(&self, policy: &WindowPolicy, now: DateTime<Utc>) -> Result<bool, DomainError> {
        let standard = MessagingWindow::at(policy.standard, self.last_inbound_at, now);
        if standard.state != WindowState::Closed {
            return Ok(false);
        }
        if policy.human_agent.is_some()
            && MessagingWindow::at(policy.human_agent, self.last_inbound_at, now).state == WindowState::Open
        {
            return Ok(true);
        }
        Err(DomainError::WindowClosed {
            closed_at: MessagingWindow::at(policy.longest(), self.last_inbound_at, now).expires_at,
        })
    }

    fn status_change(&self, status: ConversationStatus, snoozed_until: Option<DateTime<Utc>>) -> ConversationEvent {
        ConversationEvent::ConversationStatusChanged(ConversationStatusChanged {
            status,
            previous: self.status,
            snoozed_until,
        })
    }

    fn receive(
        &self,
        message_id: Uuid,
        body: MessageBody,
        provider_message_id: Option<String>,
        received_at: DateTime<Utc>,
    ) -> Result<Vec<ConversationEvent>, DomainError> {
        if self.message_ids.contains(&message_id) {
            return Ok(vec![]);
        }
        body.check(&self.message_ids)?;
        let mut events = vec![ConversationEvent::MessageReceived(MessageReceived {
            message_id,
            contact_id: self.contact_id,
            body,
            provider_message_id,
            received_at,
            channel: self.channel,
        })];
        // A customer writing again reopens a conversation that was put aside.
        if matches!(
            self.status,
            ConversationStatus::Resolved | ConversationStatus::Snoozed | ConversationStatus::Pending
        ) {
            events.push(self.status_change(ConversationStatus::Open, None));
        }
        Ok(events)
    }
}

impl Aggregate for Conversation {
    type Command = ConversationCommand;
    type Event = ConversationEvent;
    const STREAM_PREFIX: &'static str = "conversation";
    const NAME: &'static str = "conversation";

    fn decide(&self, command: ConversationCommand) -> Result<Vec<ConversationEvent>, DomainError> {
        use ConversationCommand as C;
        if let C::Start(started) = command {
            if self.started {
                return Err(DomainError::AlreadyExists("conversation exists".into()));
            }
            let subject = started
                .subject
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            if subject.as_deref().is_some_and(|s| s.chars().count() > 500) {
                return Err(DomainError::invalid("subject", "must be at most 500 characters"));
            }
            return Ok(vec![ConversationEvent::ConversationStarted(ConversationStarted {
                subject,
                ..started
            })]);
        }
        if !self.started {
            return Err(DomainError::NotFound("conversation"));
        }
        let event = match command {
            C::Start(_) => unreachable!("handled above"),
            C::Assign { agent_id } if agent_id == self.assignee_id => return Ok(vec![]),
            C::Assign { agent_id } => ConversationEvent::ConversationAssigned(ConversationAssigned {
                agent_id,
                previous_agent_id: self.assignee_id,
            }),
            C::SetPriority { priority } if priority == self.priority => return Ok(vec![]),
            C::SetPriority { priority } => {
                ConversationEvent::ConversationPriorityChanged(ConversationPriorityChanged {
                    priority,
                    previous: self.priority,
                })
            }
            C::SetStatus {
                status,
                snoozed_until,
                now,
            } => {
                if self.status == ConversationStatus::Closed && status != ConversationStatus::Closed {
                    return Err(DomainError::Rule("a closed conversation cannot be reopened".into()));
                }
                let until = match (status, snoozed_until) {
                    (ConversationStatus::Snoozed, Some(until)) if until > now => Some(until),
                    (ConversationStatus::Snoozed, Some(_)) => {
                        return Err(DomainError::invalid("snoozed_until", "must be in the future"))
                    }
                    (ConversationStatus::Snoozed, None) => {
                        return Err(DomainError::invalid("snoozed_until", "is required to snooze"))
                    }
                    (_, Some(_)) => return Err(DomainError::invalid("snoozed_until", "is only for snoozed")),
                    (_, None) => None,
                };
                if status == self.status && until == self.snoozed_until {
                    return Ok(vec![]);
                }
                self.status_change(status, until)
            }
            C::WakeUp { snoozed_until } => {
                // Only the snooze the job was made for: a later snooze has its own job.
                if self.status != ConversationStatus::Snoozed || self.snoozed_until != Some(snoozed_until) {
                    return Ok(vec![]);
                }
                self.status_change(ConversationStatus::Open, None)
            }
            C::Tag { add, remove, set } => {
                let mut tags = set.unwrap_or_else(|| self.tags.clone());
                tags.extend(add);
                let remove = parse_tags(&remove)?;
                let tags: Vec<String> = parse_tags(&tags)?.into_iter().filter(|t| !remove.contains(t)).collect();
                if tags == self.tags {
                    return Ok(vec![]);
                }
                ConversationEvent::ConversationTagsChanged(ConversationTagsChanged { tags })
            }
            C::Transfer {
                transfer_id,
                to_agent_id,
                to_division_id,
                reason: text,
            } => {
                let to_division_id = to_division_id.or(self.division_id);
                if to_agent_id == self.assignee_id && to_division_id == self.division_id {
                    return Err(DomainError::Rule("the conversation is already there".into()));
                }
                ConversationEvent::ConversationTransferred(ConversationTransferred {
                    transfer_id,
                    from_agent_id: self.assignee_id,
                    to_agent_id,
                    from_division_id: self.division_id,
                    to_division_id,
                    reason: reason(&text)?,
                })
            }
            C::ChangeContact { contact_id } if contact_id == self.contact_id => return Ok(vec![]),
            C::ChangeContact { contact_id } => {
                ConversationEvent::ConversationContactChanged(ConversationContactChanged {
                    contact_id,
                    previous_contact_id: self.contact_id,
                })
            }
            C::MarkRead { agent_id } => {
                let Some(last) = self.last_message_id else {
                    return Ok(vec![]);
                };
                ConversationEvent::ConversationRead(ConversationRead {
                    agent_id,
                    up_to_message_id: last,
                })
            }
            C::Receive {
                message_id,
                body,
                provider_message_id,
                now,
            } => return self.receive(message_id, body, provider_message_id, now),
            C::MarkSent {
                message_id,
                provider_message_id,
                sent_at,
                attempt,
            } => match self.outbound.get(&message_id) {
                None => return Err(DomainError::NotFound("outbound message")),
                Some(status) if !status.advances_to(DeliveryStatus::Sent) => return Ok(vec![]),
                Some(_) => ConversationEvent::MessageSent(MessageSent {
                    message_id,
                    provider_message_id,
                    sent_at,
                    attempt,
                }),
            },
            C::RecordDeliveryFailure {
                message_id,
                attempt,
                error,
                retry_at,
                at,
            } => {
                match self.outbound.get(&message_id) {
                    None => return Err(DomainError::NotFound("outbound message")),
                    Some(DeliveryStatus::Queued) => {}
                    Some(_) => return Ok(vec![]),
                }
                let mut events = vec![ConversationEvent::MessageDeliveryAttempted(MessageDeliveryAttempted {
                    message_id,
                    attempt,
                    error: error.clone(),
                    retry_at,
                })];
                if retry_at.is_none() {
                    events.push(ConversationEvent::MessageStatusChanged(MessageStatusChanged {
                        message_id,
                        status: DeliveryStatus::Failed,
                        error: Some(error),
                        at,
                    }));
                }
                return Ok(events);
            }
            C::TrackStatus {
                provider_message_id,
                status,
                error,
                at,
            } => {
                let message_id = *self
                    .provider_ids
                    .get(&provider_message_id)
                    .ok_or(DomainError::NotFound("message with this provider id"))?;
                let current = self.outbound.get(&message_id).copied().unwrap_or(DeliveryStatus::Sent);
                if !current.advances_to(status) {
                    return Ok(vec![]);
                }
                ConversationEvent::MessageStatusChanged(MessageStatusChanged {
                    message_id,
                    status,
                    error: error.filter(|_| status == DeliveryStatus::Failed),
                    at,
                })
            }
            C::RecordEcho { message_id, .. } if self.message_ids.contains(&message_id) => return Ok(vec![]),
            C::RecordEcho {
                message_id,
                body,
                provider_message_id,
                sent_at,
            } => {
                body.check(&self.message_ids)?;
                ConversationEvent::MessageEchoed(MessageEchoed {
                    message_id,
                    contact_id: self.contact_id,
                    body,
                    provider_message_id,
                    sent_at,
                })
            }
            C::ExpireWindow {
                last_inbound_at,
                expired_at,
            } => {
                if self.last_inbound_at != Some(last_inbound_at) || self.window_expired_for == Some(last_inbound_at) {
                    return Ok(vec![]);
                }
                ConversationEvent::ConversationWindowExpired(ConversationWindowExpired {
                    last_inbound_at,
                    expired_at,
                })
            }
            C::Send {
                message_id,
                body,
                author_agent_id,
                quick_reply_id,
                window,
                now,
            } => {
                if self.message_ids.contains(&message_id) {
                    return Ok(vec![]);
                }
                if self.status == ConversationStatus::Closed {
                    return Err(DomainError::Rule("the conversation is closed".into()));
                }
                body.check(&self.message_ids)?;
                let human_agent_tag = match window {
                    Some(policy) if body.template.is_none() => self.free_form_allowed(&policy, now)?,
                    _ => false,
                };
                ConversationEvent::MessageQueued(MessageQueued {
                    message_id,
                    contact_id: self.contact_id,
                    body,
                    author_agent_id,
                    quick_reply_id,
                    responds_to_message_id: self.awaiting_reply.map(|(id, _)| id),
                    awaited_since: self.awaiting_reply.map(|(_, at)| at),
                    first_response: !self.replied && self.awaiting_reply.is_some(),
                    channel: self.channel,
                    human_agent_tag,
                })
            }
        };
        Ok(vec![event])
    }

    fn apply(mut self, event: &ConversationEvent) -> Self {
        match event {
            ConversationEvent::ConversationStarted(e) => {
                self.id = e.conversation_id;
                self.tenant_id = e.tenant_id;
                self.contact_id = e.contact_id;
                self.channel = Some(e.channel);
                self.channel_account_id = e.channel_account_id;
                self.subject = e.subject.clone();
                self.division_id = e.division_id;
                self.started = true;
            }
            ConversationEvent::ConversationAssigned(e) => self.assignee_id = e.agent_id,
            ConversationEvent::ConversationStatusChanged(e) => {
                self.status = e.status;
                self.snoozed_until = e.snoozed_until;
            }
            ConversationEvent::ConversationTagsChanged(e) => self.tags = e.tags.clone(),
            ConversationEvent::ConversationTransferred(e) => {
                self.assignee_id = e.to_agent_id;
                self.division_id = e.to_division_id;
            }
            ConversationEvent::ConversationContactChanged(e) => self.contact_id = e.contact_id,
            ConversationEvent::ConversationRead(_) => {}
            ConversationEvent::MessageReceived(e) => {
                self.message_ids.insert(e.message_id);
                self.last_message_id = Some(e.message_id);
                self.last_inbound_at = Some(self.last_inbound_at.map_or(e.received_at, |at| at.max(e.received_at)));
                if self.awaiting_reply.is_none() {
                    self.awaiting_reply = Some((e.message_id, e.received_at));
                }
            }
            ConversationEvent::MessageSent(e) => {
                self.outbound.insert(e.message_id, DeliveryStatus::Sent);
                self.provider_ids.insert(e.provider_message_id.clone(), e.message_id);
            }
            ConversationEvent::MessageStatusChanged(e) => {
                self.outbound.insert(e.message_id, e.status);
            }
            ConversationEvent::MessageDeliveryAttempted(_) => {}
            ConversationEvent::ConversationWindowExpired(e) => self.window_expired_for = Some(e.last_inbound_at),
            ConversationEvent::ConversationPriorityChanged(e) => self.priority = e.priority,
            // SLA clocks are read from the history by `sla::evaluate`, not kept in the state.
            ConversationEvent::SlaPolicyApplied(_)
            | ConversationEvent::SlaPolicyRemoved(_)
            | ConversationEvent::SlaTargetStarted(_)
            | ConversationEvent::SlaWarningIssued(_)
            | ConversationEvent::SlaBreached(_)
            | ConversationEvent::SlaTargetStopped(_) => {}
            ConversationEvent::MessageQueued(MessageQueued { message_id, .. })
            | ConversationEvent::MessageEchoed(MessageEchoed { message_id, .. }) => {
                if let ConversationEvent::MessageEchoed(echo) = event {
                    self.outbound.insert(echo.message_id, DeliveryStatus::Sent);
                    self.provider_ids
                        .insert(echo.provider_message_id.clone(), echo.message_id);
                } else {
                    self.outbound.insert(*message_id, DeliveryStatus::Queued);
                }
                self.message_ids.insert(*message_id);
                self.last_message_id = Some(*message_id);
                if self.awaiting_reply.is_some() {
                    self.replied = true;
                }
                self.awaiting_reply = None;
            }
        }
        self
    }

    fn exists(&self) -> bool {
        self.started
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::given::given;

    fn started() -> ConversationEvent {
        ConversationEvent::ConversationStarted(ConversationStarted {
            conversation_id: Uuid::from_u128(1),
            tenant_id: Uuid::nil(),
            contact_id: Uuid::from_u128(2),
            channel: Channel::Api,
            channel_account_id: None,
            division_id: None,
            subject: None,
        })
    }

    fn text(t: &str) -> MessageBody {
        MessageBody {
            text: Some(t.into()),
            ..Default::default()
        }
    }

    fn received(id: u128, at: DateTime<Utc>) -> ConversationEvent {
        ConversationEvent::MessageReceived(MessageReceived {
            message_id: Uuid::from_u128(id),
            contact_id: Uuid::from_u128(2),
            body: text("hi"),
            provider_message_id: None,
            received_at: at,
            channel: Some(Channel::Api),
        })
    }

    fn send(id: u128) -> ConversationCommand {
        ConversationCommand::Send {
            message_id: Uuid::from_u128(id),
            body: text("hello"),
            author_agent_id: None,
            quick_reply_id: None,
            window: None,
            now: Utc::now(),
        }
    }

    #[test]
    fn the_first_reply_after_a_customer_message_is_marked() {
        let at = Utc::now();
        let history = [
            started(),
            received(10, at),
            received(11, at + chrono::Duration::seconds(5)),
        ];
        let events = given::<Conversation>(&history).when(send(20)).unwrap();
        let ConversationEvent::MessageQueued(q) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(q.responds_to_message_id, Some(Uuid::from_u128(10)));
        assert_eq!(q.awaited_since, Some(at));
        assert!(q.first_response);
        let mut later = history.to_vec();
        later.extend(events);
        let again = given::<Conversation>(&later).when(send(21)).unwrap();
        let ConversationEvent::MessageQueued(q) = &again[0] else {
            panic!()
        };
        assert_eq!((q.responds_to_message_id, q.first_response), (None, false));
        later.push(received(12, at));
        let next = given::<Conversation>(&later).when(send(22)).unwrap();
        let ConversationEvent::MessageQueued(q) = &next[0] else {
            panic!()
        };
        assert_eq!(
            (q.responds_to_message_id, q.first_response),
            (Some(Uuid::from_u128(12)), false)
        );
    }

    #[test]
    fn a_message_status_only_moves_forward_and_failed_is_final() {
        let at = Utc::now();
        let mut history = vec![started()];
        history.extend(given::<Conversation>(&history).when(send(20)).unwrap());
        let sent = given::<Conversation>(&history)
            .when(ConversationCommand::MarkSent {
                message_id: Uuid::from_u128(20),
                provider_message_id: "wamid.1".into(),
                sent_at: at,
                attempt: 1,
            })
            .unwrap();
        history.extend(sent);
        let track = |status, error: Option<&str>| ConversationCommand::TrackStatus {
            provider_message_id: "wamid.1".into(),
            status,
            error: error.map(str::to_owned),
            at,
        };
        let read = given::<Conversation>(&history)
            .when(track(DeliveryStatus::Read, None))
            .unwrap();
        assert_eq!(read.len(), 1);
        history.extend(read);
        assert_eq!(
            given::<Conversation>(&history).when(track(DeliveryStatus::Delivered, None)),
            Ok(vec![]),
            "a late delivered does not move a read message back"
        );
        assert_eq!(
            given::<Conversation>(&history).when(track(DeliveryStatus::Failed, Some("x"))),
            Ok(vec![])
        );
        assert!(given::<Conversation>(&history)
            .when(ConversationCommand::TrackStatus {
                provider_message_id: "wamid.unknown".into(),
                status: DeliveryStatus::Read,
                error: None,
                at,
            })
            .is_err());
        assert!(DeliveryStatus::Sent.advances_to(DeliveryStatus::Failed));
        assert!(!DeliveryStatus::Failed.advances_to(DeliveryStatus::Read));
        assert!(!DeliveryStatus::Delivered.advances_to(DeliveryStatus::Sent));
    }

    #[test]
    fn free_form_sends_need_an_open_window_and_templates_do_not() {
        use crate::chat_expiration::ExpiryAction;
        let now = Utc::now();
        let history = [started(), received(10, now - chrono::Duration::hours(30))];
        let whatsapp = WindowPolicy::of(Channel::Whatsapp, None);
        let free = |policy| ConversationCommand::Send {
            message_id: Uuid::from_u128(20),
            body: text("late"),
            author_agent_id: None,
            quick_reply_id: None,
            window: Some(policy),
            now,
        };
        let refused = given::<Conversation>(&history).when(free(whatsapp));
        assert!(
            matches!(refused, Err(DomainError::WindowClosed { closed_at: Some(_) })),
            "{refused:?}"
        );
        let template = ConversationCommand::Send {
            message_id: Uuid::from_u128(21),
            body: MessageBody {
                message_type: MessageType::Template,
                template: Some(TemplateMessage {
                    template_id: Uuid::nil(),
                    name: "t".into(),
                    language: "en".into(),
                    body_parameters: vec![],
                }),
                ..text("template")
            },
            author_agent_id: None,
            quick_reply_id: None,
            window: Some(whatsapp),
            now,
        };
        assert_eq!(given::<Conversation>(&history).when(template).unwrap().len(), 1);
        let instagram = WindowPolicy {
            human_agent: Some(chrono::Duration::hours(168)),
            action: ExpiryAction::None,
            ..whatsapp
        };
        let tagged = given::<Conversation>(&history).when(free(instagram)).unwrap();
        let ConversationEvent::MessageQueued(q) = &tagged[0] else {
            panic!()
        };
        assert!(q.human_agent_tag);
        let recent = [started(), received(10, now - chrono::Duration::hours(2))];
        let ConversationEvent::MessageQueued(q) = &given::<Conversation>(&recent).when(free(whatsapp)).unwrap()[0]
        else {
            panic!()
        };
        assert!(!q.human_agent_tag);
    }

    #[test]
    fn messages_are_validated_and_idempotent() {
        let history = [started(), received(10, Utc::now())];
        let empty = given::<Conversation>(&history).when(ConversationCommand::Send {
            message_id: Uuid::from_u128(20),
            body: MessageBody::default(),
            author_agent_id: None,
            quick_reply_id: None,
            window: None,
            now: Utc::now(),
        });
        assert!(matches!(empty, Err(DomainError::Invalid { field: "text", .. })));
        let bad_reply = given::<Conversation>(&history).when(ConversationCommand::Send {
            message_id: Uuid::from_u128(20),
            body: MessageBody {
                reply_to_message_id: Some(Uuid::from_u128(99)),
                ..text("x")
            },
            author_agent_id: None,
            quick_reply_id: None,
            window: None,
            now: Utc::now(),
        });
        assert!(matches!(
            bad_reply,
            Err(DomainError::Invalid {
                field: "reply_to_message_id",
                ..
            })
        ));
        let replay = given::<Conversation>(&history).when(ConversationCommand::Receive {
            message_id: Uuid::from_u128(10),
            body: text("hi"),
            provider_message_id: None,
            now: Utc::now(),
        });
        assert_eq!(replay, Ok(vec![]), "a message id already recorded changes nothing");
    }

    #[test]
    fn snoozing_needs_a_future_time_and_wakes_only_for_its_own_job() {
        let now = Utc::now();
        let until = now + chrono::Duration::hours(1);
        let past = given::<Conversation>(&[started()]).when(ConversationCommand::SetStatus {
            status: ConversationStatus::Snoozed,
            snoozed_until: Some(now - chrono::Duration::hours(1)),
            now,
        });
        assert!(past.is_err());
        let snoozed = given::<Conversation>(&[started()])
            .when(ConversationCommand::SetStatus {
                status: ConversationStatus::Snoozed,
                snoozed_until: Some(until),
                now,
            })
            .unwrap();
        let history = [started(), snoozed[0].clone()];
        let stale = given::<Conversation>(&history).when(ConversationCommand::WakeUp {
            snoozed_until: until - chrono::Duration::minutes(1),
        });
        assert_eq!(stale, Ok(vec![]));
        let woken = given::<Conversation>(&history)
            .when(ConversationCommand::WakeUp { snoozed_until: until })
            .unwrap();
        assert!(
            matches!(&woken[0], ConversationEvent::ConversationStatusChanged(c) if c.status == ConversationStatus::Open)
        );
    }

    #[test]
    fn customers_reopen_resolved_conversations_but_closed_ones_stay_closed() {
        let now = Utc::now();
        let resolved = ConversationEvent::ConversationStatusChanged(ConversationStatusChanged {
            status: ConversationStatus::Resolved,
            previous: ConversationStatus::Open,
            snoozed_until: None,
        });
        let events = given::<Conversation>(&[started(), resolved])
            .when(ConversationCommand::Receive {
                message_id: Uuid::from_u128(10),
                body: text("again"),
                provider_message_id: None,
                now,
            })
            .unwrap();
        assert_eq!(events.len(), 2);
        let closed = ConversationEvent::ConversationStatusChanged(ConversationStatusChanged {
            status: ConversationStatus::Closed,
            previous: ConversationStatus::Open,
            snoozed_until: None,
        });
        let refused = given::<Conversation>(&[started(), closed]).when(send(20));
        assert!(matches!(refused, Err(DomainError::Rule(_))));
    }

    #[test]
    fn tags_and_transfers() {
        let tagged = given::<Conversation>(&[started()])
            .when(ConversationCommand::Tag {
                add: vec!["VIP".into(), "billing".into()],
                remove: vec![],
                set: None,
            })
            .unwrap();
        let history = [started(), tagged[0].clone()];
        let removed = given::<Conversation>(&history)
            .when(ConversationCommand::Tag {
                add: vec![],
                remove: vec!["vip".into()],
                set: None,
            })
            .unwrap();
        assert_eq!(
            removed,
            vec![ConversationEvent::ConversationTagsChanged(ConversationTagsChanged {
                tags: vec!["billing".into()]
            })]
        );
        let nowhere = given::<Conversation>(&history).when(ConversationCommand::Transfer {
            transfer_id: Uuid::from_u128(5),
            to_agent_id: None,
            to_division_id: None,
            reason: "".into(),
        });
        assert!(nowhere.is_err(), "a transfer must move the conversation");
    }
}
