//! The activity log: every tenant event as an audit entry (actor, action, entity, time,
//! request id), filterable and paged for supervisors and auditors.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use omnistream_store::RecordedEvent;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::page::{Page, PageRequest};
use crate::{Projection, ProjectionError, TenantScope};

/// The activity-log projection.
pub struct ActivityLogProjection;

const DDL: &str = r#"
CREATE TABLE activity_log (
    position     BIGINT PRIMARY KEY,
    tenant_id    UUID NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     UUID,
    api_key_id   UUID,
    action       TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    stream_id    TEXT NOT NULL,
    version      BIGINT NOT NULL,
    event_id     UUID NOT NULL,
    request_id   TEXT
);
CREATE INDEX activity_log_tenant ON activity_log (tenant_id, position DESC);
CREATE INDEX activity_log_actor ON activity_log (tenant_id, actor_id, position DESC);
CREATE INDEX activity_log_entity ON activity_log (tenant_id, entity_type, entity_id, position DESC);
"#;

#[async_trait]
impl Projection for ActivityLogProjection {
    fn name(&self) -> &'static str {
        "activity_log"
    }

    fn definition_version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["activity_log"]
    }

    fn ddl(&self) -> &'static str {
        DDL
    }

    async fn apply(&self, conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        self.apply_batch(conn, std::slice::from_ref(event)).await
    }

    /// One multi-row insert per batch: the log is append-only, so order within it is free.
    async fn apply_batch(&self, conn: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let mut rows = ActivityColumns::default();
        for event in events {
            rows.push(event);
        }
        if rows.position.is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO activity_log (position, tenant_id, occurred_at, actor_kind, actor_id, api_key_id, action, \
             entity_type, entity_id, stream_id, version, event_id, request_id) \
             SELECT * FROM UNNEST($1::int8[], $2::uuid[], $3::timestamptz[], $4::text[], $5::uuid[], $6::uuid[], \
             $7::text[], $8::text[], $9::text[], $10::text[], $11::int8[], $12::uuid[], $13::text[]) \
             ON CONFLICT (position) DO NOTHING",
        )
        .bind(&rows.position)
        .bind(&rows.tenant_id)
        .bind(&rows.occurred_at)
        .bind(&rows.actor_kind)
        .bind(&rows.actor_id)
        .bind(&rows.api_key_id)
        .bind(&rows.action)
        .bind(&rows.entity_type)
        .bind(&rows.entity_id)
        .bind(&rows.stream_id)
        .bind(&rows.version)
        .bind(&rows.event_id)
        .bind(&rows.request_id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// Activity rows of a batch, column by column.
#[derive(Default)]
struct ActivityColumns {
    position: Vec<i64>,
    tenant_id: Vec<Uuid>,
    occurred_at: Vec<DateTime<Utc>>,
    actor_kind: Vec<String>,
    actor_id: Vec<Option<Uuid>>,
    api_key_id: Vec<Option<Uuid>>,
    action: Vec<String>,
    entity_type: Vec<String>,
    entity_id: Vec<String>,
    stream_id: Vec<String>,
    version: Vec<i64>,
    event_id: Vec<Uuid>,
    request_id: Vec<Option<String>>,
}

impl ActivityColumns {
    fn push(&mut self, event: &RecordedEvent) {
        // Platform events (super-admins, login e-mail claims) belong to no tenant's trail.
        let Some(tenant_id) = event.tenant_id else { return };
        let (entity_type, entity_id) = event
            .stream_id
            .split_once('-')
            .unwrap_or((event.stream_id.as_str(), ""));
        let actor = &event.metadata.actor;
        self.position.push(event.position);
        self.tenant_id.push(tenant_id);
        self.occurred_at.push(event.recorded_at);
        self.actor_kind.push(
            serde_json::to_value(actor.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        );
        self.actor_id.push(actor.id);
        self.api_key_id.push(actor.api_key_id);
        self.action.push(event.event_type.clone());
        self.entity_type.push(entity_type.to_owned());
        self.entity_id.push(entity_id.to_owned());
        self.stream_id.push(event.stream_id.clone());
        self.version.push(event.version);
        self.event_id.push(event.event_id);
        self.request_id.push(event.metadata.request_id.clone());
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ActivityRow {
    /// Global position of the event (also the entry's id).
    pub position: i64,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// `agent`, `api_key`, `super_admin`, `system` or `anonymous`.
    pub actor_kind: String,
    /// The acting agent or super-admin.
    pub actor_id: Option<Uuid>,
    /// The API key used.
    pub api_key_id: Option<Uuid>,
    /// The event type, such as `AgentCreated`.
    pub action: String,
    /// The entity's kind, such as `agent`.
    pub entity_type: String,
    /// The entity's id.
    pub entity_id: String,
    /// The event's stream.
    pub stream_id: String,
    /// Version in the stream.
    pub version: i64,
    /// The event's id.
    pub event_id: Uuid,
    /// The request that caused it.
    pub request_id: Option<String>,
}

/// Filters of the activity log.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Only this actor.
    pub actor_id: Option<Uuid>,
    /// Only this entity kind.
    pub entity_type: Option<String>,
    /// Only this entity.
    pub entity_id: Option<String>,
    /// Only this action (event type).
    pub action: Option<String>,
    /// From this time on.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
}

/// The tenant's activity, newest first.
pub async fn list(
    pool: &PgPool,
    scope: TenantScope,
    filter: &ActivityFilter,
    page: &PageRequest,
) -> Result<Page<ActivityRow>, ProjectionError> {
    const WHERE: &str =
        "tenant_id = $1 AND ($2::uuid IS NULL OR actor_id = $2) AND ($3::text IS NULL OR entity_type = $3) \
         AND ($4::text IS NULL OR entity_id = $4) AND ($5::text IS NULL OR action = $5) \
         AND ($6::timestamptz IS NULL OR occurred_at >= $6) AND ($7::timestamptz IS NULL OR occurred_at < $7)";
    let cursor = page
        .cursor
        .as_deref()
        .map(|c| c.parse::<i64>().map_err(|_| ProjectionError::InvalidCursor))
        .transpose()?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM rm.activity_log WHERE {WHERE}"))
        .bind(scope.tenant_id())
        .bind(filter.actor_id)
        .bind(&filter.entity_type)
        .bind(&filter.entity_id)
        .bind(&filter.action)
        .bind(filter.from)
        .bind(filter.to)
        .fetch_one(pool)
        .await?;
    let data: Vec<ActivityRow> = sqlx::query_as(&format!(
        "SELECT position, occurred_at, actor_kind, actor_id, api_key_id, action, entity_type, entity_id, stream_id, \
         version, event_id, request_id FROM rm.activity_log WHERE {WHERE} AND ($8::bigint IS NULL OR position < $8) \
         ORDER BY position DESC LIMIT $9 OFFSET $10"
    ))
    .bind(scope.tenant_id())
    .bind(filter.actor_id)
    .bind(&filter.entity_type)
    .bind(&filter.entity_id)
    .bind(&filter.action)
    .bind(filter.from)
    .bind(filter.to)
    .bind(cursor)
    .bind(page.per_page + 1)
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(Page::from_rows(data, page, total, |r| r.position.to_string()))
}
