//! SLA tag (supervisor/admin): policies with first-response, next-response and resolution
//! targets and the conditions they apply under, each conversation's SLA status, and the
//! breach log.

use chrono::{DateTime, Utc};
use omnistream_commands::sla as sla_commands;
use omnistream_domain::conversation::Channel;
use omnistream_domain::sla_policy::{SlaConditions as DomainConditions, SlaPolicyCommand, SlaPolicyDefinition};
use omnistream_domain::Permission;
use omnistream_projections::sla::breaches::{self, BreachFilter, BreachRow};
use omnistream_projections::sla::clocks::{self, ClockRow};
use omnistream_projections::sla::policies::{self, PolicyRow};
use omnistream_projections::TenantScope;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::conversations::ConversationChannel;
use super::priority::ConversationPriority;
use super::{page_request, paginated, visibility, ApiTags, DeleteResponse};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// What a target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SlaTargetKind {
    /// The first reply after the customer's first message.
    FirstResponse,
    /// A reply after the customer writes again.
    NextResponse,
    /// Resolving the conversation.
    Resolution,
}

impl SlaTargetKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::NextResponse => "next_response",
            Self::Resolution => "resolution",
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            "first_response" => Self::FirstResponse,
            "next_response" => Self::NextResponse,
            _ => Self::Resolution,
        }
    }
}

/// Where a target's clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SlaClockStatus {
    /// Running, not yet due.
    Active,
    /// Due time passed unmet; still waiting.
    Breached,
    /// Met in time.
    Met,
    /// Met after its due time.
    Late,
    /// No longer needed.
    Cancelled,
}

impl SlaClockStatus {
    fn of(stored: &str) -> Self {
        match stored {
            "breached" => Self::Breached,
            "met" => Self::Met,
            "late" => Self::Late,
            "cancelled" => Self::Cancelled,
            _ => Self::Active,
        }
    }
}

/// Which conversations a policy applies to; an empty or absent list matches anything.
#[derive(Debug, Clone, Default, Object)]
pub struct SlaConditions {
    /// On one of these channels.
    #[oai(default)]
    pub channels: Vec<ConversationChannel>,
    /// In one of these divisions.
    #[oai(default)]
    pub division_ids: Vec<Uuid>,
    /// Carrying at least one of these tags.
    #[oai(default)]
    pub tags: Vec<String>,
    /// At one of these priorities.
    #[oai(default)]
    pub priorities: Vec<ConversationPriority>,
}

impl SlaConditions {
    fn domain(self) -> DomainConditions {
        DomainConditions {
            channels: self.channels.into_iter().map(Channel::from).collect(),
            division_ids: self.division_ids,
            tags: self.tags,
            priorities: self.priorities.into_iter().map(Into::into).collect(),
        }
    }

    fn of(conditions: &DomainConditions) -> Self {
        Self {
            channels: conditions.channels.iter().map(|c| (*c).into()).collect(),
            division_ids: conditions.division_ids.clone(),
            tags: conditions.tags.clone(),
            priorities: conditions.priorities.iter().map(|p| (*p).into()).collect(),
        }
    }
}

/// An SLA policy.
#[derive(Debug, Clone, Object)]
pub struct SlaPolicy {
    /// Id.
    pub id: Uuid,
    /// Name, unique in the organization.
    pub name: String,
    /// What it is for.
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    /// Whether it applies to conversations.
    pub enabled: bool,
    /// Policies are tried in ascending rank; the first that matches applies.
    pub rank: i32,
    /// Minutes to the first reply after the customer's first message.
    #[oai(skip_serializing_if_is_none)]
    pub first_response_minutes: Option<i32>,
    /// Minutes to each later reply after the customer writes again.
    #[oai(skip_serializing_if_is_none)]
    pub next_response_minutes: Option<i32>,
    /// Minutes from start (or reopening) to resolution.
    #[oai(skip_serializing_if_is_none)]
    pub resolution_minutes: Option<i32>,
    /// Count working hours only (else calendar time).
    pub business_hours: bool,
    /// Minutes before a due time that a warning fires.
    #[oai(skip_serializing_if_is_none)]
    pub warning_minutes: Option<i32>,
    /// Which conversations it applies to.
    pub conditions: SlaConditions,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// The organization's policy book version after the last change.
    pub version: i64,
}

impl From<PolicyRow> for SlaPolicy {
    fn from(row: PolicyRow) -> Self {
        Self {
            id: row.id,
            conditions: SlaConditions::of(&row.conditions.0),
            name: row.name,
            description: row.description,
            enabled: row.enabled,
            rank: row.rank,
            first_response_minutes: row.first_response_minutes,
            next_response_minutes: row.next_response_minutes,
            resolution_minutes: row.resolution_minutes,
            business_hours: row.business_hours,
            warning_minutes: row.warning_minutes,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

/// A new SLA policy; at least one target.
#[derive(Debug, Clone, Object)]
pub struct CreateSlaPolicy {
    /// Name (1-200 characters, unique).
    pub name: String,
    /// What it is for (at most 1000 characters).
    pub description: Option<String>,
    /// Applies to conversations (default true).
    pub enabled: Option<bool>,
    /// Order of trial, lowest first (default 100).
    pub rank: Option<i32>,
    /// Minutes to the first reply (1 to a year).
    pub first_response_minutes: Option<u32>,
    /// Minutes to each later reply.
    pub next_response_minutes: Option<u32>,
    /// Minutes to resolution.
    pub resolution_minutes: Option<u32>,
    /// Count working hours only (default false: calendar time).
    pub business_hours: Option<bool>,
    /// Warning lead time in minutes (absent: no warning).
    pub warning_minutes: Option<u32>,
    /// Which conversations it applies to (absent: all).
    pub conditions: Option<SlaConditions>,
}

/// Changes to a policy; absent fields stay. A target or the warning set to 0 is removed.
#[derive(Debug, Clone, Object)]
pub struct UpdateSlaPolicy {
    /// New name.
    pub name: Option<String>,
    /// New description (empty: none).
    pub description: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// New rank.
    pub rank: Option<i32>,
    /// New first-response target (0: none).
    pub first_response_minutes: Option<u32>,
    /// New next-response target (0: none).
    pub next_response_minutes: Option<u32>,
    /// New resolution target (0: none).
    pub resolution_minutes: Option<u32>,
    /// Working hours only.
    pub business_hours: Option<bool>,
    /// New warning lead time (0: no warning).
    pub warning_minutes: Option<u32>,
    /// New conditions (replacing the old ones).
    pub conditions: Option<SlaConditions>,
}

/// One target's clock on a conversation.
#[derive(Debug, Clone, Object)]
pub struct SlaClock {
    /// What it measures.
    pub target: SlaTargetKind,
    /// Where it stands.
    pub status: SlaClockStatus,
    /// The policy that timed it.
    pub policy_id: Uuid,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it is due (absent: never, the working hours stay shut).
    #[oai(skip_serializing_if_is_none)]
    pub due_at: Option<DateTime<Utc>>,
    /// When its warning fires.
    #[oai(skip_serializing_if_is_none)]
    pub warn_at: Option<DateTime<Utc>>,
    /// When the warning fired.
    #[oai(skip_serializing_if_is_none)]
    pub warned_at: Option<DateTime<Utc>>,
    /// When the breach was recorded.
    #[oai(skip_serializing_if_is_none)]
    pub breached_at: Option<DateTime<Utc>>,
    /// When it stopped (the reply, resolution or cancellation).
    #[oai(skip_serializing_if_is_none)]
    pub stopped_at: Option<DateTime<Utc>>,
}

impl From<ClockRow> for SlaClock {
    fn from(row: ClockRow) -> Self {
        Self {
            target: SlaTargetKind::of(&row.target),
            status: SlaClockStatus::of(&row.status),
            policy_id: row.policy_id,
            started_at: row.started_at,
            due_at: row.due_at,
            warn_at: row.warn_at,
            warned_at: row.warned_at,
            breached_at: row.breached_at,
            stopped_at: row.stopped_at,
        }
    }
}

/// A conversation's SLA: the policy that applies and each target's clocks, oldest first.
#[derive(Debug, Clone, Object)]
pub struct ConversationSlaStatus {
    /// The conversation.
    pub conversation_id: Uuid,
    /// The policy that applies (absent: none).
    #[oai(skip_serializing_if_is_none)]
    pub policy_id: Option<Uuid>,
    /// Its name when applied.
    #[oai(skip_serializing_if_is_none)]
    pub policy_name: Option<String>,
    /// Since when it applies.
    #[oai(skip_serializing_if_is_none)]
    pub applied_at: Option<DateTime<Utc>>,
    /// Whether any clock is breached now or was met late.
    pub breached: bool,
    /// The clocks.
    pub clocks: Vec<SlaClock>,
}

/// A breach of an SLA target.
#[derive(Debug, Clone, Object)]
pub struct SlaBreachLog {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// The policy.
    pub policy_id: Uuid,
    /// The policy's name (absent once deleted).
    #[oai(skip_serializing_if_is_none)]
    pub policy_name: Option<String>,
    /// The target missed.
    pub target: SlaTargetKind,
    /// When its clock started.
    pub started_at: DateTime<Utc>,
    /// When it was due.
    pub due_at: DateTime<Utc>,
    /// When the breach was recorded.
    pub breached_at: DateTime<Utc>,
    /// The assignee at the time.
    #[oai(skip_serializing_if_is_none)]
    pub agent_id: Option<Uuid>,
    /// The division at the time.
    #[oai(skip_serializing_if_is_none)]
    pub division_id: Option<Uuid>,
    /// The channel.
    #[oai(skip_serializing_if_is_none)]
    pub channel: Option<String>,
}

impl From<BreachRow> for SlaBreachLog {
    fn from(row: BreachRow) -> Self {
        Self {
            id: row.id,
            conversation_id: row.conversation_id,
            policy_id: row.policy_id,
            policy_name: row.policy_name,
            target: SlaTargetKind::of(&row.target),
            started_at: row.started_at,
            due_at: row.due_at,
            breached_at: row.breached_at,
            agent_id: row.agent_id,
            division_id: row.division_id,
            channel: row.channel,
        }
    }
}

paginated!(
    /// A page of SLA breaches.
    SlaBreachPage,
    SlaBreachLog
);

/// A policy written by a command.
#[derive(ApiResponse)]
pub enum SlaPolicyWritten {
    /// Created.
    #[oai(status = 201)]
    Created(Json<SlaPolicy>, #[oai(header = "X-Event-Position")] Option<i64>),
    /// Changed.
    #[oai(status = 200)]
    Ok(Json<SlaPolicy>, #[oai(header = "X-Event-Position")] Option<i64>),
}

/// SLA operations.
pub struct SlaApi;

impl SlaApi {
    async fn read(state: &AppState, scope: TenantScope, id: Uuid, position: Option<i64>) -> ApiResult<SlaPolicy> {
        wait_for_position(state, "sla", position).await?;
        policies::get(&state.pool, scope, id)
            .await?
            .map(SlaPolicy::from)
            .ok_or_else(|| ApiError::not_found("SLA policy"))
    }
}

fn cleared(value: Option<u32>, current: Option<u32>) -> Option<u32> {
    match value {
        Some(0) => None,
        Some(v) => Some(v),
        None => current,
    }
}

#[OpenApi(tag = "ApiTags::Sla")]
impl SlaApi {
    /// The organization's policies in the order they are tried (needs `sla.manage`).
    #[oai(path = "/api/sla-policies", method = "get")]
    async fn list(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<Vec<SlaPolicy>>> {
        let scope = auth.principal().require(Permission::SlaManage)?.scope()?;
        let rows = policies::list(&state.pool, scope).await?;
        Ok(Json(rows.into_iter().map(SlaPolicy::from).collect()))
    }

    /// Creates a policy; it applies to conversations from their next activity (needs
    /// `sla.manage`).
    #[oai(path = "/api/sla-policies", method = "post")]
    async fn create(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        body: Json<CreateSlaPolicy>,
    ) -> ApiResult<SlaPolicyWritten> {
        let principal = auth.principal().require(Permission::SlaManage)?;
        let body = body.0;
        let policy = SlaPolicyDefinition {
            policy_id: Uuid::now_v7(),
            name: body.name,
            description: body.description,
            enabled: body.enabled.unwrap_or(true),
            rank: body.rank.unwrap_or(100),
            first_response_minutes: body.first_response_minutes,
            next_response_minutes: body.next_response_minutes,
            resolution_minutes: body.resolution_minutes,
            business_hours: body.business_hours.unwrap_or(false),
            warning_minutes: body.warning_minutes,
            conditions: body.conditions.unwrap_or_default().domain(),
        };
        let id = policy.policy_id;
        let ctx = principal.command_context()?;
        let executed = sla_commands::create(&state.bus, &ctx, policy).await?;
        let policy = Self::read(state.0, principal.scope()?, id, executed.position).await?;
        Ok(SlaPolicyWritten::Created(Json(policy), executed.position))
    }

    /// Reads a policy (needs `sla.manage`).
    #[oai(path = "/api/sla-policies/:id", method = "get")]
    async fn get(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<SlaPolicy>> {
        let scope = auth.principal().require(Permission::SlaManage)?.scope()?;
        Ok(Json(Self::read(state.0, scope, id.0, None).await?))
    }

    /// Changes a policy; conversations take the change at their next activity (needs
    /// `sla.manage`).
    #[oai(path = "/api/sla-policies/:id", method = "patch")]
    async fn update(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        body: Json<UpdateSlaPolicy>,
    ) -> ApiResult<SlaPolicyWritten> {
        let principal = auth.principal().require(Permission::SlaManage)?;
        let scope = principal.scope()?;
        let current = sla_commands::book(&state.bus, principal.command_context()?.scope)
            .await?
            .get(id.0)
            .cloned()
            .ok_or_else(|| ApiError::not_found("SLA policy"))?;
        let body = body.0;
        let policy = SlaPolicyDefinition {
            name: body.name.unwrap_or(current.name),
            description: match body.description {
                Some(d) => Some(d),
                None => current.description,
            },
            enabled: body.enabled.unwrap_or(current.enabled),
            rank: body.rank.unwrap_or(current.rank),
            first_response_minutes: cleared(body.first_response_minutes, current.first_response_minutes),
            next_response_minutes: cleared(body.next_response_minutes, current.next_response_minutes),
            resolution_minutes: cleared(body.resolution_minutes, current.resolution_minutes),
            business_hours: body.business_hours.unwrap_or(current.business_hours),
            warning_minutes: cleared(body.warning_minutes, current.warning_minutes),
            conditions: body.conditions.map_or(current.conditions, SlaConditions::domain),
            policy_id: current.policy_id,
        };
        let ctx = principal.command_context()?;
        let executed = sla_commands::execute(&state.bus, &ctx, |tenant_id| SlaPolicyCommand::Update {
            tenant_id,
            policy,
        })
        .await?;
        let policy = Self::read(state.0, scope, id.0, executed.position).await?;
        Ok(SlaPolicyWritten::Ok(Json(policy), executed.position))
    }

    /// Deletes a policy; its running clocks are cancelled at each conversation's next
    /// activity (needs `sla.manage`).
    #[oai(path = "/api/sla-policies/:id", method = "delete")]
    async fn delete(&self, state: Data<&SharedState>, auth: Auth, id: Path<Uuid>) -> ApiResult<Json<DeleteResponse>> {
        let principal = auth.principal().require(Permission::SlaManage)?;
        let ctx = principal.command_context()?;
        let policy_id = id.0;
        let executed = sla_commands::execute(&state.bus, &ctx, |tenant_id| SlaPolicyCommand::Delete {
            tenant_id,
            policy_id,
        })
        .await?;
        wait_for_position(state.0, "sla", executed.position).await?;
        Ok(Json(DeleteResponse {
            id: policy_id.to_string(),
            deleted: true,
        }))
    }

    /// A conversation's SLA: its policy and each target's clock (needs `conversations.view`
    /// and a conversation the caller may see).
    #[oai(path = "/api/conversations/:id/sla", method = "get")]
    async fn conversation(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
    ) -> ApiResult<Json<ConversationSlaStatus>> {
        let principal = auth.principal().require(Permission::ConversationsView)?;
        visibility::conversation(state.0, principal, id.0, None).await?;
        let (applied, rows) = clocks::status(&state.pool, principal.scope()?, id.0).await?;
        let clocks: Vec<SlaClock> = rows.into_iter().map(SlaClock::from).collect();
        let applied = applied.unwrap_or(clocks::AppliedRow {
            policy_id: None,
            policy_name: None,
            applied_at: None,
        });
        Ok(Json(ConversationSlaStatus {
            conversation_id: id.0,
            policy_id: applied.policy_id,
            policy_name: applied.policy_name,
            applied_at: applied.applied_at,
            breached: clocks
                .iter()
                .any(|c| matches!(c.status, SlaClockStatus::Breached | SlaClockStatus::Late)),
            clocks,
        }))
    }

    /// The breach log, latest due first, with filters (needs `sla.manage`).
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/api/sla-breaches", method = "get")]
    async fn breaches(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Only this policy's.
        policy_id: Query<Option<Uuid>>,
        /// Only breaches of conversations this agent had.
        agent_id: Query<Option<Uuid>>,
        /// Only this division's.
        division_id: Query<Option<Uuid>>,
        /// Only this target's.
        target: Query<Option<SlaTargetKind>>,
        /// Only this conversation's.
        conversation_id: Query<Option<Uuid>>,
        /// Due at or after (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Due before (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page number, from 1.
        page: Query<Option<i64>>,
        /// Rows per page (1-200, default 50).
        per_page: Query<Option<i64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<SlaBreachPage>> {
        let scope = auth.principal().require(Permission::SlaManage)?.scope()?;
        if let (Some(from), Some(to)) = (from.0, to.0) {
            if from >= to {
                return Err(ApiError::validation("from", "from must be before to"));
            }
        }
        let page = page_request(page.0, per_page.0, cursor.0)?;
        let filter = BreachFilter {
            policy_id: policy_id.0,
            agent_id: agent_id.0,
            division_id: division_id.0,
            target: target.0.map(|t| t.as_str().to_owned()),
            conversation_id: conversation_id.0,
            from: from.0,
            to: to.0,
        };
        let rows = breaches::list(&state.pool, scope, &filter, &page).await?;
        Ok(Json(SlaBreachPage::from_page(rows, SlaBreachLog::from)))
    }
}
