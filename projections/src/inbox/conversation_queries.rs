//! The conversation list (filters, search, keyset paging, counts per status) and details,
//! restricted to what the caller may see.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::contact_search;
use super::search_backend::SearchBackend;
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
    /// The contact has its words (see [`contact_search`]), or a message has them.
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
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
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
    /// When the window was marked expired.
    pub window_expired_at: Option<DateTime<Utc>>,
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

const COLUMNS: &str = "SELECT c.id, c.contact_id, c.contact_name, c.contact_phone, c.contact_email, c.channel, \
     c.channel_account_id, c.division_id, c.assignee_id, a.name AS assignee_name, c.status, c.priority, c.snoozed_until, c.tags, \
     c.subject, c.last_message_id, c.last_message_preview, c.last_message_direction, c.last_message_at, \
     c.last_inbound_at, c.window_expired_at, c.unread_count, c.messages_count, c.last_activity_at, c.created_at, c.updated_at, c.version";

const WITH_ASSIGNEE: &str = " c LEFT JOIN rm.agents a ON a.id = c.assignee_id";

/// Text searches count at most this many matches (the most recent ones).
pub const SEARCH_COUNT_CAP: i64 = 200;

/// How a text search finds its conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SearchPlan {
    /// Walk conversations from the most recent, checking each: fast when many match.
    Walk,
    /// The same walk with each conversation's contact checked on its own, by id: for a
    /// search the statistics called rare that matched too many contacts after all (a prefix
    /// of every phone's digits, such as `62000`). Trusting the same low estimate, PostgreSQL
    /// would otherwise collect all of the contacts' matches first to hash them: two seconds
    /// for a million.
    WalkCheckingEach,
    /// Start from the contacts' and the messages' full-text indexes: fast when few match.
    Indexed,
}

/// A text search: the text (whose words a message must have) and the contacts' query.
struct SearchTerms<'a> {
    text: &'a str,
    contacts: String,
    /// Whether the contacts' query is one term: then the contacts a lookup of that term
    /// finds are the matches, with nothing left to check on them.
    one_term: bool,
}

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

/// Every filter but the text search, which [`push_search`] adds with a plan.
fn push_filters(qb: &mut QueryBuilder<'_, Postgres>, filter: &ConversationFilter, with_status: bool) {
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
        qb.push(" AND EXISTS (SELECT 1 FROM rm.conversation_tags t WHERE t.conversation_id = c.id AND t.tag = ")
            .push_bind(tag.to_lowercase())
            .push(")");
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
}

fn search_text(filter: &ConversationFilter) -> Option<&str> {
    filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The contact is found by the text (see [`contact_search`]), or one of the conversation's
/// messages has its words.
fn push_search(qb: &mut QueryBuilder<'_, Postgres>, scope: TenantScope, search: &SearchTerms<'_>, plan: SearchPlan) {
    match plan {
        SearchPlan::Walk | SearchPlan::WalkCheckingEach => {
            qb.push(" AND (EXISTS (SELECT 1 FROM rm.contacts k WHERE k.id = c.contact_id AND k.search @@ ")
                .push_bind(search.contacts.clone())
                .push("::tsquery");
            if plan == SearchPlan::WalkCheckingEach {
                // A subquery with an OFFSET is never turned into a join: it runs per row.
                qb.push(" OFFSET 0");
            }
            qb.push(") OR EXISTS (SELECT 1 FROM rm.messages m WHERE m.conversation_id = c.id AND m.search @@ plainto_tsquery('simple', ")
                .push_bind(search.text.to_owned())
                .push(")))");
        }
        // Each index's matches become an array the conversations' own indexes look up, so the
        // plan stays two index probes whatever the estimates (a join planned on a misestimate
        // read every conversation).
        SearchPlan::Indexed => {
            qb.push(" AND (c.contact_id = ANY(ARRAY(SELECT k.id FROM rm.contacts k WHERE k.tenant_id = ")
                .push_bind(scope.tenant_id())
                .push(" AND k.search @@ ")
                .push_bind(search.contacts.clone())
                .push(
                    "::tsquery)) OR c.id = ANY(ARRAY(SELECT m.conversation_id FROM rm.messages m WHERE m.tenant_id = ",
                )
                .push_bind(scope.tenant_id())
                .push(" AND m.search @@ plainto_tsquery('simple', ")
                .push_bind(search.text.to_owned())
                .push("))))");
        }
    }
}

fn push_cursor(qb: &mut QueryBuilder<'_, Postgres>, page: &PageRequest) -> Result<(), ProjectionError> {
    if let Some(cursor) = &page.cursor {
        let (at, id) = parse_cursor(cursor)?;
        qb.push(" AND (c.last_activity_at, c.id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    Ok(())
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
    /// A text search matched [`SEARCH_COUNT_CAP`] conversations or more: the total and the
    /// counts cover the most recent of them.
    pub counts_capped: bool,
}

/// Conversations per status, with every filter but the status applied: summed from the
/// `conversation_counts` rollup when the filters are among its dimensions (the inbox's tabs),
/// counted over the matching conversations otherwise (text searches: see [`search`]).
async fn counts(
    pool: &PgPool,
    scope: TenantScope,
    visibility: &Visibility,
    filter: &ConversationFilter,
) -> Result<BTreeMap<String, i64>, ProjectionError> {
    let rollup = filter.tag.is_none() && filter.from.is_none() && filter.to.is_none() && search_text(filter).is_none();
    let mut query = if rollup {
        let mut query =
            QueryBuilder::new("SELECT c.status, sum(c.conversations)::bigint FROM rm.conversation_counts c");
        push_scope(&mut query, scope, visibility);
        let unread = filter.unread;
        push_filters(
            &mut query,
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
        push_filters(&mut query, filter, false);
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
    backend: &SearchBackend,
    scope: TenantScope,
    visibility: &Visibility,
    filter: &ConversationFilter,
    page: &PageRequest,
) -> Result<InboxPage, ProjectionError> {
    if let Some(text) = search_text(filter) {
        let contacts = contact_search::terms(text);
        if contacts.is_empty() {
            // Punctuation alone: no contact or message has such a word.
            return Ok(InboxPage {
                page: Page::from_rows(Vec::new(), page, 0, cursor_of),
                counts: BTreeMap::new(),
                counts_capped: false,
            });
        }
        let terms = SearchTerms {
            text,
            contacts: contact_search::tsquery_of(&contacts),
            one_term: contacts.len() == 1,
        };
        return search(pool, backend, scope, visibility, filter, &terms, page).await;
    }
    let counts = counts(pool, scope, visibility, filter).await?;
    let total = total_of(&counts, filter);
    let data = page_rows(pool, scope, visibility, filter, page, None).await?;
    Ok(InboxPage {
        page: Page::from_rows(data, page, total, cursor_of),
        counts,
        counts_capped: false,
    })
}

fn total_of(counts: &BTreeMap<String, i64>, filter: &ConversationFilter) -> i64 {
    match &filter.status {
        Some(status) => counts.get(status).copied().unwrap_or(0),
        None => counts.values().sum(),
    }
}

async fn page_rows(
    pool: &PgPool,
    scope: TenantScope,
    visibility: &Visibility,
    filter: &ConversationFilter,
    page: &PageRequest,
    search: Option<(&SearchTerms<'_>, SearchPlan)>,
) -> Result<Vec<ConversationRow>, ProjectionError> {
    let mut rows = QueryBuilder::new(COLUMNS);
    rows.push(" FROM rm.conversations").push(WITH_ASSIGNEE);
    push_scope(&mut rows, scope, visibility);
    push_filters(&mut rows, filter, true);
    if let Some((terms, plan)) = search {
        push_search(&mut rows, scope, terms, plan);
    }
    push_cursor(&mut rows, page)?;
    rows.push(" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ")
        .push_bind(page.per_page + 1)
        .push(" OFFSET ")
        .push_bind(page.offset());
    Ok(rows
        .build_query_as::<ConversationRow>()
        .persistent(search.is_none())
        .fetch_all(pool)
        .await?)
}

/// A text search. When the search indexes' statistics say the words are rare, the indexes
/// find the matches at once (few to sort). Otherwise the first page walks a window of the
/// most recent conversations (a common word fills the page there) and asks the indexes only
/// when the window holds less than a page. The counts cover the [`SEARCH_COUNT_CAP`] most
/// recent matches, found once: the page is taken from them when they hold it.
///
/// Beyond the rare path, statements that hold the words are not kept prepared: a cached
/// generic plan cannot know how selective they are (PostgreSQL switches to one after five
/// runs), and for a common word the best plan walks recent conversations while for a rarer
/// one it starts from the indexes. Unnamed statements are planned with their values each
/// time. The rare path's statements have one plan whatever their values and are planned once
/// ([`SearchBackend`]).
async fn search(
    pool: &PgPool,
    backend: &SearchBackend,
    scope: TenantScope,
    visibility: &Visibility,
    filter: &ConversationFilter,
    terms: &SearchTerms<'_>,
    page: &PageRequest,
) -> Result<InboxPage, ProjectionError> {
    let mut plan = SearchPlan::Indexed;
    let mut data = None;
    let mut matches = None;
    let rare = backend.statistics().rare_lookup(pool, terms.text).await;
    if let Some(lookup) = &rare {
        matches = few_matches(backend, scope, visibility, filter, terms, lookup).await?;
    }
    // A walk after a rare lookup means it found too many: check each contact on its own.
    let walk = if rare.is_some() {
        SearchPlan::WalkCheckingEach
    } else {
        SearchPlan::Walk
    };
    // Not rare, or rare by the statistics but not in fact (a prefix of every phone's digits,
    // such as a country code, is no common lexeme): a common word fills the page from the
    // most recent conversations, where looking up all of its matches would take seconds.
    if matches.is_none() && page.offset() == 0 {
        let walked = walk_window(pool, scope, visibility, filter, terms, page, walk).await?;
        if walked.len() as i64 > page.per_page {
            plan = walk;
            data = Some(walked);
        } else if rare.is_some() && walked.len() as i64 * WALK_DENSITY >= walk_window_rows(page) {
            // Rare by the statistics, too many after all, and common among the most recent
            // conversations (a phone-digit prefix a tenth of all phones share): looking all of
            // them up would collect them in arrays first (100,000 contacts: 3 s), while
            // walking to the counts' cap reads about `WALK_DENSITY` conversations per match.
            plan = walk;
        }
    }
    let matches = match matches {
        Some(matches) => matches,
        None => capped_matches(pool, scope, visibility, filter, terms, plan).await?,
    };
    let mut counts = BTreeMap::new();
    for row in &matches {
        *counts.entry(row.status.clone()).or_insert(0) += 1;
    }
    let complete = (matches.len() as i64) < SEARCH_COUNT_CAP;
    let data = match data {
        Some(rows) => rows,
        None => {
            let after = page.cursor.as_deref().map(parse_cursor).transpose()?;
            let wanted: Vec<ConversationRow> = matches
                .into_iter()
                .filter(|row| filter.status.as_ref().is_none_or(|s| *s == row.status))
                .filter(|row| after.is_none_or(|(a, i)| (row.last_activity_at, row.id) < (a, i)))
                .skip(page.offset() as usize)
                .take(page.per_page as usize + 1)
                .collect();
            if complete || wanted.len() as i64 > page.per_page {
                wanted
            } else {
                page_rows(pool, scope, visibility, filter, page, Some((terms, plan))).await?
            }
        }
    };
    Ok(InboxPage {
        page: Page::from_rows(data, page, total_of(&counts, filter), cursor_of),
        counts_capped: !complete,
        counts,
    })
}

/// Contacts or conversations a rare search may match before [`few_matches`] leaves it to
/// [`capped_matches`].
const FEW_LIMIT: i64 = 1_000;

/// What [`capped_matches`] answers, for a search whose words are rare, in one statement: the
/// matching contacts and the conversations of the matching messages are looked up first, as
/// two arrays, then the conversations that have either; `None` when either lookup has more
/// than [`FEW_LIMIT`] matches after all (the arrays hold at most one more, so they would be
/// incomplete). The contacts are looked up by `lookup`, the search's rarest term
/// ([`SearchStatistics::rare_lookup`](super::search_statistics::SearchStatistics::rare_lookup)),
/// and the whole query is checked on the contacts it finds (a query of that one term, such
/// as a phone number's digits, needs no check): a whole word in the full-text index, a prefix
/// in `contact_terms` (a B-tree, which stops reading at the row past the limit; there, more
/// than [`FEW_LIMIT`] contacts holding the prefix is too many, whatever the other terms). It
/// runs on the connections that plan a statement once ([`SearchBackend`]): for words known
/// to be rare, index lookups are the only plan there is, and planning them on every request
/// took more of PostgreSQL's time than running them.
/// One statement, not the lookups and then the conversations: each statement is a round trip
/// between the service and PostgreSQL, on the cores they share.
async fn few_matches(
    backend: &SearchBackend,
    scope: TenantScope,
    visibility: &Visibility,
    filter: &ConversationFilter,
    terms: &SearchTerms<'_>,
    (lookup, prefix): &(String, bool),
) -> Result<Option<Vec<ConversationRow>>, ProjectionError> {
    let range_end = prefix.then(|| contact_search::prefix_end(lookup)).flatten();
    let mut query = QueryBuilder::new("WITH found AS MATERIALIZED (SELECT ARRAY(");
    match &range_end {
        Some(end) => {
            query
                .push("SELECT contact_id FROM rm.contact_terms WHERE tenant_id = ")
                .push_bind(scope.tenant_id())
                .push(" AND term >= ")
                .push_bind(lookup.clone())
                .push(" AND term < ")
                .push_bind(end.clone());
        }
        None => {
            query
                .push("SELECT id FROM rm.contacts WHERE tenant_id = ")
                .push_bind(scope.tenant_id())
                .push(" AND search @@ ")
                .push_bind(contact_search::tsquery_of(&[(lookup.clone(), *prefix)]))
                // `@@` written as its function, which PostgreSQL never adds to an index condition.
                .push("::tsquery AND ts_match_vq(search, ")
                .push_bind(terms.contacts.clone())
                .push("::tsquery)");
        }
    }
    query
        .push(" LIMIT ")
        .push_bind(FEW_LIMIT + 1)
        .push(") AS candidates, ARRAY(SELECT conversation_id FROM rm.messages WHERE tenant_id = ")
        .push_bind(scope.tenant_id())
        .push(" AND search @@ plainto_tsquery('simple', ")
        .push_bind(terms.text.to_owned())
        .push(") LIMIT ")
        .push_bind(FEW_LIMIT + 1)
        .push(
            ") AS conversations), too_many AS (SELECT greatest(cardinality(candidates), cardinality(conversations)) > ",
        )
        .push_bind(FEW_LIMIT)
        .push(" AS overflow, ");
    if range_end.is_some() && !terms.one_term {
        // The prefix's contacts checked against the whole query, unless there are too many.
        query
            .push("ARRAY(SELECT id FROM rm.contacts WHERE cardinality(candidates) <= ")
            .push_bind(FEW_LIMIT)
            .push(" AND id = ANY(candidates) AND ts_match_vq(search, ")
            .push_bind(terms.contacts.clone())
            .push("::tsquery)) AS contacts");
    } else {
        query.push("candidates AS contacts");
    }
    // One row whatever matched: whether there were too many, then the matches if not.
    query.push(", conversations FROM found) SELECT f.overflow, m.* FROM too_many f LEFT JOIN LATERAL (");
    push_latest_matches(&mut query, scope, visibility, filter, |query| {
        query.push(" AND NOT f.overflow AND (c.contact_id = ANY(f.contacts) OR c.id = ANY(f.conversations))");
    });
    query.push(") m ON true");
    let mut connection = backend.planned_once().lend().await?;
    let rows = query.build().fetch_all(&mut *connection).await;
    let rows = connection.keep_if_sound(rows)?;
    if rows.first().map(|row| row.try_get::<bool, _>("overflow")).transpose()? != Some(false) {
        return Ok(None);
    }
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        // A row of nulls when nothing matched.
        if row.try_get::<Option<Uuid>, _>("id")?.is_some() {
            found.push(ConversationRow::from_row(row)?);
        }
    }
    Ok(Some(found))
}

/// The most recent [`SEARCH_COUNT_CAP`] matches, with every filter but the status applied:
/// whole rows, so that a page among them needs no second read.
async fn capped_matches(
    pool: &PgPool,
    scope: TenantScope,
    visibility: &Visibility,
    filter: &ConversationFilter,
    terms: &SearchTerms<'_>,
    plan: SearchPlan,
) -> Result<Vec<ConversationRow>, ProjectionError> {
    let mut query = QueryBuilder::new("");
    push_latest_matches(&mut query, scope, visibility, filter, |query| {
        push_search(query, scope, terms, plan)
    });
    Ok(query
        .build_query_as::<ConversationRow>()
        .persistent(false)
        .fetch_all(pool)
        .await?)
}

/// The [`SEARCH_COUNT_CAP`] most recent conversations the caller may see that pass every
/// filter but the status and what `condition` adds, as whole rows.
fn push_latest_matches(
    query: &mut QueryBuilder<'_, Postgres>,
    scope: TenantScope,
    visibility: &Visibility,
    filter: &ConversationFilter,
    condition: impl FnOnce(&mut QueryBuilder<'_, Postgres>),
) {
    query.push(COLUMNS).push(" FROM rm.conversations").push(WITH_ASSIGNEE);
    push_scope(query, scope, visibility);
    push_filters(query, filter, false);
    condition(query);
    query
        .push(" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ")
        .push_bind(SEARCH_COUNT_CAP);
}

/// A search that overflowed the rare path walks the conversations for its counts when at least
/// one in this many of the walked window matched.
const WALK_DENSITY: i64 = 50;

/// The most recent conversations [`walk_window`] looks at.
fn walk_window_rows(page: &PageRequest) -> i64 {
    (page.per_page + 1) * 8
}

/// The matches among the most recent conversations (eight pages' worth) that pass the
/// other filters: the first page of a search for a common word, walked as `walk` says
/// ([`SearchPlan::Walk`] or [`SearchPlan::WalkCheckingEach`]).
async fn walk_window(
    pool: &PgPool,
    scope: TenantScope,
    visibility: &Visibility,
    filter: &ConversationFilter,
    terms: &SearchTerms<'_>,
    page: &PageRequest,
    walk: SearchPlan,
) -> Result<Vec<ConversationRow>, ProjectionError> {
    let mut rows = QueryBuilder::new(COLUMNS);
    rows.push(" FROM (SELECT c.* FROM rm.conversations c");
    push_scope(&mut rows, scope, visibility);
    push_filters(&mut rows, filter, true);
    push_cursor(&mut rows, page)?;
    rows.push(" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ")
        .push_bind(walk_window_rows(page))
        .push(")")
        .push(WITH_ASSIGNEE)
        .push(" WHERE true");
    push_search(&mut rows, scope, terms, walk);
    rows.push(" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ")
        .push_bind(page.per_page + 1);
    Ok(rows
        .build_query_as::<ConversationRow>()
        .persistent(false)
        .fetch_all(pool)
        .await?)
}

/// One conversation the caller may see.
pub async fn get(
    pool: &PgPool,
    scope: TenantScope,
    visibility: &Visibility,
    id: Uuid,
) -> Result<Option<ConversationRow>, ProjectionError> {
    let mut query = QueryBuilder::new(COLUMNS);
    query.push(" FROM rm.conversations").push(WITH_ASSIGNEE);
    push_scope(&mut query, scope, visibility);
    query.push(" AND c.id = ").push_bind(id);
    Ok(query.build_query_as::<ConversationRow>().fetch_optional(pool).await?)
}

/// The organization's conversations per status now, from the `conversation_counts` rollup.
pub async fn status_totals(pool: &PgPool, scope: TenantScope) -> Result<BTreeMap<String, i64>, ProjectionError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, sum(conversations)::bigint FROM rm.conversation_counts WHERE tenant_id = $1 GROUP BY status",
    )
    .bind(scope.tenant_id())
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}
