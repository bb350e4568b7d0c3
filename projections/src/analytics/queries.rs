//! Reading the rollups: totals over a range of local days from whole months' rows and the
//! days at the edges, and daily series.

use std::sync::OnceLock;

use chrono::{Datelike, Months, NaiveDate};
use sqlx::PgPool;

use super::rollup::{month_of, Metric, COLUMNS};
use crate::{ProjectionError, TenantScope};

/// What totals are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// The whole organization.
    Tenant,
    /// Per agent (key: the agent's id).
    Agent,
    /// Per division (key: the division's id).
    Division,
    /// Per channel (key: its name).
    Channel,
}

impl Dimension {
    fn as_str(self) -> &'static str {
        match self {
            Dimension::Tenant => "tenant",
            Dimension::Agent => "agent",
            Dimension::Division => "division",
            Dimension::Channel => "channel",
        }
    }
}

/// The sums of every metric for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// The agent's or division's id, the channel's name, or empty for the tenant.
    pub key: String,
    values: Vec<i64>,
}

impl Totals {
    /// Zero everywhere.
    pub fn zero(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            values: vec![0; COLUMNS.len()],
        }
    }

    /// One metric's sum.
    pub fn get(&self, metric: Metric) -> i64 {
        self.values.get(metric as usize).copied().unwrap_or(0)
    }
}

/// The months wholly inside `from..=to`, and the remaining days: the rows a range reads.
pub fn periods(from: NaiveDate, to: NaiveDate) -> (Vec<NaiveDate>, Vec<NaiveDate>) {
    let (mut months, mut days) = (Vec::new(), Vec::new());
    let mut day = from;
    while day <= to {
        let next_month = month_of(day).checked_add_months(Months::new(1));
        match next_month {
            Some(next) if day.day() == 1 && next.pred_opt().is_some_and(|last| last <= to) => {
                months.push(day);
                day = next;
            }
            _ => {
                days.push(day);
                match day.succ_opt() {
                    Some(next) => day = next,
                    None => break,
                }
            }
        }
    }
    (months, days)
}

fn totals_statement() -> &'static str {
    static STATEMENT: OnceLock<String> = OnceLock::new();
    STATEMENT.get_or_init(|| {
        let sums: Vec<String> = COLUMNS.iter().map(|c| format!("sum({c})::bigint")).collect();
        format!(
            "SELECT key, ARRAY[{}] FROM rm.stats WHERE tenant_id = $1 AND dimension = $2 \
             AND ($3::text IS NULL OR key = $3) \
             AND ((period = 'month' AND start = ANY($4)) OR (period = 'day' AND start = ANY($5))) GROUP BY key",
            sums.join(", ")
        )
    })
}

/// Every key's totals of a dimension over `from..=to` (local days), or one key's.
pub async fn totals(
    pool: &PgPool,
    scope: TenantScope,
    dimension: Dimension,
    key: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Totals>, ProjectionError> {
    let (months, days) = periods(from, to);
    let rows: Vec<(String, Vec<i64>)> = sqlx::query_as(totals_statement())
        .bind(scope.tenant_id())
        .bind(dimension.as_str())
        .bind(key)
        .bind(&months)
        .bind(&days)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|(key, values)| Totals { key, values }).collect())
}

/// One day of the organization's series.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DayRow {
    /// The local day.
    pub day: NaiveDate,
    /// Conversations started.
    pub new_conversations: i64,
    /// Conversations resolved.
    pub resolved: i64,
    /// Customer messages.
    pub messages_in: i64,
    /// Outbound messages.
    pub messages_out: i64,
}

/// The organization's days in `from..=to` that have figures, in order.
pub async fn days(
    pool: &PgPool,
    scope: TenantScope,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayRow>, ProjectionError> {
    Ok(sqlx::query_as(
        "SELECT start AS day, new_conversations, resolved, messages_in, messages_out FROM rm.stats \
         WHERE tenant_id = $1 AND dimension = 'tenant' AND period = 'day' AND key = '' AND start BETWEEN $2 AND $3 \
         ORDER BY start",
    )
    .bind(scope.tenant_id())
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?)
}

/// The organization's time zone as analytics count days in (UTC until one is set).
pub async fn time_zone(pool: &PgPool, scope: TenantScope) -> Result<String, ProjectionError> {
    let zone: Option<String> = sqlx::query_scalar("SELECT timezone FROM rm.analytics_tenants WHERE tenant_id = $1")
        .bind(scope.tenant_id())
        .fetch_optional(pool)
        .await?;
    Ok(zone.unwrap_or_else(|| "UTC".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    #[test]
    fn a_range_reads_whole_months_and_the_days_around_them() {
        let (months, days) = periods(date("2025-12-30"), date("2026-03-02"));
        assert_eq!(months, [date("2026-01-01"), date("2026-02-01")]);
        assert_eq!(
            days,
            [
                date("2025-12-30"),
                date("2025-12-31"),
                date("2026-03-01"),
                date("2026-03-02")
            ]
        );
        let (months, days) = periods(date("2026-02-01"), date("2026-02-27"));
        assert!(months.is_empty());
        assert_eq!(days.len(), 27);
        let (months, days) = periods(date("2025-01-01"), date("2026-12-31"));
        assert_eq!((months.len(), days.len()), (24, 0), "two years: 24 rows");
        let (months, days) = periods(date("2025-01-02"), date("2026-12-30"));
        assert!(months.len() + days.len() <= 22 + 60, "at most a few dozen rows");
    }
}
