//! Rollups: the metrics every event adds to, summed per tenant, agent, division and channel,
//! per day and per month, and written once per batch.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ProjectionError;

/// What a rollup row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Conversations started.
    NewConversations,
    /// Conversations resolved (or closed).
    Resolved,
    /// Customer messages.
    MessagesIn,
    /// Outbound messages.
    MessagesOut,
    /// First replies of conversations (by an agent).
    FirstResponses,
    /// Seconds from the customer's first waiting message to those replies.
    FirstResponseSeconds,
    /// Replies to a waiting customer (by an agent), first ones included.
    Responses,
    /// Seconds the customer waited for those.
    ResponseSeconds,
    /// Seconds from start (or reopening) to resolution.
    ResolutionSeconds,
    /// SLA targets met in time.
    SlaMet,
    /// SLA targets breached.
    SlaBreached,
    /// Surveys sent.
    CsatSent,
    /// Surveys answered.
    CsatAnswered,
    /// Sum of their ratings.
    CsatRatingSum,
    /// Ratings of 1.
    Csat1,
    /// Ratings of 2.
    Csat2,
    /// Ratings of 3.
    Csat3,
    /// Ratings of 4.
    Csat4,
    /// Ratings of 5.
    Csat5,
    /// Seconds agents were online.
    OnlineSeconds,
}

/// Every metric's column, in [`Metric`] order.
pub const COLUMNS: [&str; 20] = [
    "new_conversations",
    "resolved",
    "messages_in",
    "messages_out",
    "first_responses",
    "first_response_seconds",
    "responses",
    "response_seconds",
    "resolution_seconds",
    "sla_met",
    "sla_breached",
    "csat_sent",
    "csat_answered",
    "csat_rating_sum",
    "csat_1",
    "csat_2",
    "csat_3",
    "csat_4",
    "csat_5",
    "online_seconds",
];

/// Who a figure belongs to besides the tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dimensions {
    /// The agent.
    pub agent_id: Option<Uuid>,
    /// The division.
    pub division_id: Option<Uuid>,
    /// The channel.
    pub channel: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RowKey {
    tenant_id: Uuid,
    dimension: &'static str,
    key: String,
    period: &'static str,
    start: NaiveDate,
}

/// The deltas of a batch, by rollup row.
#[derive(Debug, Default)]
pub struct Rollup {
    rows: HashMap<RowKey, [i64; COLUMNS.len()]>,
}

/// The first day of `day`'s month.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

impl Rollup {
    /// Adds `value` to `metric` on the local `day`, for the tenant and each dimension given.
    pub fn add(&mut self, tenant_id: Uuid, day: NaiveDate, dims: &Dimensions, metric: Metric, value: i64) {
        if value == 0 {
            return;
        }
        let mut targets = vec![("tenant", String::new())];
        if let Some(agent) = dims.agent_id {
            targets.push(("agent", agent.to_string()));
        }
        if let Some(division) = dims.division_id {
            targets.push(("division", division.to_string()));
        }
        if let Some(channel) = &dims.channel {
            targets.push(("channel", channel.clone()));
        }
        for (dimension, key) in targets {
            for (period, start) in [("day", day), ("month", month_of(day))] {
                let row = self
                    .rows
                    .entry(RowKey {
                        tenant_id,
                        dimension,
                        key: key.clone(),
                        period,
                        start,
                    })
                    .or_insert([0; COLUMNS.len()]);
                row[metric as usize] += value;
            }
        }
    }

    /// Adds every delta to its row in one statement.
    pub async fn flush(self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let (mut tenants, mut dimensions, mut keys, mut periods, mut starts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut values: Vec<Vec<i64>> = vec![Vec::with_capacity(self.rows.len()); COLUMNS.len()];
        for (key, row) in self.rows {
            tenants.push(key.tenant_id);
            dimensions.push(key.dimension);
            keys.push(key.key);
            periods.push(key.period);
            starts.push(key.start);
            for (column, value) in values.iter_mut().zip(row) {
                column.push(value);
            }
        }
        let mut query = sqlx::query(upsert_statement())
            .bind(tenants)
            .bind(dimensions)
            .bind(keys)
            .bind(periods)
            .bind(starts);
        for column in values {
            query = query.bind(column);
        }
        query.execute(&mut *conn).await?;
        Ok(())
    }
}

fn upsert_statement() -> &'static str {
    static STATEMENT: OnceLock<String> = OnceLock::new();
    STATEMENT.get_or_init(|| {
        let columns = COLUMNS.join(", ");
        let arrays: Vec<String> = (0..COLUMNS.len()).map(|i| format!("${}::bigint[]", i + 6)).collect();
        let sums: Vec<String> = COLUMNS
            .iter()
            .map(|c| format!("{c} = stats.{c} + excluded.{c}"))
            .collect();
        format!(
            "INSERT INTO stats (tenant_id, dimension, key, period, start, {columns}) \
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::date[], {}) \
             ON CONFLICT (tenant_id, dimension, key, period, start) DO UPDATE SET {}",
            arrays.join(", "),
            sums.join(", ")
        )
    })
}
