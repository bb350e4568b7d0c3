//! What the analytics projection remembers between events: each conversation's channel,
//! assignee, division, status and the start of its current resolution cycle; agents'
//! online-since times; surveys' attribution; tenants' time zones. Loaded and written once
//! per batch.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::ProjectionError;

/// A conversation as analytics attribute its figures.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ConversationFacts {
    /// Id.
    pub conversation_id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Channel.
    pub channel: String,
    /// Assignee.
    pub agent_id: Option<Uuid>,
    /// Division.
    pub division_id: Option<Uuid>,
    /// Status.
    pub status: String,
    /// When it started or was last reopened.
    pub cycle_started_at: DateTime<Utc>,
}

/// A survey's attribution.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SurveyFacts {
    /// Id.
    pub survey_id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// The agent.
    pub agent_id: Option<Uuid>,
    /// The division.
    pub division_id: Option<Uuid>,
    /// The channel.
    pub channel: String,
    /// The local day it was sent (answers count there).
    pub sent_day: NaiveDate,
}

/// Everything the batch touches, loaded up front.
#[derive(Debug, Default)]
pub struct Facts {
    /// Conversations by id.
    pub conversations: HashMap<Uuid, ConversationFacts>,
    /// Surveys by id.
    pub surveys: HashMap<Uuid, SurveyFacts>,
    /// Agents' online-since times (none: not online).
    pub online_since: HashMap<Uuid, (Uuid, Option<DateTime<Utc>>)>,
    /// Tenants' time zones.
    pub time_zones: HashMap<Uuid, Tz>,
}

impl Facts {
    /// Loads the facts of these conversations, surveys, agents and tenants.
    pub async fn load(
        conn: &mut PgConnection,
        conversations: &[Uuid],
        surveys: &[Uuid],
        agents: &[Uuid],
        tenants: &[Uuid],
    ) -> Result<Self, ProjectionError> {
        let mut facts = Self::default();
        if !conversations.is_empty() {
            let rows: Vec<ConversationFacts> = sqlx::query_as(
                "SELECT conversation_id, tenant_id, channel, agent_id, division_id, status, cycle_started_at \
                 FROM analytics_conversations WHERE conversation_id = ANY($1)",
            )
            .bind(conversations)
            .fetch_all(&mut *conn)
            .await?;
            facts.conversations = rows.into_iter().map(|r| (r.conversation_id, r)).collect();
        }
        if !surveys.is_empty() {
            let rows: Vec<SurveyFacts> = sqlx::query_as(
                "SELECT survey_id, tenant_id, agent_id, division_id, channel, sent_day FROM analytics_surveys \
                 WHERE survey_id = ANY($1)",
            )
            .bind(surveys)
            .fetch_all(&mut *conn)
            .await?;
            facts.surveys = rows.into_iter().map(|r| (r.survey_id, r)).collect();
        }
        if !agents.is_empty() {
            let rows: Vec<(Uuid, Uuid, Option<DateTime<Utc>>)> = sqlx::query_as(
                "SELECT agent_id, tenant_id, online_since FROM analytics_agents WHERE agent_id = ANY($1)",
            )
            .bind(agents)
            .fetch_all(&mut *conn)
            .await?;
            facts.online_since = rows.into_iter().map(|(a, t, s)| (a, (t, s))).collect();
        }
        if !tenants.is_empty() {
            let rows: Vec<(Uuid, String)> =
                sqlx::query_as("SELECT tenant_id, timezone FROM analytics_tenants WHERE tenant_id = ANY($1)")
                    .bind(tenants)
                    .fetch_all(&mut *conn)
                    .await?;
            facts.time_zones = rows
                .into_iter()
                .filter_map(|(t, zone)| zone.parse().ok().map(|z| (t, z)))
                .collect();
        }
        Ok(facts)
    }

    /// The local day of an instant in the tenant's time zone (UTC until one is set).
    pub fn day(&self, tenant_id: Uuid, at: DateTime<Utc>) -> NaiveDate {
        let zone = self.time_zones.get(&tenant_id).copied().unwrap_or(Tz::UTC);
        at.with_timezone(&zone).date_naive()
    }

    /// The tenant's time zone.
    pub fn zone(&self, tenant_id: Uuid) -> Tz {
        self.time_zones.get(&tenant_id).copied().unwrap_or(Tz::UTC)
    }

    /// Writes back every fact the batch holds.
    pub async fn save(self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        if !self.conversations.is_empty() {
            let rows: Vec<ConversationFacts> = self.conversations.into_values().collect();
            sqlx::query(
                "INSERT INTO analytics_conversations (conversation_id, tenant_id, channel, agent_id, division_id, status, \
                 cycle_started_at) SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], \
                 $6::text[], $7::timestamptz[]) ON CONFLICT (conversation_id) DO UPDATE SET agent_id = excluded.agent_id, \
                 division_id = excluded.division_id, status = excluded.status, cycle_started_at = excluded.cycle_started_at",
            )
            .bind(rows.iter().map(|r| r.conversation_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.tenant_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.channel.clone()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.agent_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.division_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.status.clone()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.cycle_started_at).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
        if !self.surveys.is_empty() {
            let rows: Vec<SurveyFacts> = self.surveys.into_values().collect();
            sqlx::query(
                "INSERT INTO analytics_surveys (survey_id, tenant_id, agent_id, division_id, channel, sent_day) \
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::date[]) \
                 ON CONFLICT (survey_id) DO NOTHING",
            )
            .bind(rows.iter().map(|r| r.survey_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.tenant_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.agent_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.division_id).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.channel.clone()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.sent_day).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
        if !self.online_since.is_empty() {
            let mut agents = Vec::with_capacity(self.online_since.len());
            let mut tenants = Vec::with_capacity(self.online_since.len());
            let mut since = Vec::with_capacity(self.online_since.len());
            for (agent, (tenant, online_since)) in self.online_since {
                agents.push(agent);
                tenants.push(tenant);
                since.push(online_since);
            }
            sqlx::query(
                "INSERT INTO analytics_agents (agent_id, tenant_id, online_since) \
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[]) \
                 ON CONFLICT (agent_id) DO UPDATE SET online_since = excluded.online_since",
            )
            .bind(agents)
            .bind(tenants)
            .bind(since)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}
