//! Activity Logs tag (supervisor/admin): the audit trail, a stream's history and state as of
//! any instant, and verification of the tenant's hash chains.

use chrono::{DateTime, Utc};
use omnistream_domain::{agent, api_key, organization, role, Aggregate, Permission};
use omnistream_projections::activity_log::{self, ActivityFilter, ActivityRow};
use omnistream_store::{audit, EventStore, RecordedEvent};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::Serialize;
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::{page_request, paginated, ApiTags};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;

/// Who caused an event.
#[derive(Debug, Clone, Object)]
pub struct ActivityActor {
    /// `agent`, `api_key`, `super_admin`, `system` or `anonymous`.
    pub kind: String,
    /// The agent or super-admin.
    #[oai(skip_serializing_if_is_none)]
    pub id: Option<Uuid>,
    /// The API key used.
    #[oai(skip_serializing_if_is_none)]
    pub api_key_id: Option<Uuid>,
}

/// One audit entry.
#[derive(Debug, Clone, Object)]
pub struct ActivityLogEntry {
    /// The event's global position (the entry's id).
    pub id: i64,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Who did it.
    pub actor: ActivityActor,
    /// What was done: the event type, such as `AgentCreated`.
    pub action: String,
    /// The kind of entity, such as `agent`.
    pub entity_type: String,
    /// The entity's id.
    pub entity_id: String,
    /// The event's stream (for `/api/activity-logs/streams/{stream}`).
    pub stream_id: String,
    /// Version within the stream.
    pub version: i64,
    /// The event's id.
    pub event_id: Uuid,
    /// The request that caused it.
    #[oai(skip_serializing_if_is_none)]
    pub request_id: Option<String>,
}

impl From<ActivityRow> for ActivityLogEntry {
    fn from(row: ActivityRow) -> Self {
        Self {
            id: row.position,
            occurred_at: row.occurred_at,
            actor: ActivityActor {
                kind: row.actor_kind,
                id: row.actor_id,
                api_key_id: row.api_key_id,
            },
            action: row.action,
            entity_type: row.entity_type,
            entity_id: row.entity_id,
            stream_id: row.stream_id,
            version: row.version,
            event_id: row.event_id,
            request_id: row.request_id,
        }
    }
}

paginated!(
    /// A page of the activity log, newest first.
    PaginatedResponse,
    ActivityLogEntry
);

/// A stored event, as an auditor sees it.
#[derive(Debug, Clone, Object)]
pub struct StoredEvent {
    /// Global position.
    pub position: i64,
    /// Version within the stream.
    pub version: i64,
    /// Event id.
    pub event_id: Uuid,
    /// Event type.
    pub event_type: String,
    /// Payload schema version.
    pub schema_version: i32,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// The payload.
    pub payload: serde_json::Value,
    /// Actor, causation, correlation and request ids.
    pub metadata: serde_json::Value,
    /// SHA-256 of this event chained to the previous one (hex).
    pub hash: String,
    /// The previous event's hash (hex).
    #[oai(skip_serializing_if_is_none)]
    pub prev_hash: Option<String>,
}

impl From<RecordedEvent> for StoredEvent {
    fn from(e: RecordedEvent) -> Self {
        Self {
            position: e.position,
            version: e.version,
            event_id: e.event_id,
            event_type: e.event_type,
            schema_version: e.schema_version,
            recorded_at: e.recorded_at,
            payload: e.payload,
            metadata: serde_json::to_value(&e.metadata).unwrap_or_default(),
            hash: hex::encode(e.hash),
            prev_hash: e.prev_hash.map(hex::encode),
        }
    }
}

/// A stream's history and the entity's state.
#[derive(Debug, Clone, Object)]
pub struct StreamHistory {
    /// The stream.
    pub stream_id: String,
    /// The instant asked for, if any.
    #[oai(skip_serializing_if_is_none)]
    pub as_of: Option<DateTime<Utc>>,
    /// The stream's version at that instant.
    pub version: i64,
    /// The events up to that instant, oldest first.
    pub events: Vec<StoredEvent>,
    /// The entity's state folded from those events.
    #[oai(skip_serializing_if_is_none)]
    pub state: Option<serde_json::Value>,
}

/// A break in a hash chain.
#[derive(Debug, Clone, Object)]
pub struct ChainBreakInfo {
    /// The stream.
    pub stream_id: String,
    /// The version where it breaks (0: the stream's head record).
    pub version: i64,
    /// What is wrong.
    pub problem: String,
}

/// The result of verifying the organization's hash chains.
#[derive(Debug, Clone, Object)]
pub struct ChainVerification {
    /// True when every chain is intact.
    pub ok: bool,
    /// Streams checked.
    pub streams_checked: i64,
    /// Events checked.
    pub events_checked: i64,
    /// Breaks found.
    pub breaks: Vec<ChainBreakInfo>,
}

/// Folds a stream's events into the aggregate's state, as JSON.
fn fold<A: Aggregate + Serialize>(events: &[RecordedEvent]) -> ApiResult<serde_json::Value> {
    let mut state = A::default();
    for event in events {
        state = state.apply(&event.decode::<A::Event>().map_err(|e| ApiError::internal(&e))?);
    }
    serde_json::to_value(state).map_err(|e| ApiError::internal(&e))
}

/// The state of the entity behind a stream, for the aggregates this build knows.
pub fn state_of(stream_id: &str, events: &[RecordedEvent]) -> ApiResult<Option<serde_json::Value>> {
    let prefix = stream_id.split_once('-').map_or(stream_id, |(p, _)| p);
    Ok(Some(match prefix {
        p if p == organization::Organization::STREAM_PREFIX => fold::<organization::Organization>(events)?,
        p if p == agent::Agent::STREAM_PREFIX => fold::<agent::Agent>(events)?,
        p if p == role::Role::STREAM_PREFIX => fold::<role::Role>(events)?,
        p if p == api_key::ApiKey::STREAM_PREFIX => fold::<api_key::ApiKey>(events)?,
        _ => return Ok(None),
    }))
}

/// Activity-log operations.
pub struct ActivityLogsApi;

#[OpenApi(prefix_path = "/api/activity-logs", tag = "ApiTags::ActivityLogs")]
impl ActivityLogsApi {
    /// The organization's activity, newest first, filtered (needs `activity_logs.view`).
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// Only this actor (agent id).
        actor_id: Query<Option<Uuid>>,
        /// Only this kind of entity, such as `agent`.
        entity_type: Query<Option<String>>,
        /// Only this entity's id.
        entity_id: Query<Option<String>>,
        /// Only this action (event type), such as `AgentCreated`.
        action: Query<Option<String>>,
        /// From this instant on (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Before this instant (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page number, from 1.
        page: Query<Option<i64>>,
        /// Rows per page (1-200, default 50).
        per_page: Query<Option<i64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Wait until the log includes the write at this position.
        #[oai(name = "X-Min-Position")]
        min_position: Header<Option<i64>>,
    ) -> ApiResult<Json<PaginatedResponse>> {
        let scope = auth.principal().require(Permission::ActivityLogsView)?.scope()?;
        let request = page_request(page.0, per_page.0, cursor.0)?;
        if let (Some(from), Some(to)) = (from.0, to.0) {
            if from >= to {
                return Err(ApiError::validation("from", "from must be before to"));
            }
        }
        wait_for_position(state.0, "activity_log", min_position.0).await?;
        let filter = ActivityFilter {
            actor_id: actor_id.0,
            entity_type: entity_type.0,
            entity_id: entity_id.0,
            action: action.0,
            from: from.0,
            to: to.0,
        };
        let page = activity_log::list(&state.0.pool, scope, &filter, &request).await?;
        Ok(Json(PaginatedResponse::from_page(page, ActivityLogEntry::from)))
    }

    /// Verifies the organization's hash chains: every event's hash recomputed, no version
    /// missing, every stream ending at its recorded head (needs `activity_logs.view`).
    #[oai(path = "/verify", method = "get")]
    async fn verify(&self, state: Data<&SharedState>, auth: Auth) -> ApiResult<Json<ChainVerification>> {
        let scope = auth.principal().require(Permission::ActivityLogsView)?.scope()?;
        let report = audit::verify_tenant(&state.0.pool, Some(scope.tenant_id()))
            .await
            .map_err(|e| ApiError::internal(&e))?;
        Ok(Json(ChainVerification {
            ok: report.breaks.is_empty(),
            streams_checked: report.streams,
            events_checked: report.events,
            breaks: report
                .breaks
                .into_iter()
                .map(|b| ChainBreakInfo {
                    stream_id: b.stream_id,
                    version: b.version,
                    problem: b.problem,
                })
                .collect(),
        }))
    }

    /// A stream's events and, with `as_of`, the entity's state at that instant (needs `activity_logs.view`).
    #[oai(path = "/streams/:stream", method = "get")]
    async fn stream(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// The stream id, such as `agent-<uuid>`.
        stream: Path<String>,
        /// Show the stream as it was at this instant (RFC 3339).
        as_of: Query<Option<DateTime<Utc>>>,
    ) -> ApiResult<Json<StreamHistory>> {
        let scope = auth.principal().require(Permission::ActivityLogsView)?.scope()?;
        let events = state
            .0
            .events
            .read_stream(&stream.0, 1)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        // Another tenant's stream is indistinguishable from no stream.
        if events.is_empty() || events.iter().any(|e| e.tenant_id != Some(scope.tenant_id())) {
            return Err(ApiError::not_found("stream"));
        }
        let events: Vec<RecordedEvent> = match as_of.0 {
            Some(at) => events.into_iter().filter(|e| e.recorded_at <= at).collect(),
            None => events,
        };
        let state = state_of(&stream.0, &events)?;
        Ok(Json(StreamHistory {
            stream_id: stream.0,
            as_of: as_of.0,
            version: events.last().map_or(0, |e| e.version),
            events: events.into_iter().map(StoredEvent::from).collect(),
            state,
        }))
    }
}
