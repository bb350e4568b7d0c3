//! Surveys: applying their events, erasing comments with their contact, and the listing.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use omnistream_domain::csat::CsatSurveyEvent;
use omnistream_store::RecordedEvent;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::inbox::entity_id;
use crate::page::{parse_time_cursor, time_cursor, Page, PageRequest};
use crate::{ProjectionError, TenantScope};

/// Applies one survey event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: CsatSurveyEvent,
) -> Result<(), ProjectionError> {
    match e {
        CsatSurveyEvent::CsatSurveySent(s) => {
            let inserted = sqlx::query(
                "INSERT INTO csat_surveys (id, tenant_id, conversation_id, contact_id, channel, agent_id, division_id, \
                 message_id, sent_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(s.survey_id)
            .bind(s.tenant_id)
            .bind(s.conversation_id)
            .bind(s.contact_id)
            .bind(s.channel.as_str())
            .bind(s.agent_id)
            .bind(s.division_id)
            .bind(s.message_id)
            .bind(s.sent_at)
            .bind(s.expires_at)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Ok(());
            }
            sqlx::query(
                "INSERT INTO csat_survey_days (tenant_id, day, agent_id, division_id, sent) VALUES ($1, $2, $3, $4, 1) \
                 ON CONFLICT (tenant_id, day, (coalesce(agent_id, '00000000-0000-0000-0000-000000000000')), \
                 (coalesce(division_id, '00000000-0000-0000-0000-000000000000'))) \
                 DO UPDATE SET sent = csat_survey_days.sent + 1",
            )
            .bind(s.tenant_id)
            .bind(s.sent_at.date_naive())
            .bind(s.agent_id)
            .bind(s.division_id)
            .execute(&mut *conn)
            .await?;
        }
        CsatSurveyEvent::CsatSurveyAnswered(a) => {
            sqlx::query("UPDATE csat_surveys SET rating = $2, comment = $3, answered_at = $4 WHERE id = $1")
                .bind(entity_id(event)?)
                .bind(i16::from(a.rating))
                .bind(a.comment)
                .bind(a.answered_at)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Drops the comments of an erased contact.
pub(crate) async fn erase(conn: &mut PgConnection, contact_id: Uuid) -> Result<(), ProjectionError> {
    sqlx::query("UPDATE csat_surveys SET comment = NULL WHERE contact_id = $1")
        .bind(contact_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A survey.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct SurveyRow {
    /// Id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// The customer.
    pub contact_id: Uuid,
    /// The channel.
    pub channel: String,
    /// The agent who had the conversation.
    pub agent_id: Option<Uuid>,
    /// Its division.
    pub division_id: Option<Uuid>,
    /// The message carrying the link.
    pub message_id: Uuid,
    /// 1-5 once answered.
    pub rating: Option<i16>,
    /// The comment.
    pub comment: Option<String>,
    /// Sent.
    pub sent_at: DateTime<Utc>,
    /// Expires.
    pub expires_at: DateTime<Utc>,
    /// Answered.
    pub answered_at: Option<DateTime<Utc>>,
}

/// Which surveys to list.
#[derive(Debug, Clone, Default)]
pub struct SurveyFilter {
    /// `sent` (open), `answered` or `expired`.
    pub status: Option<String>,
    /// Of this agent.
    pub agent_id: Option<Uuid>,
    /// Of this division.
    pub division_id: Option<Uuid>,
    /// Of this conversation.
    pub conversation_id: Option<Uuid>,
    /// Sent at or after.
    pub from: Option<DateTime<Utc>>,
    /// Sent before.
    pub to: Option<DateTime<Utc>>,
}

/// A page of the tenant's surveys, latest first.
pub async fn list(
    pool: &PgPool,
    scope: TenantScope,
    filter: &SurveyFilter,
    page: &PageRequest,
) -> Result<Page<SurveyRow>, ProjectionError> {
    const WHERE: &str = "tenant_id = $1 AND ($2::text IS NULL OR CASE WHEN answered_at IS NOT NULL THEN 'answered' \
         WHEN expires_at <= now() THEN 'expired' ELSE 'sent' END = $2) AND ($3::uuid IS NULL OR agent_id = $3) \
         AND ($4::uuid IS NULL OR division_id = $4) AND ($5::uuid IS NULL OR conversation_id = $5) \
         AND ($6::timestamptz IS NULL OR sent_at >= $6) AND ($7::timestamptz IS NULL OR sent_at < $7)";
    // $1-$7 of `WHERE`, for the count and the page alike.
    let mut filtered = PgArguments::default();
    filtered.add(scope.tenant_id()).map_err(sqlx::Error::Encode)?;
    filtered.add(&filter.status).map_err(sqlx::Error::Encode)?;
    filtered.add(filter.agent_id).map_err(sqlx::Error::Encode)?;
    filtered.add(filter.division_id).map_err(sqlx::Error::Encode)?;
    filtered.add(filter.conversation_id).map_err(sqlx::Error::Encode)?;
    filtered.add(filter.from).map_err(sqlx::Error::Encode)?;
    filtered.add(filter.to).map_err(sqlx::Error::Encode)?;
    let total = match (&filter.status, filter.conversation_id) {
        (None, None) => total_by_days(pool, scope, filter).await?,
        _ => {
            sqlx::query_scalar_with(
                &format!("SELECT count(*) FROM rm.csat_surveys WHERE {WHERE}"),
                filtered.clone(),
            )
            .fetch_one(pool)
            .await?
        }
    };
    let (after_sent, after_id) = page.cursor.as_deref().map(parse_time_cursor).transpose()?.unzip();
    let data = sqlx::query_as_with(
        &format!(
            "SELECT id, conversation_id, contact_id, channel, agent_id, division_id, message_id, rating, comment, \
             sent_at, expires_at, answered_at FROM rm.csat_surveys WHERE {WHERE} \
             AND ($8::timestamptz IS NULL OR (sent_at, id) < ($8, $9)) ORDER BY sent_at DESC, id DESC LIMIT $10 OFFSET $11"
        ),
        filtered,
    )
    .bind(after_sent)
    .bind(after_id)
    .bind(page.per_page + 1)
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(Page::from_rows(data, page, total, |s: &SurveyRow| {
        time_cursor(s.sent_at, s.id)
    }))
}

/// The number of surveys sent in `filter`'s time range (by agent and division), without
/// counting them one by one: the whole UTC days inside the range from the per-day counts, the
/// part-days at its ends from the surveys themselves.
async fn total_by_days(pool: &PgPool, scope: TenantScope, filter: &SurveyFilter) -> Result<i64, ProjectionError> {
    let midnight = |day: NaiveDate| day.and_time(NaiveTime::MIN).and_utc();
    // Whole days: from the first midnight at or after `from` to the last at or before `to`.
    let first = filter.from.map(|from| {
        let day = from.date_naive();
        if midnight(day) == from {
            day
        } else {
            day + Days::new(1)
        }
    });
    let last = filter.to.map(|to| to.date_naive());
    let (days, edges) = match (first, last) {
        (Some(first), Some(last)) if first >= last => {
            ((Some(first), Some(first)), [(filter.from, filter.to), (None, None)])
        }
        _ => (
            (first, last),
            [(filter.from, first.map(midnight)), (last.map(midnight), filter.to)],
        ),
    };
    Ok(sqlx::query_scalar(
        "SELECT (SELECT coalesce(sum(sent), 0) FROM rm.csat_survey_days WHERE tenant_id = $1 \
             AND ($2::uuid IS NULL OR agent_id = $2) AND ($3::uuid IS NULL OR division_id = $3) \
             AND ($4::date IS NULL OR day >= $4) AND ($5::date IS NULL OR day < $5))::bigint \
         + (SELECT count(*) FROM rm.csat_surveys WHERE tenant_id = $1 \
             AND ($2::uuid IS NULL OR agent_id = $2) AND ($3::uuid IS NULL OR division_id = $3) \
             AND ((sent_at >= $6 AND sent_at < $7) OR (sent_at >= $8 AND sent_at < $9)))",
    )
    .bind(scope.tenant_id())
    .bind(filter.agent_id)
    .bind(filter.division_id)
    .bind(days.0)
    .bind(days.1)
    .bind(edges[0].0)
    .bind(edges[0].1)
    .bind(edges[1].0)
    .bind(edges[1].1)
    .fetch_one(pool)
    .await?)
}
