//! Contacts: applying contact events, and the tenant-scoped contact queries.

use chrono::{DateTime, Utc};
use omnistream_domain::contact::{ContactEvent, ContactProfile};
use omnistream_store::RecordedEvent;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use super::{contact_search, entity_id, tenant};
use crate::page::{Page, PageRequest};
use crate::{ProjectionError, TenantScope};

async fn write_profile(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    id: Uuid,
    profile: &ContactProfile,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "UPDATE contacts SET name = $2, phone = $3, email = $4, instagram_id = $5, custom_attributes = $6, tags = $7, \
         updated_at = $8, version = $9, search = array_to_tsvector($10) WHERE id = $1",
    )
    .bind(id)
    .bind(&profile.name)
    .bind(&profile.phone)
    .bind(&profile.email)
    .bind(&profile.instagram_id)
    .bind(serde_json::to_value(&profile.custom_attributes).unwrap_or_default())
    .bind(&profile.tags)
    .bind(event.recorded_at)
    .bind(event.version)
    .bind(contact_search::lexemes(
        profile.name.as_deref(),
        profile.phone.as_deref(),
        profile.email.as_deref(),
        profile.instagram_id.as_deref(),
    ))
    .execute(&mut *conn)
    .await?;
    // Conversations show their contact: keep their copy current.
    sqlx::query(
        "UPDATE conversations SET contact_name = $2, contact_phone = $3, contact_email = $4 WHERE contact_id = $1",
    )
    .bind(id)
    .bind(&profile.name)
    .bind(&profile.phone)
    .bind(&profile.email)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Applies one contact event.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: ContactEvent,
) -> Result<(), ProjectionError> {
    let id = entity_id(event)?;
    match e {
        ContactEvent::ContactCreated(c) => {
            sqlx::query(
                "INSERT INTO contacts (id, tenant_id, created_at, updated_at, version) VALUES ($1, $2, $3, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(tenant(event)?)
            .bind(event.recorded_at)
            .bind(event.version)
            .execute(&mut *conn)
            .await?;
            write_profile(conn, event, id, &c.profile).await?;
        }
        ContactEvent::ContactUpdated(u) => write_profile(conn, event, id, &u.profile).await?,
        ContactEvent::ContactAbsorbed(a) => write_profile(conn, event, id, &a.profile).await?,
        ContactEvent::ContactMerged(m) => {
            sqlx::query("UPDATE contacts SET merged_into = $2, updated_at = $3, version = $4 WHERE id = $1")
                .bind(id)
                .bind(m.into_contact_id)
                .bind(event.recorded_at)
                .bind(event.version)
                .execute(&mut *conn)
                .await?;
        }
        ContactEvent::ContactErased(_) => {
            // Every copy of the contact's personal data in the read model goes.
            sqlx::query(
                "UPDATE contacts SET name = NULL, phone = NULL, email = NULL, instagram_id = NULL, \
                 custom_attributes = '{}', tags = '{}', search = '', deleted = true, updated_at = $2, version = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(event.recorded_at)
            .bind(event.version)
            .execute(&mut *conn)
            .await?;
            sqlx::query("UPDATE conversations SET contact_name = NULL, contact_phone = NULL, contact_email = NULL, last_message_preview = NULL WHERE contact_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE messages SET text = NULL WHERE conversation_id IN (SELECT id FROM conversations WHERE contact_id = $1)")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        ContactEvent::ContactDeleted(_) => {
            sqlx::query("UPDATE contacts SET deleted = true, updated_at = $2, version = $3 WHERE id = $1")
                .bind(id)
                .bind(event.recorded_at)
                .bind(event.version)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// A contact as the API shows it.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ContactRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: Option<String>,
    /// Phone (E.164).
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Instagram-scoped id.
    pub instagram_id: Option<String>,
    /// Free-form attributes.
    pub custom_attributes: serde_json::Value,
    /// Tags.
    pub tags: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Stream version.
    pub version: i64,
}

/// Filters of the contact list.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Words of the name, e-mail or Instagram id, or digits of the phone (see
    /// [`contact_search`]).
    pub search: Option<String>,
    /// Has this tag.
    pub tag: Option<String>,
}

const COLUMNS: &str = "id, name, phone, email, instagram_id, custom_attributes, tags, created_at, updated_at, version";
const LIVE: &str = "tenant_id = $1 AND NOT deleted AND merged_into IS NULL";

/// The tenant's live contacts, filtered, by id (creation order).
pub async fn list(
    pool: &PgPool,
    scope: TenantScope,
    filter: &ContactFilter,
    page: &PageRequest,
) -> Result<Page<ContactRow>, ProjectionError> {
    let search = match filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => match contact_search::tsquery(text) {
            Some(query) => Some(query),
            // Punctuation alone: no contact has such a word.
            None => return Ok(Page::from_rows(Vec::new(), page, 0, |c: &ContactRow| c.id.to_string())),
        },
        None => None,
    };
    let tag = filter.tag.as_deref().map(str::to_lowercase);
    let conditions = format!(
        "{LIVE} AND ($2::tsquery IS NULL OR search @@ $2::tsquery) AND ($3::text IS NULL OR tags @> ARRAY[$3])"
    );
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM rm.contacts WHERE {conditions}"))
        .bind(scope.tenant_id())
        .bind(&search)
        .bind(&tag)
        .fetch_one(pool)
        .await?;
    let cursor = page
        .cursor
        .as_deref()
        .map(|c| Uuid::parse_str(c).map_err(|_| ProjectionError::InvalidCursor))
        .transpose()?;
    let data = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM rm.contacts WHERE {conditions} AND ($4::uuid IS NULL OR id > $4) ORDER BY id LIMIT $5 OFFSET $6"
    ))
    .bind(scope.tenant_id())
    .bind(&search)
    .bind(&tag)
    .bind(cursor)
    .bind(page.per_page + 1)
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    Ok(Page::from_rows(data, page, total, |c: &ContactRow| c.id.to_string()))
}

/// One live contact of the tenant.
pub async fn get(pool: &PgPool, scope: TenantScope, id: Uuid) -> Result<Option<ContactRow>, ProjectionError> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM rm.contacts WHERE {LIVE} AND id = $2"))
            .bind(scope.tenant_id())
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// The ids of a contact's conversations (to move them on a merge).
pub async fn conversation_ids(
    pool: &PgPool,
    scope: TenantScope,
    contact_id: Uuid,
) -> Result<Vec<Uuid>, ProjectionError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM rm.conversations WHERE tenant_id = $1 AND contact_id = $2 ORDER BY id")
            .bind(scope.tenant_id())
            .bind(contact_id)
            .fetch_all(pool)
            .await?,
    )
}
