//! Conversations tag: the inbox list, a conversation with its contact, starting one,
//! assignment, status, tags, reading, and bulk changes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use omnistream_commands::conversations::{self as conversation_commands, NewConversation};
use omnistream_commands::CommandContext;
use omnistream_domain::chat_expiration::WindowPolicy;
use omnistream_domain::conversation::{Channel, ConversationCommand, ConversationStatus as DomainStatus};
use omnistream_domain::messaging_window::{MessagingWindow, WindowState as DomainWindowState};
use omnistream_domain::Permission;
use omnistream_projections::inbox::conversation_queries::{self, AssigneeFilter, ConversationFilter, ConversationRow};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use serde::Serialize;
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::direct_json::{rfc3339, rfc3339_option, SerializedJson};
use super::priority::{ConversationPriority, UpdatePriorityRequest};
use super::{page_request, visibility, ApiTags};
use crate::auth::{Auth, Principal};
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::state::{AppState, SharedState};
use crate::window_rules::Policies;

/// A conversation's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Waiting for an agent.
    Open,
    /// Waiting for the customer or a third party.
    Pending,
    /// Put aside until `snoozed_until`, then open again.
    Snoozed,
    /// Done; a new customer message opens it again.
    Resolved,
    /// Done for good.
    Closed,
}

impl From<ConversationStatus> for DomainStatus {
    fn from(s: ConversationStatus) -> Self {
        match s {
            ConversationStatus::Open => DomainStatus::Open,
            ConversationStatus::Pending => DomainStatus::Pending,
            ConversationStatus::Snoozed => DomainStatus::Snoozed,
            ConversationStatus::Resolved => DomainStatus::Resolved,
            ConversationStatus::Closed => DomainStatus::Closed,
        }
    }
}

fn status_of(stored: &str) -> ConversationStatus {
    match stored {
        "pending" => ConversationStatus::Pending,
        "snoozed" => ConversationStatus::Snoozed,
        "resolved" => ConversationStatus::Resolved,
        "closed" => ConversationStatus::Closed,
        _ => ConversationStatus::Open,
    }
}

/// A channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ConversationChannel {
    /// The built-in API channel.
    Api,
    /// WhatsApp.
    Whatsapp,
    /// Instagram DM.
    Instagram,
    /// E-mail.
    Email,
}

impl From<ConversationChannel> for Channel {
    fn from(c: ConversationChannel) -> Self {
        match c {
            ConversationChannel::Api => Channel::Api,
            ConversationChannel::Whatsapp => Channel::Whatsapp,
            ConversationChannel::Instagram => Channel::Instagram,
            ConversationChannel::Email => Channel::Email,
        }
    }
}

impl From<Channel> for ConversationChannel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Api => Self::Api,
            Channel::Whatsapp => Self::Whatsapp,
            Channel::Instagram => Self::Instagram,
            Channel::Email => Self::Email,
        }
    }
}

fn channel_of(stored: &str) -> Channel {
    Channel::parse(stored).unwrap_or(Channel::Api)
}

/// A conversation row as the API shows it, under the caller's tenant's window rules.
pub async fn rendered(
    state: &AppState,
    principal: &Principal,
    row: ConversationRow,
) -> ApiResult<ConversationWithContact> {
    let policies = state.window_rules.policies(&state.pool, principal.scope()?).await?;
    Ok(ConversationWithContact::render(row, &policies))
}

/// Whether free-form messages may be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    /// Until `expires_at`.
    Open,
    /// Only templates, until the customer writes again.
    Closed,
    /// The channel has no window (e-mail, the API channel).
    None,
}

/// The channel's messaging window: WhatsApp and Instagram allow free-form replies for 24
/// hours after the customer last wrote (the Chat Expiration rules may change that).
#[derive(Debug, Clone, Object, Serialize)]
pub struct ConversationWindow {
    /// Open, closed or none.
    pub state: WindowState,
    /// When it closes or closed (none: no window, or the customer never wrote).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "rfc3339_option")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Instagram: past the standard window, replies go out tagged `HUMAN_AGENT`.
    pub human_agent_only: bool,
    /// When the channel's rule marked the window expired (cleared when the customer writes).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "rfc3339_option")]
    pub marked_at: Option<DateTime<Utc>>,
}

impl ConversationWindow {
    /// When the window of a customer who last wrote at `last_inbound_at` next changes as
    /// shown (it closes, or its standard part ends), if it is open at `now`.
    fn changes_at(
        policy: &WindowPolicy,
        last_inbound_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        [policy.longest(), policy.standard]
            .into_iter()
            .filter_map(|length| MessagingWindow::at(length, last_inbound_at, now).expires_at)
            .filter(|at| *at > now)
            .min()
    }

    fn of(policy: &WindowPolicy, last_inbound_at: Option<DateTime<Utc>>, marked_at: Option<DateTime<Utc>>) -> Self {
        let now = Utc::now();
        let window = MessagingWindow::at(policy.longest(), last_inbound_at, now);
        let standard = MessagingWindow::at(policy.standard, last_inbound_at, now);
        Self {
            state: match window.state {
                DomainWindowState::Open => WindowState::Open,
                DomainWindowState::Closed => WindowState::Closed,
                DomainWindowState::Unlimited => WindowState::None,
            },
            expires_at: window.expires_at,
            human_agent_only: standard.state == DomainWindowState::Closed && window.state == DomainWindowState::Open,
            marked_at,
        }
    }
}

/// The contact of a conversation, as the inbox shows it (`GET /api/contacts/{id}` has the
/// rest).
#[derive(Debug, Clone, Object, Serialize)]
pub struct ConversationContact {
    /// Id.
    pub id: Uuid,
    /// Name.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// E-mail.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// The assignee of a conversation.
#[derive(Debug, Clone, Object, Serialize)]
pub struct ConversationAssignee {
    /// The agent.
    pub id: Uuid,
    /// The agent's name.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The last message of a conversation.
#[derive(Debug, Clone, Object, Serialize)]
pub struct LastMessage {
    /// Its id.
    pub id: Uuid,
    /// Its first characters.
    pub preview: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// When it was sent.
    #[serde(serialize_with = "rfc3339")]
    pub sent_at: DateTime<Utc>,
}

/// A conversation with its contact, assignee, division, tags, last message, unread count and
/// messaging window.
#[derive(Debug, Clone, Object, Serialize)]
pub struct ConversationWithContact {
    /// Id.
    pub id: Uuid,
    /// Status.
    pub status: ConversationStatus,
    /// Priority.
    pub priority: ConversationPriority,
    /// Until when it is snoozed.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "rfc3339_option")]
    pub snoozed_until: Option<DateTime<Utc>>,
    /// Channel.
    pub channel: String,
    /// Channel account.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_account_id: Option<Uuid>,
    /// The contact (its main fields; `GET /api/contacts/{id}` has the rest).
    pub contact: ConversationContact,
    /// The assignee.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<ConversationAssignee>,
    /// The division.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub division_id: Option<Uuid>,
    /// Tags.
    pub tags: Vec<String>,
    /// Subject (e-mail).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The last message.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_message: Option<LastMessage>,
    /// Customer messages since an agent last read it.
    pub unread_count: i32,
    /// Messages in all.
    pub messages_count: i32,
    /// When the customer last wrote (the messaging window opens then).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "rfc3339_option")]
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// The messaging window.
    pub window: ConversationWindow,
    /// Last activity.
    #[serde(serialize_with = "rfc3339")]
    pub last_activity_at: DateTime<Utc>,
    /// Started.
    #[serde(serialize_with = "rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

impl ConversationWithContact {
    /// A read-model row as the API shows it, its window under the tenant's rules.
    pub fn render(row: ConversationRow, policies: &Policies) -> Self {
        let last_message = match (row.last_message_id, row.last_message_at) {
            (Some(id), Some(sent_at)) => Some(LastMessage {
                id,
                preview: row.last_message_preview.unwrap_or_default(),
                direction: row.last_message_direction.unwrap_or_default(),
                sent_at,
            }),
            _ => None,
        };
        let policy = policies.of(channel_of(&row.channel));
        let window = ConversationWindow::of(&policy, row.last_inbound_at, row.window_expired_at);
        Self {
            id: row.id,
            status: status_of(&row.status),
            priority: ConversationPriority::of(&row.priority),
            snoozed_until: row.snoozed_until,
            channel: row.channel,
            channel_account_id: row.channel_account_id,
            contact: ConversationContact {
                id: row.contact_id,
                name: row.contact_name,
                phone: row.contact_phone,
                email: row.contact_email,
            },
            assignee: row.assignee_id.map(|id| ConversationAssignee {
                id,
                name: row.assignee_name,
            }),
            division_id: row.division_id,
            tags: row.tags,
            subject: row.subject,
            last_message,
            unread_count: row.unread_count,
            messages_count: row.messages_count,
            last_inbound_at: row.last_inbound_at,
            window,
            last_activity_at: row.last_activity_at,
            created_at: row.created_at,
            version: row.version,
        }
    }
}

/// A page of the inbox with the counts of its tabs.
#[derive(Debug, Clone, Object, Serialize)]
pub struct ConversationList {
    /// The conversations, most recent activity first.
    pub data: Vec<ConversationWithContact>,
    /// Page number.
    pub page: i64,
    /// Rows per page.
    pub per_page: i64,
    /// Matching conversations in all (see `counts_capped`).
    pub total: i64,
    /// Pass as `cursor` for the next page.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Conversations per status, with every other filter applied.
    pub counts: BTreeMap<String, i64>,
    /// True when a text search (`q`) matched 200 conversations or more: `total` and
    /// `counts` then cover the 200 most recent matches.
    pub counts_capped: bool,
}

/// Starts a conversation with a contact.
#[derive(Debug, Clone, Object)]
pub struct StartConversationRequest {
    /// The contact.
    pub contact_id: Uuid,
    /// The channel.
    pub channel: ConversationChannel,
    /// The integration account to write from (required for every channel but `api`; the
    /// contact needs the channel's identity). On WhatsApp the business writes first with a
    /// template.
    pub channel_account_id: Option<Uuid>,
    /// The division.
    pub division_id: Option<Uuid>,
    /// A subject.
    pub subject: Option<String>,
    /// Assign it at once to this agent.
    pub assignee_id: Option<Uuid>,
}

/// Assigns a conversation; a null `agent_id` unassigns it.
#[derive(Debug, Clone, Object)]
pub struct AssignAgentRequest {
    /// The agent, or null.
    pub agent_id: Option<Uuid>,
}

/// Changes a conversation's status.
#[derive(Debug, Clone, Object)]
pub struct UpdateStatusRequest {
    /// The status.
    pub status: ConversationStatus,
    /// Required with `snoozed`: when it opens again.
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// Changes a conversation's tags: `tags` replaces the set, then `add` and `remove` apply.
#[derive(Debug, Clone, Object)]
pub struct UpdateTagsRequest {
    /// The full new set.
    pub tags: Option<Vec<String>>,
    /// Tags to add.
    pub add: Option<Vec<String>>,
    /// Tags to remove.
    pub remove: Option<Vec<String>>,
}

/// What a bulk request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum BulkAction {
    /// Assign to `agent_id` (null: unassign).
    Assign,
    /// Set `status` (and `snoozed_until`).
    Status,
    /// Change tags with `add` / `remove`.
    Tags,
}

/// The same change on up to 500 conversations; each succeeds or fails on its own.
#[derive(Debug, Clone, Object)]
pub struct BulkConversationRequest {
    /// The conversations (1-500).
    pub conversation_ids: Vec<Uuid>,
    /// What to do.
    pub action: BulkAction,
    /// For `assign`.
    pub agent_id: Option<Uuid>,
    /// For `status`.
    pub status: Option<ConversationStatus>,
    /// For `status` with `snoozed`.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// For `tags`.
    pub add: Option<Vec<String>>,
    /// For `tags`.
    pub remove: Option<Vec<String>>,
}

/// One conversation's result in a bulk request.
#[derive(Debug, Clone, Object)]
pub struct BulkItemResult {
    /// The conversation.
    pub conversation_id: Uuid,
    /// Whether the change was made (or was already so).
    pub ok: bool,
    /// The stream version after the change.
    #[oai(skip_serializing_if_is_none)]
    pub version: Option<i64>,
    /// The global position of the change (absent when nothing changed).
    #[oai(skip_serializing_if_is_none)]
    pub position: Option<i64>,
    /// Why not.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<ErrorResponse>,
}

/// The results of a bulk request, in request order.
#[derive(Debug, Clone, Object)]
pub struct BulkConversationResponse {
    /// Per conversation.
    pub results: Vec<BulkItemResult>,
    /// How many succeeded.
    pub succeeded: i64,
    /// How many failed.
    pub failed: i64,
}

/// A conversation written by a command.
#[derive(ApiResponse)]
pub enum ConversationWritten {
    /// Created.
    #[oai(status = 201)]
    Created(
        Json<ConversationWithContact>,
        #[oai(header = "X-Stream-Version")] i64,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
    /// Changed (or already so).
    #[oai(status = 200)]
    Ok(
        Json<ConversationWithContact>,
        #[oai(header = "X-Stream-Version")] i64,
        #[oai(header = "X-Event-Position")] Option<i64>,
    ),
}

/// Conversation operations.
pub struct ConversationsApi;

impl ConversationsApi {
    /// Runs a command on a conversation the caller may see, and answers it as read back.
    async fn change(
        state: &AppState,
        principal: &Principal,
        id: Uuid,
        command: ConversationCommand,
    ) -> ApiResult<ConversationWritten> {
        visibility::conversation(state, principal, id, None).await?;
        let ctx = principal.command_context()?;
        let executed = match command {
            ConversationCommand::Assign { agent_id } => {
                conversation_commands::assign(&state.bus, &ctx, id, agent_id).await?
            }
            other => conversation_commands::execute(&state.bus, &ctx, id, other).await?,
        };
        let row = visibility::conversation(state, principal, id, executed.position).await;
        // Assigning away from oneself can hide the conversation: answer with what was done.
        let row = match row {
            Ok(row) => row,
            Err(_) => {
                let scope = principal.scope()?;
                conversation_queries::get(&state.pool, scope, &conversation_queries::Visibility::All, id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("conversation"))?
            }
        };
        Ok(ConversationWritten::Ok(
            Json(rendered(state, principal, row).await?),
            executed.version,
            executed.position,
        ))
    }
}

fn bulk_command(body: &BulkConversationRequest) -> ApiResult<ConversationCommand> {
    Ok(match body.action {
        BulkAction::Assign => ConversationCommand::Assign {
            agent_id: body.agent_id,
        },
        BulkAction::Status => ConversationCommand::SetStatus {
            status: body
                .status
                .ok_or_else(|| ApiError::validation("status", "status is required for the status action"))?
                .into(),
            snoozed_until: body.snoozed_until,
            now: Utc::now(),
        },
        BulkAction::Tags => ConversationCommand::Tag {
            add: body.add.clone().unwrap_or_default(),
            remove: body.remove.clone().unwrap_or_default(),
            set: None,
        },
    })
}

async fn bulk_item(
    state: &AppState,
    principal: &Principal,
    ctx: &CommandContext,
    id: Uuid,
    command: ConversationCommand,
) -> BulkItemResult {
    let result = async {
        visibility::conversation(state, principal, id, None).await?;
        let executed = match command {
            ConversationCommand::Assign { agent_id } => {
                conversation_commands::assign(&state.bus, ctx, id, agent_id).await?
            }
            other => conversation_commands::execute(&state.bus, ctx, id, other).await?,
        };
        Ok::<_, ApiError>(executed)
    }
    .await;
    match result {
        Ok(executed) => BulkItemResult {
            conversation_id: id,
            ok: true,
            version: Some(executed.version),
            position: executed.position,
            error: None,
        },
        Err(error) => BulkItemResult {
            conversation_id: id,
            ok: false,
            version: None,
            position: None,
            error: Some(error.body()),
        },
    }
}

#[OpenApi(prefix_path = "/api/conversations", tag = "ApiTags::Conversations")]
impl ConversationsApi {
    /// The inbox: conversations the caller may see, filtered, most recent activity first, with
    /// counts per status (needs `conversations.view`; `conversations.view_all` sees every one).
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Only this status.
        status: Query<Option<ConversationStatus>>,
        /// Only this channel.
        channel: Query<Option<ConversationChannel>>,
        /// `me`, `unassigned` or an agent's id.
        assignee: Query<Option<String>>,
        /// Only this division.
        division_id: Query<Option<Uuid>>,
        /// Only with this tag.
        tag: Query<Option<String>>,
        /// Only with (true) or without (false) unread messages.
        unread: Query<Option<bool>>,
        /// Last activity at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Last activity before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// The contact has these words in its name, e-mail or Instagram id (the last may be
        /// the start of one) or these digits in its phone, or a message has these words.
        q: Query<Option<String>>,
        /// Page number, from 1.
        page: Query<Option<i64>>,
        /// Rows per page (1-200, default 50).
        per_page: Query<Option<i64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the list includes the write at this position.
        #[oai(name = "X-Min-Position")]
        min_position: Header<Option<i64>>,
    ) -> ApiResult<SerializedJson<ConversationList>> {
        let principal = auth.principal().require(Permission::ConversationsView)?;
        let scope = principal.scope()?;
        let request = page_request(page.0, per_page.0, cursor.0)?;
        let assignee = match assignee.0.as_deref() {
            None => None,
            Some("me") => Some(AssigneeFilter::Agent(principal.agent_id().ok_or_else(|| {
                ApiError::validation("assignee", "only agents have conversations of their own")
            })?)),
            Some("unassigned") => Some(AssigneeFilter::Unassigned),
            Some(other) => Some(AssigneeFilter::Agent(Uuid::parse_str(other).map_err(|_| {
                ApiError::validation("assignee", "assignee is me, unassigned or an agent id")
            })?)),
        };
        if let (Some(from), Some(to)) = (from.0, to.0) {
            if from >= to {
                return Err(ApiError::validation("from", "from must be before to"));
            }
        }
        if q.0.as_deref().is_some_and(|q| q.chars().count() > 200) {
            return Err(ApiError::validation("q", "q must be at most 200 characters"));
        }
        wait_for_position(state.0, "inbox", min_position.0).await?;
        let filter = ConversationFilter {
            status: status.0.map(|s| DomainStatus::from(s).as_str().to_owned()),
            channel: channel.0.map(|c| Channel::from(c).as_str().to_owned()),
            assignee,
            division_id: division_id.0,
            tag: tag.0,
            unread: unread.0,
            from: from.0,
            to: to.0,
            search: q.0,
        };
        let key = format!("{}|{filter:?}|{request:?}", visibility::cache_key(principal));
        let page = state
            .inbox_pages
            .get_or_load(scope.tenant_id(), key, min_position.0.is_some(), || async {
                let visibility = visibility::of(state.0, principal).await?;
                let inbox =
                    conversation_queries::list(&state.pool, &state.search, scope, &visibility, &filter, &request)
                        .await?;
                let policies = state.window_rules.policies(&state.pool, scope).await?;
                // The page holds until the first window shown opens or closes.
                let now = Utc::now();
                let until = inbox
                    .page
                    .data
                    .iter()
                    .filter_map(|row| {
                        ConversationWindow::changes_at(&policies.of(channel_of(&row.channel)), row.last_inbound_at, now)
                    })
                    .min();
                let list = ConversationList {
                    data: inbox
                        .page
                        .data
                        .into_iter()
                        .map(|row| ConversationWithContact::render(row, &policies))
                        .collect(),
                    page: inbox.page.page,
                    per_page: inbox.page.per_page,
                    total: inbox.page.total,
                    next_cursor: inbox.page.next_cursor,
                    counts: inbox.counts,
                    counts_capped: inbox.counts_capped,
                };
                let serialized = SerializedJson::of(&list).map_err(|e| ApiError::internal(&e))?;
                Ok::<_, ApiError>((serialized, until))
            })
            .await?;
        Ok(page.as_ref().clone())
    }

    /// Starts a conversation with a contact (needs `conversations.manage`).
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<StartConversationRequest>,
    ) -> ApiResult<ConversationWritten> {
        let principal = auth.principal().require(Permission::ConversationsManage)?;
        let body = body.0;
        let ctx = principal.command_context()?;
        let new = NewConversation {
            contact_id: body.contact_id,
            channel: body.channel.into(),
            channel_account_id: body.channel_account_id,
            division_id: body.division_id,
            subject: body.subject,
            assignee_id: body.assignee_id,
        };
        let executed = conversation_commands::start(&state.bus, &ctx, new).await?;
        wait_for_position(state.0, "inbox", executed.position).await?;
        let row = conversation_queries::get(
            &state.pool,
            principal.scope()?,
            &conversation_queries::Visibility::All,
            executed.id,
        )
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
        Ok(ConversationWritten::Created(
            Json(rendered(state.0, principal, row).await?),
            executed.version,
            executed.position,
        ))
    }

    /// Reads a conversation with its contact's main fields (needs `conversations.view`;
    /// `GET /api/contacts/{id}` has the whole contact).
    #[oai(path = "/:id", method = "get")]
    async fn get(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        /// Wait until the conversation includes the write at this position.
        #[oai(name = "X-Min-Position")]
        min_position: Header<Option<i64>>,
    ) -> ApiResult<Json<ConversationWithContact>> {
        let principal = auth.principal().require(Permission::ConversationsView)?;
        let row = visibility::conversation(state.0, principal, id.0, min_position.0).await?;
        Ok(Json(rendered(state.0, principal, row).await?))
    }

    /// Assigns or unassigns a conversation (needs `conversations.manage`).
    #[oai(path = "/:id/assign", method = "put")]
    async fn assign(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<AssignAgentRequest>,
    ) -> ApiResult<ConversationWritten> {
        let principal = auth.principal().require(Permission::ConversationsManage)?;
        Self::change(
            state.0,
            principal,
            id.0,
            ConversationCommand::Assign {
                agent_id: body.0.agent_id,
            },
        )
        .await
    }

    /// Changes a conversation's status; `snoozed` needs `snoozed_until` (needs `conversations.manage`).
    #[oai(path = "/:id/status", method = "put")]
    async fn status(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateStatusRequest>,
    ) -> ApiResult<ConversationWritten> {
        let principal = auth.principal().require(Permission::ConversationsManage)?;
        let command = ConversationCommand::SetStatus {
            status: body.0.status.into(),
            snoozed_until: body.0.snoozed_until,
            now: Utc::now(),
        };
        Self::change(state.0, principal, id.0, command).await
    }

    /// Changes a conversation's priority (needs `conversations.manage`).
    #[oai(path = "/:id/priority", method = "put")]
    async fn priority(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdatePriorityRequest>,
    ) -> ApiResult<ConversationWritten> {
        let principal = auth.principal().require(Permission::ConversationsManage)?;
        let command = ConversationCommand::SetPriority {
            priority: body.0.priority.into(),
        };
        Self::change(state.0, principal, id.0, command).await
    }

    /// Changes a conversation's tags (needs `conversations.manage`).
    #[oai(path = "/:id/tags", method = "put")]
    async fn tags(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateTagsRequest>,
    ) -> ApiResult<ConversationWritten> {
        let principal = auth.principal().require(Permission::ConversationsManage)?;
        let body = body.0;
        if body.tags.is_none() && body.add.is_none() && body.remove.is_none() {
            return Err(ApiError::validation("tags", "send tags, add or remove"));
        }
        let command = ConversationCommand::Tag {
            add: body.add.unwrap_or_default(),
            remove: body.remove.unwrap_or_default(),
            set: body.tags,
        };
        Self::change(state.0, principal, id.0, command).await
    }

    /// Marks a conversation read: its unread count drops to zero (needs `conversations.view`).
    #[oai(path = "/:id/read", method = "post")]
    async fn read(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<ConversationWritten> {
        let principal = auth.principal().require(Permission::ConversationsView)?;
        let command = ConversationCommand::MarkRead {
            agent_id: principal.agent_id(),
        };
        Self::change(state.0, principal, id.0, command).await
    }

    /// Assigns, sets the status of, or tags up to 500 conversations; one failure does not
    /// undo the others (needs `conversations.manage`).
    #[oai(path = "/bulk", method = "post")]
    async fn bulk(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<BulkConversationRequest>,
    ) -> ApiResult<Json<BulkConversationResponse>> {
        let principal = auth.principal().require(Permission::ConversationsManage)?;
        let body = body.0;
        if body.conversation_ids.is_empty() || body.conversation_ids.len() > 500 {
            return Err(ApiError::validation(
                "conversation_ids",
                "send 1 to 500 conversation ids",
            ));
        }
        let command = bulk_command(&body)?;
        let ctx = principal.command_context()?;
        let mut results = Vec::with_capacity(body.conversation_ids.len());
        for id in &body.conversation_ids {
            results.push(bulk_item(state.0, principal, &ctx, *id, command.clone()).await);
        }
        // Answer once the inbox shows every change made.
        let last = results.iter().filter_map(|r| r.position).max();
        wait_for_position(state.0, "inbox", last).await?;
        let succeeded = results.iter().filter(|r| r.ok).count() as i64;
        Ok(Json(BulkConversationResponse {
            failed: results.len() as i64 - succeeded,
            succeeded,
            results,
        }))
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;

    fn conversation(filled: bool) -> ConversationWithContact {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("instant");
        ConversationWithContact {
            id: Uuid::now_v7(),
            status: ConversationStatus::Snoozed,
            priority: ConversationPriority::Urgent,
            snoozed_until: filled.then_some(at("2026-12-02T12:30:00.123456Z")),
            channel: "whatsapp".into(),
            channel_account_id: filled.then_some(Uuid::now_v7()),
            contact: ConversationContact {
                id: Uuid::now_v7(),
                name: filled.then_some("Ana \"Ä\" Silva".into()),
                phone: filled.then_some("+6281234".into()),
                email: None,
            },
            assignee: filled.then_some(ConversationAssignee {
                id: Uuid::now_v7(),
                name: None,
            }),
            division_id: filled.then_some(Uuid::now_v7()),
            tags: if filled {
                vec!["vip".into(), "b2b".into()]
            } else {
                vec![]
            },
            subject: filled.then_some("Re: order".into()),
            last_message: filled.then_some(LastMessage {
                id: Uuid::now_v7(),
                preview: "thanks\nbye".into(),
                direction: "inbound".into(),
                sent_at: at("2026-12-01T23:59:59Z"),
            }),
            unread_count: 3,
            messages_count: 10,
            last_inbound_at: filled.then_some(at("2026-12-01T23:59:59.5Z")),
            window: ConversationWindow {
                state: if filled { WindowState::Open } else { WindowState::None },
                expires_at: filled.then_some(at("2026-12-02T23:59:59.5Z")),
                human_agent_only: filled,
                marked_at: None,
            },
            last_activity_at: at("2026-12-02T00:00:00Z"),
            created_at: at("2025-01-01T08:00:00.000001Z"),
            version: 12,
        }
    }

    #[test]
    fn a_window_changes_when_it_closes_or_its_standard_part_ends() {
        let now = Utc::now();
        let hours = chrono::Duration::hours;
        let whatsapp = WindowPolicy::of(Channel::Whatsapp, None);
        assert_eq!(
            ConversationWindow::changes_at(&whatsapp, Some(now - hours(1)), now),
            Some(now + hours(23))
        );
        assert_eq!(
            ConversationWindow::changes_at(&whatsapp, Some(now - hours(25)), now),
            None
        );
        assert_eq!(ConversationWindow::changes_at(&whatsapp, None, now), None);
        let api = WindowPolicy::of(Channel::Api, None);
        assert_eq!(ConversationWindow::changes_at(&api, Some(now), now), None);
        let instagram = WindowPolicy::of(Channel::Instagram, None);
        assert_eq!(
            ConversationWindow::changes_at(&instagram, Some(now - hours(2)), now),
            Some(now + hours(22))
        );
        // With human-agent replies, the standard day ends first, then the week.
        let human_agent = WindowPolicy {
            human_agent: Some(hours(7 * 24)),
            ..instagram
        };
        assert_eq!(
            ConversationWindow::changes_at(&human_agent, Some(now - hours(2)), now),
            Some(now + hours(22))
        );
        assert_eq!(
            ConversationWindow::changes_at(&human_agent, Some(now - hours(48)), now),
            Some(now + hours(7 * 24 - 48))
        );
    }

    #[test]
    fn the_inbox_page_serializes_directly_as_its_schema_says() {
        for next_cursor in [Some("abc".to_owned()), None] {
            let list = ConversationList {
                data: vec![conversation(true), conversation(false)],
                page: 1,
                per_page: 25,
                total: 2,
                next_cursor,
                counts: [("open".to_owned(), 1), ("snoozed".to_owned(), 1)].into(),
                counts_capped: false,
            };
            assert_eq!(serde_json::to_value(&list).ok(), list.to_json());
        }
    }
}
