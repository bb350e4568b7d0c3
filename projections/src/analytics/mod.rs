//! The analytics read model: daily and monthly rollups per tenant, agent, division and
//! channel (conversations, messages, response and resolution times, SLA outcomes, CSAT,
//! online time), so a report over any range reads a few hundred rows at most.
//!
//! Figures land on the local day (in the tenant's time zone at the time) of the event that
//! makes them: a response time on the reply's day, a resolution time on the resolution's day,
//! a survey's answer on the day it was sent. Events are read from their stored payloads field
//! by field (no full decode) to keep catch-up fast; the fields read have one schema version.

pub mod facts;
pub mod queries;
pub mod rollup;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use omnistream_store::RecordedEvent;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use self::facts::{ConversationFacts, Facts, SurveyFacts};
use self::rollup::{Dimensions, Metric, Rollup};
use crate::inbox::entity_id;
use crate::{Projection, ProjectionError};

/// The analytics projection.
pub struct AnalyticsProjection;

const DDL: &str = r#"
CREATE TABLE stats (
    tenant_id               UUID NOT NULL,
    dimension               TEXT NOT NULL,
    key                     TEXT NOT NULL,
    period                  TEXT NOT NULL,
    start                   DATE NOT NULL,
    new_conversations       BIGINT NOT NULL DEFAULT 0,
    resolved                BIGINT NOT NULL DEFAULT 0,
    messages_in             BIGINT NOT NULL DEFAULT 0,
    messages_out            BIGINT NOT NULL DEFAULT 0,
    first_responses         BIGINT NOT NULL DEFAULT 0,
    first_response_seconds  BIGINT NOT NULL DEFAULT 0,
    responses               BIGINT NOT NULL DEFAULT 0,
    response_seconds        BIGINT NOT NULL DEFAULT 0,
    resolution_seconds      BIGINT NOT NULL DEFAULT 0,
    sla_met                 BIGINT NOT NULL DEFAULT 0,
    sla_breached            BIGINT NOT NULL DEFAULT 0,
    csat_sent               BIGINT NOT NULL DEFAULT 0,
    csat_answered           BIGINT NOT NULL DEFAULT 0,
    csat_rating_sum         BIGINT NOT NULL DEFAULT 0,
    csat_1                  BIGINT NOT NULL DEFAULT 0,
    csat_2                  BIGINT NOT NULL DEFAULT 0,
    csat_3                  BIGINT NOT NULL DEFAULT 0,
    csat_4                  BIGINT NOT NULL DEFAULT 0,
    csat_5                  BIGINT NOT NULL DEFAULT 0,
    online_seconds          BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, dimension, period, start, key)
);
CREATE TABLE analytics_conversations (
    conversation_id   UUID PRIMARY KEY,
    tenant_id         UUID NOT NULL,
    channel           TEXT NOT NULL,
    agent_id          UUID,
    division_id       UUID,
    status            TEXT NOT NULL,
    cycle_started_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE analytics_surveys (
    survey_id    UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL,
    agent_id     UUID,
    division_id  UUID,
    channel      TEXT NOT NULL,
    sent_day     DATE NOT NULL
);
CREATE TABLE analytics_agents (
    agent_id      UUID PRIMARY KEY,
    tenant_id     UUID NOT NULL,
    online_since  TIMESTAMPTZ
);
CREATE TABLE analytics_tenants (
    tenant_id  UUID PRIMARY KEY,
    timezone   TEXT NOT NULL
);
"#;

fn uuid_at(payload: &Value, field: &str) -> Option<Uuid> {
    payload[field].as_str().and_then(|s| Uuid::parse_str(s).ok())
}

fn time_at(payload: &Value, field: &str) -> Option<DateTime<Utc>> {
    payload[field].as_str().and_then(|s| s.parse().ok())
}

fn is_done(status: &str) -> bool {
    matches!(status, "resolved" | "closed")
}

fn prefix(event: &RecordedEvent) -> &str {
    event.stream_id.split_once('-').map_or("", |(p, _)| p)
}

#[async_trait]
impl Projection for AnalyticsProjection {
    fn name(&self) -> &'static str {
        "analytics"
    }

    /// Counts and times only: no message text, profile or comment is read.
    fn needs_personal_data(&self) -> bool {
        false
    }

    fn definition_version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "stats",
            "analytics_conversations",
            "analytics_surveys",
            "analytics_agents",
            "analytics_tenants",
        ]
    }

    fn ddl(&self) -> &'static str {
        DDL
    }

    async fn apply(&self, conn: &mut PgConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        self.apply_batch(conn, std::slice::from_ref(event)).await
    }

    /// Loads the facts the batch needs, folds every event into them and into the rollup
    /// deltas in memory, then writes both back: a handful of statements per batch.
    async fn apply_batch(&self, conn: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), ProjectionError> {
        let (mut conversations, mut surveys, mut agents, mut tenants) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for event in events {
            match prefix(event) {
                "conversation" => conversations.push(entity_id(event)?),
                "csatsurvey" => surveys.push(entity_id(event)?),
                "agent" if event.event_type == "AgentStatusChanged" => agents.push(entity_id(event)?),
                _ => continue,
            }
            tenants.extend(event.tenant_id);
        }
        tenants.sort_unstable();
        tenants.dedup();
        let mut facts = Facts::load(conn, &conversations, &surveys, &agents, &tenants).await?;
        let mut rollup = Rollup::default();
        for event in events {
            let Some(tenant_id) = event.tenant_id else { continue };
            match prefix(event) {
                "conversation" => conversation(&mut facts, &mut rollup, tenant_id, event)?,
                "csatsurvey" => survey(&mut facts, &mut rollup, tenant_id, event)?,
                "agent" if event.event_type == "AgentStatusChanged" => {
                    presence(&mut facts, &mut rollup, tenant_id, event)?
                }
                "appsettings" if event.event_type == "TimezoneChanged" => {
                    let Some(zone) = event.payload["timezone"].as_str() else {
                        continue;
                    };
                    if let Ok(parsed) = zone.parse() {
                        facts.time_zones.insert(tenant_id, parsed);
                    }
                    sqlx::query(
                        "INSERT INTO analytics_tenants (tenant_id, timezone) VALUES ($1, $2) \
                         ON CONFLICT (tenant_id) DO UPDATE SET timezone = $2",
                    )
                    .bind(tenant_id)
                    .bind(zone)
                    .execute(&mut *conn)
                    .await?;
                }
                _ => {}
            }
        }
        facts.save(conn).await?;
        rollup.flush(conn).await
    }
}

fn dims_of(facts: &ConversationFacts) -> Dimensions {
    Dimensions {
        agent_id: facts.agent_id,
        division_id: facts.division_id,
        channel: Some(facts.channel.clone()),
    }
}

fn conversation(
    facts: &mut Facts,
    rollup: &mut Rollup,
    tenant_id: Uuid,
    event: &RecordedEvent,
) -> Result<(), ProjectionError> {
    let id = entity_id(event)?;
    let (at, payload) = (event.recorded_at, &event.payload);
    let day = facts.day(tenant_id, at);
    if event.event_type == "ConversationStarted" {
        let started = ConversationFacts {
            conversation_id: id,
            tenant_id,
            channel: payload["channel"].as_str().unwrap_or("api").to_owned(),
            agent_id: None,
            division_id: uuid_at(payload, "division_id"),
            status: "open".into(),
            cycle_started_at: at,
        };
        rollup.add(tenant_id, day, &dims_of(&started), Metric::NewConversations, 1);
        facts.conversations.insert(id, started);
        return Ok(());
    }
    let Some(conversation) = facts.conversations.get_mut(&id) else {
        return Ok(());
    };
    match event.event_type.as_str() {
        "ConversationAssigned" => conversation.agent_id = uuid_at(payload, "agent_id"),
        "ConversationTransferred" => {
            conversation.agent_id = uuid_at(payload, "to_agent_id");
            conversation.division_id = uuid_at(payload, "to_division_id");
        }
        "MessageReceived" => rollup.add(tenant_id, day, &dims_of(conversation), Metric::MessagesIn, 1),
        "MessageEchoed" => {
            let dims = Dimensions {
                agent_id: None,
                ..dims_of(conversation)
            };
            rollup.add(tenant_id, day, &dims, Metric::MessagesOut, 1);
        }
        "MessageQueued" => {
            let author = uuid_at(payload, "author_agent_id");
            let dims = Dimensions {
                agent_id: author,
                ..dims_of(conversation)
            };
            rollup.add(tenant_id, day, &dims, Metric::MessagesOut, 1);
            // Only an agent's reply is a response: survey messages and the like are not.
            if let (Some(_), Some(since)) = (author, time_at(payload, "awaited_since")) {
                let waited = (at - since).num_seconds().max(0);
                rollup.add(tenant_id, day, &dims, Metric::Responses, 1);
                rollup.add(tenant_id, day, &dims, Metric::ResponseSeconds, waited);
                if payload["first_response"].as_bool() == Some(true) {
                    rollup.add(tenant_id, day, &dims, Metric::FirstResponses, 1);
                    rollup.add(tenant_id, day, &dims, Metric::FirstResponseSeconds, waited);
                }
            }
        }
        "ConversationStatusChanged" => {
            let status = payload["status"].as_str().unwrap_or("open");
            if is_done(status) && !is_done(&conversation.status) {
                let dims = dims_of(conversation);
                let took = (at - conversation.cycle_started_at).num_seconds().max(0);
                rollup.add(tenant_id, day, &dims, Metric::Resolved, 1);
                rollup.add(tenant_id, day, &dims, Metric::ResolutionSeconds, took);
            } else if !is_done(status) && is_done(&conversation.status) {
                conversation.cycle_started_at = at;
            }
            conversation.status = status.to_owned();
        }
        "SlaBreached" => {
            let dims = Dimensions {
                agent_id: uuid_at(payload, "agent_id"),
                division_id: uuid_at(payload, "division_id"),
                channel: Some(conversation.channel.clone()),
            };
            rollup.add(tenant_id, day, &dims, Metric::SlaBreached, 1);
        }
        "SlaTargetStopped" if payload["outcome"] == "met" => {
            rollup.add(tenant_id, day, &dims_of(conversation), Metric::SlaMet, 1);
        }
        _ => {}
    }
    Ok(())
}

fn survey(
    facts: &mut Facts,
    rollup: &mut Rollup,
    tenant_id: Uuid,
    event: &RecordedEvent,
) -> Result<(), ProjectionError> {
    let id = entity_id(event)?;
    let payload = &event.payload;
    match event.event_type.as_str() {
        "CsatSurveySent" => {
            let sent_at = time_at(payload, "sent_at").unwrap_or(event.recorded_at);
            let sent = SurveyFacts {
                survey_id: id,
                tenant_id,
                agent_id: uuid_at(payload, "agent_id"),
                division_id: uuid_at(payload, "division_id"),
                channel: payload["channel"].as_str().unwrap_or("api").to_owned(),
                sent_day: facts.day(tenant_id, sent_at),
            };
            rollup.add(tenant_id, sent.sent_day, &survey_dims(&sent), Metric::CsatSent, 1);
            facts.surveys.insert(id, sent);
        }
        "CsatSurveyAnswered" => {
            let (Some(sent), Some(rating)) = (facts.surveys.get(&id), payload["rating"].as_i64()) else {
                return Ok(());
            };
            let dims = survey_dims(sent);
            let by_rating = [
                Metric::Csat1,
                Metric::Csat2,
                Metric::Csat3,
                Metric::Csat4,
                Metric::Csat5,
            ];
            rollup.add(tenant_id, sent.sent_day, &dims, Metric::CsatAnswered, 1);
            rollup.add(tenant_id, sent.sent_day, &dims, Metric::CsatRatingSum, rating);
            if let Some(metric) = usize::try_from(rating - 1).ok().and_then(|i| by_rating.get(i)) {
                rollup.add(tenant_id, sent.sent_day, &dims, *metric, 1);
            }
        }
        _ => {}
    }
    Ok(())
}

fn survey_dims(sent: &SurveyFacts) -> Dimensions {
    Dimensions {
        agent_id: sent.agent_id,
        division_id: sent.division_id,
        channel: Some(sent.channel.clone()),
    }
}

/// Online time, split at local midnights so each day gets its own share.
fn presence(
    facts: &mut Facts,
    rollup: &mut Rollup,
    tenant_id: Uuid,
    event: &RecordedEvent,
) -> Result<(), ProjectionError> {
    let agent_id = entity_id(event)?;
    let at = event.recorded_at;
    let online = event.payload["status"] == "online";
    let since = facts.online_since.get(&agent_id).and_then(|(_, since)| *since);
    match (since, online) {
        (None, true) => {
            facts.online_since.insert(agent_id, (tenant_id, Some(at)));
        }
        (Some(from), false) => {
            let dims = Dimensions {
                agent_id: Some(agent_id),
                ..Default::default()
            };
            let zone = facts.zone(tenant_id);
            let mut start = from;
            while start < at {
                let day = start.with_timezone(&zone).date_naive();
                let end = day
                    .succ_opt()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .and_then(|d| d.and_local_timezone(zone).earliest())
                    .map_or(at, |d| d.with_timezone(&Utc).min(at));
                if end <= start {
                    break;
                }
                rollup.add(
                    tenant_id,
                    day,
                    &dims,
                    Metric::OnlineSeconds,
                    (end - start).num_seconds(),
                );
                start = end;
            }
            facts.online_since.insert(agent_id, (tenant_id, None));
        }
        _ => {}
    }
    Ok(())
}
