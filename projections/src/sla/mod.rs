//! The SLA read model: working hours and the time zone, SLA policies, each conversation's
//! applied policy and clocks, and the breach log. It also schedules the `sla.evaluate` job
//! of a conversation whenever something that moves its clocks happens (in the same
//! transaction as its checkpoint, like the scheduler), for tenants that have policies.

pub mod breaches;
pub mod clocks;
pub mod policies;
pub mod settings;

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use omnistream_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::inbox::entity_id;
use crate::{Projection, ProjectionError};

/// Job kind: evaluate a conversation's SLA clocks (one job per conversation).
pub const SLA_EVALUATE: &str = "sla.evaluate";

/// Conversation events that start, stop or re-time a clock, or change which policy matches.
const MOVES_CLOCKS: &[&str] = &[
    "ConversationStarted",
    "MessageReceived",
    "MessageQueued",
    "MessageEchoed",
    "ConversationStatusChanged",
    "ConversationTagsChanged",
    "ConversationTransferred",
    "ConversationPriorityChanged",
];

/// The SLA projection.
pub struct SlaProjection;

const DDL: &str = r#"
CREATE TABLE working_hours (
    tenant_id     UUID NOT NULL,
    division_id   UUID,
    days          JSONB NOT NULL,
    closed_dates  JSONB NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    version       BIGINT NOT NULL
);
CREATE UNIQUE INDEX working_hours_owner ON working_hours (tenant_id, (coalesce(division_id, '00000000-0000-0000-0000-000000000000')));
CREATE TABLE app_settings (
    tenant_id   UUID NOT NULL,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    version     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE TABLE sla_policies (
    id                      UUID PRIMARY KEY,
    tenant_id               UUID NOT NULL,
    name                    TEXT NOT NULL,
    description             TEXT,
    enabled                 BOOLEAN NOT NULL,
    rank                    INT NOT NULL,
    first_response_minutes  INT,
    next_response_minutes   INT,
    resolution_minutes      INT,
    business_hours          BOOLEAN NOT NULL,
    warning_minutes         INT,
    conditions              JSONB NOT NULL,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    version                 BIGINT NOT NULL
);
CREATE INDEX sla_policies_tenant ON sla_policies (tenant_id, rank, created_at);
CREATE TABLE conversation_sla (
    conversation_id  UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL,
    policy_id        UUID,
    policy_name      TEXT,
    applied_at       TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE TABLE sla_clocks (
    conversation_id  UUID NOT NULL,
    clock            TEXT NOT NULL,
    tenant_id        UUID NOT NULL,
    target           TEXT NOT NULL,
    policy_id        UUID NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    due_at           TIMESTAMPTZ,
    warn_at          TIMESTAMPTZ,
    status           TEXT NOT NULL,
    warned_at        TIMESTAMPTZ,
    breached_at      TIMESTAMPTZ,
    stopped_at       TIMESTAMPTZ,
    PRIMARY KEY (conversation_id, clock)
);
CREATE TABLE sla_breaches (
    id               UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL,
    conversation_id  UUID NOT NULL,
    policy_id        UUID NOT NULL,
    target           TEXT NOT NULL,
    clock            TEXT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    due_at           TIMESTAMPTZ NOT NULL,
    breached_at      TIMESTAMPTZ NOT NULL,
    agent_id         UUID,
    division_id      UUID,
    channel          TEXT
);
CREATE INDEX sla_breaches_tenant ON sla_breaches (tenant_id, breached_at DESC, id DESC);
"#;

#[async_trait]
impl Projection for SlaProjection {
    fn name(&self) -> &'static str {
        "sla"
    }

    /// Clocks and policies only: message events matter by their type and time.
    fn needs_personal_data(&self) -> bool {
        false
    }

    fn definition_version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "working_hours",
            "app_settings",
            "sla_policies",
            "conversation_sla",
            "sla_clocks",
            "sla_breaches",
        ]
    }

    fn ddl(&self) -> &'static str {
        DDL
    }

    /// Applies the batch in order and schedules one evaluation per conversation whose clocks
    /// may have moved, in one statement.
    async fn apply_batch(&self, conn: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let mut has_policies: HashMap<Uuid, bool> = HashMap::new();
        let mut due: HashMap<Uuid, (Uuid, DateTime<Utc>)> = HashMap::new();
        let moving: Vec<Uuid> = events
            .iter()
            .filter(|e| MOVES_CLOCKS.contains(&e.event_type.as_str()) && e.stream_id.starts_with("conversation-"))
            .map(entity_id)
            .collect::<Result<_, _>>()?;
        let mut tracked: HashSet<Uuid> = clocks::tracked(conn, &moving).await?;
        for event in events {
            let prefix = event.stream_id.split_once('-').map_or("", |(p, _)| p);
            if prefix == "slapolicies" {
                has_policies.clear();
            }
            if prefix != "conversation" || !MOVES_CLOCKS.contains(&event.event_type.as_str()) {
                if event.event_type == "SlaPolicyApplied" {
                    tracked.insert(entity_id(event)?);
                }
                self.apply(conn, event).await?;
                continue;
            }
            let Some(tenant_id) = event.tenant_id else { continue };
            let conversation_id = entity_id(event)?;
            let wanted = match has_policies.get(&tenant_id) {
                Some(known) => *known,
                None => {
                    let known = policies::tenant_has_enabled(conn, tenant_id).await?;
                    has_policies.insert(tenant_id, known);
                    known
                }
            };
            if wanted || tracked.contains(&conversation_id) {
                due.insert(conversation_id, (tenant_id, event.recorded_at));
            }
        }
        schedule(conn, due).await
    }

    async fn apply(&self, conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        match event.stream_id.split_once('-').map_or("", |(p, _)| p) {
            "workinghours" => settings::apply_working_hours(conn, event, event.decode()?).await,
            "appsettings" => settings::apply_app_settings(conn, event, event.decode()?).await,
            "slapolicies" => policies::apply(conn, event, event.decode()?).await,
            "conversation" if event.event_type.starts_with("Sla") => clocks::apply(conn, event, event.decode()?).await,
            _ => Ok(()),
        }
    }
}

/// Makes each conversation's evaluation due at once; a job running meanwhile sees its
/// revision change and runs again.
async fn schedule(conn: &mut PgConnection, due: HashMap<Uuid, (Uuid, DateTime<Utc>)>) -> Result<(), ProjectionError> {
    if due.is_empty() {
        return Ok(());
    }
    let (mut ids, mut keys, mut tenants, mut payloads, mut at) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (conversation_id, (tenant_id, recorded_at)) in due {
        ids.push(Uuid::now_v7());
        keys.push(format!("{SLA_EVALUATE}:{conversation_id}"));
        tenants.push(tenant_id);
        payloads.push(serde_json::json!({ "conversation_id": conversation_id }));
        at.push(recorded_at);
    }
    sqlx::query(
        "INSERT INTO public.jobs (id, key, tenant_id, kind, payload, due_at) \
         SELECT id, key, tenant_id, $4, payload, due_at \
         FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $5::jsonb[], $6::timestamptz[]) \
           AS t(id, key, tenant_id, payload, due_at) \
         ON CONFLICT (key) DO UPDATE SET due_at = least(excluded.due_at, jobs.due_at) , done_at = NULL, attempts = 0, \
             last_error = NULL, revision = jobs.revision + 1",
    )
    .bind(&ids)
    .bind(&keys)
    .bind(&tenants)
    .bind(SLA_EVALUATE)
    .bind(&payloads)
    .bind(&at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
