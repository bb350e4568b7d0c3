//! The CSAT read model: each channel's survey settings and every survey with its answer. It
//! also schedules a `csat.send` job for each resolution in an organization that sends surveys
//! (in the same transaction as its checkpoint).

pub mod settings;
pub mod surveys;

use std::collections::HashMap;

use async_trait::async_trait;
use omnistream_domain::contact::ContactEvent;
use omnistream_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::inbox::entity_id;
use crate::{Projection, ProjectionError};

/// Job kind: send the survey of a conversation's resolution.
pub const CSAT_SEND: &str = "csat.send";

/// The CSAT projection.
pub struct CsatProjection;

const DDL: &str = r#"
CREATE TABLE csat_settings (
    tenant_id            UUID NOT NULL,
    channel              TEXT NOT NULL,
    enabled              BOOLEAN NOT NULL,
    expires_after_hours  INT NOT NULL,
    message              TEXT NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    version              BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, channel)
);
CREATE TABLE csat_surveys (
    id               UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL,
    conversation_id  UUID NOT NULL,
    contact_id       UUID NOT NULL,
    channel          TEXT NOT NULL,
    agent_id         UUID,
    division_id      UUID,
    message_id       UUID NOT NULL,
    rating           SMALLINT,
    comment          TEXT,
    sent_at          TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    answered_at      TIMESTAMPTZ
);
CREATE INDEX csat_surveys_tenant ON csat_surveys (tenant_id, sent_at DESC, id DESC);
CREATE INDEX csat_surveys_contact ON csat_surveys (contact_id);
CREATE TABLE csat_survey_days (
    tenant_id    UUID NOT NULL,
    day          DATE NOT NULL,
    agent_id     UUID,
    division_id  UUID,
    sent         BIGINT NOT NULL
);
CREATE UNIQUE INDEX csat_survey_days_key ON csat_survey_days (tenant_id, day,
    (coalesce(agent_id, '00000000-0000-0000-0000-000000000000')),
    (coalesce(division_id, '00000000-0000-0000-0000-000000000000')));
"#;

#[async_trait]
impl Projection for CsatProjection {
    fn name(&self) -> &'static str {
        "csat"
    }

    fn definition_version(&self) -> i32 {
        2
    }

    fn tables(&self) -> &'static [&'static str] {
        &["csat_settings", "csat_surveys", "csat_survey_days"]
    }

    fn ddl(&self) -> &'static str {
        DDL
    }

    async fn apply(&self, conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        self.apply_batch(conn, std::slice::from_ref(event)).await
    }

    /// Applies the batch in order, asking whether an organization sends surveys once per
    /// batch (again after a settings change) instead of once per resolution.
    async fn apply_batch(&self, conn: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let mut sends: HashMap<Uuid, bool> = HashMap::new();
        for event in events {
            apply_one(conn, event, &mut sends).await?;
        }
        Ok(())
    }
}

/// Applies one event; `sends` remembers, per organization, whether it sends surveys.
async fn apply_one(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    sends: &mut HashMap<Uuid, bool>,
) -> Result<(), ProjectionError> {
    match event.stream_id.split_once('-').map_or("", |(p, _)| p) {
        "csatsettings" => {
            sends.clear();
            settings::apply(conn, event, event.decode()?).await
        }
        "csatsurvey" => surveys::apply(conn, event, event.decode()?).await,
        "conversation" if event.event_type == "ConversationStatusChanged" => schedule(conn, event, sends).await,
        "contact" if event.event_type == "ContactErased" => {
            if let ContactEvent::ContactErased(_) = event.decode()? {
                surveys::erase(conn, entity_id(event)?).await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Schedules the survey of a resolution when the organization sends surveys on any channel
/// (the job checks the conversation's own channel).
async fn schedule(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    sends: &mut HashMap<Uuid, bool>,
) -> Result<(), ProjectionError> {
    let Some(tenant_id) = event.tenant_id else {
        return Ok(());
    };
    if event.payload["status"] != "resolved" {
        return Ok(());
    }
    let sending = match sends.get(&tenant_id) {
        Some(known) => *known,
        None => {
            let known = settings::tenant_sends(conn, tenant_id).await?;
            sends.insert(tenant_id, known);
            known
        }
    };
    if !sending {
        return Ok(());
    }
    let conversation_id = entity_id(event)?;
    sqlx::query(
        "INSERT INTO public.jobs (id, key, tenant_id, kind, payload, due_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(format!("{CSAT_SEND}:{conversation_id}:{}", event.version))
    .bind(tenant_id)
    .bind(CSAT_SEND)
    .bind(serde_json::json!({ "conversation_id": conversation_id, "resolved_version": event.version }))
    .bind(event.recorded_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
