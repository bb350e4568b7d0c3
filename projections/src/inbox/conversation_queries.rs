//! The conversation list (filters, search, keyset paging, counts per status) and details,
//! restricted to what the caller may see.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::directory::contains_pattern;
use crate::page::{Page, PageRequest};
use crate::{ProjectionError, TenantScope};

/// Which conversations a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Every conversation of the organization.
    All,
    /// Those assigned to the agent, unassigned ones, and those of the agent's divisions.
    Limited {
        /// The agent.
        agent_id: Uuid,
        /// The agent's divisions.
        division_ids: Vec<Uuid>,
    },
}

/// Whom a conversation is assigned to, as a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// Nobody.
    Unassigned,
    /// This agent.
    Agent(Uuid),
}

/// Filters of the conversation list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only this assignee.
    pub assignee: Option<AssigneeFilter>,
    /// Only this division.
    pub division_id: Option<Uuid>,
    /// Only with this tag.
    pub tag: Option<String>,
    /// Only with (true) or without (false) unread messages.
    pub unread: Option<bool>,
    /// Last activity at or after.
    pub from: Option<DateTime<Utc>>,
    /// Last activity before.
    pub to: Option<DateTime<Utc>>,
    /// Contact name, phone or e-mail contains it, or a message has its words.
    pub search: Option<String>,
}

/// A conversation with its contact's main fields, as the inbox lists it.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ConversationRow {
    /// Id.
    pub id: Uuid,
    /// The contact.
    pub contact_id: Uuid,
    /// The contact's name.
    pub contact_name: Option<String>,
    /// The contact's phone.
    pub contact_phone: Option<String>,
    /// The contact's e-mail.
    pub contact_email: Option<String>,
    /// The channel.
    pub channel: String,
    /// The channel account.
    pub channel_account_id: Option<Uuid>,
    /// The division.
    pub division_id: Option<Uuid>,
    /// The assignee.
    pub assignee_id: Option<Uuid>,
    /// The assignee's name.
    pub assignee_name: Option<String>,
    /// The status.
    pub status: String,
    /// Until when it is snoozed.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// Tags.
    pub tags: Vec<String>,
    /// Subject.
    pub subject: Option<String>,
    /// The last message.
    pub last_message_id: Option<Uuid>,
    /// Its first characters.
    pub last_message_preview: Option<String>,
    /// Its direction.
    pub last_message_direction: Option<String>,
    /// When it was sent.
    pub last_message_at: Option<DateTime<Utc>>,
    /// When the customer last wrote.
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// Customer messages since an agent last read it.
    pub unread_count: i32,
    /// Messages in all.
    pub messages_count: i32,
    /// Last activity.
    pub last_activity_at: DateTime<Utc>,
    /// Started.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

const SELECT: &str = "SELECT c.id, c.contact_id, c.contact_name, c.contact_phone, c.contact_email, c.channel, \
     c.channel_account_id, c.division_id, c.assignee_id, a.name AS assignee_name, c.status, c.snoozed_until, c.tags, \
     c.subject, c.last_message_id, c.last_message_preview, c.last_message_direction, c.last_message_at, \
     c.last_inbound_at, c.unread_count, c.messages_count, c.last_activity_at, c.created_at, c.updated_at, c.version \
     FROM rm.conversations c LEFT JOIN rm.agents a ON a.id = c.assignee_id";

fn push_scope(qb: &mut QueryBuilder<'_, Postgres>, scope: TenantScope, visibility: &Visibility) {
    qb.push(" WHERE c.tenant_id = ").push_bind(scope.tenant_id());
    if let Visibility::Limited { agent_id, division_ids } = visibility {
        qb.push(" AND (c.assignee_id IS NULL OR c.assignee_id = ")
            .push_bind(*agent_id)
            .push(" OR c.division_id = ANY(")
            .push_bind(division_ids.clone())
            .push("))");
    }
}

fn push_filters(
    qb: &mut QueryBuilder<'_, Postgres>,
    scope: TenantScope,
    filter: &ConversationFilter,
    with_status: bool,
) {
    if let (true, Some(status)) = (with_status, &filter.status) {
        qb.push(" AND c.status = ").push_bind(status.clone());
    }
    if let Some(channel) = &filter.channel {
        qb.push(" AND c.channel = ").push_bind(channel.clone());
    }
    match filter.assignee {
        Some(AssigneeFilter::Unassigned) => {
            qb.push(" AND c.assignee_id IS NULL");
        }
        Some(AssigneeFilter::Agent(id)) => {
            qb.push(" AND c.assignee_id = ").push_bind(id);
        }
        None => {}
    }
    if let Some(division) = filter.division_id {
        qb.push(" AND c.division_id = ").push_bind(division);
    }
    if let Some(tag) = &filter.tag {
        qb.push(" AND c.tags @> ARRAY[")
            .push_bind(tag.to_lowercase())
            .push("]::text[]");
    }
    match filter.unread {
        Some(true) => {
            qb.push(" AND c.unread_count > 0");
        }
        Some(false) => {
            qb.push(" AND c.unread_count = 0");
        }
        None => {}
    }
    if let Some(from) = filter.from {
        qb.push(" AND c.last_activity_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        qb.push(" AND c.last_activity_at < ").push_bind(to);
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        qb.push(" AND ((coalesce(c.contact_name, '') || ' ' || coalesce(c.contact_phone, '') || ' ' || coalesce(c.contact_email, '')) ILIKE ")
            .push_bind(contains_pattern(search))
            // Uncorrelated, so the message index is searched once, not once per conversation.
            .push(" OR c.id IN (SELECT m.conversation_id FROM rm.messages m WHERE m.tenant_id = ")
            .push_bind(scope.tenant_id())
            .push(" AND to_tsvector('simple', coalesce(m.text, '')) @@ plainto_tsquery('simple', ")
            .push_bind(search.to_owned())
            .push(")))");
    }
}

/// The keyset cursor of a row: its last activity (microseconds) and id.
fn cursor_of(row: &ConversationRow) -> String {
    format!("{}_{}", row.last_activity_at.timestamp_micros(), row.id)
}

fn parse_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), ProjectionError> {
    let (micros, id) = cursor.split_once('_').ok_or(ProjectionError::InvalidCursor)?;
    let micros: i64 = micros.parse().map_err(|_| ProjectionError::InvalidCursor)?;
    let at = DateTime::from_timestamp_micros(micros).ok_or(ProjectionError::InvalidCursor)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| ProjectionError::InvalidCursor)?))
}

/// A page of the inbox, with counts per status for the tabs.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxPage {
    /// The conversations, most recent activity first.
    pub page: Page<ConversationRow>,
    /// Conversations per status, with every filter but the status applied.
    pub counts: BTreeMap<String, i64>,
}

/// Conversations per status, with every filter but the status applied: summed from the
/// `conversation_counts` rollup when the filters are among its dimensions (the inbox's tabs),
/// counted over the matching conversations otherwise.
async fn counts(
    pool: &PgPool,
    scope: TenantScope,
    visibility: &Visibility,
    filter: &ConversationFilter,
) -> Result<BTreeMap<String, i64>, ProjectionError> {
    let rollup = filter.tag.is_none()
        && filter.from.is_none()
        && filter.to.is_none()
        && filter.search.as_deref().is_none_or(|s| s.trim().is_empty());
    let mut query = if rollup {
        let mut query =
            QueryBuilder::new("SELECT c.status, sum(c.conversations)::bigint FROM rm.conversation_counts c");
        push_scope(&mut query, scope, visibility);
        let unread = filter.unread;
        push_filters(
            &mut query,
            scope,
            &ConversationFilter {
                unread: None,
                ..filter.clone()
            },
            false,
        );
        if let Some(unread) = unread {
            query.push(" AND c.unread = ").push_bind(unread);
        }
        query
    } else {
        let mut query = QueryBuilder::new("SELECT c.status, count(*) FROM rm.conversations c");
        push_scope(&mut query, scope, visibility);
        push_filters(&mut query, scope, filter, false);
        query
    };
    query.push(" GROUP BY c.status");
    Ok(query
        .build_query_as::<(String, i64)>()
        .fetch_all(pool)
        .await?
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect())
}

/// The conversations the caller may see, filtered, most recent activity first.
pub async fn list(
    pool: &PgPool,
    scope: TenantScope,
    visibility: &Visibility,
    filter: &ConversationFilter,
    page: &PageRequest,
) -> Result<InboxPage, ProjectionError> {
    let counts = counts(pool, scope, visibility, filter).await?;
    let total = match &filter.status {
        Some(status) => counts.get(status).copied().unwrap_or(0),
        None => counts.values().sum(),
    };

    let mut rows = QueryBuilder::new(SELECT);
    push_scope(&mut rows, scope, visibility);
    push_filters(&mut rows, scope, filter, true);
    if let Some(cursor) = &page.cursor {
        let (at, id) = parse_cursor(cursor)?;
        rows.push(" AND (c.last_activity_at, c.id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    rows.push(" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ")
        .push_bind(page.per_page + 1)
        .push(" OFFSET ")
        .push_bind(page.offset());
    let data = rows.build_query_as::<ConversationRow>().fetch_all(pool).await?;
    Ok(InboxPage {
        page: Page::from_rows(data, page, total, cursor_of),
        counts,
    })
}

/// One conversation the caller may see.
pub async fn get(
    pool: &PgPool,
    scope: TenantScope,
    visibility: &Visibility,
    id: Uuid,
) -> Result<Option<ConversationRow>, ProjectionError> {
    let mut query = QueryBuilder::new(SELECT);
    push_scope(&mut query, scope, visibility);
    query.push(" AND c.id = ").push_bind(id);
    Ok(query.build_query_as::<ConversationRow>().fetch_optional(pool).await?)
}
