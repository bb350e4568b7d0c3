//! Analytics tag (supervisor/admin) and CSAT analytics: overview, daily trends, per-agent and
//! per-channel figures over a range of days in the organization's time zone, all read from
//! the analytics rollups (never from raw messages).

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use omnistream_domain::Permission;
use omnistream_projections::analytics::queries::{self, DayRow, Dimension, Totals};
use omnistream_projections::analytics::rollup::Metric;
use omnistream_projections::directory::agent_names;
use omnistream_projections::inbox::conversation_queries::status_totals;
use omnistream_projections::TenantScope;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde::Serialize;
use uuid::Uuid;

use super::conversations::ConversationChannel;
use super::direct_json::SerializedJson;
use super::ApiTags;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, SharedState};

/// Longest range a report covers.
const MAX_DAYS: i64 = 2 * 366;

/// The days a report covers, in the organization's time zone.
#[derive(Debug, Clone, Copy)]
struct DayRange {
    from: NaiveDate,
    to: NaiveDate,
}

/// Today in the organization's time zone.
fn today_in(zone: &str) -> NaiveDate {
    Utc::now()
        .with_timezone(&zone.parse::<Tz>().unwrap_or(Tz::UTC))
        .date_naive()
}

/// The days from `from` (default: 29 days before `to`) to `to`, validated.
fn day_range(from: Option<NaiveDate>, to: NaiveDate) -> ApiResult<DayRange> {
    let from = from.unwrap_or(to - Duration::days(29));
    if from > to {
        return Err(ApiError::validation("from", "from must not be after to"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::validation(
            "from",
            format!("a report covers at most {MAX_DAYS} days"),
        ));
    }
    Ok(DayRange { from, to })
}

/// The report's days, and the organization's time zone they are counted in.
async fn zoned_range(
    state: &AppState,
    scope: TenantScope,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<(DayRange, String)> {
    let zone = queries::time_zone(&state.pool, scope).await?;
    let range = day_range(from, to.unwrap_or_else(|| today_in(&zone)))?;
    Ok((range, zone))
}

/// The report's days; the time zone is read only when `to` is left to default to today.
async fn range(
    state: &AppState,
    scope: TenantScope,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<DayRange> {
    match to {
        Some(to) => day_range(from, to),
        None => Ok(zoned_range(state, scope, from, None).await?.0),
    }
}

fn average(sum: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| sum as f64 / count as f64)
}

fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Response and resolution times and CSAT of some totals.
fn times(t: &Totals) -> (Option<f64>, Option<f64>, Option<f64>, Option<f64>) {
    (
        average(t.get(Metric::FirstResponseSeconds), t.get(Metric::FirstResponses)),
        average(t.get(Metric::ResponseSeconds), t.get(Metric::Responses)),
        average(t.get(Metric::ResolutionSeconds), t.get(Metric::Resolved)),
        average(t.get(Metric::CsatRatingSum), t.get(Metric::CsatAnswered)),
    )
}

/// The organization's figures over a range.
#[derive(Debug, Clone, Object)]
pub struct OverviewResponse {
    /// First day (organization's time zone).
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    /// The time zone days are counted in.
    pub timezone: String,
    /// Conversations open now.
    pub open: i64,
    /// Conversations pending now.
    pub pending: i64,
    /// Conversations snoozed now.
    pub snoozed: i64,
    /// Conversations resolved or closed in the range.
    pub resolved: i64,
    /// Conversations started in the range.
    pub new_conversations: i64,
    /// Customer messages.
    pub messages_in: i64,
    /// Outbound messages.
    pub messages_out: i64,
    /// Average seconds to a conversation's first reply.
    #[oai(skip_serializing_if_is_none)]
    pub avg_first_response_seconds: Option<f64>,
    /// Average seconds a waiting customer waited for a reply.
    #[oai(skip_serializing_if_is_none)]
    pub avg_response_seconds: Option<f64>,
    /// Average seconds from start (or reopening) to resolution.
    #[oai(skip_serializing_if_is_none)]
    pub avg_resolution_seconds: Option<f64>,
    /// SLA targets met in time.
    pub sla_met: i64,
    /// SLA targets breached.
    pub sla_breached: i64,
    /// Met / (met + breached).
    #[oai(skip_serializing_if_is_none)]
    pub sla_compliance: Option<f64>,
    /// Average rating of the surveys answered.
    #[oai(skip_serializing_if_is_none)]
    pub csat_average: Option<f64>,
    /// Surveys answered.
    pub csat_responses: i64,
}

/// A day's count.
#[derive(Debug, Clone, Object, Serialize)]
pub struct DayCount {
    /// The day (organization's time zone).
    pub date: NaiveDate,
    /// The count.
    pub count: i64,
}

/// Daily series over a range; every day present, zero when nothing happened.
#[derive(Debug, Clone, Object, Serialize)]
pub struct TrendsResponse {
    /// First day.
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    /// The time zone days are counted in.
    pub timezone: String,
    /// Conversations started.
    pub new_conversations: Vec<DayCount>,
    /// Conversations resolved.
    pub resolved: Vec<DayCount>,
    /// Customer messages.
    pub messages_in: Vec<DayCount>,
    /// Outbound messages.
    pub messages_out: Vec<DayCount>,
}

/// One agent's figures.
#[derive(Debug, Clone, Object)]
pub struct AgentMetric {
    /// The agent.
    pub agent_id: Uuid,
    /// Its name.
    #[oai(skip_serializing_if_is_none)]
    pub name: Option<String>,
    /// Conversations it resolved.
    pub conversations_handled: i64,
    /// Messages it sent.
    pub messages_sent: i64,
    /// Average seconds to its first replies.
    #[oai(skip_serializing_if_is_none)]
    pub avg_first_response_seconds: Option<f64>,
    /// Average seconds customers waited for its replies.
    #[oai(skip_serializing_if_is_none)]
    pub avg_response_seconds: Option<f64>,
    /// Average seconds to resolve.
    #[oai(skip_serializing_if_is_none)]
    pub avg_resolution_seconds: Option<f64>,
    /// SLA targets breached on its conversations.
    pub sla_breached: i64,
    /// Average survey rating.
    #[oai(skip_serializing_if_is_none)]
    pub csat_average: Option<f64>,
    /// Surveys answered.
    pub csat_responses: i64,
    /// Seconds online.
    pub online_seconds: i64,
}

/// Per-agent figures over a range, busiest first.
#[derive(Debug, Clone, Object)]
pub struct AgentMetricsResponse {
    /// First day.
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    /// The agents with figures in the range.
    pub agents: Vec<AgentMetric>,
}

/// One channel's figures.
#[derive(Debug, Clone, Object)]
pub struct ChannelMetric {
    /// The channel.
    pub channel: String,
    /// Conversations started.
    pub new_conversations: i64,
    /// Conversations resolved.
    pub resolved: i64,
    /// Customer messages.
    pub messages_in: i64,
    /// Outbound messages.
    pub messages_out: i64,
    /// Average seconds to a first reply.
    #[oai(skip_serializing_if_is_none)]
    pub avg_first_response_seconds: Option<f64>,
    /// Average seconds to resolve.
    #[oai(skip_serializing_if_is_none)]
    pub avg_resolution_seconds: Option<f64>,
    /// Average survey rating.
    #[oai(skip_serializing_if_is_none)]
    pub csat_average: Option<f64>,
}

/// Per-channel figures over a range.
#[derive(Debug, Clone, Object)]
pub struct ChannelMetricsResponse {
    /// First day.
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    /// The channels with figures in the range.
    pub channels: Vec<ChannelMetric>,
}

/// Survey figures of one agent or division.
#[derive(Debug, Clone, Object)]
pub struct CsatBreakdown {
    /// The agent's or division's id.
    pub id: Uuid,
    /// Surveys sent.
    pub surveys_sent: i64,
    /// Surveys answered.
    pub responses: i64,
    /// Average rating.
    #[oai(skip_serializing_if_is_none)]
    pub average: Option<f64>,
}

/// Survey figures over a range (surveys count on the day they were sent).
#[derive(Debug, Clone, Object)]
pub struct CsatAnalyticsResponse {
    /// First day.
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    /// Surveys sent.
    pub surveys_sent: i64,
    /// Surveys answered.
    pub responses: i64,
    /// Answered / sent.
    #[oai(skip_serializing_if_is_none)]
    pub response_rate: Option<f64>,
    /// Average rating.
    #[oai(skip_serializing_if_is_none)]
    pub average: Option<f64>,
    /// Answers per rating, 1 to 5.
    pub distribution: Vec<i64>,
    /// Per agent.
    pub per_agent: Vec<CsatBreakdown>,
    /// Per division.
    pub per_division: Vec<CsatBreakdown>,
}

fn csat_breakdown(rows: Vec<Totals>) -> Vec<CsatBreakdown> {
    let mut out: Vec<CsatBreakdown> = rows
        .into_iter()
        .filter(|t| t.get(Metric::CsatSent) > 0 || t.get(Metric::CsatAnswered) > 0)
        .filter_map(|t| {
            Some(CsatBreakdown {
                id: Uuid::parse_str(&t.key).ok()?,
                surveys_sent: t.get(Metric::CsatSent),
                responses: t.get(Metric::CsatAnswered),
                average: average(t.get(Metric::CsatRatingSum), t.get(Metric::CsatAnswered)),
            })
        })
        .collect();
    out.sort_by_key(|b| (-b.responses, b.id));
    out
}

/// Analytics operations.
pub struct AnalyticsApi;

#[OpenApi(tag = "ApiTags::Analytics")]
impl AnalyticsApi {
    /// The organization's figures over a range of days, or one agent's, division's or
    /// channel's (needs `analytics.view`).
    #[allow(clippy::too_many_arguments)]
    #[oai(path = "/api/analytics/overview", method = "get")]
    async fn overview(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// First day, `YYYY-MM-DD` in the organization's time zone (default: 29 days before `to`).
        from: Query<Option<NaiveDate>>,
        /// Last day, included (default: today).
        to: Query<Option<NaiveDate>>,
        /// Only this agent's figures.
        agent_id: Query<Option<Uuid>>,
        /// Only this division's figures.
        division_id: Query<Option<Uuid>>,
        /// Only this channel's figures.
        channel: Query<Option<ConversationChannel>>,
    ) -> ApiResult<Json<OverviewResponse>> {
        let scope = auth.principal().require(Permission::AnalyticsView)?.scope()?;
        let (range, timezone) = zoned_range(state.0, scope, from.0, to.0).await?;
        let filters = [
            agent_id.0.map(|a| (Dimension::Agent, a.to_string())),
            division_id.0.map(|d| (Dimension::Division, d.to_string())),
            channel.0.map(|c| {
                (
                    Dimension::Channel,
                    omnistream_domain::conversation::Channel::from(c).as_str().to_owned(),
                )
            }),
        ];
        let mut given = filters.into_iter().flatten();
        let (dimension, key) = given.next().unwrap_or((Dimension::Tenant, String::new()));
        if given.next().is_some() {
            return Err(ApiError::validation(
                "agent_id",
                "filter by one of agent_id, division_id or channel",
            ));
        }
        let totals = queries::totals(&state.pool, scope, &[dimension], Some(&key), range.from, range.to)
            .await?
            .pop()
            .unwrap_or_else(|| Totals::zero(dimension, key));
        let now = status_totals(&state.pool, scope).await?;
        let (first, response, resolution, csat) = times(&totals);
        let (met, breached) = (totals.get(Metric::SlaMet), totals.get(Metric::SlaBreached));
        Ok(Json(OverviewResponse {
            from: range.from,
            to: range.to,
            timezone,
            open: now.get("open").copied().unwrap_or(0),
            pending: now.get("pending").copied().unwrap_or(0),
            snoozed: now.get("snoozed").copied().unwrap_or(0),
            resolved: totals.get(Metric::Resolved),
            new_conversations: totals.get(Metric::NewConversations),
            messages_in: totals.get(Metric::MessagesIn),
            messages_out: totals.get(Metric::MessagesOut),
            avg_first_response_seconds: first,
            avg_response_seconds: response,
            avg_resolution_seconds: resolution,
            sla_met: met,
            sla_breached: breached,
            sla_compliance: rate(met, met + breached),
            csat_average: csat,
            csat_responses: totals.get(Metric::CsatAnswered),
        }))
    }

    /// Daily series over a range of days (needs `analytics.view`).
    #[oai(path = "/api/analytics/trends", method = "get")]
    async fn trends(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
        from: Query<Option<NaiveDate>>,
        /// Last day, included (default: today).
        to: Query<Option<NaiveDate>>,
    ) -> ApiResult<SerializedJson<TrendsResponse>> {
        let scope = auth.principal().require(Permission::AnalyticsView)?.scope()?;
        let (range, timezone) = zoned_range(state.0, scope, from.0, to.0).await?;
        let rows: HashMap<NaiveDate, DayRow> = queries::days(&state.pool, scope, range.from, range.to)
            .await?
            .into_iter()
            .map(|r| (r.day, r))
            .collect();
        let series = |pick: fn(&DayRow) -> i64| -> Vec<DayCount> {
            range
                .from
                .iter_days()
                .take_while(|d| *d <= range.to)
                .map(|date| DayCount {
                    date,
                    count: rows.get(&date).map_or(0, pick),
                })
                .collect()
        };
        let trends = TrendsResponse {
            from: range.from,
            to: range.to,
            timezone,
            new_conversations: series(|r| r.new_conversations),
            resolved: series(|r| r.resolved),
            messages_in: series(|r| r.messages_in),
            messages_out: series(|r| r.messages_out),
        };
        SerializedJson::of(&trends).map_err(|e| ApiError::internal(&e))
    }

    /// Per-agent figures over a range of days (needs `analytics.view`).
    #[oai(path = "/api/analytics/agents", method = "get")]
    async fn agents(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
        from: Query<Option<NaiveDate>>,
        /// Last day, included (default: today).
        to: Query<Option<NaiveDate>>,
    ) -> ApiResult<Json<AgentMetricsResponse>> {
        let scope = auth.principal().require(Permission::AnalyticsView)?.scope()?;
        let range = range(state.0, scope, from.0, to.0).await?;
        let (rows, names) = tokio::try_join!(
            queries::totals(&state.pool, scope, &[Dimension::Agent], None, range.from, range.to),
            agent_names(&state.pool, scope),
        )?;
        let names: HashMap<Uuid, String> = names.into_iter().collect();
        let mut agents: Vec<AgentMetric> = rows
            .into_iter()
            .filter_map(|t| {
                let agent_id = Uuid::parse_str(&t.key).ok()?;
                let (first, response, resolution, csat) = times(&t);
                Some(AgentMetric {
                    agent_id,
                    name: names.get(&agent_id).cloned(),
                    conversations_handled: t.get(Metric::Resolved),
                    messages_sent: t.get(Metric::MessagesOut),
                    avg_first_response_seconds: first,
                    avg_response_seconds: response,
                    avg_resolution_seconds: resolution,
                    sla_breached: t.get(Metric::SlaBreached),
                    csat_average: csat,
                    csat_responses: t.get(Metric::CsatAnswered),
                    online_seconds: t.get(Metric::OnlineSeconds),
                })
            })
            .collect();
        agents.sort_by_key(|a| (-a.conversations_handled, -a.messages_sent, a.agent_id));
        Ok(Json(AgentMetricsResponse {
            from: range.from,
            to: range.to,
            agents,
        }))
    }

    /// Per-channel figures over a range of days (needs `analytics.view`).
    #[oai(path = "/api/analytics/channels", method = "get")]
    async fn channels(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
        from: Query<Option<NaiveDate>>,
        /// Last day, included (default: today).
        to: Query<Option<NaiveDate>>,
    ) -> ApiResult<Json<ChannelMetricsResponse>> {
        let scope = auth.principal().require(Permission::AnalyticsView)?.scope()?;
        let range = range(state.0, scope, from.0, to.0).await?;
        let rows = queries::totals(&state.pool, scope, &[Dimension::Channel], None, range.from, range.to).await?;
        let mut channels: Vec<ChannelMetric> = rows
            .into_iter()
            .map(|t| {
                let (first, _, resolution, csat) = times(&t);
                ChannelMetric {
                    new_conversations: t.get(Metric::NewConversations),
                    resolved: t.get(Metric::Resolved),
                    messages_in: t.get(Metric::MessagesIn),
                    messages_out: t.get(Metric::MessagesOut),
                    avg_first_response_seconds: first,
                    avg_resolution_seconds: resolution,
                    csat_average: csat,
                    channel: t.key,
                }
            })
            .collect();
        channels.sort_by(|a, b| a.channel.cmp(&b.channel));
        Ok(Json(ChannelMetricsResponse {
            from: range.from,
            to: range.to,
            channels,
        }))
    }

    /// Survey figures over a range of days: average, distribution, response rate, per agent
    /// and division (needs `csat.view`).
    #[oai(path = "/api/csat/analytics", method = "get", tag = "ApiTags::Csat")]
    async fn csat(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
        from: Query<Option<NaiveDate>>,
        /// Last day, included (default: today).
        to: Query<Option<NaiveDate>>,
    ) -> ApiResult<Json<CsatAnalyticsResponse>> {
        let scope = auth.principal().require(Permission::CsatView)?.scope()?;
        let range = range(state.0, scope, from.0, to.0).await?;
        let breakdowns = [Dimension::Tenant, Dimension::Agent, Dimension::Division];
        let (mut totals, mut agents, mut divisions) = (Totals::zero(Dimension::Tenant, ""), Vec::new(), Vec::new());
        for row in queries::totals(&state.pool, scope, &breakdowns, None, range.from, range.to).await? {
            match row.dimension {
                Dimension::Tenant => totals = row,
                Dimension::Agent => agents.push(row),
                Dimension::Division => divisions.push(row),
                Dimension::Channel => {}
            }
        }
        let (sent, answered) = (totals.get(Metric::CsatSent), totals.get(Metric::CsatAnswered));
        Ok(Json(CsatAnalyticsResponse {
            from: range.from,
            to: range.to,
            surveys_sent: sent,
            responses: answered,
            response_rate: rate(answered, sent),
            average: average(totals.get(Metric::CsatRatingSum), answered),
            distribution: [
                Metric::Csat1,
                Metric::Csat2,
                Metric::Csat3,
                Metric::Csat4,
                Metric::Csat5,
            ]
            .into_iter()
            .map(|m| totals.get(m))
            .collect(),
            per_agent: csat_breakdown(agents),
            per_division: csat_breakdown(divisions),
        }))
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;

    #[test]
    fn the_trends_serialize_directly_as_their_schema_says() {
        let day = |date: &str, count| DayCount {
            date: date.parse().expect("date"),
            count,
        };
        let trends = TrendsResponse {
            from: "2026-02-27".parse().expect("date"),
            to: "2026-03-01".parse().expect("date"),
            timezone: "Asia/Jakarta".into(),
            new_conversations: vec![day("2026-02-27", 3), day("2026-02-28", 0), day("2026-03-01", 12)],
            resolved: vec![day("2026-02-27", 1)],
            messages_in: vec![],
            messages_out: vec![day("2026-03-01", -1)],
        };
        assert_eq!(serde_json::to_value(&trends).ok(), trends.to_json());
    }
}
