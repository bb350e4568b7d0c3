//! Reading the rollups: totals over a range of local days from whole months' rows and the
//! days at the edges, and daily series.

use std::sync::OnceLock;

use chrono::{Months, NaiveDate};
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

/// The sums of every metric for one key of a dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// What the key is of.
    pub dimension: Dimension,
    /// The agent's or division's id, the channel's name, or empty for the tenant.
    pub key: String,
    values: Vec<i64>,
}

impl Totals {
    /// Zero everywhere.
    pub fn zero(dimension: Dimension, key: impl Into<String>) -> Self {
        Self {
            dimension,
            key: key.into(),
            values: vec![0; COLUMNS.len()],
        }
    }

    /// One metric's sum.
    pub fn get(&self, metric: Metric) -> i64 {
        self.values.get(metric as usize).copied().unwrap_or(0)
    }
}

/// A rollup row a range reads: its period (`day` or `month`), its start, and whether it
/// adds to the totals (`1`) or is taken out of a month read whole (`-1`).
pub type Part = (&'static str, NaiveDate, i64);

/// The rows whose signed sum is the total over `from..=to` (local days): each month wholly
/// inside, and for a month the range covers in part, whichever is fewer rows, its covered
/// days, or the month less its uncovered days. A month row is the sum of its day rows, so
/// both read the same; any range reads at most its months and 2 × 16 days.
pub fn parts(from: NaiveDate, to: NaiveDate) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut month = month_of(from);
    while month <= to {
        let Some(next) = month.checked_add_months(Months::new(1)) else {
            break;
        };
        let last = next.pred_opt().unwrap_or(month);
        let (first_covered, last_covered) = (from.max(month), to.min(last));
        let covered = (last_covered - first_covered).num_days() + 1;
        let length = (last - month).num_days() + 1;
        let days = |a: NaiveDate, b: NaiveDate| a.iter_days().take_while(move |d| *d <= b);
        if covered == length {
            parts.push(("month", month, 1));
        } else if covered <= 1 + length - covered {
            parts.extend(days(first_covered, last_covered).map(|d| ("day", d, 1)));
        } else {
            parts.push(("month", month, 1));
            let outside = days(month, last).filter(|d| *d < first_covered || *d > last_covered);
            parts.extend(outside.map(|d| ("day", d, -1)));
        }
        month = next;
    }
    parts
}

fn totals_statement() -> &'static str {
    static STATEMENT: OnceLock<String> = OnceLock::new();
    STATEMENT.get_or_init(|| {
        let sums: Vec<String> = COLUMNS.iter().map(|c| format!("sum(s.{c} * p.sign)::bigint")).collect();
        format!(
            "SELECT s.dimension, s.key, ARRAY[{}] FROM rm.stats s \
             JOIN UNNEST($3::text[], $4::date[], $5::bigint[]) AS p(period, start, sign) \
               ON s.period = p.period AND s.start = p.start \
             WHERE s.tenant_id = $1 AND s.dimension = ANY($2) AND ($6::text IS NULL OR s.key = $6) \
             GROUP BY s.dimension, s.key",
            sums.join(", ")
        )
    })
}

/// Every key's totals over `from..=to` (local days) of each of these dimensions (or only
/// `key`'s), in one statement.
pub async fn totals(
    pool: &PgPool,
    scope: TenantScope,
    dimensions: &[Dimension],
    key: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Totals>, ProjectionError> {
    let parts = parts(from, to);
    let rows: Vec<(String, String, Vec<i64>)> = sqlx::query_as(totals_statement())
        .bind(scope.tenant_id())
        .bind(dimensions.iter().map(|d| d.as_str()).collect::<Vec<_>>())
        .bind(parts.iter().map(|p| p.0).collect::<Vec<_>>())
        .bind(parts.iter().map(|p| p.1).collect::<Vec<_>>())
        .bind(parts.iter().map(|p| p.2).collect::<Vec<_>>())
        .bind(key)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(dimension, key, values)| {
            let dimension = *dimensions.iter().find(|d| d.as_str() == dimension)?;
            Some(Totals { dimension, key, values })
        })
        .collect())
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
    use chrono::Datelike;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("date")
    }

    /// Sums a made-up daily figure over a range the way the rollups would: days, months
    /// (each the sum of its days) and the signed parts.
    fn read(from: NaiveDate, to: NaiveDate) -> i64 {
        let value = |d: NaiveDate| i64::from(d.ordinal()) * 7 + i64::from(d.year() % 100);
        let month_sum = |m: NaiveDate| m.iter_days().take_while(|d| month_of(*d) == m).map(value).sum::<i64>();
        parts(from, to)
            .into_iter()
            .map(|(period, start, sign)| {
                sign * if period == "month" {
                    month_sum(start)
                } else {
                    value(start)
                }
            })
            .sum()
    }

    #[test]
    fn the_signed_parts_of_any_range_sum_to_its_days() {
        let value = |d: NaiveDate| i64::from(d.ordinal()) * 7 + i64::from(d.year() % 100);
        let first = date("2025-11-20");
        for offset in 0..75 {
            let from = first + chrono::Duration::days(offset);
            for length in [1, 2, 14, 15, 16, 17, 28, 30, 31, 45, 90, 364, 365, 730] {
                let to = from + chrono::Duration::days(length - 1);
                let direct: i64 = from.iter_days().take_while(|d| *d <= to).map(value).sum();
                assert_eq!(read(from, to), direct, "{from}..={to}");
                let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1;
                assert!(parts(from, to).len() as i32 <= months + 32, "{from}..={to}");
            }
        }
    }

    #[test]
    fn a_range_reads_whole_months_and_the_fewest_edge_rows() {
        let p = parts(date("2025-12-30"), date("2026-03-02"));
        assert_eq!(
            p,
            [
                ("day", date("2025-12-30"), 1),
                ("day", date("2025-12-31"), 1),
                ("month", date("2026-01-01"), 1),
                ("month", date("2026-02-01"), 1),
                ("day", date("2026-03-01"), 1),
                ("day", date("2026-03-02"), 1),
            ]
        );
        // 90 days ending on the 2nd of a month: the first month less its first 3 days.
        let p = parts(date("2026-09-04"), date("2026-12-02"));
        assert_eq!(p.len(), 1 + 3 + 2 + 2);
        assert_eq!(
            &p[..2],
            [("month", date("2026-09-01"), 1), ("day", date("2026-09-01"), -1)]
        );
        assert_eq!(
            parts(date("2025-01-01"), date("2026-12-31")).len(),
            24,
            "two years: 24 rows"
        );
    }
}
